import { FileAccessError, FileNotFoundError, PathTraversalError, ValidationError } from "@llm-sandbox/core";
import { deleteSandboxFile, listSandboxDirectory, statSandboxFile } from "@llm-sandbox/core/tool";
import { describe, expect, it } from "vitest";
import { sharedSession } from "../../../../test/helpers/sessions.js";

/** Names a shell would split, expand or read as options: they must reach the file system as they are. */
const AWKWARD = ["with space.txt", `it's "quoted".txt`, "-dash.txt", "$(touch pwned).txt", "back\\slash;&|.txt"];

describe("statSandboxFile / listSandboxDirectory / deleteSandboxFile (real engine)", async () => {
  const session = await sharedSession({ lang: "python" });
  const failure = (operation: Promise<unknown>) => operation.then(() => undefined, (error: unknown) => error);

  await session.writeFile("docs/a.txt", "one\ntwo\nthree\n");
  await session.executeCommand("mkdir docs/inner docs/locked && chmod 000 docs/locked && ln -s a.txt docs/link && ln -s nowhere docs/dangling");

  it("stat: a file, a directory, a device; links followed unless asked not to", async () => {
    const before = Date.now();
    await session.writeFile("docs/fresh.txt", "x");
    const fresh = await statSandboxFile(session, "docs/fresh.txt");
    expect(fresh).toMatchObject({ path: "/sandbox/docs/fresh.txt", type: "file", size: 1 });
    // The container shares the host's clock.
    expect(Math.abs(fresh.mtime.getTime() - before)).toBeLessThan(60_000);

    expect(await statSandboxFile(session, "/sandbox/docs/a.txt")).toMatchObject({ path: "/sandbox/docs/a.txt", type: "file", size: 14 });
    expect(await statSandboxFile(session, "docs")).toMatchObject({ type: "directory" });
    expect(await statSandboxFile(session, "/")).toMatchObject({ path: "/", type: "directory" });
    expect(await statSandboxFile(session, "/dev/null")).toMatchObject({ type: "other" });
    expect(await statSandboxFile(session, "docs/link")).toMatchObject({ path: "/sandbox/docs/link", type: "file", size: 14 });
    expect(await statSandboxFile(session, "docs/link", { followSymlinks: false })).toMatchObject({ type: "symlink" });
    expect(await statSandboxFile(session, "docs/dangling", { followSymlinks: false })).toMatchObject({ type: "symlink" });
  });

  it("stat: a missing path (or a dangling link, followed) is FileNotFoundError; '..' is refused", async () => {
    const missing = await failure(statSandboxFile(session, "docs/none.txt"));
    expect(FileNotFoundError.isInstance(missing) && missing.path).toBe("/sandbox/docs/none.txt");
    expect(FileNotFoundError.isInstance(await failure(statSandboxFile(session, "docs/dangling")))).toBe(true);
    expect(PathTraversalError.isInstance(await failure(statSandboxFile(session, "../etc/passwd")))).toBe(true);
  });

  it("list: entries by name with type, size and path; links are not followed", async () => {
    const entries = await listSandboxDirectory(session, "docs");
    expect(entries.map(({ name, type }) => [name, type])).toEqual([
      ["a.txt", "file"],
      ["dangling", "symlink"],
      ["fresh.txt", "file"],
      ["inner", "directory"],
      ["link", "symlink"],
      ["locked", "directory"],
    ]);
    expect(entries[0]).toMatchObject({ path: "/sandbox/docs/a.txt", size: 14 });
    expect(entries[0]!.mtime).toBeInstanceOf(Date);
    expect(await listSandboxDirectory(session, "docs/inner")).toEqual([]);
  });

  it("list: missing is FileNotFoundError, a file is a ValidationError, an unreadable directory is FileAccessError", async () => {
    expect(FileNotFoundError.isInstance(await failure(listSandboxDirectory(session, "nowhere")))).toBe(true);
    const file = await failure(listSandboxDirectory(session, "docs/a.txt"));
    expect(ValidationError.isInstance(file) && (file as Error).message).toBe("/sandbox/docs/a.txt is not a directory");
    const locked = await failure(listSandboxDirectory(session, "docs/locked"));
    expect(FileAccessError.isInstance(locked) && locked.reason).toBe("permission_denied");
  });

  it("delete: a file, a link (not its target), a dangling link; a directory or a missing path is refused", async () => {
    await session.writeFile("del/f.txt", "x");
    await session.executeCommand("cd del && ln -s f.txt link && ln -s nowhere dangling && mkdir dir");
    await deleteSandboxFile(session, "del/link");
    expect(await statSandboxFile(session, "del/f.txt")).toMatchObject({ type: "file" });
    await deleteSandboxFile(session, "del/dangling");
    await deleteSandboxFile(session, "/sandbox/del/f.txt");
    expect((await listSandboxDirectory(session, "del")).map((e) => e.name)).toEqual(["dir"]);

    const directory = await failure(deleteSandboxFile(session, "del/dir"));
    expect(FileAccessError.isInstance(directory) && directory.reason).toBe("is_directory");
    expect(FileNotFoundError.isInstance(await failure(deleteSandboxFile(session, "del/f.txt")))).toBe(true);
    const protectedFile = await failure(deleteSandboxFile(session, "/etc/passwd"));
    expect(FileAccessError.isInstance(protectedFile) && protectedFile.reason).toBe("permission_denied");
  });

  it("paths with spaces, quotes, leading dashes and shell syntax reach the file system as they are", async () => {
    for (const name of AWKWARD) await session.writeFile(`odd/${name}`, name);
    expect((await listSandboxDirectory(session, "odd")).map((e) => e.name)).toEqual([...AWKWARD].sort());
    for (const name of AWKWARD) {
      expect(await statSandboxFile(session, `odd/${name}`)).toMatchObject({ path: `/sandbox/odd/${name}`, type: "file", size: Buffer.byteLength(name) });
      await deleteSandboxFile(session, `odd/${name}`);
    }
    expect(await listSandboxDirectory(session, "odd")).toEqual([]);
    // Nothing in a name was run.
    expect(FileNotFoundError.isInstance(await failure(statSandboxFile(session, "pwned")))).toBe(true);
  });
});
