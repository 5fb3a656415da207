import { experimental_toSandboxSession } from "@llm-sandbox/ai-sdk";
import { SandboxAbortError, ValidationError } from "@llm-sandbox/core";
import { generateText, isStepCount, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { processesAfter } from "../../../test/helpers/processes.js";
import { sharedSession } from "../../../test/helpers/sessions.js";

const text = (stream: ReadableStream<Uint8Array>) => new Response(stream).text();

describe("experimental_toSandboxSession (real engine)", async () => {
  const session = await sharedSession({ lang: "python" });
  const sandbox = experimental_toSandboxSession(session);

  it("describes the sandbox and runs commands through /bin/sh with working directory and env", async () => {
    expect(sandbox.description).toContain("/sandbox");
    expect(sandbox.description).toContain("no network");
    expect(await sandbox.run({ command: "echo $GREETING from $(pwd); echo oops >&2; exit 3", env: { GREETING: "hi" } })).toEqual({
      exitCode: 3,
      stdout: "hi from /sandbox\n",
      stderr: "oops\n",
    });
    await sandbox.run({ command: "mkdir -p sub" });
    expect((await sandbox.run({ command: "pwd", workingDirectory: "sub" })).stdout).toBe("/sandbox/sub\n");
  });

  it("writes, reads, stats, lists and deletes files; missing paths are null/false", async () => {
    await sandbox.writeTextFile({ path: "docs/a.txt", content: "one\ntwo\nthree\n" });
    await sandbox.writeBinaryFile({ path: "/sandbox/docs/b.bin", content: new Uint8Array([1, 2, 3]) });
    await sandbox.writeFile({ path: "docs/c.txt", content: new Blob(["streamed"]).stream() });
    await sandbox.writeTextFile({ path: "docs/latin.txt", content: "é", encoding: "latin1" });
    expect(await sandbox.readTextFile({ path: "docs/a.txt" })).toBe("one\ntwo\nthree\n");
    expect(await sandbox.readTextFile({ path: "docs/a.txt", startLine: 2, endLine: 2 })).toBe("two\n");
    expect(await sandbox.readTextFile({ path: "docs/a.txt", startLine: 3, endLine: 99 })).toBe("three\n");
    expect([...(await sandbox.readBinaryFile({ path: "docs/b.bin" }))!]).toEqual([1, 2, 3]);
    expect([...(await sandbox.readBinaryFile({ path: "docs/latin.txt" }))!]).toEqual([0xe9]);
    expect(await text((await sandbox.readFile({ path: "docs/c.txt" }))!)).toBe("streamed");
    expect(await sandbox.readTextFile({ path: "docs/none.txt" })).toBeNull();
    expect(await sandbox.readFile({ path: "docs/none.txt" })).toBeNull();

    expect(await sandbox.stat({ path: "docs/a.txt" })).toEqual({ type: "file", size: 14 });
    expect(await sandbox.stat({ path: "docs" })).toMatchObject({ type: "directory" });
    expect(await sandbox.stat({ path: "/dev/null" })).toMatchObject({ type: "other" });
    expect(await sandbox.stat({ path: "docs/none" })).toBeNull();

    await sandbox.run({ command: "mkdir docs/inner && ln -s a.txt docs/link" });
    const entries = await sandbox.listDirectory({ path: "docs" });
    expect(entries?.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: "a.txt", type: "file" },
      { name: "b.bin", type: "file" },
      { name: "c.txt", type: "file" },
      { name: "inner", type: "directory" },
      { name: "latin.txt", type: "file" },
      { name: "link", type: "symlink" },
    ]);
    expect(await sandbox.listDirectory({ path: "nowhere" })).toBeNull();
    await expect(sandbox.listDirectory({ path: "docs/a.txt" })).rejects.toThrow(ValidationError);

    expect(await sandbox.deleteFile({ path: "docs/link" })).toBe(true);
    expect(await sandbox.stat({ path: "docs/a.txt" })).not.toBeNull();
    expect(await sandbox.deleteFile({ path: "docs/link" })).toBe(false);
    await expect(sandbox.deleteFile({ path: "docs/inner" })).rejects.toThrow(/is a directory/);
    await expect(sandbox.writeTextFile({ path: "docs/inner", content: "x" })).rejects.toThrow(/is a directory/);
    await expect(sandbox.writeTextFile({ path: "x", content: "x", encoding: "klingon" })).rejects.toThrow(/Unsupported text encoding/);
  });

  it("spawn streams output as bytes and reports the exit code; kill stops the process in the sandbox", async () => {
    const child = await sandbox.spawn({ command: "echo out; echo err >&2; exit 5" });
    const [out, err, { exitCode }] = await Promise.all([text(child.stdout), text(child.stderr), child.wait()]);
    expect([out, err, exitCode]).toEqual(["out\n", "err\n", 5]);

    const sleeper = await sandbox.spawn({ command: "echo ready; exec sleep 600" });
    const reader = sleeper.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
    await sleeper.kill();
    await sleeper.kill();
    await expect(sleeper.wait()).rejects.toBeInstanceOf(SandboxAbortError);
    expect(await processesAfter(session.containerId!, /sleep 600/)).toEqual([]);
    await expect(sandbox.spawn({ command: "cat", stdin: true })).rejects.toThrow(/stdin/);
  });

  it("an aborted run stops the command", async () => {
    const controller = new AbortController();
    const running = sandbox.run({ command: "sleep 601", abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(running).rejects.toBeInstanceOf(SandboxAbortError);
    expect(await processesAfter(session.containerId!, /sleep 601/)).toEqual([]);
  });

  it("plugs into generateText as experimental_sandbox for tools that use it", async () => {
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
    const model = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [{ type: "tool-call", toolCallId: "b1", toolName: "bash", input: JSON.stringify({ command: "python3 -c 'print(2**10)'" }) }],
          finishReason: { unified: "tool-calls", raw: undefined },
          usage,
          warnings: [],
        },
        { content: [{ type: "text", text: "1024" }], finishReason: { unified: "stop", raw: undefined }, usage, warnings: [] },
      ],
    });
    const bash = tool({
      description: "Run a shell command",
      inputSchema: z.object({ command: z.string() }),
      execute: async ({ command }, { experimental_sandbox }) => (await experimental_sandbox!.run({ command })).stdout,
    });
    await generateText({ model, prompt: "2^10?", tools: { bash }, experimental_sandbox: sandbox, stopWhen: isStepCount(3) });
    const toolMessage = model.doGenerateCalls[1]!.prompt.find((m) => m.role === "tool");
    expect(toolMessage?.content[0]).toMatchObject({ type: "tool-result", output: { type: "text", value: "1024\n" } });
  });
});
