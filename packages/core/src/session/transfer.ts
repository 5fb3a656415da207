import { existsSync } from "node:fs";
import { posix } from "node:path";
import { ContainerError, FileAccessError, FileNotFoundError, ResourceError, type SandboxError } from "../errors.js";
import { extractArchive, packHostPath } from "../internal/tar.js";
import type { ConsoleOutput } from "../result.js";
import type { ProcessOutput } from "../container/process.js";
import type { SessionProcessRequest } from "./types.js";

/** Runs one transfer step in the sandbox, in the session's turn and with its defaults. */
type Exec = (request: SessionProcessRequest) => Promise<ProcessOutput>;

/** Archives read back from the sandbox may be large, but not unbounded. */
const MAX_TRANSFER_BYTES = 2 * 1024 ** 3;

/** Exit statuses of the file scripts below that name a caller's mistake rather than a sandbox failure. */
const FILE_STATUS = { missing: 2, directory: 21, denied: 13 } as const;
const WRITE_FILE_SCRIPT = `[ -d "$1" ] && exit ${FILE_STATUS.directory}
d=$(dirname -- "$1")
mkdir -p -- "$d" 2>/dev/null || exit ${FILE_STATUS.denied}
if [ -e "$1" ]; then [ -w "$1" ]; else [ -w "$d" ]; fi || exit ${FILE_STATUS.denied}
cat > "$1" || exit 1`;
const READ_FILE_SCRIPT = `[ -e "$1" ] || exit ${FILE_STATUS.missing}
[ -d "$1" ] && exit ${FILE_STATUS.directory}
[ -r "$1" ] || exit ${FILE_STATUS.denied}
exec cat -- "$1"`;

/** The host side of `copyToRuntime`: packs `src` before the session's turn (a missing source is the caller's mistake). */
export async function packForCopy(src: string, target: string): Promise<Buffer> {
  if (!existsSync(src)) throw new FileNotFoundError(src, "host");
  return packHostPath(src, posix.basename(target));
}

export async function unpackInSandbox(exec: Exec, archive: Buffer, target: string, timeout: number): Promise<void> {
  const { output } = await exec({
    argv: ["/bin/sh", "-c", 'mkdir -p -- "$1" && tar -x --no-same-owner -f - -C "$1"', "copy", posix.dirname(target)],
    stdin: archive,
    timeout,
    description: `copy to ${target}`,
  });
  if (output.exitCode !== 0) throw new ContainerError(`Copy to ${target} failed: ${output.stderr.trim()}`);
}

/** Packs `source` in the sandbox; the archive is extracted on the host after the session's turn. */
export function packInSandbox(exec: Exec, source: string, timeout: number): Promise<ProcessOutput> {
  return exec({
    argv: ["/bin/sh", "-c", 'cd -- "$1" && exec tar -c -f - -- "$2"', "copy", posix.dirname(source), posix.basename(source)],
    rawStdout: true,
    maxOutputBytes: MAX_TRANSFER_BYTES,
    timeout,
    description: `copy from ${source}`,
  });
}

/** Extracts what `packInSandbox` read; a hostile archive writes nothing outside `dest`. */
export async function extractCopy({ output, stdoutBytes }: ProcessOutput, source: string, dest: string): Promise<void> {
  if (output.exitCode !== 0) {
    if (/No such|Cannot stat|can't change directory|can't cd/i.test(output.stderr)) throw new FileNotFoundError(source, "sandbox");
    throw new ContainerError(`Copy from ${source} failed: ${output.stderr.trim()}`);
  }
  if (output.stdoutTruncated) throw new ResourceError(`${source} is larger than ${MAX_TRANSFER_BYTES} bytes`);
  await extractArchive(stdoutBytes!, dest);
}

export async function writeSandboxFile(exec: Exec, target: string, data: Uint8Array | string, timeout: number, signal?: AbortSignal): Promise<void> {
  const { output } = await exec({
    argv: ["/bin/sh", "-c", WRITE_FILE_SCRIPT, "write", target],
    stdin: typeof data === "string" ? Buffer.from(data, "utf8") : data,
    timeout,
    description: `write ${target}`,
    ...(signal ? { signal } : {}),
  });
  if (output.exitCode !== 0) throw fileError(target, output);
}

export async function readSandboxFile(exec: Exec, source: string, timeout: number, signal?: AbortSignal): Promise<Uint8Array> {
  const { output, stdoutBytes } = await exec({
    argv: ["/bin/sh", "-c", READ_FILE_SCRIPT, "read", source],
    rawStdout: true,
    maxOutputBytes: MAX_TRANSFER_BYTES,
    timeout,
    description: `read ${source}`,
    ...(signal ? { signal } : {}),
  });
  if (output.exitCode !== 0) throw fileError(source, output);
  if (output.stdoutTruncated) throw new ResourceError(`${source} is larger than ${MAX_TRANSFER_BYTES} bytes`);
  return new Uint8Array(stdoutBytes!);
}

function fileError(path: string, output: ConsoleOutput): SandboxError {
  switch (output.exitCode) {
    case FILE_STATUS.missing:
      return new FileNotFoundError(path, "sandbox");
    case FILE_STATUS.directory:
      return new FileAccessError(path, "is_directory");
    case FILE_STATUS.denied:
      return new FileAccessError(path, "permission_denied");
    default:
      return new ContainerError(`File transfer for ${path} failed: ${output.stderr.trim() || `exit code ${output.exitCode}`}`);
  }
}
