exports.greet = (name) => `npm fixture greets ${name}`;
