import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileNotFoundError, SecurityError } from "@llm-sandbox/core";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { sharedSession, withSession } from "../../../../test/helpers/sessions.js";

const scratch = await mkdtemp(join(tmpdir(), "llm-sandbox-files-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** Relative path → content of every file under `dir`, plus empty directories. */
async function snapshot(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      const inner = await snapshot(join(dir, entry.name), `${rel}/`);
      Object.assign(out, Object.keys(inner).length ? inner : { [`${rel}/`]: "<dir>" });
    } else out[rel] = (await readFile(join(dir, entry.name))).toString("base64");
  }
  return out;
}

describe("copyToRuntime / copyFromRuntime (real engine)", async () => {
  const session = await sharedSession({ lang: "python" });

  it("round-trips a file byte-identically", async () => {
    const source = join(scratch, "blob.bin");
    await writeFile(source, randomBytes(300_000));
    await session.copyToRuntime(source, "in/blob.bin");
    expect((await session.run("import os\nprint(os.path.getsize('in/blob.bin'))")).stdout).toBe("300000\n");
    const back = join(scratch, "back", "blob.bin");
    await session.copyFromRuntime("/sandbox/in/blob.bin", back);
    expect(Buffer.compare(await readFile(back), await readFile(source))).toBe(0);
  });

  it("round-trips a directory tree byte-identically", async () => {
    const source = join(scratch, "tree");
    await mkdir(join(source, "a/b"), { recursive: true });
    await mkdir(join(source, "empty"));
    await writeFile(join(source, "top.txt"), "héllo\n");
    await writeFile(join(source, "a/b/data.bin"), randomBytes(70_000));
    await writeFile(join(source, "a/zero"), "");
    await session.copyToRuntime(source, "tree");
    const listing = await session.executeCommand("cd tree && find . | sort");
    expect(listing.stdout.split("\n")).toEqual(expect.arrayContaining(["./a/b/data.bin", "./empty", "./top.txt"]));
    const back = join(scratch, "tree-back");
    await session.copyFromRuntime("tree", back);
    expect(await snapshot(back)).toEqual(await snapshot(source));
  });

  it("copies files that programs wrote", async () => {
    await session.run("open('made.txt', 'w').write('made in sandbox')");
    const out = join(scratch, "made.txt");
    await session.copyFromRuntime("made.txt", out);
    expect(await readFile(out, "utf8")).toBe("made in sandbox");
  });

  it("refuses '..' in sandbox paths with a SecurityError", async () => {
    const source = join(scratch, "blob.bin");
    await expect(session.copyToRuntime(source, "/sandbox/../etc/x")).rejects.toSatisfy(SecurityError.isInstance);
    await expect(session.copyFromRuntime("../etc/passwd", join(scratch, "p"))).rejects.toSatisfy(SecurityError.isInstance);
  });

  it("names missing files on either side", async () => {
    await expect(session.copyToRuntime(join(scratch, "nope"), "x")).rejects.toSatisfy(FileNotFoundError.isInstance);
    await expect(session.copyFromRuntime("/sandbox/nope.txt", join(scratch, "n"))).rejects.toSatisfy(FileNotFoundError.isInstance);
  });

  it("copies an empty file (the original reported it as missing)", async () => {
    await session.executeCommand(": > empty.txt");
    const out = join(scratch, "empty.txt");
    await session.copyFromRuntime("empty.txt", out);
    expect(await readFile(out, "utf8")).toBe("");
  });
});

describe("hostile archives from a compromised sandbox", () => {
  it("writes nothing outside the destination", async () => {
    const pack = tar.pack();
    pack.entry({ name: "/tmp/llm-sandbox-evil-absolute" }, "x");
    pack.entry({ name: "../llm-sandbox-evil-up" }, "x");
    pack.entry({ name: "out/../../llm-sandbox-evil-nested" }, "x");
    pack.entry({ name: "out/link", type: "symlink", linkname: "/etc" });
    pack.entry({ name: "out/link/evil-through-link" }, "x");
    pack.entry({ name: "out/ok.txt" }, "fine");
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    const hostile = join(scratch, "hostile.tar");
    await writeFile(hostile, Buffer.concat(chunks));

    // A root sandbox with a writable root filesystem can replace `tar` itself: the worst case.
    await withSession({ lang: "python", runtimeConfigs: { user: "0", readOnly: false } }, async (session) => {
      await session.copyToRuntime(hostile, "/sandbox/hostile.tar");
      await session.executeCommand(`printf '#!/bin/sh\\ncat /sandbox/hostile.tar\\n' > "$(command -v tar)"`);
      const dest = join(scratch, "victim", "dest");
      await session.copyFromRuntime("out", dest);
      expect(await readFile(join(dest, "ok.txt"), "utf8")).toBe("fine");
      expect(await readdir(dest)).toEqual(["ok.txt"]);
      expect(await readdir(join(scratch, "victim"))).toEqual(["dest"]);
      expect(existsSync("/tmp/llm-sandbox-evil-absolute")).toBe(false);
      expect(existsSync("/etc/evil-through-link")).toBe(false);
    });
  });
});
