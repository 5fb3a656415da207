import { z } from "zod";
import type { BackendAdapter } from "../backends/backend.js";
import { ByteQueue, type Deferred, deferred } from "../internal/async.js";
import { newId } from "../internal/ids.js";
import type { Logger } from "../internal/logger.js";
import type { ExecutionErrorInfo } from "../result.js";
import { killRun, RUN_MARKER } from "../container/process-control.js";
import { encodeFrame, encodeJsonFrame, FrameDecoder, FrameError, FrameKind } from "./frames.js";

export interface KernelLaunch {
  readonly backend: BackendAdapter;
  readonly containerId: string;
  readonly user?: string | undefined;
  readonly workdir: string;
  readonly argv: readonly string[];
  readonly source: Uint8Array;
  /** More SOURCE frames, sent right after the kernel's own (modules it loads before its hello). */
  readonly modules?: readonly Uint8Array[];
  /** The kernel's directory inside the sandbox (holds the interrupt target), removed when it stops. */
  readonly dir?: string;
  /** Aborted when the session closes: stop waiting for the kernel. */
  readonly detach: AbortSignal;
  /** Seconds to wait for the kernel's hello. */
  readonly startTimeout: number;
  readonly maxFrameBytes: number;
  /** Output written between cells (background threads, timers) is kept up to this many bytes per stream. */
  readonly idleOutputBytes: number;
  readonly logger: Logger;
}

// Control frames are checked, not trusted: the code in the kernel could write anything to the channel.
const helloSchema = z.object({
  pid: z.number().int().positive(),
  language: z.string(),
  version: z.string(),
  /** A fork server: the modules it imported, and those it could not (with why). */
  modules: z.array(z.string()).optional(),
  failed: z.array(z.string()).optional(),
});
const displaySchema = z.object({
  /** Images by mime type, base64. */
  data: z.record(z.string(), z.string()).optional(),
  metadata: z.object({ library: z.string().optional(), dpi: z.number().positive().optional() }).optional(),
  /** Set instead of `data` when an image was dropped (too large, failed to render). */
  error: z.string().optional(),
});
const resultSchema = z.object({
  cell: z.number(),
  status: z.enum(["ok", "error"]),
  value: z.string().nullable(),
  error: z.object({ name: z.string(), message: z.string(), traceback: z.string().optional() }).nullable(),
  /** A fork server's run: the program's exit status. */
  exitCode: z.number().int().optional(),
});

export type KernelHello = z.infer<typeof helloSchema>;
export type DisplayFrame = z.infer<typeof displaySchema>;
export type ResultFrame = z.infer<typeof resultSchema>;

/** Where a running cell's events go. */
export interface CellSink {
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
  display(frame: DisplayFrame): void;
}

export interface KernelExit {
  /** Undefined when the stream broke without an exit code (detached, engine error). */
  readonly exitCode: number | undefined;
  /** Why, when it was not a plain exit: a protocol violation, an engine error, a stop. */
  readonly reason: string | undefined;
  /** The end of what the kernel itself wrote to the exec's stderr (its own failures). */
  readonly diagnostics: string;
}

/** Rejection of `start()`/`execute()` when the kernel process is gone. */
export class KernelGone extends Error {
  constructor(readonly exit: KernelExit) {
    super(`kernel exited${exit.exitCode === undefined ? "" : ` with code ${exit.exitCode}`}${exit.reason ? `: ${exit.reason}` : ""}`);
  }
}

const MAX_DIAGNOSTIC_BYTES = 16 * 1024;

/**
 * One kernel process inside the sandbox, driven over ONE exec: commands are frames on its stdin, events come
 * back as frames on its stdout. Cells run one at a time. Nothing is polled: the exec's stream ends when the
 * kernel does, which is how its death is noticed.
 */
export class Kernel {
  readonly #launch: KernelLaunch;
  readonly #runId = newId();
  readonly #stdin = new ByteQueue();
  readonly #decoder: FrameDecoder;
  readonly #abandon = new AbortController();
  readonly #ended: Promise<void>;
  #diagnostics = Buffer.alloc(0);
  #hello: Deferred<KernelHello> | undefined = deferred();
  #info: KernelHello | undefined;
  #exit: KernelExit | undefined;
  #cell: { readonly number: number; readonly sink: CellSink; readonly result: Deferred<ResultFrame> } | undefined;
  #idle: { kind: "stdout" | "stderr"; chunk: Buffer }[] = [];
  #idleBytes = { stdout: 0, stderr: 0 };
  #stopping: Promise<void> | undefined;
  #stopReason: string | undefined;

  private constructor(launch: KernelLaunch) {
    this.#launch = launch;
    this.#decoder = new FrameDecoder((kind, payload) => this.#onFrame(kind, payload), launch.maxFrameBytes);
    for (const source of [launch.source, ...(launch.modules ?? [])]) this.#stdin.push(encodeFrame(FrameKind.SOURCE, source));
    this.#ended = launch.backend
      .exec(launch.containerId, {
        argv: launch.argv,
        stdin: this.#stdin,
        env: { [RUN_MARKER]: this.#runId },
        workdir: launch.workdir,
        ...(launch.user ? { user: launch.user } : {}),
        onStdout: (chunk) => this.#onBytes(chunk),
        onStderr: (chunk) => {
          this.#diagnostics = Buffer.concat([this.#diagnostics, chunk]).subarray(-MAX_DIAGNOSTIC_BYTES);
        },
        signal: AbortSignal.any([launch.detach, this.#abandon.signal]),
        // An idle kernel must not keep the program alive (a forgotten close() then ends like a plain session:
        // the exit clean-up removes the container); a running cell's timer keeps it alive meanwhile.
        keepAlive: false,
      })
      .then(
        ({ exitCode }) => this.#end(exitCode, this.#decoder.pendingBytes ? "the stream ended inside a frame" : undefined),
        (error: unknown) => this.#end(undefined, launch.detach.aborted ? "the session was closed" : (error as Error).message),
      );
  }

  /** Starts a kernel and waits for its hello; a kernel that cannot start is stopped and `KernelGone` thrown. */
  static async start(launch: KernelLaunch): Promise<Kernel> {
    const kernel = new Kernel(launch);
    const timer = setTimeout(() => kernel.#stopWith(`it did not start within ${launch.startTimeout} seconds`), launch.startTimeout * 1000);
    try {
      kernel.#info = await kernel.#hello!.promise;
      return kernel;
    } catch (error) {
      await kernel.stop();
      throw error;
    } finally {
      clearTimeout(timer);
      kernel.#hello = undefined;
    }
  }

  get info(): KernelHello {
    return this.#info!;
  }

  /** Set once the kernel process is gone. */
  get exit(): KernelExit | undefined {
    return this.#exit;
  }

  /** Resolves when the kernel process is gone (then `exit` says how). */
  get ended(): Promise<void> {
    return this.#ended;
  }

  /**
   * Runs one cell; its output and displays go to `sink` as they arrive (output the kernel wrote while idle comes
   * first). Resolves with the result frame; rejects with `KernelGone` if the kernel dies first.
   */
  async execute(cell: number, code: string, sink: CellSink, extra: Readonly<Record<string, unknown>> = {}): Promise<ResultFrame> {
    if (this.#exit) throw new KernelGone(this.#exit);
    if (this.#cell) throw new Error("a kernel runs one cell at a time");
    const result = deferred<ResultFrame>();
    this.#cell = { number: cell, sink, result };
    for (const { kind, chunk } of this.#idle) sink[kind](chunk);
    this.#idle = [];
    this.#idleBytes = { stdout: 0, stderr: 0 };
    this.#stdin.push(encodeJsonFrame(FrameKind.EXECUTE, { ...extra, cell, code }));
    try {
      return await result.promise;
    } finally {
      this.#cell = undefined;
    }
  }

  /**
   * Sends SIGINT aimed at `cell`; resolves once it is delivered. The target is written first for kernels that
   * cannot tell a late signal from a current one by themselves (Node); a finished cell is left alone.
   */
  async interrupt(cell: number): Promise<void> {
    if (this.#exit || !this.#info) return;
    const { backend, containerId, user, dir } = this.#launch;
    await backend
      .exec(containerId, {
        argv: ["/bin/sh", "-c", '[ ! -d "$2" ] || printf %s "$1" > "$2/interrupt"; kill -INT "$3"', "interrupt", String(cell), dir ?? "", String(this.#info.pid)],
        ...(user ? { user } : {}),
      })
      .catch((error: unknown) => this.#launch.logger.warn(`interrupting the kernel failed: ${(error as Error).message}`));
  }

  /** Sends a control frame (e.g. a fork server's KILL); nothing waits for an answer. */
  send(kind: FrameKind, value: unknown): void {
    if (!this.#exit) this.#stdin.push(encodeJsonFrame(kind, value));
  }

  /** Ends the kernel and everything it started; resolves when it is gone (or after a bounded wait). */
  async stop(): Promise<void> {
    await this.#stopWith("it was stopped");
  }

  #stopWith(reason: string): Promise<void> {
    // Only an exit code proves the process is gone; a detached stream may have left it running.
    if (this.#exit?.exitCode !== undefined) return Promise.resolve();
    this.#stopReason ??= reason;
    return (this.#stopping ??= (async () => {
      this.#stdin.end();
      const { backend, containerId, user, dir } = this.#launch;
      await killRun(backend, containerId, this.#runId, { user, cleanupPath: dir });
      const abandon = setTimeout(() => this.#abandon.abort(), 5_000);
      await this.#ended;
      clearTimeout(abandon);
    })());
  }

  /** Called from the engine stream's data handler: must never throw. */
  #onBytes(chunk: Uint8Array): void {
    if (this.#stopReason) return;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      // A broken stream cannot be resynchronised: the kernel is unusable.
      const message = error instanceof FrameError ? error.message : `kernel event handling failed: ${(error as Error).message}`;
      void this.#stopWith(message);
    }
  }

  #onFrame(kind: FrameKind, payload: Buffer): void {
    switch (kind) {
      case FrameKind.STDOUT:
      case FrameKind.STDERR: {
        const stream = kind === FrameKind.STDOUT ? "stdout" : "stderr";
        if (this.#cell) return this.#cell.sink[stream](payload);
        // Between cells: keep it (bounded) for the next cell, as a notebook shows late output.
        if (this.#idleBytes[stream] + payload.length > this.#launch.idleOutputBytes) return;
        this.#idleBytes[stream] += payload.length;
        this.#idle.push({ kind: stream, chunk: payload });
        return;
      }
      case FrameKind.DISPLAY:
        return this.#cell?.sink.display(parseJson(payload, displaySchema));
      case FrameKind.RESULT: {
        const result = parseJson(payload, resultSchema);
        if (this.#cell?.number === result.cell) this.#cell.result.resolve(result);
        return;
      }
      case FrameKind.HELLO:
        return this.#hello?.resolve(parseJson(payload, helloSchema));
      default:
        throw new FrameError(`unexpected frame ${kind} from the kernel`);
    }
  }

  #end(exitCode: number | undefined, reason: string | undefined): void {
    this.#stdin.end();
    this.#exit = { exitCode, reason: this.#stopReason ?? reason, diagnostics: this.#diagnostics.toString("utf8").trim() };
    const gone = new KernelGone(this.#exit);
    this.#hello?.reject(gone);
    this.#cell?.result.reject(gone);
  }
}

function parseJson<S extends z.ZodType>(payload: Buffer, schema: S): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new FrameError("a control frame is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new FrameError(`a control frame has the wrong shape: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
