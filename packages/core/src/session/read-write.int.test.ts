import { randomBytes } from "node:crypto";
import { FileAccessError, FileNotFoundError, PathTraversalError } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { sharedSession } from "../../../../test/helpers/sessions.js";

describe("writeFile / readFile (real engine)", async () => {
  const session = await sharedSession({ lang: "python" });

  it("round-trips bytes and text, creating parent directories and replacing existing files", async () => {
    const bytes = randomBytes(200_000);
    await session.writeFile("deep/er/blob.bin", bytes);
    expect(Buffer.compare(Buffer.from(await session.readFile("/sandbox/deep/er/blob.bin")), bytes)).toBe(0);
    await session.writeFile("deep/er/blob.bin", "héllo\n");
    expect(Buffer.from(await session.readFile("deep/er/blob.bin")).toString("utf8")).toBe("héllo\n");
    expect((await session.run("print(open('deep/er/blob.bin').read(), end='')")).stdout).toBe("héllo\n");
    await session.writeFile("empty.txt", new Uint8Array());
    expect((await session.readFile("empty.txt")).length).toBe(0);
  });

  it("names missing files, directories and forbidden places with typed errors", async () => {
    await expect(session.readFile("nope.txt")).rejects.toBeInstanceOf(FileNotFoundError);
    const directory = await session.readFile("/sandbox").catch((e: unknown) => e);
    expect(FileAccessError.isInstance(directory) && directory.reason).toBe("is_directory");
    const writeOverDirectory = await session.writeFile("deep", "x").catch((e: unknown) => e);
    expect(FileAccessError.isInstance(writeOverDirectory) && writeOverDirectory.reason).toBe("is_directory");
    const readOnly = await session.writeFile("/etc/evil.conf", "x").catch((e: unknown) => e);
    expect(FileAccessError.isInstance(readOnly) && readOnly.reason).toBe("permission_denied");
    const secret = await session.readFile("/etc/shadow").catch((e: unknown) => e);
    expect(FileAccessError.isInstance(secret) && secret.reason).toBe("permission_denied");
    await expect(session.writeFile("../escape", "x")).rejects.toBeInstanceOf(PathTraversalError);
  });
});
