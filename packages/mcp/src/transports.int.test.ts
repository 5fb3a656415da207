// The two ways the server is reached for real: the `llm-sandbox-mcp` command over stdio (as an MCP client launches
// it; runs the built package), and Streamable HTTP on loopback.
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { serveHttp } from "@llm-sandbox/mcp";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/llm-sandbox-mcp.js", import.meta.url));
const hello = { name: "execute_code", arguments: { code: "print('hello from', 'mcp')", language: "python", libraries: null } };

describe("MCP transports (real engine)", () => {
  it("stdio: the bin serves the protocol on stdout (nothing else), configured by flags and environment", async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, "--languages", "python", "--verbose"],
      env: { ...(process.env as Record<string, string>), LLM_SANDBOX_TIMEOUT: "42" },
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    const client = new Client({ name: "stdio-test", version: "0" });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      const description = tools.find((t) => t.name === "execute_code")?.description ?? "";
      expect(description).toContain("Time limit: 42 s");
      expect(description).not.toContain("javascript");
      const result = (await client.callTool(hello)) as CallToolResult;
      expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "hello from mcp\n" });
      // --verbose logs go to stderr, never into the protocol stream.
      expect(stderr.join("")).toContain("[llm-sandbox");
    } finally {
      await client.close();
    }
  });

  it("stdio: a bad configuration exits with a clear message and status 2", async () => {
    const { spawnSync } = await import("node:child_process");
    const run = spawnSync(process.execPath, [bin, "--timeout", "soon"], { encoding: "utf8", env: { ...process.env, LLM_SANDBOX_MEMORY: "lots" } });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain('--timeout="soon": expected a number of seconds');
  });

  it("Streamable HTTP on 127.0.0.1: a client calls execute_code; foreign Host headers are refused", async () => {
    const server = await serveHttp({ languages: ["python"] }, { port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const client = new Client({ name: "http-test", version: "0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      const result = (await client.callTool(hello)) as CallToolResult;
      expect(result.content[0]).toEqual({ type: "text", text: "exit code: 0 (success)\n--- stdout ---\nhello from mcp" });
      await client.close();

      // fetch() may not set Host, so a raw request plays the DNS-rebinding page.
      const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "0" } } });
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = request(server.url, { method: "POST", headers: { host: "evil.example", "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on("error", reject);
        req.end(initialize);
      });
      expect(status).toBe(403);
      expect((await fetch(server.url.replace("/mcp", "/other"))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
