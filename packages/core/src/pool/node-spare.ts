import { posix } from "node:path";
import type { ExecOutcome } from "../backends/backend.js";
import { ContainerError } from "../errors.js";
import { ByteQueue, within } from "../internal/async.js";
import { newId } from "../internal/ids.js";
import { readPackageFile } from "../internal/package-files.js";
import type { LaunchRequest, ProcessRunner } from "../session/process.js";
import { killRun, RUN_MARKER } from "../session/process-control.js";
import type { WarmRunner, WarmStart } from "./warm-runner.js";

/** The preload's first bytes on stdout (assets/warm/node-preload.cjs): its file is gone, it waits for the run. */
const READY = Buffer.from("\u0000llm-sandbox:ready\n");
/** The preload, and the node it starts as a cold run's wrapper would: the file is removed after the program. */
const SPARE_SCRIPT = `d=$1 f=$2 p=$3; shift 3
mkdir -m 700 -- "$d" && printf %s "$p" > "$d/preload.cjs" || exit 70
node "$@" --require "$d/preload.cjs" "$f"
rc=$?; rm -rf -- "$f" "$d"; exit $rc`;

type Sink = Pick<Parameters<ProcessRunner["start"]>[0], "onStdout" | "onStderr">;

/** A node started in advance, waiting in its preload for one run. */
interface Spare {
  /** Its processes' run marker: how a stop finds them (the run's own marker reaches only what the program starts). */
  readonly marker: string;
  /** Its main file (the run's code goes there). */
  readonly file: string;
  readonly stdin: ByteQueue;
  readonly exec: Promise<ExecOutcome>;
  /** True once its preload file is gone and it waits; false if it ended first. */
  readonly ready: Promise<boolean>;
  readonly detach: AbortController;
  isReady: boolean;
  ended: boolean;
  /** Output before the run started (a warning at start-up): the run's, as in a cold run. */
  held: Array<readonly ["stdout" | "stderr", Uint8Array]>;
  sink?: Sink;
}

/**
 * JavaScript's and TypeScript's warm runner. Node cannot fork, so the prepared state is a node started in advance —
 * one exec with the cold run's wrapper and flags (`node <flags> --require <preload> <file>`) whose stdin stays open —
 * that a run hands its code and environment; node then runs the file exactly as `node file` does, and the exec's
 * stream carries its output and exit status. Each spare serves one run. No process of ours lives on between
 * sessions (the reset kills the spare), so there is nothing a program could tamper with.
 *
 * Its preload is a file in /tmp until node has loaded it (node needs a real path), and no program may see it: a
 * spare is started only while no operation of a session runs — after each reset (so a session's first run finds it
 * ready), and after each run for the next — and an operation that comes while one starts waits for it.
 */
export class NodeSpare implements WarmRunner {
  readonly alive = true;
  readonly #start: WarmStart;
  readonly #flags: readonly string[];
  readonly #extension: string;
  readonly #preload: string;
  #spare: Spare | undefined;
  /** The spare running the operation in progress. */
  #running: { readonly spare: Spare; readonly done: Promise<unknown> } | undefined;

  private constructor(start: WarmStart, flags: readonly string[], extension: string, preload: string) {
    this.#start = start;
    this.#flags = flags;
    this.#extension = extension;
    this.#preload = preload.replace("/* MODULES */ []", JSON.stringify(start.modules));
  }

  static async start(start: WarmStart, flags: readonly string[], extension: string): Promise<NodeSpare | undefined> {
    const runner = new NodeSpare(start, flags, extension, (await readPackageFile("assets", "warm", "node-preload.cjs")).toString("utf8"));
    if (await runner.prepare(start.startTimeout * 1000, { fresh: true })) return runner;
    start.logger.warn(`no warm ${start.language} runner: node did not start`);
    runner.#drop();
    return undefined;
  }

  launch(request: LaunchRequest): ProcessRunner | undefined {
    const spare = this.#spare;
    if (!spare || spare.ended || this.#running) return undefined;
    const { program } = request;
    if (program?.language !== this.#start.language || (request.user && request.user !== this.#start.user)) {
      return spare.isReady ? undefined : this.#afterReady(spare, request);
    }
    return {
      start: async (io) => {
        this.#spare = undefined;
        if (!(await within(spare.ready, 10_000, false))) throw new ContainerError(`The warm ${this.#start.language} runner did not start`);
        spare.sink = io;
        for (const [stream, chunk] of spare.held) (stream === "stdout" ? io.onStdout : io.onStderr)(chunk);
        spare.stdin.push(Buffer.from(JSON.stringify({ env: request.env, code: Buffer.from(program.code, "utf8").toString("utf8") })));
        spare.stdin.end();
        io.signal.addEventListener("abort", () => spare.detach.abort(), { once: true });
        const done = spare.exec.finally(() => {
          if (this.#running?.spare === spare) this.#running = undefined;
          if (!this.#spare) this.#spare = this.#boot(); // the session's next run
        });
        this.#running = { spare, done: done.catch(() => {}) };
        return done;
      },
      kill: () => this.#stop(spare),
    };
  }

  async settle(timeoutMs: number): Promise<boolean> {
    const running = this.#running;
    if (!running) return true;
    await this.#stop(running.spare);
    return within(running.done.then(() => true), timeoutMs, false);
  }

  /** `fresh` (after a reset): a new spare, started now that no program runs. A health check keeps a live one. */
  prepare(timeoutMs: number, { fresh }: { fresh: boolean }): Promise<boolean> {
    if (fresh || !this.#spare || this.#spare.ended) {
      this.#drop();
      this.#spare = this.#boot();
    }
    return within(this.#spare.ready, timeoutMs, false);
  }

  /** An operation while a spare starts runs once its preload file is gone, as a plain exec. */
  #afterReady(spare: Spare, request: LaunchRequest): ProcessRunner {
    const { backend, containerId } = this.#start;
    return {
      start: async (io) => {
        await within(spare.ready, 10_000, false);
        const { program: _program, ...exec } = request; // a launch request holds only the fields that are set
        return backend.exec(containerId, { ...exec, ...io });
      },
      kill: async () => {},
    };
  }

  /** TERM to the spare's processes, KILL after the grace period (the program's children carry the run's marker). */
  #stop(spare: Spare): Promise<void> {
    const { backend, containerId, user } = this.#start;
    return killRun(backend, containerId, spare.marker, { user, cleanupPath: spare.file });
  }

  /** Gives up the waiting spare: its preload sees end of input without a run and exits. */
  #drop(): void {
    const spare = this.#spare;
    this.#spare = undefined;
    if (!spare) return;
    spare.stdin.end();
    setTimeout(() => spare.detach.abort(), 5_000).unref();
  }

  #boot(): Spare {
    const { backend, containerId, user, workdir, detach } = this.#start;
    const id = newId();
    let markReady!: (ready: boolean) => void;
    const spare: Spare = {
      marker: newId(),
      file: posix.join(workdir, `.sandbox-${id}.${this.#extension}`),
      stdin: new ByteQueue(),
      ready: new Promise<boolean>((resolve) => (markReady = resolve)),
      detach: new AbortController(),
      exec: undefined as unknown as Promise<ExecOutcome>,
      isReady: false,
      ended: false,
      held: [],
    };
    let head = Buffer.alloc(0);
    const output = (stream: "stdout" | "stderr") => (chunk: Uint8Array) => {
      if (stream === "stdout" && !spare.isReady) {
        head = Buffer.concat([head, chunk]);
        if (head.length < READY.length) return;
        if (!head.subarray(0, READY.length).equals(READY)) return void spare.detach.abort(); // not our preload talking
        spare.isReady = true;
        markReady(true);
        chunk = head.subarray(READY.length);
        if (!chunk.length) return;
      }
      if (spare.sink) (stream === "stdout" ? spare.sink.onStdout : spare.sink.onStderr)(chunk);
      else spare.held.push([stream, chunk]);
    };
    const exec = backend.exec(containerId, {
      argv: ["/bin/sh", "-c", SPARE_SCRIPT, "spare", `/tmp/.llm-sandbox-spare-${id}`, spare.file, this.#preload, ...this.#flags],
      stdin: spare.stdin,
      env: { [RUN_MARKER]: spare.marker },
      workdir,
      ...(user ? { user } : {}),
      onStdout: output("stdout"),
      onStderr: output("stderr"),
      signal: AbortSignal.any([detach, spare.detach.signal]),
      // A waiting spare must not keep the program alive (an idle pool does not).
      keepAlive: false,
    });
    (spare as { exec: Promise<ExecOutcome> }).exec = exec;
    exec.then(
      () => {},
      () => {},
    ).finally(() => {
      spare.ended = true;
      markReady(false);
    });
    return spare;
  }
}
