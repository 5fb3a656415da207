import { posix } from "node:path";
import { ContainerError, FileAccessError, FileNotFoundError, ResourceError, type SandboxError, ValidationError } from "../errors.js";
import { resolveSandboxPath } from "../internal/sandbox-path.js";
import type { ConsoleOutput } from "../result.js";
import type { SandboxSession } from "../session/session.js";

/**
 * File operations adapters offer beside `readFile`/`writeFile` (stat, list, delete), written once on the session's
 * public `executeCommand`. Paths travel as argv (never through a shell line); relative paths start at the workdir
 * and `..` is refused, as for `readFile`. A missing path is `FileNotFoundError`; a directory where a file is wanted,
 * or a path the sandbox user may not touch, is `FileAccessError`.
 */

export type SandboxFileType = "file" | "directory" | "symlink" | "other";

export interface SandboxFileStat {
  /** The absolute path in the sandbox. */
  readonly path: string;
  /** `other`: devices, sockets, pipes. */
  readonly type: SandboxFileType;
  /** Bytes (a directory's size is the filesystem's). */
  readonly size: number;
  readonly mtime: Date;
}

export interface SandboxDirectoryEntry extends SandboxFileStat {
  readonly name: string;
}

export interface FileOperationOptions {
  readonly signal?: AbortSignal;
}

/** Exit statuses of the scripts below that are answers about the path, not failures. */
const STATUS = { missing: 2, denied: 13, notDirectory: 20, directory: 21 } as const;

/** One record per path, written by GNU find: type letter, size, mtime in seconds (then, in listings, the name). */
const RECORD = "%y %s %T@";

// $1 is find's symlink mode: -L reports what a link points to (a dangling link is missing), -P the link itself.
const STAT_SCRIPT = `[ -e "$2" ] || { [ "$1" = -P ] && [ -L "$2" ]; } || exit ${STATUS.missing}
exec find "$1" "$2" -maxdepth 0 -printf '${RECORD}'`;
// -H follows the directory itself when it is a link, never the entries.
const LIST_SCRIPT = `[ -e "$1" ] || exit ${STATUS.missing}
[ -d "$1" ] || exit ${STATUS.notDirectory}
{ [ -r "$1" ] && [ -x "$1" ]; } || exit ${STATUS.denied}
exec find -H "$1" -mindepth 1 -maxdepth 1 -printf '${RECORD} %f\\0'`;
// A link is removed, never what it points to; a directory is refused.
const DELETE_SCRIPT = `{ [ -e "$1" ] || [ -L "$1" ]; } || exit ${STATUS.missing}
{ [ -d "$1" ] && [ ! -L "$1" ]; } && exit ${STATUS.directory}
exec rm -f -- "$1"`;

/**
 * What is at `path`: its type, size and modification time. Symbolic links are followed unless `followSymlinks` is
 * false (then a link reports `symlink`).
 */
export async function statSandboxFile(
  session: SandboxSession,
  path: string,
  options: FileOperationOptions & { readonly followSymlinks?: boolean } = {},
): Promise<SandboxFileStat> {
  const target = sandboxPath(session, path);
  const output = await inspect(session, STAT_SCRIPT, [options.followSymlinks === false ? "-P" : "-L", target], options);
  return parseRecord(target, succeeded(target, output).stdout);
}

/** The entries of the directory at `path` (not recursive), by name; links are reported as `symlink`, not followed. */
export async function listSandboxDirectory(session: SandboxSession, path: string, options: FileOperationOptions = {}): Promise<SandboxDirectoryEntry[]> {
  const target = sandboxPath(session, path);
  const output = succeeded(target, await inspect(session, LIST_SCRIPT, [target], options));
  if (output.stdoutTruncated) throw new ResourceError(`The listing of ${target} is larger than the session's maxOutputBytes`);
  return output.stdout
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const [type, size, mtime, ...name] = line.split(" ");
      const entry = name.join(" ");
      return { ...parseRecord(posix.join(target, entry), `${type} ${size} ${mtime}`), name: entry };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Deletes the file (or symbolic link) at `path`; a directory is refused with `FileAccessError` (`is_directory`). */
export async function deleteSandboxFile(session: SandboxSession, path: string, options: FileOperationOptions = {}): Promise<void> {
  const target = sandboxPath(session, path);
  succeeded(target, await inspect(session, DELETE_SCRIPT, [target], options));
}

/** The sandbox root is a directory one may stat and list, though no file operation may replace it. */
const sandboxPath = (session: SandboxSession, path: string) => (/^\/+$/.test(path) ? "/" : resolveSandboxPath(path, session.options.workdir));

const inspect = (session: SandboxSession, script: string, args: readonly string[], { signal }: FileOperationOptions) =>
  session.executeCommand(["/bin/sh", "-c", script, "sh", ...args], signal ? { signal } : {});

function succeeded(path: string, output: ConsoleOutput): ConsoleOutput {
  if (output.exitCode === 0) return output;
  throw failure(path, output);
}

function failure(path: string, output: ConsoleOutput): SandboxError {
  const stderr = output.stderr.trim();
  if (output.exitCode === STATUS.missing) return new FileNotFoundError(path, "sandbox");
  if (output.exitCode === STATUS.directory) return new FileAccessError(path, "is_directory");
  if (output.exitCode === STATUS.notDirectory) return new ValidationError(`${path} is not a directory`);
  if (output.exitCode === STATUS.denied || /Permission denied|Operation not permitted|Read-only file system/i.test(stderr)) return new FileAccessError(path, "permission_denied");
  return new ContainerError(`File operation on ${path} failed: ${stderr || `exit code ${output.exitCode}`}`);
}

const TYPES: Readonly<Record<string, SandboxFileType>> = { f: "file", d: "directory", l: "symlink" };

function parseRecord(path: string, record: string): SandboxFileStat {
  const [type = "", size = "", mtime = ""] = record.trim().split(" ");
  return { path, type: TYPES[type] ?? "other", size: Number(size), mtime: new Date(Number(mtime) * 1000) };
}
