// The deepagents protocol against a real container: lifecycle, execute, file transfer with partial success, and
// the BaseSandbox methods (ls/read/write/edit/grep/glob/delete) that deepagents builds on those three.
// (deepagents' own suite, @langchain/sandbox-standard-tests, is not published to npm; this covers the same ground.)
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { LlmSandbox } from "@llm-sandbox/langchain/deepagents";
import { createDeepAgent } from "deepagents";
import { afterAll, describe, expect, it } from "vitest";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes ?? new Uint8Array());

describe("LlmSandbox, a deepagents backend (real engine)", async () => {
  const sandbox = await LlmSandbox.create({ initialFiles: { "seed/hello.txt": "seeded\n", "/tmp/bytes.bin": new Uint8Array([0, 255, 10]) } });
  afterAll(() => sandbox.close());

  describe("lifecycle", () => {
    it("has a stable id and reports running; closes; works in two steps", async () => {
      expect(sandbox.id).toMatch(/^[0-9a-f]{16}$/);
      expect(sandbox.isRunning).toBe(true);
      const twoStep = new LlmSandbox();
      const id = twoStep.id;
      expect(twoStep.isRunning).toBe(false);
      await twoStep.initialize();
      expect(twoStep.isRunning).toBe(true);
      expect((await twoStep.execute("echo ok")).output).toBe("ok\n");
      await twoStep.close();
      expect(twoStep.isRunning).toBe(false);
      expect(twoStep.id).toBe(id);
    });

    it("wrote the initial files", async () => {
      expect((await sandbox.execute("cat /sandbox/seed/hello.txt")).output).toBe("seeded\n");
      expect([...(await sandbox.downloadFiles(["/tmp/bytes.bin"]))[0]!.content!]).toEqual([0, 255, 10]);
    });

    it("refuses initial files it cannot write, naming them", async () => {
      await expect(LlmSandbox.create({ initialFiles: { "/etc/nope.conf": "x" } })).rejects.toThrow(/\/etc\/nope.conf \(permission_denied\)/);
    });
  });

  describe("execute", () => {
    it("returns output, exit code and truncation; stdout and stderr interleave in write order", async () => {
      expect(await sandbox.execute('echo "hello"')).toEqual({ output: "hello\n", exitCode: 0, truncated: false });
      expect((await sandbox.execute("exit 42")).exitCode).toBe(42);
      expect((await sandbox.execute("echo one; echo two >&2; echo three")).output).toBe("one\ntwo\nthree\n");
      expect((await sandbox.execute('export MY_VAR="test_value" && echo $MY_VAR')).output).toBe("test_value\n");
      const missing = await sandbox.execute("nonexistent_command_12345");
      expect(missing.exitCode).toBe(127);
      expect(missing.output).toContain("not found");
      expect((await sandbox.execute("pwd")).output).toBe("/sandbox\n");
    });

    it("stops a command that exceeds the time limit and says so", async () => {
      const quick = await LlmSandbox.create({ defaultTimeout: 2 });
      try {
        const started = Date.now();
        const result = await quick.execute("echo begun; sleep 30");
        expect(result.exitCode).toBe(124);
        expect(result.output).toMatch(/^begun\n\[.*timed out after 2 seconds/);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect((await quick.execute("echo still usable")).output).toBe("still usable\n");
      } finally {
        await quick.close();
      }
    });
  });

  describe("uploadFiles / downloadFiles", () => {
    it("round-trips several files, creating directories", async () => {
      const files: Array<[string, Uint8Array]> = [
        ["/sandbox/multi/1.txt", encode("Content 1")],
        ["/sandbox/multi/deep/2.txt", encode("Content 2")],
        ["multi/3.txt", encode("Content 3")],
      ];
      expect(await sandbox.uploadFiles(files)).toEqual(files.map(([path]) => ({ path, error: null })));
      const downloads = await sandbox.downloadFiles(files.map(([path]) => path));
      expect(downloads.map((d) => [d.path, decode(d.content), d.error])).toEqual([
        ["/sandbox/multi/1.txt", "Content 1", null],
        ["/sandbox/multi/deep/2.txt", "Content 2", null],
        ["multi/3.txt", "Content 3", null],
      ]);
    });

    it("reports each failing file with deepagents' error code and still handles the rest", async () => {
      const uploads = await sandbox.uploadFiles([
        ["/sandbox/ok.txt", encode("fine")],
        ["/sandbox/../etc/x", encode("x")],
        ["/etc/x.conf", encode("x")],
        ["/sandbox/multi", encode("x")],
      ]);
      expect(uploads.map((u) => u.error)).toEqual([null, "invalid_path", "permission_denied", "is_directory"]);
      const downloads = await sandbox.downloadFiles(["/sandbox/nonexistent-12345.txt", "/sandbox/ok.txt", "/sandbox/multi", "/etc/shadow"]);
      expect(downloads.map((d) => [d.error, d.content === null])).toEqual([
        ["file_not_found", true],
        [null, false],
        ["is_directory", true],
        ["permission_denied", true],
      ]);
    });
  });

  describe("BaseSandbox methods on top", () => {
    it("write, read, edit, ls, grep, glob and delete work in the container", async () => {
      expect((await sandbox.write("/sandbox/base/a.py", "print('alpha')\nx = 1\n")).error).toBeUndefined();
      await sandbox.write("/sandbox/base/sub/b.txt", "beta alpha\n");
      const read = await sandbox.read("/sandbox/base/a.py");
      expect(read.error).toBeUndefined();
      expect(String(read.content)).toContain("print('alpha')");
      expect((await sandbox.edit("/sandbox/base/a.py", "x = 1", "x = 2")).error).toBeUndefined();
      expect((await sandbox.execute("python3 -c \"exec(open('/sandbox/base/a.py').read()); print(x)\"")).output).toBe("alpha\n2\n");

      const ls = await sandbox.ls("/sandbox/base");
      expect(ls.files?.map((f) => [f.path.replace(/\/$/, ""), f.is_dir])).toEqual(
        expect.arrayContaining([
          ["/sandbox/base/a.py", false],
          ["/sandbox/base/sub", true],
        ]),
      );
      const grep = await sandbox.grep("alpha", "/sandbox/base");
      expect(grep.matches?.map((m) => [m.path, m.line]).sort()).toEqual([
        ["/sandbox/base/a.py", 1],
        ["/sandbox/base/sub/b.txt", 1],
      ]);
      const glob = await sandbox.glob("**/*.txt", "/sandbox/base");
      expect(glob.files?.map((f) => f.path)).toEqual([expect.stringMatching(/sub\/b\.txt$/)]);
      expect((await sandbox.delete("/sandbox/base/sub")).error).toBeUndefined();
      expect((await sandbox.execute("test -e /sandbox/base/sub; echo $?")).output).toBe("1\n");
      expect((await sandbox.read("/sandbox/base/missing.txt")).error).toBeDefined();
    });
  });

  it("a deep agent's execute tool runs in the container and the model reads the output", async () => {
    const model = fakeModel()
      .respondWithTools([{ name: "execute", args: { command: "python3 -c 'print(6 * 7)'" }, id: "exec_1" }])
      .respond(new AIMessage("42"));
    const agent = createDeepAgent({ model, backend: sandbox });
    await agent.invoke({ messages: [{ role: "user", content: "compute" }] });
    const toolMessage = model.calls[1]!.messages.find((m): m is ToolMessage => ToolMessage.isInstance(m));
    expect(toolMessage?.tool_call_id).toBe("exec_1");
    expect(String(toolMessage?.content)).toContain("42");
    expect(String(toolMessage?.content)).toMatch(/exit code 0/i);
  });
});
