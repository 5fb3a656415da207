import type { BackendAdapter, ExecOutcome } from "../backends/backend.js";
import { ContainerError, SandboxAbortError } from "../errors.js";
import { FrameKind } from "../interactive/frames.js";
import { Kernel, KernelGone } from "../interactive/kernel.js";
import { PYTHON_BOOT } from "../interactive/kernels.js";
import type { Logger } from "../internal/logger.js";
import { readPackageFile } from "../internal/package-files.js";
import { JAVASCRIPT_NODE_FLAGS, javascript } from "../languages/javascript.js";
import { pythonVenv } from "../languages/python.js";
import { TYPESCRIPT_NODE_FLAGS, typescript } from "../languages/typescript.js";
import type { LaunchRequest, ProcessLauncher, ProcessRunner } from "../session/process.js";

/**
 * How one language keeps an interpreter warm in a pooled container: a server (a real file under `assets/warm/`,
 * sent as the first frame) that prepares the interpreter once and gives every run a fresh copy of that state.
 */
interface WarmSpec {
  readonly language: string;
  readonly asset: string;
  /** Modules imported by default (those the image lacks are skipped). */
  readonly defaultModules: readonly string[];
  /** More source files the server loads before its hello (e.g. the plot-capture module). */
  readonly modules: readonly (readonly string[])[];
  argv(config: WarmConfig): readonly string[];
}

interface WarmConfig {
  readonly language: string;
  readonly modules: readonly string[];
  readonly workdir: string;
}

/**
 * Python: a fork server, started by the session virtualenv's python when the pool's libraries made one (as a
 * cold run would choose), else the image's.
 */
const python: WarmSpec = {
  language: "python",
  asset: "python.py",
  defaultModules: ["numpy", "pandas", "matplotlib", "matplotlib.pyplot"],
  modules: [["assets", "artifacts", "python", "llm_sandbox_plots.py"]],
  argv: (config) => {
    const venv = pythonVenv(config.workdir);
    return [
      "/bin/sh",
      "-c",
      'py="$3/bin/python"; [ -x "$py" ] || py=$(command -v python3 || command -v python); exec "$py" -c "$1" "$2"',
      "warm",
      PYTHON_BOOT,
      JSON.stringify({ ...config, venv }),
      venv,
    ];
  },
};

/** Reads the first frame (the server's source) from fd 0 and imports it; later frames stay in the pipe. */
const NODE_BOOT = `import { readSync } from "node:fs";
const pause = new Int32Array(new SharedArrayBuffer(4));
const read = (size) => {
  const buffer = Buffer.alloc(size);
  for (let at = 0; at < size; ) {
    let got;
    try {
      got = readSync(0, buffer, at, size - at, null);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 2);
      continue;
    }
    if (got === 0) process.exit(0);
    at += got;
  }
  return buffer;
};
await import("data:text/javascript;base64," + read(read(5).readUInt32BE(1)).toString("base64"));`;

/** JavaScript and TypeScript: node cannot fork, so the server keeps a spare node (the cold run's flags) booted. */
const node = (language: string, flags: readonly string[], extension: string): WarmSpec => ({
  language,
  asset: "node.mjs",
  defaultModules: [],
  modules: [],
  argv: (config) => ["/bin/sh", "-c", 'exec node --input-type=module -e "$1" "$2"', "warm", NODE_BOOT, JSON.stringify({ ...config, flags, extension })],
});

const specs: Readonly<Record<string, WarmSpec>> = {
  python,
  javascript: node("javascript", JAVASCRIPT_NODE_FLAGS, javascript.fileExtension),
  typescript: node("typescript", TYPESCRIPT_NODE_FLAGS, typescript.fileExtension),
};

/** Languages whose pooled containers can keep a warm interpreter. */
export const warmLanguages = (): string[] => Object.keys(specs);

/** The modules a language's warm interpreter imports by default, or undefined when it has none. */
export const defaultWarmModules = (language: string): readonly string[] | undefined => specs[language]?.defaultModules;

export interface WarmStart {
  readonly language: string;
  readonly modules: readonly string[];
  readonly backend: BackendAdapter;
  readonly containerId: string;
  readonly user: string | undefined;
  readonly workdir: string;
  /** Aborted when the container goes away: stop waiting for the server. */
  readonly detach: AbortSignal;
  /** Seconds the imports may take. */
  readonly startTimeout: number;
  readonly logger: Logger;
}

/** Frames larger than this break the protocol (the server sends output in 64 KiB pieces). */
const MAX_FRAME_BYTES = 1024 * 1024;
/** Commands with more input than this (large archives) run as engine execs; their input would sit in the server's memory. */
const MAX_STDIN_BYTES = 4 * 1024 * 1024;

/**
 * A running fork server, as the launcher of its container's operations: a program of its language runs in a fork
 * of the prepared interpreter, any other command of the container's user is forked and exec'd by the server,
 * instead of a new engine exec each. One operation at a time, like the session it serves.
 */
export class WarmInterpreter implements ProcessLauncher {
  readonly #kernel: Kernel;
  readonly #start: WarmStart;
  #cells = 0;
  /** The run in progress (settles when the server reports its end). */
  #current: Promise<unknown> | undefined;

  private constructor(kernel: Kernel, start: WarmStart) {
    this.#kernel = kernel;
    this.#start = start;
  }

  static async start(start: WarmStart): Promise<WarmInterpreter> {
    const spec = specs[start.language];
    if (!spec) throw new ContainerError(`No warm interpreter for ${start.language}`);
    const [source, ...modules] = await Promise.all([readPackageFile("assets", "warm", spec.asset), ...spec.modules.map((parts) => readPackageFile(...parts))]);
    const config: WarmConfig = { language: spec.language, modules: start.modules, workdir: start.workdir };
    try {
      const kernel = await Kernel.start({
        backend: start.backend,
        containerId: start.containerId,
        user: start.user,
        workdir: start.workdir,
        argv: spec.argv(config),
        source: source!,
        modules,
        detach: start.detach,
        startTimeout: start.startTimeout,
        maxFrameBytes: MAX_FRAME_BYTES,
        idleOutputBytes: 0,
        logger: start.logger,
      });
      const { failed } = kernel.info;
      if (failed?.length) start.logger.warn(`warm ${start.language} interpreter could not import: ${failed.join("; ")}`);
      return new WarmInterpreter(kernel, start);
    } catch (error) {
      if (error instanceof KernelGone) {
        throw new ContainerError(`The warm ${start.language} interpreter did not start: ${error.message}${error.exit.diagnostics ? `\n${error.exit.diagnostics}` : ""}`);
      }
      throw error;
    }
  }

  get alive(): boolean {
    return !this.#kernel.exit;
  }

  /** The server's process id in the container (the reset spares it). */
  get pid(): number {
    return this.#kernel.info.pid;
  }

  /** Modules the server imported. */
  get modules(): readonly string[] {
    return this.#kernel.info.modules ?? [];
  }

  /** Resolves when the server process is gone. */
  get ended(): Promise<void> {
    return this.#kernel.ended;
  }

  launch(request: LaunchRequest): ProcessRunner | undefined {
    if (!this.alive || this.#current || (request.user && request.user !== this.#start.user)) return undefined;
    const { program, stdin } = request;
    const common = { env: request.env, cwd: request.workdir ?? this.#start.workdir };
    let code = "";
    let details: Record<string, unknown>;
    if (program?.language === this.#start.language) {
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
        const execution = this.#kernel.execute(cell, code, { stdout: io.onStdout, stderr: io.onStderr, display: () => {} }, details);
        this.#track(execution);
        return outcome(execution, io.signal, this.#start.language);
      },
      kill: async () => {
        if (cell !== undefined) this.#kernel.send(FrameKind.KILL, { cell });
      },
    };
  }

  /**
   * True when the server answers within `timeoutMs` (after the run in progress, if any, has ended). `fresh`: the
   * container was just reset, so a server that keeps prepared processes (Node's spare) starts new ones now.
   */
  async ping(timeoutMs: number, options: { fresh?: boolean } = {}): Promise<boolean> {
    if (!(await this.idle(timeoutMs)) || !this.alive) return false;
    const answer = this.#kernel.execute(++this.#cells, "", { stdout: () => {}, stderr: () => {}, display: () => {} }, { ping: true, ...options });
    this.#track(answer);
    return within(answer.then(() => true, () => false), timeoutMs, false);
  }

  /** Waits for the run in progress to end; false if it did not within `timeoutMs`. */
  async idle(timeoutMs: number): Promise<boolean> {
    const current = this.#current;
    return current ? within(current.then(() => true, () => true), timeoutMs, false) : true;
  }

  /** Ends the server (and whatever it runs). */
  stop(): Promise<void> {
    return this.#kernel.stop();
  }

  #track(execution: Promise<unknown>): void {
    const settled: Promise<unknown> = execution.catch(() => {}).finally(() => {
      if (this.#current === settled) this.#current = undefined;
    });
    this.#current = settled;
  }
}

async function outcome(execution: ReturnType<Kernel["execute"]>, signal: AbortSignal, language: string): Promise<ExecOutcome> {
  const detached = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new SandboxAbortError());
    signal.addEventListener("abort", () => reject(new SandboxAbortError()), { once: true });
  });
  detached.catch(() => {});
  try {
    const result = await Promise.race([execution, detached]);
    if (result.exitCode === undefined) throw new ContainerError(`The warm ${language} interpreter reported no exit status`);
    return { exitCode: result.exitCode };
  } catch (error) {
    if (error instanceof KernelGone) {
      throw new ContainerError(`The warm ${language} interpreter ended during the run (${error.message})`, { cause: error });
    }
    throw error;
  }
}

function within<T>(promise: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), timeoutMs)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
