import type { BackendAdapter, ExecOutcome } from "../backends/backend.js";
import type { EncodingErrors } from "../enums.js";
import { OutputDecodingError, type PartialOutput, SandboxAbortError, SandboxTimeoutError } from "../errors.js";
import { within } from "../internal/async.js";
import { newId } from "../internal/ids.js";
import { checkTimerSeconds } from "../internal/timers.js";
import { StreamCollector } from "../internal/output.js";
import { ConsoleOutput } from "../result.js";
import { KILL_STEP_LIMIT_MS, killRun, RUN_MARKER } from "./process-control.js";

export interface ProcessRequest {
  readonly argv: readonly string[];
  readonly stdin?: Uint8Array;
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly user?: string;
  /** Seconds before the processes are killed and `SandboxTimeoutError` is thrown; at most `MAX_TIMER_SECONDS` (else `ValidationError`). */
  readonly timeout: number;
  /** Aborting kills the processes and throws `SandboxAbortError`. */
  readonly signal?: AbortSignal;
  /** Stops waiting without killing (the container is going away anyway). */
  readonly detach?: AbortSignal;
  readonly onStdout?: (text: string) => void;
  readonly onStderr?: (text: string) => void;
  readonly maxOutputBytes: number;
  readonly encodingErrors: EncodingErrors;
  /** Keep stdout as raw bytes (archives) instead of decoding it. */
  readonly rawStdout?: boolean;
  /** Removed by the kill step when the operation is interrupted (its own cleanup never runs then). */
  readonly cleanupPath?: string;
  /** Names the operation in timeout messages. */
  readonly description: string;
  /** Use this run id (the caller named files after it); default: a new one. */
  readonly runId?: string;
  /**
   * What `argv` runs, when it is a program in a language: a warm interpreter may run it directly (same file, same
   * environment after `prelude`, same exit status) instead of through the shell wrapper in `argv`.
   */
  readonly program?: ProgramRun;
}

export interface ProgramRun {
  readonly language: string;
  readonly code: string;
  /** The code file's path in the sandbox (`$SANDBOX_FILE`). */
  readonly file: string;
  /** Shell lines run before the program (exports of the run's settings). */
  readonly prelude: string;
}

/**
 * Starts an operation's processes without an engine exec: a pooled container's warm interpreter. It decides per
 * request; anything it does not take runs as a normal exec.
 */
export interface ProcessLauncher {
  launch(request: LaunchRequest): ProcessRunner | undefined;
}

/** A request as the launcher sees it: its environment already carries the run marker. */
export type LaunchRequest = Pick<ProcessRequest, "argv" | "stdin" | "workdir" | "user" | "program"> & {
  readonly env: Readonly<Record<string, string>>;
};

/** One launched operation. */
export interface ProcessRunner {
  /** Runs it, streaming output; resolves with its exit status. `signal` stops waiting (like an exec's). */
  start(io: { onStdout: (chunk: Uint8Array) => void; onStderr: (chunk: Uint8Array) => void; signal: AbortSignal }): Promise<ExecOutcome>;
  /** Stops the processes the runner started itself (those the run marker cannot reach); resolves once asked. */
  kill(): Promise<void>;
}

export interface ProcessOutput {
  readonly output: ConsoleOutput;
  /** Set when `rawStdout` was requested. */
  readonly stdoutBytes?: Buffer;
}

/**
 * Streaming callbacks get one call per line: the engine may hand over several quick writes in one chunk, and
 * consumers (progress displays, agents) want lines. A partial line is passed on at once, never held back.
 */
export function byLine(callback: ((text: string) => void) | undefined): ((text: string) => void) | undefined {
  if (!callback) return undefined;
  return (text) => {
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      callback(text.slice(start, end + 1));
      start = end + 1;
    }
    if (start < text.length) callback(text.slice(start));
  };
}

/**
 * One operation's stdout and stderr: decoded as they stream (UTF-8 safe across chunks), capped, passed line-wise
 * to the callbacks, and turned into a `ConsoleOutput` at the end. stdout may instead be kept as raw bytes.
 */
export class OutputCapture {
  readonly #maxBytes: number;
  readonly #stdout: StreamCollector | undefined;
  readonly #stderr: StreamCollector;
  readonly #raw: Buffer[] = [];
  #rawBytes = 0;

  constructor(request: Pick<ProcessRequest, "maxOutputBytes" | "encodingErrors" | "onStdout" | "onStderr" | "rawStdout">) {
    const limits = { maxBytes: request.maxOutputBytes, encodingErrors: request.encodingErrors };
    this.#maxBytes = request.maxOutputBytes;
    this.#stdout = request.rawStdout ? undefined : new StreamCollector({ ...limits, onText: byLine(request.onStdout) });
    this.#stderr = new StreamCollector({ ...limits, onText: byLine(request.onStderr) });
  }

  stdout(chunk: Uint8Array): void {
    if (this.#stdout) return this.#stdout.push(chunk);
    this.#rawBytes += chunk.length;
    if (this.#rawBytes <= this.#maxBytes) this.#raw.push(Buffer.from(chunk));
  }

  stderr(chunk: Uint8Array): void {
    this.#stderr.push(chunk);
  }

  /** What arrived so far, for errors that interrupt the operation. */
  partial(): PartialOutput {
    return { stdout: this.#stdout?.finish().text ?? "", stderr: this.#stderr.finish().text };
  }

  /** The operation's output; in strict mode, invalid UTF-8 throws `OutputDecodingError` with the raw bytes. */
  finish(exitCode: number, durationMs: number): ProcessOutput {
    const out = this.#stdout?.finish();
    const err = this.#stderr.finish();
    const invalid = out?.invalidAt !== undefined ? "stdout" : err.invalidAt !== undefined ? "stderr" : undefined;
    if (invalid) {
      throw new OutputDecodingError(invalid, (invalid === "stdout" ? out!.invalidAt : err.invalidAt)!, {
        stdout: out?.bytes ?? new Uint8Array(),
        stderr: err.bytes,
        exitCode,
      });
    }
    return {
      output: new ConsoleOutput({
        exitCode,
        stdout: out?.text ?? "",
        stderr: err.text,
        stdoutTruncated: out?.truncated ?? this.#rawBytes > this.#maxBytes,
        stderrTruncated: err.truncated,
        durationMs,
      }),
      ...(this.#stdout ? {} : { stdoutBytes: Buffer.concat(this.#raw) }),
    };
  }
}

/**
 * One operation in the sandbox: a single exec with the code or data on stdin, output decoded as it streams
 * (UTF-8 safe across chunks, capped), the exit code from the same exec. A timeout or abort kills every process
 * the operation started, so the session stays usable for the next one.
 */
export async function runProcess(
  backend: BackendAdapter,
  containerId: string,
  request: ProcessRequest,
  launcher?: ProcessLauncher,
): Promise<ProcessOutput> {
  if (request.signal?.aborted) throw new SandboxAbortError();
  // Per-call timeouts reach here unvalidated; refuse a bad one before anything starts.
  const timeoutMs = checkTimerSeconds(request.timeout, "timeout") * 1000;
  const runId = request.runId ?? newId();
  const env = { ...request.env, [RUN_MARKER]: runId };
  const runner = launcher?.launch({ ...pickLaunch(request), env });
  const started = performance.now();
  const capture = new OutputCapture(request);

  const detach = new AbortController();
  let interrupted: "timeout" | "abort" | undefined;
  let killing: Promise<void> | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let settled = false;
  const interrupt = (reason: "timeout" | "abort") => {
    if (interrupted) return;
    interrupted = reason;
    const stopped = [killRun(backend, containerId, runId, { user: request.user, cleanupPath: request.cleanupPath }), runner?.kill()];
    killing = Promise.all(stopped)
      .then(() => {})
      // If the stream still has not ended (a process we could not kill holds it), stop waiting.
      .finally(() => {
        if (!settled) graceTimer = setTimeout(() => detach.abort(), 5_000);
      });
  };
  const timer = setTimeout(() => interrupt("timeout"), timeoutMs);
  const onAbort = () => interrupt("abort");
  const onDetach = () => detach.abort();
  request.signal?.addEventListener("abort", onAbort, { once: true });
  request.detach?.addEventListener("abort", onDetach, { once: true });

  let exitCode = -1;
  const io = { onStdout: (chunk: Uint8Array) => capture.stdout(chunk), onStderr: (chunk: Uint8Array) => capture.stderr(chunk), signal: detach.signal };
  try {
    ({ exitCode } = runner
      ? await runner.start(io)
      : await backend.exec(containerId, {
          argv: request.argv,
          ...(request.stdin ? { stdin: request.stdin } : {}),
          env,
          ...(request.workdir ? { workdir: request.workdir } : {}),
          ...(request.user ? { user: request.user } : {}),
          ...io,
        }));
  } catch (error) {
    // A detached stream after an interruption is expected; anything else is an infrastructure failure.
    if (!(interrupted && SandboxAbortError.isInstance(error)) || request.detach?.aborted) throw error;
  } finally {
    settled = true;
    clearTimeout(timer);
    clearTimeout(graceTimer);
    request.signal?.removeEventListener("abort", onAbort);
    request.detach?.removeEventListener("abort", onDetach);
  }
  // The error says the processes were killed and the next operation must find them gone: wait for the kill step,
  // bounded, since a kill step that cannot start must not hang the session.
  if (killing && !request.detach?.aborted) {
    await within(killing, KILL_STEP_LIMIT_MS, undefined);
  }
  if (interrupted === "timeout") {
    throw new SandboxTimeoutError(
      `${request.description} timed out after ${request.timeout} seconds; its processes were killed`,
      request.timeout,
      capture.partial(),
    );
  }
  if (interrupted === "abort") throw new SandboxAbortError(capture.partial(), { cause: request.signal?.reason });
  return capture.finish(exitCode, Math.round(performance.now() - started));
}

function pickLaunch({ argv, stdin, workdir, user, program }: ProcessRequest): Omit<LaunchRequest, "env"> {
  return { argv, ...(stdin ? { stdin } : {}), ...(workdir ? { workdir } : {}), ...(user ? { user } : {}), ...(program ? { program } : {}) };
}
