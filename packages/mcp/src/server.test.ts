// The MCP server's own logic with no engine: sessions whose engine calls are stubbed, and a client over the SDK's
// in-memory transport reading what a model would read.
import { ContainerError, getLanguageHandler, MAX_TIMER_SECONDS, NotOpenSessionError, SandboxSession, ValidationError } from "@llm-sandbox/core";
import { toolCallError } from "@llm-sandbox/core/tool";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it, vi } from "vitest";
import { parseCommand } from "./config.js";
import { createSandboxMcpServer, type SandboxMcpServerOptions } from "./server.js";

async function connect(options: SandboxMcpServerOptions) {
  const sandbox = createSandboxMcpServer({ languages: ["python"], ...options });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await sandbox.server.connect(serverSide);
  const client = new Client({ name: "test-client", version: "0.0.0" });
  await client.connect(clientSide);
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { call, close: async () => (await client.close(), await sandbox.close()) };
}

const textOf = (result: CallToolResult) => result.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("\n");
/** What core tells a model about `error`, as every adapter words it. */
const coreText = (error: unknown) => (toolCallError(error) as Error).message;

/** A real session object whose container operations are stubbed: `open` succeeds at once, the rest as given. */
function stubbedSession(options: ConstructorParameters<typeof SandboxSession>[0], stubs: Partial<Pick<SandboxSession, "readFile" | "writeFile">> = {}) {
  const session = new SandboxSession(options);
  vi.spyOn(session, "open").mockResolvedValue(session);
  vi.spyOn(session, "close").mockResolvedValue();
  Object.assign(session, stubs);
  return session;
}

describe("MCP server: infrastructure errors read as core words them", () => {
  it("a session that cannot be opened: create_session's error is core's text", async () => {
    const failure = new ContainerError("the engine went away");
    const { call, close } = await connect({
      createSession: (options) => {
        const session = new SandboxSession(options);
        vi.spyOn(session, "open").mockRejectedValue(failure);
        return session;
      },
    });
    try {
      const result = await call("create_session", { language: "python", libraries: null });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(coreText(failure));
      expect(textOf(result)).toBe("The sandbox could not run the code (ContainerError): the engine went away");
    } finally {
      await close();
    }
  });

  it("a session closed under a file operation, and a missing file: download_file's errors are core's text", async () => {
    const closed = new NotOpenSessionError("The session was closed during the operation");
    const { call, close } = await connect({
      createSession: (options) =>
        stubbedSession(options, {
          readFile: async (path: string) => {
            throw path === "gone.txt" ? closed : new ContainerError(`no answer reading ${path}`);
          },
        }),
    });
    try {
      const { session_id } = (await call("create_session", { language: "python", libraries: null })).structuredContent as { session_id: string };
      const result = await call("download_file", { session_id, path: "gone.txt" });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(coreText(closed));
      expect(textOf(await call("download_file", { session_id, path: "x" }))).toBe(coreText(new ContainerError("no answer reading x")));
    } finally {
      await close();
    }
  });

  it("an unknown language in get_language_details reads as core words it", async () => {
    const { call, close } = await connect({});
    try {
      const result = await call("get_language_details", { language: "cobol" });
      const expected = (() => {
        try {
          getLanguageHandler("cobol");
        } catch (error) {
          return error;
        }
        throw new Error("expected cobol to be unknown");
      })();
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(coreText(expected));
    } finally {
      await close();
    }
  });
});

describe("MCP server: the session idle timeout is a timer", () => {
  const THIRTY_DAYS = 30 * 24 * 3600;

  it("a sessionIdleTimeout longer than a timer can wait is refused, naming the maximum", () => {
    const error = (() => {
      try {
        createSandboxMcpServer({ sessionIdleTimeout: THIRTY_DAYS });
      } catch (e) {
        return e as Error;
      }
      throw new Error("expected a ValidationError");
    })();
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toBe(`sessionIdleTimeout must be at most ${MAX_TIMER_SECONDS} seconds (about 24.8 days, the longest a timer can wait); got ${THIRTY_DAYS}`);
    expect(() => createSandboxMcpServer({ sessionIdleTimeout: MAX_TIMER_SECONDS }).close()).not.toThrow();
  });

  it("--session-idle-timeout of 30 days is an invalid configuration", () => {
    expect(() => parseCommand(["--session-idle-timeout", String(THIRTY_DAYS)], {})).toThrow(
      new RegExp(`Invalid configuration: sessionIdleTimeout must be at most ${MAX_TIMER_SECONDS} seconds`),
    );
  });
});

describe("MCP server under a network policy", () => {
  const TOKEN = "ghp_the-real-token-value";

  it("tells the client the reachable hosts and secret names, never a value; openWorldHint only when a host is reachable", async () => {
    const open = async (allow: string[]) => {
      const sandbox = createSandboxMcpServer({
        languages: ["python"],
        runtimeConfigs: { network: { allow, secrets: { GITHUB_TOKEN: { value: TOKEN, hosts: ["api.github.com"] } } } },
      });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await sandbox.server.connect(serverSide);
      const client = new Client({ name: "test-client", version: "0.0.0" });
      await client.connect(clientSide);
      const { tools } = await client.listTools();
      const details = (await client.callTool({ name: "get_language_details", arguments: { language: "python" } })) as CallToolResult;
      const seen = JSON.stringify({ tools, details, instructions: client.getInstructions() });
      await client.close();
      await sandbox.close();
      const hint = (name: string) => tools.find((tool) => tool.name === name)?.annotations?.openWorldHint;
      return { seen, details: details.structuredContent, hints: [hint("execute_code"), hint("run_in_session")] };
    };
    const reachable = await open(["api.github.com"]);
    expect(reachable.hints).toEqual([true, true]);
    expect(reachable.details).toMatchObject({ network: true, allowedHosts: ["api.github.com"], deniedHosts: [], secrets: [{ name: "GITHUB_TOKEN", hosts: ["api.github.com"] }] });
    expect(reachable.seen).toContain("only these hosts can be reached, by name: api.github.com.");
    expect(reachable.seen).not.toContain(TOKEN);
    const closed = await open([]);
    expect(closed.hints).toEqual([false, false]);
    expect(closed.seen).not.toContain(TOKEN);
  });
});
