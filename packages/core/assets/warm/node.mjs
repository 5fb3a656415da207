// llm-sandbox's warm Node.js runner: the server of a pooled JavaScript or TypeScript container.
//
// Node cannot fork, so the prepared state is a spare process: `node <the cold run's flags> --require <preload>
// <file>`, booted before it is needed, that has loaded the configured modules and waits inside its preload. A run
// writes its code to that file, hands the spare its environment, and the spare goes on exactly as `node file` does
// (same main module, stack traces, exit status), in its own session and process group. Each spare serves one run,
// so nothing one run does is seen by the next. A spare boots only while no operation of a session runs — at start
// and after each reset (the host asks), else when a run arrives and finds none — because its preload is a file in
// /tmp until it has loaded (node needs a real path), and no program may see it. So a session's first run finds a
// spare ready; later runs boot theirs. Other commands of the session are spawned the same way, sparing the
// engine's exec round trip.
//
// Driven over the exec's stdin/stdout with the kernels' frames ([kind: 1 byte][length: uint32 big-endian][payload],
// see src/interactive/frames.ts). Host -> server: S (this file), X (a run, JSON: {cell, env, cwd} and either
// {code, file} or {argv, stdin?}, or {ping, fresh?}), K (stop that run's processes). Server -> host: H (hello),
// O/E (the running program's output), R (its exit status). argv[1] is a JSON config.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { constants } from "node:os";
import path from "node:path";

const config = JSON.parse(process.argv[1]);
const MARKER = "LLM_SANDBOX_RUN";
const BASE_ENV = { ...process.env };
delete BASE_ENV[MARKER];
/** Seconds between TERM and KILL when a run is stopped; the most a finished program's output is waited for. */
const KILL_GRACE_MS = 2000;
const OUTPUT_GRACE_MS = 2000;
const CODE_WRITE_FAILED = 125;
/** Variables node reads at start-up: a run that changes them gets a freshly started node. */
const STARTUP_VARIABLES = /^(NODE_|UV_THREADPOOL_SIZE$)/;

// The spare's preload: removes its own file and says so (one byte on fd 3), loads the configured modules (resolved
// from the workdir, as the program's own require would), waits for its run on fd 3 (JSON, then end of file),
// takes the run's environment, removes the rest of its traces and returns: node then loads the main file as usual.
const PRELOAD = `"use strict";
const fs = require("node:fs");
const path = require("node:path");
fs.rmSync(path.dirname(__filename), { recursive: true, force: true });
fs.writeSync(3, "r");
for (const name of ${JSON.stringify(config.modules)}) { try { require(require.resolve(name, { paths: [process.cwd()] })); } catch {} }
const chunks = [];
const buffer = Buffer.alloc(65536);
const pause = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  let got;
  try { got = fs.readSync(3, buffer, 0, buffer.length, null); } catch (error) {
    if (error.code === "EAGAIN") { Atomics.wait(pause, 0, 0, 2); continue; }
    throw error;
  }
  if (got === 0) break;
  chunks.push(Buffer.from(buffer.subarray(0, got)));
}
fs.closeSync(3);
if (!chunks.length) process.exit(0);
const run = JSON.parse(Buffer.concat(chunks).toString("utf8"));
for (const name of Object.keys(process.env)) if (!(name in run.env)) delete process.env[name];
Object.assign(process.env, run.env);
const at = process.execArgv.indexOf("--require");
if (at !== -1 && process.execArgv[at + 1] === __filename) process.execArgv.splice(at, 2);
delete require.cache[__filename];
`;

// ---- frames ----------------------------------------------------------------------------------------------------
function send(kind, payload) {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame.write(kind, 0, "latin1");
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  for (let at = 0; at < frame.length; ) {
    try {
      at += fs.writeSync(1, frame, at);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}
const sendResult = (cell, exitCode) => send("R", JSON.stringify({ cell, status: "ok", value: null, error: null, exitCode }));

// ---- spares ----------------------------------------------------------------------------------------------------
let spare;

/** A node booted with the cold run's flags, waiting in its preload for the code of `file`. */
function startSpare() {
  const id = randomBytes(8).toString("hex");
  const dir = `/tmp/.llm-sandbox-warm-${id}`;
  fs.mkdirSync(dir, { mode: 0o700 });
  const preload = path.join(dir, "preload.cjs");
  fs.writeFileSync(preload, PRELOAD);
  const file = path.join(config.workdir, `.sandbox-${id}.${config.extension}`);
  const child = spawn(process.execPath, [...config.flags, "--require", preload, file], {
    cwd: config.workdir,
    env: process.env, // the server's marker: stopping the server stops its spares
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    detached: true,
  });
  const started = { child, file, dir, exited: false };
  child.on("exit", () => (started.exited = true));
  child.on("error", () => (started.exited = true));
  child.stdio[3].on("error", () => {});
  /** Resolves once the preload file is gone (or the spare is). */
  started.loaded = new Promise((resolve) => {
    child.stdio[3].once("data", resolve);
    child.once("exit", resolve);
    child.once("error", resolve);
  });
  return started;
}

function dropSpare() {
  if (!spare) return;
  if (!spare.exited) spare.child.kill("SIGKILL");
  fs.rmSync(spare.dir, { recursive: true, force: true });
  spare = undefined;
}

function takeSpare() {
  if (spare?.exited) dropSpare();
  const taken = spare ?? startSpare();
  spare = undefined;
  return taken;
}

// ---- runs ------------------------------------------------------------------------------------------------------
let current;
const queue = [];

function start(request) {
  if (request.ping && request.fresh) {
    // Answered once the new spare's preload file is gone: the next session must not see it.
    const run = (current = { cell: request.cell });
    dropSpare();
    spare = startSpare();
    return void spare.loaded.then(() => finish(run, 0));
  }
  if (request.ping) return sendResult(request.cell, 0);
  const run = { cell: request.cell, open: 2, status: undefined, exitedAt: undefined, file: undefined, stop: undefined, timer: undefined };
  current = run;
  let child;
  if ("argv" in request) {
    child = command(request, run);
  } else if (Object.entries(request.env).some(([name, value]) => STARTUP_VARIABLES.test(name) && value !== BASE_ENV[name])) {
    run.file = request.file;
    if (!writeCode(run, request.file, request.code)) return;
    child = command({ ...request, env: { ...request.env, PWD: request.cwd }, argv: [process.execPath, ...config.flags, request.file] }, run);
  } else {
    const taken = takeSpare();
    run.file = taken.file;
    if (!writeCode(run, taken.file, request.code)) return taken.child.stdio[3].end();
    child = taken.child;
    // The run's file is the spare's; its name is as random as the session's would be.
    // PWD: the shell that starts a cold run sets it.
    taken.child.stdio[3].end(JSON.stringify({ env: { ...BASE_ENV, ...request.env, SANDBOX_FILE: taken.file, PWD: request.cwd } }));
    if (taken.exited) return finish(run, CODE_WRITE_FAILED, "[llm-sandbox] warm runner: the node process ended early\n");
  }
  if (!child) return;
  run.child = child;
  child.stdout.on("data", (chunk) => current === run && send("O", chunk));
  child.stderr.on("data", (chunk) => current === run && send("E", chunk));
  for (const stream of [child.stdout, child.stderr]) stream.on("end", () => (run.open--, advance(run)));
  child.on("exit", (code, signal) => {
    run.status = signal ? 128 + (constants.signals[signal] ?? 0) : code;
    run.exitedAt = Date.now();
    advance(run);
  });
}

/** Spawns argv as the engine's exec would: failures are status 126 with the engine's message on stdout. */
function command(request, run) {
  if (!fs.existsSync(request.cwd)) {
    finish(run, 126, `OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd ("${request.cwd}") set in config.json failed: no such file or directory: unknown\r\n`, "O");
    return undefined;
  }
  const child = spawn(request.argv[0], request.argv.slice(1), {
    cwd: request.cwd,
    env: { ...BASE_ENV, ...request.env },
    stdio: [request.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    detached: true,
  });
  child.on("error", (error) => {
    const name = request.argv[0];
    const reason =
      error.code === "ENOENT"
        ? name.includes("/") ? `exec: "${name}": no such file or directory` : `exec: "${name}": executable file not found in $PATH`
        : `exec: "${name}": ${error.code === "EACCES" ? "permission denied" : error.message}`;
    finish(run, 126, `OCI runtime exec failed: exec failed: unable to start container process: ${reason}: unknown\r\n`, "O");
  });
  if (request.stdin) {
    child.stdin.on("error", () => {});
    child.stdin.end(Buffer.from(request.stdin, "base64"));
  }
  return child;
}

function writeCode(run, file, code) {
  try {
    fs.writeFileSync(file, code);
    return true;
  } catch (error) {
    finish(run, CODE_WRITE_FAILED, `[llm-sandbox] cannot write ${file}: ${error.message}\n`);
    return false;
  }
}

/** The run is over once its program exited and its output ended (or the grace period passed), and any stop is done. */
function advance(run) {
  if (current !== run || run.status === undefined || run.stop) return;
  const waited = Date.now() - run.exitedAt;
  if (run.open > 0 && waited < OUTPUT_GRACE_MS) {
    clearTimeout(run.timer);
    run.timer = setTimeout(() => advance(run), OUTPUT_GRACE_MS - waited);
    return;
  }
  finish(run, run.status);
}

function finish(run, status, message, kind = "E") {
  if (current !== run) return;
  clearTimeout(run.timer);
  if (message) send(kind, message);
  for (const stream of [run.child?.stdout, run.child?.stderr]) stream?.destroy();
  if (run.file) fs.rmSync(run.file, { force: true }); // as the cold run's wrapper does after the program
  current = undefined;
  sendResult(run.cell, status);
  while (!current && queue.length) start(queue.shift());
}

/** TERM to the run's process group now, KILL after the grace period; the result waits for the group to be gone. */
function stop(cell) {
  const run = current;
  if (!run || run.cell !== cell || run.stop || !run.child?.pid) return;
  const group = -run.child.pid;
  const signal = (name) => {
    try {
      process.kill(group, name);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + KILL_GRACE_MS;
  signal("SIGTERM");
  run.stop = setInterval(() => {
    if (Date.now() >= deadline) signal("SIGKILL");
    else if (signal(0)) return;
    clearInterval(run.stop);
    run.stop = undefined;
    advance(run);
  }, 50);
}

// ---- the loop ------------------------------------------------------------------------------------------------
let pending = Buffer.alloc(0);
process.stdin.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
    const kind = String.fromCharCode(pending[0]);
    const payload = JSON.parse(pending.subarray(5, 5 + pending.readUInt32BE(1)).toString("utf8"));
    pending = pending.subarray(5 + pending.readUInt32BE(1));
    if (kind === "X") current ? queue.push(payload) : start(payload);
    else if (kind === "K") stop(payload.cell);
  }
});
process.stdin.on("end", () => {
  dropSpare();
  if (current?.child?.pid) {
    try {
      process.kill(-current.child.pid, "SIGKILL");
    } catch {}
  }
  process.exit(0);
});

spare = startSpare();
await spare.loaded;
send("H", JSON.stringify({ pid: process.pid, language: config.language, version: process.versions.node, modules: config.modules, failed: [] }));
