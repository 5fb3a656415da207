import fc from "fast-check";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { extract as tarExtract, pack as tarPack, type Header } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArchiveError } from "../errors.js";
import { extractArchive } from "./tar.js";

/**
 * Property tests of `extractArchive` on hostile archives: whatever the archive, nothing is written outside the
 * destination, no link is ever created, and the result is what the documented rules give, or an ArchiveError.
 */

let tmp: string;
/** Shared by every run: link targets of the archives point here, and it must stay empty. */
let outside: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "llm-sandbox-tar-fuzz-"));
  outside = path.join(tmp, "outside");
  await mkdir(outside);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const OUTSIDE = "<outside>"; // stands for the absolute path of `outside` in generated link targets

const component = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("top", "a", "b") },
  fc.constantFrom("..", ".", "", "c d", "x\0y", "l".repeat(120), OUTSIDE),
);
const entryName = fc
  .tuple(fc.oneof({ weight: 5, arbitrary: fc.constant("") }, fc.constant("/")), fc.oneof({ weight: 5, arbitrary: fc.constant("top") }, component), fc.array(component, { maxLength: 3 }))
  .map(([root, first, rest]) => root + [first, ...rest].join("/"));
const linkTarget = fc.constantFrom("../outside", "../../outside", "../../../outside", "../../../../../outside", OUTSIDE, `${OUTSIDE}/x`, "..", ".", "a", "top/a", "/");
const entryType = fc.constantFrom<Header["type"]>("file", "file", "file", "directory", "directory", "symlink", "link", "character-device", "block-device", "fifo", "contiguous-file");

interface Entry {
  name: string;
  type: Header["type"];
  mode: number;
  linkname: string;
  data: string;
}
const entries = fc.array(
  fc.record({ name: entryName, type: entryType, mode: fc.nat({ max: 0o7777 }), linkname: linkTarget, data: fc.string({ maxLength: 12 }) }),
  { minLength: 1, maxLength: 8 },
);

const resolveOutside = (text: string) => text.split(OUTSIDE).join(outside);

/** Packs entries as given (tar-stream writes pax headers for long names), hostile ones included. */
async function pack(list: readonly Entry[]): Promise<Buffer> {
  const packer = tarPack();
  for (const { name, type, mode, linkname, data } of list) {
    const header = { name: resolveOutside(name), type, mode, linkname: resolveOutside(linkname) };
    if (type === "file" || type === "contiguous-file") packer.entry(header, data);
    else packer.entry(header);
  }
  packer.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of packer) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One header block written field by field, so that any field can be garbage; then the data, padded. */
interface RawEntry {
  name: string;
  type: string;
  /** "exact" writes the data's length; anything else is written as the field's bytes. */
  size: "exact" | string | number[];
  mtime: string | number[];
  checksum: "valid" | string;
  data: Uint8Array;
}

const field = (block: Buffer, offset: number, length: number, value: string | number[]) =>
  typeof value === "string" ? block.write(value, offset, length, "latin1") : Buffer.from(value).copy(block, offset, 0, length);

function rawArchive(list: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of list) {
    const header = Buffer.alloc(512);
    header.write(resolveOutside(entry.name), 0, 100, "utf8");
    for (const [offset, value] of [[100, "0000644\0"], [108, "0000000\0"], [116, "0000000\0"]] as const) header.write(value, offset, "latin1"); // mode, uid, gid
    field(header, 124, 12, entry.size === "exact" ? `${entry.data.length.toString(8).padStart(11, "0")}\0` : entry.size);
    field(header, 136, 12, entry.mtime);
    header.write(entry.type, 156, 1, "latin1");
    header.write("ustar\x0000", 257, "latin1");
    header.fill(0x20, 148, 156);
    const sum = header.reduce((total, byte) => total + byte, 0);
    field(header, 148, 8, entry.checksum === "valid" ? `${sum.toString(8).padStart(6, "0")}\0 ` : entry.checksum);
    blocks.push(header, Buffer.from(entry.data), Buffer.alloc((512 - (entry.data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A pax record ("<length> <key>=<value>\n", the length counting itself). */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

const rawEntries = fc.array(
  fc.record({
    name: entryName,
    // file, directory, links, devices, fifo, contiguous, GNU long name and link, pax, pax global, unknown
    type: fc.constantFrom("0", "0", "5", "2", "1", "3", "4", "6", "7", "L", "K", "x", "x", "g", "\0", "Z"),
    size: fc.oneof(
      { weight: 6, arbitrary: fc.constant<"exact">("exact") },
      fc.constantFrom("zzzzzzzzzzz\0", "77777777777\0", "-1", "", " 12 ", "00000001000\0"),
      fc.constantFrom([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0], [0x80, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255], Array<number>(12).fill(0xff), [0x90, 1]),
    ),
    mtime: fc.oneof(
      { weight: 6, arbitrary: fc.constant("00000000000\0") },
      fc.constantFrom("zz", "99999999999\0"),
      fc.constantFrom([0x80, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255], Array<number>(12).fill(0xff), [0x90, 1]),
    ),
    checksum: fc.oneof({ weight: 9, arbitrary: fc.constant<"valid">("valid") }, fc.constantFrom("0000000\0", "zz")),
    data: fc.oneof(
      fc.uint8Array({ maxLength: 700 }),
      fc
        .array(fc.tuple(fc.constantFrom("path", "linkpath", "size", "mtime"), fc.oneof(entryName, fc.constantFrom("abc", "-5", "1e3", "99999999999"))), { maxLength: 3 })
        .map((records) => Buffer.from(records.map(([key, value]) => paxRecord(key, resolveOutside(value))).join(""))),
      entryName.map((name) => Buffer.from(`${resolveOutside(name)}\0`)),
    ),
  }),
  { minLength: 1, maxLength: 6 },
);

/** The entries as tar-stream reads them back (a ustar field ends at its first NUL), or undefined when it cannot. */
async function readBack(archive: Buffer): Promise<Array<{ name: string; type: Header["type"] | null; data: Buffer }> | undefined> {
  const out: Array<{ name: string; type: Header["type"] | null; data: Buffer }> = [];
  const extractor = tarExtract();
  extractor.end(archive);
  try {
    for await (const entry of extractor) {
      // tar-stream would wait forever for the body of an entry whose size field it read as null, and never ends a
      // directory's body (it reads no data for directories, whatever their size field says).
      if (!Number.isSafeInteger(entry.header.size)) return undefined;
      const chunks: Buffer[] = [];
      if (entry.header.type !== "directory") for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push({ name: entry.header.name, type: entry.header.type, data: Buffer.concat(chunks) });
    }
  } catch {
    return undefined;
  }
  return out;
}

type Tree = Map<string, "dir" | Buffer>;

/**
 * The documented rules (see `extractArchive`) applied to decoded entries: the tree they give under dest, or
 * "conflict" when an entry needs a directory where a file is (or the reverse), or "empty" when nothing is safe.
 */
function expectedTree(list: ReadonlyArray<{ name: string; type: Header["type"] | null; data: Buffer }>): Tree | "conflict" | "empty" {
  const tree: Tree = new Map();
  const blocked: string[][] = [];
  let top: string | undefined;
  for (const { name, type, data } of list) {
    const parts = name.split("/").filter((part) => part !== "" && part !== ".");
    if (name.startsWith("/") || parts.includes("..") || parts[0] === undefined || name.includes("\0")) continue;
    top ??= parts[0];
    const rel = parts.slice(1);
    if (parts[0] !== top || blocked.some((link) => link.every((part, i) => rel[i] === part))) continue;
    if (type !== "file" && type !== "contiguous-file" && type !== "directory") {
      blocked.push(rel);
      continue;
    }
    const ancestors = rel.map((_, i) => rel.slice(0, i).join("/"));
    if (ancestors.some((ancestor) => tree.get(ancestor) instanceof Buffer)) return "conflict";
    for (const ancestor of ancestors) tree.set(ancestor, "dir");
    const key = rel.join("/");
    const existing = tree.get(key);
    if (type === "directory" ? existing instanceof Buffer : existing === "dir") return "conflict";
    tree.set(key, type === "directory" ? "dir" : data);
  }
  return tree.size === 0 ? "empty" : tree;
}

/** Every path under dest (dest itself as ""), with a file's content; links fail the property. */
async function actualTree(dest: string): Promise<Tree> {
  const tree: Tree = new Map();
  const visit = async (full: string, rel: string): Promise<void> => {
    const stats = await lstat(full);
    expect(stats.isSymbolicLink(), `${rel} is a symlink`).toBe(false);
    if (stats.isDirectory()) {
      tree.set(rel, "dir");
      for (const child of await readdir(full)) await visit(path.join(full, child), rel ? `${rel}/${child}` : child);
      return;
    }
    expect(stats.isFile(), `${rel} is a regular file`).toBe(true);
    expect(stats.nlink, `${rel} is a hard link`).toBe(1);
    expect(stats.mode & 0o7022, `${rel} has special or group/other-write bits`).toBe(0);
    expect(path.basename(full)).not.toMatch(/\.part$/); // no temporary file is left behind
    tree.set(rel, await readFile(full));
  };
  await visit(dest, "");
  return tree;
}

interface Outcome {
  error?: ArchiveError;
  /** The tree under dest; undefined when dest was not created. */
  tree?: Tree;
}

/**
 * Extracts into a fresh tmp/run-N/a/dest (after `prepare`), then checks that tmp/run-N/a holds nothing but dest,
 * that `outside` is still empty, and that any error is an ArchiveError (anything else fails the property).
 */
async function extractConfined(archive: Uint8Array, prepare?: (dest: string) => Promise<void>): Promise<Outcome> {
  const run = await mkdtemp(path.join(tmp, "run-"));
  const parent = path.join(run, "a");
  const dest = path.join(parent, "dest");
  await mkdir(parent);
  await prepare?.(dest);
  const outcome: Outcome = {};
  try {
    await extractArchive(archive, dest);
  } catch (error) {
    if (!ArchiveError.isInstance(error)) throw error;
    outcome.error = error;
  }
  expect(await readdir(outside)).toEqual([]);
  expect(await readdir(run)).toEqual(["a"]);
  const created = await readdir(parent);
  expect(created.filter((name) => name !== "dest")).toEqual([]);
  if (!prepare && created.length) outcome.tree = await actualTree(dest);
  await rm(run, { recursive: true, force: true });
  return outcome;
}

/**
 * Extracts `archive` confined (see `extractConfined`) and compares with the rules applied to what tar-stream decodes
 * of it: an archive it cannot read, or one whose entries collide or are all unsafe, must be an ArchiveError.
 */
async function checkAgainstRules(archive: Uint8Array): Promise<Outcome> {
  const decoded = await readBack(Buffer.from(archive));
  const expected = decoded === undefined ? "malformed" : expectedTree(decoded);
  const outcome = await extractConfined(archive);
  if (typeof expected === "string") expect(outcome.error, `expected an ArchiveError (${expected})`).toBeDefined();
  else {
    expect(outcome.error).toBeUndefined();
    expect(outcome.tree).toEqual(expected);
  }
  return outcome;
}

describe("extractArchive on hostile archives (property)", () => {
  it("gives the documented tree or an ArchiveError, never writes outside dest, never creates a link", async () => {
    await fc.assert(
      fc.asyncProperty(entries, async (list) => {
        const archive = await pack(list);
        expect(await readBack(archive)).toBeDefined(); // tar-stream reads what it wrote
        await checkAgainstRules(archive);
      }),
      {
        numRuns: 70,
        examples: [
          // A pax path keeps a NUL that a ustar name field would end at.
          [[{ name: `top/x\0y/${"l".repeat(120)}`, type: "file", mode: 0o644, linkname: "", data: "nul" }]],
          // A directory where a file was, and the reverse, through dest itself.
          [[{ name: "top", type: "file", mode: 0o644, linkname: "", data: "f" }, { name: "top/a", type: "file", mode: 0o644, linkname: "", data: "g" }]],
          [[{ name: "top/a", type: "directory", mode: 0o755, linkname: "", data: "" }, { name: "top/a", type: "file", mode: 0o644, linkname: "", data: "h" }]],
        ],
      },
    );
  });

  it("garbage header fields (size, mtime, checksum, type), GNU long names and pax records: the same, or an ArchiveError", async () => {
    await fc.assert(
      fc.asyncProperty(rawEntries, async (list) => {
        await checkAgainstRules(rawArchive(list));
      }),
      {
        numRuns: 100,
        // A run that never settles fails at once with the seed (shrinking would retry hanging inputs past the test's timeout).
        timeout: 5_000,
        endOnFailure: true,
        examples: [
          [[{ name: "top", type: "0", size: [0x90, 1], mtime: "00000000000\0", checksum: "valid", data: Buffer.from("null size") }]],
          [[{ name: "top", type: "5", size: "exact", mtime: "00000000000\0", checksum: "valid", data: Buffer.from("dir data") }]],
          [[{ name: "top", type: "0", size: "exact", mtime: "zz", checksum: "valid", data: Buffer.from("bad mtime") }]],
          [[{ name: "top", type: "0", size: "exact", mtime: [0x80, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255], checksum: "valid", data: Buffer.from("huge mtime") }]],
        ],
      },
    );
  });

  it("an archive cut anywhere: the rules for what is complete, or an ArchiveError; never a partial file", async () => {
    const cut = entries.chain((list) => fc.tuple(fc.constant(list), fc.nat({ max: 512 * 2 * list.length + 1024 })));
    await fc.assert(
      fc.asyncProperty(cut, async ([list, at]) => {
        const archive = await pack(list);
        const { tree } = await checkAgainstRules(archive.subarray(0, Math.min(at, archive.length)));
        const contents = list.map((entry) => Buffer.from(entry.data));
        for (const content of tree?.values() ?? []) if (content !== "dir") expect(contents).toContainEqual(content);
      }),
      { numRuns: 100 },
    );
  });

  it("random bytes, and valid archives with bytes overwritten (checksums fixed or not): the rules, or an ArchiveError", async () => {
    const writes = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
    const input = fc.oneof(fc.record({ bytes: fc.uint8Array({ maxLength: 2048 }) }), fc.record({ list: entries, writes, fixChecksums: fc.boolean() }));
    await fc.assert(
      fc.asyncProperty(input, async (spec) => {
        if ("bytes" in spec) return void (await checkAgainstRules(spec.bytes));
        const archive = await pack(spec.list);
        for (const [offset, byte] of spec.writes) archive[offset % archive.length] = byte;
        for (let at = 0; spec.fixChecksums && at + 512 <= archive.length; at += 512) {
          const block = archive.subarray(at, at + 512);
          if (block.toString("latin1", 257, 262) !== "ustar") continue;
          block.fill(0x20, 148, 156);
          field(block, 148, 8, `${block.reduce((total, byte) => total + byte, 0).toString(8).padStart(6, "0")}\0 `);
        }
        await checkAgainstRules(archive);
      }),
      { numRuns: 100 },
    );
  });

  it("links already in dest, or dest itself a link, pointing outside: nothing is written through them", async () => {
    const prepare = fc.constantFrom(
      async (dest: string) => symlink(outside, dest),
      async (dest: string) => {
        await mkdir(dest);
        await symlink(outside, path.join(dest, "a"));
        await symlink("../../../outside", path.join(dest, "b"));
      },
    );
    await fc.assert(
      fc.asyncProperty(entries, prepare, async (list, prepareDest) => {
        await extractConfined(await pack(list), prepareDest); // checks that `outside` stays empty
      }),
      { numRuns: 60 },
    );
  });
});
