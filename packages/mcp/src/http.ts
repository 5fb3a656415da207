import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { createSandboxMcpServer, type SandboxMcpServer, type SandboxMcpServerOptions } from "./server.js";

export interface HttpServeOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 3100; 0 picks a free port. */
  readonly port?: number;
}

export interface HttpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:3100/mcp. */
  readonly url: string;
  /** Stops listening and closes every MCP session and its sandboxes. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Serves the MCP server over Streamable HTTP at `/mcp`. Each MCP session (one client) gets its own server, so its
 * `create_session` sandboxes are its own and are closed when the client ends the session. Host headers are checked
 * against the listening address (DNS-rebinding protection).
 */
export async function serveHttp(options: SandboxMcpServerOptions = {}, { host = "127.0.0.1", port = 3100 }: HttpServeOptions = {}): Promise<HttpServer> {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; sandbox: SandboxMcpServer }>();
  let allowedHosts: string[] = [];

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, -32603, `Internal error: ${(error as Error).message}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (new URL(req.url ?? "/", "http://localhost").pathname !== "/mcp") return reply(res, 404, -32601, "Not found: the MCP endpoint is /mcp");
    const id = req.headers["mcp-session-id"];
    const existing = typeof id === "string" ? sessions.get(id) : undefined;
    if (existing) return existing.transport.handleRequest(req, res);
    if (id !== undefined) return reply(res, 404, -32001, "Unknown MCP session; initialize a new one");
    if (req.method !== "POST") return reply(res, 400, -32000, "Initialize a session with a POST first");
    const body = await readJson(req);
    if (body === undefined || !isInitializeRequest(body)) return reply(res, 400, -32000, "Expected an initialize request");

    const sandbox = createSandboxMcpServer(options);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableDnsRebindingProtection: true,
      allowedHosts,
      onsessioninitialized: (sessionId) => void sessions.set(sessionId, { transport, sandbox }),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      void sandbox.close();
    };
    await sandbox.server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => resolve());
  });
  const actual = (http.address() as AddressInfo).port;
  allowedHosts = [...new Set([`${host}:${actual}`, `127.0.0.1:${actual}`, `localhost:${actual}`, `[::1]:${actual}`])];
  const shownHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${actual}/mcp`,
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map(async ({ transport, sandbox }) => (await transport.close(), await sandbox.close())));
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections(); // open SSE streams would otherwise hold close() forever
      await stopped;
    },
  };
}

function reply(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}
