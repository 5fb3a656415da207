// llm-sandbox's Node.js kernel (JavaScript and TypeScript): one long-lived process per interactive session.
//
// Driven over frames: [kind: 1 byte][length: uint32 big-endian][payload] (see src/interactive/frames.ts).
// The launcher (src/interactive/kernels.ts) passes a JSON config as argv[1] and gives us fd 3 = commands (the
// exec's stdin), fd 4 = frames (the exec's stdout), fd 0 = /dev/null and fds 1/2 = FIFOs in
// our directory, so child processes that inherit stdout/stderr cannot write into the frame stream. A worker
// thread reads the FIFOs (it keeps reading while the main thread is blocked, e.g. in execSync).
//
// Cells run in this realm (like the node REPL), so values from required modules pass `instanceof` checks.
// Top-level let/const/class become globals that later cells see and may redeclare; top-level await works
// (Node's own REPL transform, from --expose-internals; without it such cells report a SyntaxError).
import fs from "node:fs";
import { Console } from "node:console";
import { createRequire, stripTypeScriptTypes } from "node:module";
import net from "node:net";
import { Writable } from "node:stream";
import util from "node:util";
import vm from "node:vm";
import { Worker } from "node:worker_threads";

const config = JSON.parse(process.argv[1]);
const dir = config.dir;
const COMMAND_FD = 3;
const FRAME_FD = 4;

const internal = createRequire(import.meta.url);
let acorn;
let processTopLevelAwait;
try {
  acorn = internal("internal/deps/acorn/acorn/dist/acorn");
  ({ processTopLevelAwait } = internal("internal/repl/await"));
} catch {
  // Node without --expose-internals: cells still run, without top-level await or redeclarations.
}

// ---- frames ----------------------------------------------------------------------------------------------
function send(kind, payload) {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame.write(kind, 0, "latin1");
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  for (let at = 0; at < frame.length; ) {
    try {
      at += fs.writeSync(FRAME_FD, frame, at);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}
const sendJson = (kind, value) => send(kind, JSON.stringify(value));

// ---- output: the cell's process.stdout/stderr and console write frames directly -----------------------------
function frameStream(kind, fd) {
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      send(kind, chunk);
      callback();
    },
  });
  return Object.assign(stream, { fd, isTTY: false, columns: 80, rows: 24, _isStdio: true });
}
const stdout = frameStream("O", 1);
const stderr = frameStream("E", 2);
Object.defineProperty(process, "stdout", { configurable: true, enumerable: true, get: () => stdout });
Object.defineProperty(process, "stderr", { configurable: true, enumerable: true, get: () => stderr });
globalThis.console = new Console({ stdout, stderr, colorMode: false });

// Child processes' output arrives through the FIFOs; `drain()` waits until what they hold now has been sent.
const reader = new Worker(
  `const { parentPort, workerData } = require("node:worker_threads");
  const fs = require("node:fs");
  const net = require("node:net");
  for (const [name, kind] of [["stdout", "O"], ["stderr", "E"]]) {
    const fd = fs.openSync(workerData.dir + "/" + name, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    new net.Socket({ fd, readable: true, writable: false }).on("data", (chunk) => parentPort.postMessage({ kind, chunk }));
  }
  // Two loop turns: whatever the FIFOs held when asked has been read and posted before the answer.
  parentPort.on("message", (id) => setImmediate(() => setImmediate(() => parentPort.postMessage({ drained: id }))));
  parentPort.postMessage({ ready: true });`,
  { eval: true, execArgv: [], workerData: { dir } }, // no --input-type=module: this source is CommonJS
);
const drains = new Map();
let drainIds = 0;
const readerReady = new Promise((resolve, reject) => {
  reader.on("error", reject);
  reader.on("message", (message) => {
    if (message.kind) send(message.kind, Buffer.from(message.chunk));
    else if (message.drained !== undefined) drains.get(message.drained)?.();
    else if (message.ready) resolve();
  });
});
const drain = () =>
  new Promise((resolve) => {
    const id = drainIds++;
    drains.set(id, () => {
      drains.delete(id);
      resolve();
    });
    reader.postMessage(id);
  });

// ---- interrupts: SIGINT stops the running cell, and only the cell it was aimed at ----------------------------
let current; // { cell, interrupted: Promise, interrupt() }
process.on("SIGINT", () => {
  if (!current) return;
  let target;
  try {
    target = Number(fs.readFileSync(`${dir}/interrupt`, "utf8").trim());
  } catch {
    return;
  }
  if (target === current.cell) current.interrupt();
});
class Interrupted extends Error {}

// Errors of code that outlives its cell (timers, promises) are reported, never fatal to the kernel.
process.on("uncaughtException", (error) => stderr.write(`Uncaught ${describe(error).traceback}\n`));
process.on("unhandledRejection", (reason) => stderr.write(`Unhandled promise rejection: ${describe(reason).traceback}\n`));

// ---- cells ----------------------------------------------------------------------------------------------
globalThis.require = createRequire(`${config.workdir}/`);

function stripTypes(code) {
  try {
    return stripTypeScriptTypes(code, { mode: "strip" }); // keeps line and column numbers
  } catch (error) {
    if (error?.code !== "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX") throw error;
    return stripTypeScriptTypes(code, { mode: "transform" }); // enums, namespaces, parameter properties
  }
}

/** Top-level let/const/class → var, so the next cell sees them and may declare them again (as in a notebook). */
function persistDeclarations(code) {
  let program;
  try {
    program = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", allowAwaitOutsideFunction: true, allowHashBang: true });
  } catch {
    return code; // V8 reports the syntax error, with better messages
  }
  const edits = [];
  for (const node of program.body) {
    if (node.type === "VariableDeclaration" && (node.kind === "let" || node.kind === "const")) {
      edits.push([node.start, node.kind.length, "var"]);
      for (const declarator of node.declarations) if (!declarator.init) edits.push([declarator.id.end, 0, " = undefined"]);
    } else if (node.type === "ClassDeclaration") {
      edits.push([node.start, 0, `var ${node.id.name} = `], [node.end, 0, ";"]);
    }
  }
  for (const [at, remove, insert] of edits.reverse()) code = code.slice(0, at) + insert + code.slice(at + remove);
  return code;
}

/** `{ a: 1 }` alone is an object, not a block (as in the node REPL). */
function objectLiteral(code) {
  if (!/^\s*\{/.test(code) || !/\}\s*;?\s*$/.test(code)) return code;
  const candidate = `(${code.replace(/;\s*$/, "")}\n)`;
  try {
    new vm.Script(candidate);
    return candidate;
  } catch {
    return code;
  }
}

function compile(code, cell) {
  let source = objectLiteral(config.typescript ? stripTypes(code) : code);
  if (acorn) source = persistDeclarations(source);
  const wrapped = processTopLevelAwait?.(source) ?? null;
  const script = new vm.Script(wrapped ?? source, {
    filename: `${config.workdir}/cell-${cell}`,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  return { script, async: wrapped !== null };
}


function describe(thrown) {
  if (util.types.isNativeError(thrown) || thrown instanceof Error) {
    const stack = String(thrown.stack ?? `${thrown.name}: ${thrown.message}`);
    const traceback = stack
      .split("\n")
      .filter((line) => !(line.startsWith("    at ") && (line.includes(dir) || /\bnode:(?:internal|vm)\b/.test(line))))
      .join("\n");
    return { name: String(thrown.name ?? "Error"), message: String(thrown.message ?? ""), traceback };
  }
  const text = util.inspect(thrown);
  return { name: "Error", message: text, traceback: text };
}

const truncate = (text) => (text.length <= config.maxValueChars ? text : `${text.slice(0, config.maxValueChars)}\n... [truncated]`);

async function execute({ cell, code }) {
  let status = "ok";
  let value;
  let error;
  let interrupt;
  const interrupted = new Promise((_, reject) => (interrupt = () => reject(new Interrupted())));
  interrupted.catch(() => {});
  current = { cell, interrupt };
  try {
    const { script, async } = compile(code, cell);
    let result = script.runInThisContext({ breakOnSigint: true, displayErrors: true });
    if (async) result = (await Promise.race([result, interrupted]))?.value;
    if (result !== undefined) value = truncate(util.inspect(result));
  } catch (thrown) {
    status = "error";
    error =
      thrown instanceof Interrupted || thrown?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED"
        ? { name: "Interrupted", message: "the cell was interrupted", traceback: "Interrupted" }
        : describe(thrown);
    stderr.write(`Uncaught ${error.traceback}\n`);
  } finally {
    current = undefined;
  }
  await drain();
  sendJson("R", { cell, status, value: value ?? null, error: error ?? null });
}

// ---- the loop ----------------------------------------------------------------------------------------------
await readerReady;
for (const name of ["stdout", "stderr", "kernel.mjs"]) fs.rmSync(`${dir}/${name}`, { force: true });

let pending = Buffer.alloc(0);
let queue = Promise.resolve();
const commands = new net.Socket({ fd: COMMAND_FD, readable: true, writable: false });
commands.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
    const kind = String.fromCharCode(pending[0]);
    const payload = pending.subarray(5, 5 + pending.readUInt32BE(1));
    pending = pending.subarray(5 + payload.length);
    if (kind === "X") {
      const request = JSON.parse(payload.toString());
      queue = queue.then(() => execute(request));
    }
  }
});
commands.on("end", () => queue.then(() => process.exit(0)));

process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
sendJson("H", { pid: process.pid, language: config.typescript ? "typescript" : "javascript", version: process.version });
