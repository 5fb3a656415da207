// llm-sandbox's warm Node.js runner: the preload of a node started in advance in a pooled JavaScript or TypeScript
// container (see src/pool/node-spare.ts): `node <the cold run's flags> --require <this file> <the run's file>`.
//
// It removes its own file, says so (one marker line on stdout, which the host takes away), loads the configured
// modules, and waits for its run on stdin: JSON { env, code }, then end of input. It writes the code to
// the main file, adds the run's environment, points stdin at /dev/null (as a cold run has it), removes the rest of
// its traces and returns: node then runs the main file exactly as `node file` does.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const READY = "\u0000llm-sandbox:ready\n";
const CODE_WRITE_FAILED = 125;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Retries what a non-blocking descriptor refuses for now. */
function retrying(operation) {
  for (;;) {
    try {
      return operation();
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

fs.rmSync(path.dirname(__filename), { recursive: true, force: true });
const ready = Buffer.from(READY);
for (let at = 0; at < ready.length; ) at += retrying(() => fs.writeSync(1, ready, at));
const modules = /* MODULES */ []; // the host fills in the pool's modules
for (const name of modules) {
  try {
    require(require.resolve(name, { paths: [process.cwd()] }));
  } catch {
    // a module the image lacks: the program will find out itself, as in a cold run
  }
}

const chunks = [];
const buffer = Buffer.alloc(1 << 16);
for (;;) {
  const got = retrying(() => fs.readSync(0, buffer, 0, buffer.length, null));
  if (got === 0) break;
  chunks.push(Buffer.from(buffer.subarray(0, got)));
}
if (!chunks.length) process.exit(0); // the host gave this spare up
const run = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const main = process.argv[1];
try {
  fs.writeFileSync(main, run.code);
} catch (error) {
  process.stderr.write(`[llm-sandbox] cannot write ${main}: ${error.message}\n`);
  process.exit(CODE_WRITE_FAILED);
}
fs.closeSync(0);
fs.openSync("/dev/null", "r"); // the lowest free descriptor: 0 again

// Ours is the container's environment (and PWD from the wrapper shell, as in a cold run): the run adds its own.
Object.assign(process.env, run.env, { SANDBOX_FILE: main });

// As a cold run's wrapper does: what the program leaves running ends with it. Its children carry the run's marker
// (they inherit process.env); the program's own 'exit' listeners are registered after this one.
const marker = `LLM_SANDBOX_RUN=${run.env.LLM_SANDBOX_RUN}`;
process.on("exit", () => {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(marker)) process.kill(Number(entry), "SIGKILL");
    } catch {
      // gone already, or not ours to read
    }
  }
});
const at = process.execArgv.indexOf("--require");
if (at !== -1 && process.execArgv[at + 1] === __filename) process.execArgv.splice(at, 2);
delete require.cache[__filename];
