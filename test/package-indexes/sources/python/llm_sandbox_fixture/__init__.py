def greet(name):
    return f"python fixture greets {name}"
