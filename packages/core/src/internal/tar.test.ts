import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, link, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { extract as tarExtract, pack as tarPack, type Header } from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArchiveError, ValidationError } from "../errors.js";
import { extractArchive, packFiles, packHostPath } from "./tar.js";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "llm-sandbox-tar-test-"));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every path under `dir` with its kind, so a test can assert nothing else was created. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(current)).sort()) {
      const full = path.join(current, name);
      const stats = await lstat(full);
      const kind = stats.isSymbolicLink() ? "link" : stats.isDirectory() ? "dir" : "file";
      out.push(`${prefix}${name}:${kind}`);
      if (kind === "dir") await walk(full, `${prefix}${name}/`);
    }
  };
  await walk(dir, "");
  return out;
}

async function headers(tar: Uint8Array): Promise<Header[]> {
  const out: Header[] = [];
  const extractor = tarExtract();
  extractor.end(Buffer.from(tar));
  for await (const entry of extractor) {
    out.push(entry.header);
    entry.resume();
  }
  return out;
}

/** Builds an arbitrary (possibly hostile) archive directly with tar-stream. */
async function rawTar(entries: ReadonlyArray<Partial<Header> & { name: string; data?: string }>): Promise<Buffer> {
  const pack = tarPack();
  for (const { data, ...header } of entries) {
    if (data === undefined) pack.entry(header);
    else pack.entry(header, data);
  }
  pack.finalize();
  const chunks: Uint8Array[] = [];
  for await (const chunk of pack) chunks.push(chunk as Uint8Array);
  return Buffer.concat(chunks);
}

const modeOf = async (p: string) => (await lstat(p)).mode & 0o7777;

describe("packHostPath + extractArchive round trip", () => {
  it("copies a directory byte-identically, with modes and mtimes", async () => {
    const src = path.join(root, "src", "proj");
    const binary = randomBytes(300_000);
    await mkdir(path.join(src, "nested", "deep"), { recursive: true });
    await mkdir(path.join(src, "emptydir"));
    await writeFile(path.join(src, "a.txt"), "hello\n");
    await writeFile(path.join(src, "nested", "deep", "blob.bin"), binary);
    await writeFile(path.join(src, "empty.txt"), "");
    await writeFile(path.join(src, "run.sh"), "#!/bin/sh\necho hi\n");
    await writeFile(path.join(src, "secret"), "s");
    await chmod(path.join(src, "run.sh"), 0o755);
    await chmod(path.join(src, "secret"), 0o600);
    const mtime = new Date("2021-06-01T12:34:56Z");
    await utimes(path.join(src, "a.txt"), mtime, mtime);

    const archive = await packHostPath(src, "proj");
    // tar-stream reports directory names without their trailing slash.
    expect((await headers(archive)).map((h) => `${h.name}:${h.type}`)).toEqual([
      "proj:directory",
      "proj/a.txt:file",
      "proj/empty.txt:file",
      "proj/emptydir:directory",
      "proj/nested:directory",
      "proj/nested/deep:directory",
      "proj/nested/deep/blob.bin:file",
      "proj/run.sh:file",
      "proj/secret:file",
    ]);

    const dest = path.join(root, "out", "new", "copy"); // parents do not exist yet
    const report = await extractArchive(archive, dest);
    expect(report).toEqual({ files: 5, directories: 4, skipped: [] });
    expect(await tree(dest)).toEqual(await tree(src));
    expect(await readFile(path.join(dest, "a.txt"), "utf8")).toBe("hello\n");
    expect(Buffer.compare(await readFile(path.join(dest, "nested", "deep", "blob.bin")), binary)).toBe(0);
    expect((await readFile(path.join(dest, "empty.txt"))).length).toBe(0);
    expect(await modeOf(path.join(dest, "run.sh"))).toBe(0o755);
    expect(await modeOf(path.join(dest, "secret"))).toBe(0o600);
    expect((await lstat(path.join(dest, "a.txt"))).mtime.getTime()).toBe(mtime.getTime());
  });

  it("copies a single file exactly to dest", async () => {
    const file = path.join(root, "data.bin");
    const data = randomBytes(5000);
    await writeFile(file, data);
    const archive = await packHostPath(file, "data.bin");
    const dest = path.join(root, "elsewhere", "renamed.bin");
    expect(await extractArchive(archive, dest)).toEqual({ files: 1, directories: 0, skipped: [] });
    expect(Buffer.compare(await readFile(dest), data)).toBe(0);
    expect(await tree(path.join(root, "elsewhere"))).toEqual(["renamed.bin:file"]);
  });

  it("stores symlinks as symlink entries without following them, and extraction skips them", async () => {
    const src = path.join(root, "proj");
    await mkdir(src);
    await writeFile(path.join(src, "real.txt"), "x");
    await symlink("/etc/passwd", path.join(src, "abs-link"));
    await symlink("real.txt", path.join(src, "rel-link"));
    const archive = await packHostPath(src, "proj");
    const links = (await headers(archive)).filter((h) => h.type === "symlink");
    expect(links.map((h) => [h.name, h.linkname, h.size])).toEqual([
      ["proj/abs-link", "/etc/passwd", 0],
      ["proj/rel-link", "real.txt", 0],
    ]);
    expect(archive.includes("root:")).toBe(false); // /etc/passwd content was not packed

    const dest = path.join(root, "dest");
    const report = await extractArchive(archive, dest);
    expect(report.files).toBe(1);
    expect(report.skipped).toEqual([
      { name: "proj/abs-link", reason: "symlink entries are never extracted" },
      { name: "proj/rel-link", reason: "symlink entries are never extracted" },
    ]);
    expect(await tree(dest)).toEqual(["real.txt:file"]);
  });

  it("drops setuid/setgid/sticky bits when packing", async () => {
    const file = path.join(root, "tool");
    await writeFile(file, "x");
    await chmod(file, 0o4755);
    const [header] = await headers(await packHostPath(file, "tool"));
    expect(header?.mode).toBe(0o755);
  });

  it("rejects a missing source and an archive name that is not one component", async () => {
    const missing = path.join(root, "nope");
    await expect(packHostPath(missing, "nope")).rejects.toThrow(ValidationError);
    await expect(packHostPath(missing, "nope")).rejects.toThrow(missing);
    await writeFile(path.join(root, "f"), "x");
    for (const bad of ["", ".", "..", "a/b"]) {
      await expect(packHostPath(path.join(root, "f"), bad)).rejects.toThrow(ValidationError);
    }
  });
});

describe("packFiles", () => {
  it("packs in-memory files that extract with their content and mode", async () => {
    const archive = await packFiles([
      { name: "job/main.py", data: "print('hi')\n" },
      { name: "job/lib/data.bin", data: Uint8Array.of(0, 1, 2, 255) },
      { name: "job/run.sh", data: "#!/bin/sh\n", mode: 0o755 },
    ]);
    const dest = path.join(root, "job");
    expect(await extractArchive(archive, dest)).toMatchObject({ files: 3, skipped: [] });
    expect(await readFile(path.join(dest, "main.py"), "utf8")).toBe("print('hi')\n");
    expect([...(await readFile(path.join(dest, "lib", "data.bin")))]).toEqual([0, 1, 2, 255]);
    expect(await modeOf(path.join(dest, "run.sh"))).toBe(0o755);
    expect(await modeOf(path.join(dest, "main.py"))).toBe(0o644);
  });

  it("rejects absolute and parent-relative names", async () => {
    for (const name of ["/etc/x", "../x", "a/../../x", "", "./"]) {
      await expect(packFiles([{ name, data: "x" }])).rejects.toThrow(ValidationError);
    }
  });
});

describe("extractArchive security", () => {
  it("writes nothing outside dest for a hostile archive and reports every skipped entry", async () => {
    const outside = path.join(root, "outside");
    await mkdir(outside);
    const absoluteTarget = path.join(root, "abs-evil");
    const archive = await rawTar([
      { name: "name/", type: "directory" },
      { name: "name/ok.txt", data: "fine" },
      { name: absoluteTarget, data: "evil" },
      { name: "../evil", data: "evil" },
      { name: "name/../../evil", data: "evil" },
      { name: "other/evil", data: "evil" },
      { name: "name/link", type: "symlink", linkname: outside },
      { name: "name/link/passwd", data: "evil" },
      { name: "name/hard", type: "link", linkname: "/etc/passwd" },
      { name: "name/fifo", type: "fifo" },
      { name: "name/suid", data: "#!/bin/sh\n", mode: 0o4777 },
      { name: "name/sgid-sticky", data: "x", mode: 0o3666 },
    ]);
    const dest = path.join(root, "a", "b", "dest");

    const report = await extractArchive(archive, dest);

    expect(report.files).toBe(3);
    expect(report.directories).toBe(1);
    expect(report.skipped).toEqual([
      { name: absoluteTarget, reason: "absolute path" },
      { name: "../evil", reason: 'path contains ".."' },
      { name: "name/../../evil", reason: 'path contains ".."' },
      { name: "other/evil", reason: 'not under the archive\'s top-level name "name"' },
      { name: "name/link", reason: "symlink entries are never extracted" },
      { name: "name/link/passwd", reason: "inside a skipped link entry" },
      { name: "name/hard", reason: "link entries are never extracted" },
      { name: "name/fifo", reason: "fifo entries are never extracted" },
    ]);
    // The whole temp root holds only dest's safe content and the untouched outside dir.
    expect(await tree(root)).toEqual([
      "a:dir",
      "a/b:dir",
      "a/b/dest:dir",
      "a/b/dest/ok.txt:file",
      "a/b/dest/sgid-sticky:file",
      "a/b/dest/suid:file",
      "outside:dir",
    ]);
    for (const wouldBe of [absoluteTarget, path.join(root, "a", "b", "evil"), path.join(root, "a", "evil")]) {
      expect(existsSync(wouldBe)).toBe(false);
    }
    expect(await modeOf(path.join(dest, "suid"))).toBe(0o755);
    expect(await modeOf(path.join(dest, "sgid-sticky"))).toBe(0o644);
  });

  it("never writes through a symlink that already exists on the host", async () => {
    const outside = path.join(root, "outside");
    const dest = path.join(root, "dest");
    await mkdir(outside);
    await mkdir(dest);
    await symlink(outside, path.join(dest, "sub"));
    const archive = await rawTar([
      { name: "name/sub/planted.txt", data: "evil" },
      { name: "name/sub", type: "directory" },
      { name: "name/ok.txt", data: "fine" },
    ]);
    const report = await extractArchive(archive, dest);
    expect(report.files).toBe(1);
    expect(report.skipped).toEqual([
      { name: "name/sub/planted.txt", reason: `existing symlink on the host at ${path.join(dest, "sub")}` },
      { name: "name/sub", reason: `existing symlink on the host at ${path.join(dest, "sub")}` },
    ]);
    expect(await readdir(outside)).toEqual([]);
  });

  it("refuses to extract into a dest that is itself a symlink", async () => {
    const outside = path.join(root, "outside");
    await mkdir(outside);
    await symlink(outside, path.join(root, "dest"));
    const archive = await rawTar([{ name: "name/x.txt", data: "evil" }]);
    await expect(extractArchive(archive, path.join(root, "dest"))).rejects.toThrow(/no safe content/);
    expect(await readdir(outside)).toEqual([]);
  });

  it("replaces an existing hard link instead of writing through it", async () => {
    const outside = path.join(root, "outside.txt");
    const dest = path.join(root, "dest");
    await writeFile(outside, "original");
    await mkdir(dest);
    await link(outside, path.join(dest, "f.txt"));
    await extractArchive(await rawTar([{ name: "name/f.txt", data: "new" }]), dest);
    expect(await readFile(outside, "utf8")).toBe("original");
    expect(await readFile(path.join(dest, "f.txt"), "utf8")).toBe("new");
    expect(await tree(dest)).toEqual(["f.txt:file"]); // no temporary file left behind
  });

  it("throws ArchiveError for an archive whose entries are all skipped, creating nothing", async () => {
    const archive = await rawTar([
      { name: "../evil", data: "evil" },
      { name: "name", type: "symlink", linkname: "/etc" },
      { name: "name/passwd", data: "evil" },
    ]);
    const dest = path.join(root, "sub", "dest");
    const error = await extractArchive(archive, dest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as Error).message).toMatch(/no safe content/);
    expect((error as Error).message).toContain("../evil");
    expect(await tree(root)).toEqual([]);
  });

  it("throws ArchiveError for garbage, truncated and empty input", async () => {
    const dest = path.join(root, "dest");
    await expect(extractArchive(randomBytes(2048), dest)).rejects.toThrow(ArchiveError);
    await expect(extractArchive(randomBytes(2048), dest)).rejects.toThrow(/Malformed tar archive/);
    await expect(extractArchive(Buffer.from("not a tar"), dest)).rejects.toThrow(ArchiveError);
    await expect(extractArchive(new Uint8Array(0), dest)).rejects.toThrow(/no safe content/);

    const valid = await rawTar([{ name: "name/big.bin", data: "x".repeat(10_000) }]);
    const truncated = valid.subarray(0, 512 + 3000); // header plus part of the body
    await expect(extractArchive(truncated, dest)).rejects.toThrow(/Malformed tar archive/);
    expect(existsSync(dest)).toBe(false);
  });
});

describe("interoperability with GNU tar (the container side)", () => {
  const hasTar = (() => {
    try {
      execFileSync("tar", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasTar)("extracts `tar -c -C parent name` output and GNU tar extracts ours", async () => {
    const parent = path.join(root, "parent");
    await mkdir(path.join(parent, "proj", "d"), { recursive: true });
    await writeFile(path.join(parent, "proj", "d", "f.txt"), "from gnu tar");
    await writeFile(path.join(parent, "proj", "ünïcode-" + "x".repeat(120) + ".txt"), "long name");

    const fromGnu = execFileSync("tar", ["-c", "-C", parent, "proj"]);
    const dest = path.join(root, "dest");
    expect((await extractArchive(fromGnu, dest)).skipped).toEqual([]);
    expect(await tree(dest)).toEqual(await tree(path.join(parent, "proj")));

    const ours = await packHostPath(path.join(parent, "proj"), "copy");
    const target = path.join(root, "gnu-target");
    await mkdir(target);
    execFileSync("tar", ["-x", "-C", target], { input: ours });
    expect(await tree(path.join(target, "copy"))).toEqual(await tree(path.join(parent, "proj")));
    expect(await readFile(path.join(target, "copy", "d", "f.txt"), "utf8")).toBe("from gnu tar");
  });
});
