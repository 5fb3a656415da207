// MCP end to end: an MCP Client talks to the server over the SDK's in-memory transport, the tools run code in
// real containers, and the client (what a model reads) gets the real output.
import { engineClient } from "@llm-sandbox/core/backends";
import { createSandboxMcpServer } from "@llm-sandbox/mcp";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, describe, expect, it } from "vitest";
import { containerWithHostname, processesAfter, processesAppearing } from "./helpers/processes.js";
import { openAiStrictParameters } from "./helpers/strict-schema.js";
import { isPng, PLOT } from "./helpers/plots.js";

async function connect(options: Parameters<typeof createSandboxMcpServer>[0] = {}) {
  const sandbox = createSandboxMcpServer({ languages: ["python", "javascript"], ...options });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await sandbox.server.connect(serverSide);
  const client = new Client({ name: "test-client", version: "0.0.0" });
  await client.connect(clientSide);
  return { client, sandbox, close: async () => (await client.close(), await sandbox.close()) };
}

const { client, sandbox, close } = await connect({ sessionIdleTimeout: 600 });
afterAll(close);
const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
const textOf = (result: CallToolResult) => result.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("\n");
const HOSTNAME = "import socket\nprint(socket.gethostname())";
const exists = (id: string) => engineClient().getContainer(id).inspect().then(() => true, () => false);

describe("MCP server over an in-memory transport (real engine)", () => {
  it("lists its tools with strict, OpenAI-valid input schemas for execute_code", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "close_session",
      "create_session",
      "download_file",
      "execute_code",
      "get_language_details",
      "get_supported_languages",
      "run_in_session",
      "upload_file",
    ]);
    const executeCode = tools.find((t) => t.name === "execute_code")!;
    expect(executeCode.description).toContain("python (preinstalled: numpy");
    const { $schema: _dialect, ...schema } = executeCode.inputSchema as Record<string, unknown>;
    expect(openAiStrictParameters(schema)).toEqual(schema);
    expect(executeCode.outputSchema).toMatchObject({ type: "object", required: expect.arrayContaining(["exitCode", "stdout"]) });
  });

  it("execute_code: the client gets the real stdout as text and as structured content", async () => {
    const result = await call("execute_code", { code: "import platform\nprint(6 * 7)\nprint(platform.system())", language: "python", libraries: null });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: "text", text: "exit code: 0 (success)\n--- stdout ---\n42\nLinux" }]);
    expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "42\nLinux\n", stderr: "", truncated: false, error: null, plots: [] });
  });

  it("execute_code: a matplotlib plot comes back as image content with PNG bytes and in structured content", async () => {
    const result = await call("execute_code", { code: PLOT, language: "python", libraries: null });
    expect(result.isError).toBeFalsy();
    const image = result.content.find((c) => c.type === "image") as { type: "image"; mimeType: string; data: string };
    expect(image.mimeType).toBe("image/png");
    expect(isPng(image.data)).toBe(true);
    expect(result.structuredContent).toMatchObject({ plots: [{ format: "png" }] });
  });

  it("execute_code streams output lines as progress notifications", async () => {
    const messages: string[] = [];
    const result = await client.callTool(
      { name: "execute_code", arguments: { code: "for (let i = 0; i < 3; i++) console.log(`line ${i}`)", language: "javascript", libraries: null } },
      CallToolResultSchema,
      { onprogress: (progress) => messages.push(progress.message ?? "") },
    );
    expect((result as CallToolResult).structuredContent).toMatchObject({ stdout: "line 0\nline 1\nline 2\n" });
    expect(messages.join("")).toBe("line 0\nline 1\nline 2\n");
  });

  it.each([
    [{ code: "print(1)", language: "cobol", libraries: null }, /Input validation error[\s\S]*language/],
    [{ code: "print(1)", language: "python" }, /Input validation error[\s\S]*libraries/],
    [{ code: " ", language: "python", libraries: null }, /Input validation error[\s\S]*code must not be empty/],
  ])("bad input %j is an isError result the model reads", async (args, message) => {
    const result = await call("execute_code", args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it("get_supported_languages and get_language_details describe the sandbox; unknown languages are tool errors", async () => {
    expect((await call("get_supported_languages", {})).structuredContent).toEqual({ languages: ["python", "javascript"] });
    expect((await call("get_language_details", { language: "py" })).structuredContent).toMatchObject({
      name: "python",
      image: "llm-sandbox/python:latest",
      preinstalledLibraries: expect.arrayContaining(["numpy", "matplotlib"]),
      canInstallLibraries: true,
      network: false,
      timeoutSeconds: 60,
    });
    const unknown = await call("get_language_details", { language: "cobol" });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/cobol is not supported/i);
    const disabled = await call("get_language_details", { language: "typescript" });
    expect(textOf(disabled)).toBe("typescript is not enabled on this server; enabled: python, javascript");
  });

  it("session tools: files and state on disk persist across runs, upload/download round-trip, close removes the container", async () => {
    const created = await call("create_session", { language: "python", libraries: null });
    const { session_id: id } = created.structuredContent as { session_id: string };
    expect(id).toMatch(/^session-[0-9a-f-]{36}$/);
    const containerId = await containerOf(id);

    expect((await call("upload_file", { session_id: id, path: "data/in.csv", content: "a,b\n1,2\n3,4\n", encoding: "utf8" })).structuredContent).toEqual({ path: "data/in.csv", bytes: 12 });
    const pngBytes = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    await call("upload_file", { session_id: id, path: "/tmp/pic.png", content: pngBytes.toString("base64"), encoding: "base64" });
    const run = await call("run_in_session", {
      session_id: id,
      code: "import csv\nrows = list(csv.DictReader(open('data/in.csv')))\ntotal = sum(int(r['b']) for r in rows)\nopen('out.txt', 'w').write(f'total={total}')\nprint(total)",
      libraries: null,
    });
    expect(run.structuredContent).toMatchObject({ exitCode: 0, stdout: "6\n" });
    const again = await call("run_in_session", { session_id: id, code: "print(open('out.txt').read())", libraries: null });
    expect(again.structuredContent).toMatchObject({ stdout: "total=6\n" });

    expect((await call("download_file", { session_id: id, path: "out.txt" })).content).toEqual([{ type: "text", text: "total=6" }]);
    expect((await call("download_file", { session_id: id, path: "/tmp/pic.png" })).content).toEqual([{ type: "image", mimeType: "image/png", data: pngBytes.toString("base64") }]);
    await call("upload_file", { session_id: id, path: "bin.dat", content: Buffer.from([0xff, 0xfe, 0x00]).toString("base64"), encoding: "base64" });
    expect((await call("download_file", { session_id: id, path: "bin.dat" })).content).toEqual([
      { type: "resource", resource: { uri: `sandbox://${id}/bin.dat`, mimeType: "application/octet-stream", blob: "//4A" } },
    ]);

    const missing = await call("download_file", { session_id: id, path: "nope.txt" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/FileNotFoundError: Path \/sandbox\/nope.txt does not exist/);
    expect(textOf(await call("upload_file", { session_id: id, path: "../x", content: "x", encoding: "utf8" }))).toMatch(/PathTraversalError/);
    expect(textOf(await call("upload_file", { session_id: id, path: "x", content: "not base64!", encoding: "base64" }))).toMatch(/not valid base64/);

    expect(await exists(containerId)).toBe(true);
    expect(textOf(await call("close_session", { session_id: id }))).toBe(`Closed ${id}.`);
    expect(await exists(containerId)).toBe(false);
    const gone = await call("run_in_session", { session_id: id, code: "print(1)", libraries: null });
    expect(gone.isError).toBe(true);
    expect(textOf(gone)).toMatch(/^No session "session-.*create_session/);
  });

  it("run_in_session returns a matplotlib plot as image content, as execute_code does", async () => {
    const { session_id: id } = (await call("create_session", { language: "python", libraries: null })).structuredContent as { session_id: string };
    try {
      const result = await call("run_in_session", { session_id: id, code: PLOT, libraries: null });
      expect(result.isError).toBeFalsy();
      const image = result.content.find((c) => c.type === "image") as { type: "image"; mimeType: string; data: string };
      expect(image.mimeType).toBe("image/png");
      expect(isPng(image.data)).toBe(true);
      expect(result.structuredContent).toMatchObject({ plots: [{ format: "png" }] });
      // Each run reports its own plots only.
      expect((await call("run_in_session", { session_id: id, code: "print(1)", libraries: null })).structuredContent).toMatchObject({ plots: [] });
    } finally {
      await call("close_session", { session_id: id });
    }
  });

  it("sessions expire when idle, and the server refuses more than maxSessions", async () => {
    const small = await connect({ sessionIdleTimeout: 1.5, maxSessions: 1 });
    try {
      const { session_id: id } = (await small.client.callTool({ name: "create_session", arguments: { language: "python", libraries: null } })).structuredContent as { session_id: string };
      const refused = (await small.client.callTool({ name: "create_session", arguments: { language: "python", libraries: null } })) as CallToolResult;
      expect(textOf(refused)).toMatch(/Too many open sessions \(1\)/);
      // A run longer than the idle timeout keeps the session alive.
      const long = (await small.client.callTool({ name: "run_in_session", arguments: { session_id: id, code: "import time\ntime.sleep(2)\nprint('ok')", libraries: null } })) as CallToolResult;
      expect(long.structuredContent).toMatchObject({ stdout: "ok\n" });
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const expired = (await small.client.callTool({ name: "run_in_session", arguments: { session_id: id, code: "print(1)", libraries: null } })) as CallToolResult;
      expect(textOf(expired)).toMatch(/expired after 1.5 s unused/);
      expect(((await small.client.callTool({ name: "create_session", arguments: { language: "python", libraries: null } })) as CallToolResult).isError).toBeFalsy();
    } finally {
      await small.close();
    }
  });

  it("a cancelled execute_code request stops the program inside the sandbox", async () => {
    const persistentServer = await connect({ reuse: "persistent" });
    try {
      const warm = (await persistentServer.client.callTool({ name: "execute_code", arguments: { code: HOSTNAME, language: "python", libraries: null } })) as CallToolResult;
      const containerId = await containerWithHostname((warm.structuredContent as { stdout: string }).stdout);
      const controller = new AbortController();
      const pending = persistentServer.client.callTool(
        { name: "execute_code", arguments: { code: "import time\ntime.sleep(60)", language: "python", libraries: null } },
        CallToolResultSchema,
        { signal: controller.signal },
      );
      const running = await processesAppearing(containerId, /python.*\.sandbox-/);
      expect(running).toHaveLength(1);
      controller.abort();
      await expect(pending).rejects.toThrow();
      expect(await processesAfter(containerId, /python.*\.sandbox-/)).toEqual([]);
    } finally {
      await persistentServer.close();
    }
  });
});

/** The container behind a create_session id. */
async function containerOf(id: string): Promise<string> {
  const result = await call("run_in_session", { session_id: id, code: HOSTNAME, libraries: null });
  return containerWithHostname((result.structuredContent as { stdout: string }).stdout);
}
