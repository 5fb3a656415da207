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

/** The entries as tar-stream reads them back (a ustar field ends at its first NUL), or undefined when it cannot. */
async function readBack(archive: Buffer): Promise<Array<{ name: string; type: Header["type"] | null; data: Buffer }> | undefined> {
  const out: Array<{ name: string; type: Header["type"] | null; data: Buffer }> = [];
  const extractor = tarExtract();
  extractor.end(archive);
  try {
    for await (const entry of extractor) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
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

describe("extractArchive on hostile archives (property)", () => {
  it("gives the documented tree or an ArchiveError, never writes outside dest, never creates a link", async () => {
    await fc.assert(
      fc.asyncProperty(entries, async (list) => {
        const archive = await pack(list);
        const decoded = await readBack(archive);
        expect(decoded).toBeDefined(); // tar-stream reads what it wrote
        const expected = expectedTree(decoded!);
        const { error, tree } = await extractConfined(archive);
        if (expected === "conflict" || expected === "empty") {
          expect(error).toBeDefined();
          return;
        }
        expect(error).toBeUndefined();
        expect(tree).toEqual(expected);
      }),
      {
        numRuns: 100,
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
});
