import type { BackendAdapter } from "../backends/backend.js";
import type { EncodingErrors } from "../enums.js";
import { OutputDecodingError, SandboxAbortError, SandboxTimeoutError } from "../errors.js";
import { newId } from "../internal/ids.js";
import { StreamCollector } from "../internal/output.js";
import { ConsoleOutput } from "../result.js";

/** Every process of one operation inherits this variable; it is how the kill step finds them all. */
export const RUN_MARKER = "LLM_SANDBOX_RUN";

/** Seconds between TERM and KILL when an operation is interrupted. */
const KILL_GRACE_SECONDS = 2;

/**
 * Runs inside the sandbox to stop one operation: TERM to every process carrying the run's marker (children and
 * daemonised grandchildren included, whatever their process group), KILL to survivors after the grace period,
 * then removes the operation's file. Runs as the operation's user, which may signal its own processes.
 */
const KILL_SCRIPT = `m="${RUN_MARKER}=$1"
marked() { for e in /proc/[0-9]*/environ; do
  if tr '\\0' '\\n' < "$e" 2>/dev/null | grep -qxF "$m"; then p=\${e#/proc/}; echo "\${p%/environ}"; fi
done; }
signal() { for p in $(marked); do kill -"$1" "$p" 2>/dev/null; done; }
signal TERM
i=0; while [ $i -lt ${KILL_GRACE_SECONDS * 10} ] && [ -n "$(marked)" ]; do sleep 0.1; i=$((i+1)); done
signal KILL
[ -z "$2" ] || rm -rf -- "$2"`;

export interface ProcessRequest {
  readonly argv: readonly string[];
  readonly stdin?: Uint8Array;
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly user?: string;
  /** Seconds before the processes are killed and `SandboxTimeoutError` is thrown. */
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
 * One operation in the sandbox: a single exec with the code or data on stdin, output decoded as it streams
 * (UTF-8 safe across chunks, capped), the exit code from the same exec. A timeout or abort kills every process
 * the operation started, so the session stays usable for the next one.
 */
export async function runProcess(backend: BackendAdapter, containerId: string, request: ProcessRequest): Promise<ProcessOutput> {
  const runId = request.runId ?? newId();
  const started = performance.now();
  const limits = { maxBytes: request.maxOutputBytes, encodingErrors: request.encodingErrors };
  const stdout = request.rawStdout ? undefined : new StreamCollector({ ...limits, onText: byLine(request.onStdout) });
  const rawChunks: Buffer[] = [];
  let rawBytes = 0;
  const keepRaw = (chunk: Uint8Array) => {
    rawBytes += chunk.length;
    if (rawBytes <= request.maxOutputBytes) rawChunks.push(Buffer.from(chunk));
  };
  const stderr = new StreamCollector({ ...limits, onText: byLine(request.onStderr) });
  const partial = () => ({ stdout: stdout?.finish().text ?? "", stderr: stderr.finish().text });

  if (request.signal?.aborted) throw new SandboxAbortError();

  const detach = new AbortController();
  let interrupted: "timeout" | "abort" | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let killed: Promise<unknown> | undefined;
  const interrupt = (reason: "timeout" | "abort") => {
    if (interrupted) return;
    interrupted = reason;
    killed = backend
      .exec(containerId, {
        argv: ["/bin/sh", "-c", KILL_SCRIPT, "kill", runId, request.cleanupPath ?? ""],
        ...(request.user ? { user: request.user } : {}),
      })
      .catch(() => {})
      // If the stream still has not ended (a process we could not kill holds it), stop waiting.
      .finally(() => {
        graceTimer = setTimeout(() => detach.abort(), 5_000);
      });
  };
  const timer = setTimeout(() => interrupt("timeout"), request.timeout * 1000);
  const onAbort = () => interrupt("abort");
  const onDetach = () => detach.abort();
  request.signal?.addEventListener("abort", onAbort, { once: true });
  request.detach?.addEventListener("abort", onDetach, { once: true });

  let exitCode = -1;
  try {
    ({ exitCode } = await backend.exec(containerId, {
      argv: request.argv,
      ...(request.stdin ? { stdin: request.stdin } : {}),
      env: { ...request.env, [RUN_MARKER]: runId },
      ...(request.workdir ? { workdir: request.workdir } : {}),
      ...(request.user ? { user: request.user } : {}),
      onStdout: (chunk) => (stdout ? stdout.push(chunk) : keepRaw(chunk)),
      onStderr: (chunk) => stderr.push(chunk),
      signal: detach.signal,
    }));
  } catch (error) {
    // A detached stream after an interruption is expected; anything else is an infrastructure failure.
    if (!(interrupted && SandboxAbortError.isInstance(error)) || request.detach?.aborted) throw error;
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    request.signal?.removeEventListener("abort", onAbort);
    request.detach?.removeEventListener("abort", onDetach);
  }

  // The error says the processes were killed: let the kill step finish first (it ends within its grace period).
  if (interrupted && !request.detach?.aborted) {
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([killed, new Promise((resolve) => (bound = setTimeout(resolve, (KILL_GRACE_SECONDS + 10) * 1000)))]);
    clearTimeout(bound);
    clearTimeout(graceTimer);
  }
  if (interrupted === "timeout") {
    throw new SandboxTimeoutError(
      `${request.description} timed out after ${request.timeout} seconds; its processes were killed`,
      request.timeout,
      partial(),
    );
  }
  if (interrupted === "abort") throw new SandboxAbortError(partial(), { cause: request.signal?.reason });

  const out = stdout?.finish();
  const err = stderr.finish();
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
      stdoutTruncated: out?.truncated ?? rawBytes > request.maxOutputBytes,
      stderrTruncated: err.truncated,
      durationMs: Math.round(performance.now() - started),
    }),
    ...(request.rawStdout ? { stdoutBytes: Buffer.concat(rawChunks) } : {}),
  };
}
