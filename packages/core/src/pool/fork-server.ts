import type { ExecOutcome } from "../backends/backend.js";
import { ContainerError, SandboxAbortError } from "../errors.js";
import { FrameKind } from "../interactive/frames.js";
import { Kernel, KernelGone } from "../interactive/kernel.js";
import { PYTHON_BOOT } from "../interactive/kernels.js";
import { within } from "../internal/async.js";
import { readPackageFile } from "../internal/package-files.js";
import { pythonVenv, selectPython } from "../languages/python.js";
import type { LaunchRequest, ProcessRunner } from "../session/process.js";
import type { WarmRunner, WarmStart } from "./warm-runner.js";

/** Frames larger than this break the protocol (the server sends output in 64 KiB pieces). */
const MAX_FRAME_BYTES = 1024 * 1024;
/** The exit status of a server that declines to run (it could not protect itself). */
const DECLINED = 78;
/** Commands with more input than this (large archives) run as engine execs; their input would sit in the server's memory. */
const MAX_STDIN_BYTES = 4 * 1024 * 1024;
const silent = { stdout: () => {}, stderr: () => {}, display: () => {} };

/**
 * Python's warm interpreter: a fork server (`assets/warm/python.py`) that imports the modules once and forks a
 * fresh child per run, driven over one exec with the interactive kernels' frames (it reuses `Kernel`). It also
 * forks and execs the container user's other commands, so they cost no engine exec. It is non-dumpable (its
 * programs cannot trace it), so it does a reset's kill step itself. One operation at a time, like a session.
 */
export class ForkServer implements WarmRunner {
  readonly #kernel: Kernel;
  readonly #start: WarmStart;
  #cells = 0;
  /** The operation in progress (settles when the server reports its end). */
  #current: Promise<unknown> | undefined;

  private constructor(kernel: Kernel, start: WarmStart) {
    this.#kernel = kernel;
    this.#start = start;
  }

  static async start(start: WarmStart): Promise<ForkServer | undefined> {
    const [source, capture] = await Promise.all([
      readPackageFile("assets", "warm", "python.py"),
      readPackageFile("assets", "artifacts", "python", "llm_sandbox_plots.py"),
    ]);
    const venv = pythonVenv(start.workdir);
    try {
      const kernel = await Kernel.start({
        backend: start.backend,
        containerId: start.containerId,
        user: start.user,
        workdir: start.workdir,
        // The session virtualenv's python when the pool's libraries made one (as a cold run would choose).
        argv: [
          "/bin/sh",
          "-c",
          `${selectPython(start.workdir)}; exec "$py" -c "$1" "$2"`,
          "warm",
          PYTHON_BOOT,
          JSON.stringify({ modules: start.modules, venv }),
        ],
        source,
        modules: [capture],
        detach: start.detach,
        startTimeout: start.startTimeout,
        maxFrameBytes: MAX_FRAME_BYTES,
        idleOutputBytes: 0,
        logger: start.logger,
      });
      const { failed } = kernel.info;
      if (failed?.length) start.logger.warn(`warm python interpreter could not import: ${failed.join("; ")}`);
      return new ForkServer(kernel, start);
    } catch (error) {
      if (!(error instanceof KernelGone)) throw error;
      if (error.exit.exitCode === DECLINED) {
        start.logger.warn(`no warm python interpreter: ${error.exit.diagnostics}`);
        return undefined;
      }
      throw new ContainerError(`The warm python interpreter did not start: ${error.message}${error.exit.diagnostics ? `\n${error.exit.diagnostics}` : ""}`);
    }
  }

  get alive(): boolean {
    return !this.#kernel.exit;
  }

  get ended(): Promise<void> {
    return this.#kernel.ended;
  }

  launch(request: LaunchRequest): ProcessRunner | undefined {
    if (!this.alive || this.#current || (request.user && request.user !== this.#start.user)) return undefined;
    const { program, stdin } = request;
    const common = { env: request.env, cwd: request.workdir ?? this.#start.workdir };
    let code = "";
    let details: Record<string, unknown>;
    if (program?.language === "python") {
      // What the cold run writes: the code as UTF-8 (lone surrogates replaced).
      code = Buffer.from(program.code, "utf8").toString("utf8");
      details = { ...common, file: program.file, prelude: program.prelude };
    } else if (!stdin || stdin.length <= MAX_STDIN_BYTES) {
      details = { ...common, argv: request.argv, ...(stdin?.length ? { stdin: Buffer.from(stdin).toString("base64") } : {}) };
    } else {
      return undefined;
    }
    let cell: number | undefined;
    return {
      start: (io) => {
        cell = ++this.#cells;
        const execution = this.#request(cell, code, details, io);
        return outcome(execution, io.signal);
      },
      kill: async () => {
        if (cell !== undefined) this.#kernel.send(FrameKind.KILL, { cell });
      },
    };
  }

  clear(timeoutMs: number): Promise<boolean> {
    return this.#control({ clear: true }, timeoutMs);
  }

  async settle(timeoutMs: number): Promise<boolean> {
    if (this.#current) this.#kernel.send(FrameKind.KILL, { cell: this.#cells });
    return this.#idle(timeoutMs);
  }

  prepare(timeoutMs: number): Promise<boolean> {
    return this.#control({ ping: true }, timeoutMs);
  }

  /** A request the server answers itself (no program), true when it reports success within `timeoutMs`. */
  async #control(request: Record<string, unknown>, timeoutMs: number): Promise<boolean> {
    if (!(await this.#idle(timeoutMs)) || !this.alive) return false;
    const answer = this.#request(++this.#cells, "", request, { onStdout: () => {}, onStderr: () => {} });
    return within(answer.then((result) => result.exitCode === 0, () => false), timeoutMs, false);
  }

  #request(cell: number, code: string, details: Record<string, unknown>, io: { onStdout: (chunk: Uint8Array) => void; onStderr: (chunk: Uint8Array) => void }) {
    const execution = this.#kernel.execute(cell, code, { ...silent, stdout: io.onStdout, stderr: io.onStderr }, details);
    const settled: Promise<unknown> = execution.catch(() => {}).finally(() => {
      if (this.#current === settled) this.#current = undefined;
    });
    this.#current = settled;
    return execution;
  }

  async #idle(timeoutMs: number): Promise<boolean> {
    const current = this.#current;
    return current ? within(current.then(() => true), timeoutMs, false) : true;
  }
}

async function outcome(execution: ReturnType<Kernel["execute"]>, signal: AbortSignal): Promise<ExecOutcome> {
  const detached = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new SandboxAbortError());
    signal.addEventListener("abort", () => reject(new SandboxAbortError()), { once: true });
  });
  detached.catch(() => {});
  try {
    const result = await Promise.race([execution, detached]);
    if (result.exitCode === undefined) throw new ContainerError("The warm python interpreter reported no exit status");
    return { exitCode: result.exitCode };
  } catch (error) {
    if (error instanceof KernelGone) {
      throw new ContainerError(`The warm python interpreter ended during the run (${error.message})`, { cause: error });
    }
    throw error;
  }
}
