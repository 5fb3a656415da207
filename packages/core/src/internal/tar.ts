import { randomUUID } from "node:crypto";
import type { Stats } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, readlink, rename, rm } from "node:fs/promises";
import path from "node:path";
import { extract as tarExtract, pack as tarPack, type Header } from "tar-stream";
import { ArchiveError, ValidationError } from "../errors.js";

type EntryHeader = Partial<Header> & Pick<Header, "name">;
type AddEntry = (header: EntryHeader, data?: Uint8Array | string) => Promise<void>;

/**
 * Pack a host file or directory so that it appears in the archive under `archiveName` (a single path component).
 * Directories are packed recursively; symlinks are stored as symlinks and never followed (following one could leak
 * host files into the sandbox); sockets, fifos and devices are skipped. Permission bits and mtime are kept, but
 * setuid/setgid/sticky are dropped: entries are owned by uid 0, so a root `tar -x` in the container would otherwise
 * create setuid-root binaries.
 */
export async function packHostPath(hostPath: string, archiveName: string): Promise<Buffer> {
  if (!isSingleComponent(archiveName)) {
    throw new ValidationError(`Archive name must be a single path component, got ${JSON.stringify(archiveName)}`);
  }
  let root: Stats;
  try {
    root = await lstat(hostPath);
  } catch (error) {
    if (isFsError(error, "ENOENT", "ENOTDIR")) throw new ValidationError(`Source path does not exist: ${hostPath}`);
    throw error;
  }

  return buildArchive(async (add) => {
    const walk = async (source: string, name: string, stats: Stats): Promise<void> => {
      const header = { name, mode: stats.mode & 0o777, mtime: stats.mtime };
      if (stats.isFile()) {
        await add({ ...header, type: "file" }, await readFile(source));
      } else if (stats.isDirectory()) {
        await add({ ...header, type: "directory" });
        for (const child of (await readdir(source)).sort()) {
          const childPath = path.join(source, child);
          await walk(childPath, `${name}/${child}`, await lstat(childPath));
        }
      } else if (stats.isSymbolicLink()) {
        await add({ ...header, type: "symlink", linkname: await readlink(source) });
      }
    };
    await walk(hostPath, archiveName, root);
  });
}

/** Pack in-memory files (e.g. generated scripts). Names are relative paths; parent directories are implied. */
export function packFiles(
  files: ReadonlyArray<{ name: string; data: Uint8Array | string; mode?: number }>,
): Promise<Buffer> {
  return buildArchive(async (add) => {
    for (const file of files) {
      const parts = file.name.split("/").filter((part) => part !== "" && part !== ".");
      if (file.name.startsWith("/") || parts.length === 0 || !parts.every(isSingleComponent)) {
        throw new ValidationError(`Archive member name must be a relative path without "..", got ${JSON.stringify(file.name)}`);
      }
      await add({ name: parts.join("/"), type: "file", mode: (file.mode ?? 0o644) & 0o777 }, file.data);
    }
  });
}

export interface ExtractReport {
  files: number;
  directories: number;
  skipped: Array<{ name: string; reason: string }>;
}

/**
 * Extract an archive produced by `tar -c -C parent name` so that `name` becomes `dest` on the host (like
 * `cp -r src dest`: a single file lands exactly at `dest`, a directory's contents land inside `dest`).
 *
 * The archive comes from the sandbox and is untrusted, so it must not be able to write anything outside `dest`:
 * absolute paths, `..`, NUL bytes, names outside the top-level name, and every link/device/fifo entry (plus anything
 * beneath it) are skipped and reported; an entry is also skipped when an existing host path component from `dest` down
 * is a symlink; an entry that needs a directory where a file is (or the reverse) is an `ArchiveError`; files are
 * written to a fresh temporary name and renamed into place, so an existing symlink or hard link at the target is
 * replaced, never written through. Modes follow Python's tarfile "data" filter: files keep `mode & 0o755` plus owner
 * read/write, executable bits only when the owner's is set; directories get default modes.
 */
export async function extractArchive(tar: Uint8Array, dest: string): Promise<ExtractReport> {
  const root = path.resolve(dest);
  const report: ExtractReport = { files: 0, directories: 0, skipped: [] };
  /** Paths (relative to `dest`) of skipped link-like entries: the archive meant to write through them. */
  const blocked: string[][] = [];
  let top: string | undefined;

  const extractor = tarExtract();
  extractor.end(Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength));
  const entries = extractor[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await malformedOnError(entries.next());
      if (next.done) break;
      const { name, type, mode, mtime } = checkedHeader(next.value.header);
      // tar-stream never ends a directory's body when its size field is not 0 (it reads no data for directories).
      const body = type === "directory" ? Buffer.alloc(0) : await malformedOnError(readAll(next.value));
      const skip = (reason: string) => report.skipped.push({ name, reason });

      const parts = name.split("/").filter((part) => part !== "" && part !== ".");
      if (name.startsWith("/")) {
        skip("absolute path");
        continue;
      }
      if (parts.includes("..")) {
        skip('path contains ".."');
        continue;
      }
      // A pax or GNU long name may hold a NUL (a ustar field ends at one); no host path can, and fs calls would throw.
      if (name.includes("\0")) {
        skip("path contains a NUL byte");
        continue;
      }
      if (parts[0] === undefined) {
        skip("empty path");
        continue;
      }
      top ??= parts[0];
      if (parts[0] !== top) {
        skip(`not under the archive's top-level name "${top}"`);
        continue;
      }
      const rel = parts.slice(1);
      if (blocked.some((link) => link.every((part, i) => rel[i] === part))) {
        skip("inside a skipped link entry");
        continue;
      }
      if (type !== "file" && type !== "contiguous-file" && type !== "directory") {
        blocked.push(rel);
        skip(`${type ?? "unknown-type"} entries are never extracted`); // tar-stream gives null for unknown typeflags
        continue;
      }
      const target = path.join(root, ...rel);
      const relative = path.relative(root, target);
      // Defence in depth: on Windows a "\" inside a component is a separator the checks above do not see.
      if (relative.startsWith("..") || path.isAbsolute(relative)) {
        skip("resolves outside the destination");
        continue;
      }
      const link = await firstSymlink(root, rel);
      if (link !== undefined) {
        skip(`existing symlink on the host at ${link}`);
        continue;
      }

      try {
        if (type === "directory") {
          await mkdir(target, { recursive: true });
          report.directories++;
        } else {
          await writeFileSafely(target, body, fileMode(mode), mtime);
          report.files++;
        }
      } catch (error) {
        // The archive asks for a directory where it (or dest) has a file, or the reverse: its fault, not the host's.
        if (!isFsError(error, "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY")) throw error;
        throw new ArchiveError(`Cannot extract ${JSON.stringify(name)}: a file and a directory collide at ${target}`, { cause: error });
      }
    }
  } catch (error) {
    extractor.destroy();
    throw error;
  }

  if (report.files + report.directories === 0) {
    const detail = report.skipped.map((s) => `${s.name} (${s.reason})`).join(", ");
    throw new ArchiveError(`Archive has no safe content to extract${detail ? `; skipped: ${detail}` : ""}`);
  }
  return report;
}

/** Collects a tar-stream pack into one buffer; `fill` adds entries one at a time so files are read lazily. */
async function buildArchive(fill: (add: AddEntry) => Promise<void>): Promise<Buffer> {
  const pack = tarPack();
  const add: AddEntry = (header, data) =>
    new Promise((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (data === undefined) pack.entry(header, done);
      else pack.entry(header, data, done);
    });
  const filled = fill(add).then(
    () => pack.finalize(),
    (error: unknown) => {
      pack.destroy();
      throw error;
    },
  );
  // Drain concurrently: the pack applies backpressure, so entries would never complete without a reader.
  const [, chunks] = await Promise.all([filled, readAll(pack)]);
  return chunks;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk as Uint8Array);
  return Buffer.concat(chunks);
}

async function malformedOnError<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw new ArchiveError(`Malformed tar archive: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/**
 * tar-stream reads a base-256 size field whose first byte is not 0x80 or 0xff as null, then waits forever for the
 * entry's body: such an entry is refused before its body is read.
 */
function checkedHeader(header: Header): Header {
  if (!Number.isSafeInteger(header.size) || header.size! < 0) {
    throw new ArchiveError(`Malformed tar archive: entry ${JSON.stringify(header.name)} has an invalid size`);
  }
  return header;
}

/** The first existing path from `root` down through `rel` that is a symlink, if any (lstat never follows links). */
async function firstSymlink(root: string, rel: readonly string[]): Promise<string | undefined> {
  let current = root;
  for (let i = 0; ; i++) {
    let stats: Stats;
    try {
      stats = await lstat(current);
    } catch (error) {
      // ENOTDIR: a file where the path needs a directory; the write that follows reports the collision.
      if (isFsError(error, "ENOENT", "ENOTDIR")) return undefined;
      throw error;
    }
    if (stats.isSymbolicLink()) return current;
    const part = rel[i];
    if (part === undefined) return undefined;
    current = path.join(current, part);
  }
}

/** Writes to a fresh name, then renames over `target`: a link already at `target` is replaced, not followed. */
async function writeFileSafely(target: string, data: Uint8Array, mode: number, mtime: Date): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.part`);
  try {
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(data);
      await handle.chmod(mode); // open() applied the umask
      await handle.utimes(mtime, mtime);
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Python tarfile "data" filter: no special or group/other-write bits, owner can read and write. */
function fileMode(mode: number): number {
  let sane = (mode & 0o755) | 0o600;
  if (!(mode & 0o100)) sane &= ~0o111;
  return sane;
}

function isSingleComponent(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

function isFsError(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException | null)?.code ?? "");
}

/** Number of entries in an archive (a directory archive with one entry holds only the directory itself). */
export async function countEntries(tar: Uint8Array): Promise<number> {
  const extractor = tarExtract();
  extractor.end(Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength));
  let count = 0;
  for await (const entry of extractor) {
    checkedHeader(entry.header);
    entry.resume();
    count++;
  }
  return count;
}
