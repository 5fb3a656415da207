/**
 * The pieces of Kubernetes' exec protocol that are pure data: the WebSocket channel framing
 * (`v4.channel.k8s.io`, `v5.channel.k8s.io`), the exit status on the status channel, and the argv wrappers that give
 * an exec what the API has no parameters for (environment, working directory, end of stdin on v4).
 */
import { EXEC_PROGRAM } from "./backend.js";

/** First byte of every WebSocket message: the stream it belongs to. */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

export const V5_PROTOCOL = "v5.channel.k8s.io";
export const V4_PROTOCOL = "v4.channel.k8s.io";

/** One message on `channel`. */
export function frame(channel: number, data: Uint8Array = new Uint8Array()): Buffer {
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

/** v5 only: the client half-closes a stream (stdin), so the program sees end of file. */
export const closeStdinFrame = (): Buffer => Buffer.from([Channel.close, Channel.stdin]);

/**
 * The exit code in the status channel's `metav1.Status`: "Success" is 0; "Failure" with reason NonZeroExitCode
 * carries the code in the cause of type ExitCode. Any other failure (the command could not start, the container is
 * gone) has no exit code: it is returned as `error`.
 */
export function parseExecStatus(text: string): { exitCode: number } | { error: string } {
  let status: {
    status?: string;
    reason?: string;
    message?: string;
    details?: { causes?: Array<{ reason?: string; type?: string; message?: string }> };
  };
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    return { error: `unreadable exec status: ${text.slice(0, 200)}` };
  }
  if (status.status === "Success") return { exitCode: 0 };
  if (status.reason === "NonZeroExitCode") {
    const cause = status.details?.causes?.find((c) => c.reason === "ExitCode" || c.type === "ExitCode");
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return { exitCode: code };
  }
  return { error: status.message ?? `exec failed (${status.reason ?? "no reason given"})` };
}

/** Shell for `withEnvironment`: enters the directory, exports NAME=VALUE words up to "--", runs the rest as argv. */
const ENVIRONMENT_SCRIPT = `[ -z "$1" ] || cd -- "$1" || exit 126
shift
while [ "$1" != -- ]; do export "$1" || exit 126; shift; done
shift
${EXEC_PROGRAM}`;

/**
 * Kubernetes exec runs argv in the container's own environment and working directory: a small shell sets the
 * session's first. Every value travels as its own argument, so nothing in it is ever parsed by a shell.
 */
export function withEnvironment(argv: readonly string[], env: Readonly<Record<string, string>> = {}, workdir = ""): string[] {
  if (!workdir && Object.keys(env).length === 0) return [...argv];
  return ["/bin/sh", "-c", ENVIRONMENT_SCRIPT, "sh", workdir, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "--", ...argv];
}

/**
 * v4 has no way to end stdin but closing the whole connection (and the exit status with it), so stdin is sent as
 * chunks, each preceded by its length on a line, and "0" ends it. This shell reads them and pipes the data to
 * the program, which then sees end of file. It needs a `head` that reads no more than it is asked to (GNU
 * coreutils' does; busybox's may read ahead, which only matters when more than one chunk is sent).
 */
const DECHUNK_SCRIPT = `while IFS= read -r n && [ "$n" -gt 0 ]; do head -c "$n"; done | "$@"`;

export function withChunkedStdin(argv: readonly string[]): string[] {
  return ["/bin/sh", "-c", DECHUNK_SCRIPT, "sh", ...argv];
}

/** One chunk of stdin in the v4 framing of `withChunkedStdin` (an empty chunk is the end). */
export function stdinChunk(data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${data.length}\n`), data]);
}
