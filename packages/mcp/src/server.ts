import { createRequire } from "node:module";
import {
  type ExecutionResult,
  getLanguageHandler,
  SandboxAbortError,
  SandboxError,
  SandboxSession,
  type SessionOptions,
  ToolCallError,
  ValidationError,
} from "@llm-sandbox/core";
import { managedImageName } from "@llm-sandbox/core/setup";
import {
  defaultSessionFactory,
  executeTool,
  fromSession,
  modelContent,
  type ModelFormatOptions,
  perCall,
  persistent,
  sandboxToolDefinition,
  type SessionProvider,
  type SessionProviderOptions,
  summarizeResult,
  toolCallError,
  toolResultSummarySchema,
} from "@llm-sandbox/core/tool";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult, ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { SessionRegistry } from "./registry.js";

export const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

export type SandboxMcpServerOptions = SessionProviderOptions & {
  /** How `execute_code` gets sessions: a fresh one per call (default) or one long-lived session per language. */
  reuse?: "per-call" | "persistent";
  /** Seconds a `create_session` session may stay unused before it is closed; at most `MAX_TIMER_SECONDS`. Default 600. */
  sessionIdleTimeout?: number;
  /** Sessions from `create_session` open at once, at most. Default 8. */
  maxSessions?: number;
  /** Characters of stdout and of stderr the model reads per run. Default 20 000. */
  maxOutputChars?: number;
  /** Largest file `download_file` returns, in bytes. Default 10 MiB. */
  maxFileBytes?: number;
};

export interface SandboxMcpServer {
  readonly server: McpServer;
  /** Closes the MCP server and every session it opened. */
  close(): Promise<void>;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * The llm-sandbox MCP server: `execute_code`, `get_supported_languages`, `get_language_details`, and session tools
 * (`create_session`, `run_in_session`, `upload_file`, `download_file`, `close_session`) whose sessions expire when
 * idle. Connect it to any transport (`server.connect(...)`); the `llm-sandbox-mcp` bin serves stdio or HTTP.
 * All MCP SDK specifics live here, so moving to another SDK line stays local.
 */
export function createSandboxMcpServer(options: SandboxMcpServerOptions = {}): SandboxMcpServer {
  const { reuse = "per-call", sessionIdleTimeout = 600, maxSessions = 8, maxOutputChars, maxFileBytes = 10 * 1024 * 1024, ...providerOptions } = options;
  // Session-tool sessions come from the same factory as execute_code's, so they capture plots the same way.
  const { languages: _languages, createSession = defaultSessionFactory, plots: _plots, ...sessionOptions } = providerOptions;
  const provider = (reuse === "persistent" ? persistent : perCall)(providerOptions);
  const definition = sandboxToolDefinition({ sessions: provider, ...(maxOutputChars === undefined ? {} : { maxOutputChars }) });
  const registry = new SessionRegistry({
    idleTimeout: sessionIdleTimeout,
    maxSessions,
    open: (language, libraries) => createSession({ ...sessionOptions, lang: language, libraries: [...sessionOptions.libraries ?? [], ...libraries] }).open(),
  });
  const languages = definition.languages;
  const languageEnum = z.enum(languages as [string, ...string[]]);
  const sessionId = z.string().describe("The id create_session returned.");
  const server = new McpServer({ name: "llm-sandbox", version }, { instructions: definition.description });

  /** One run, as MCP content: formatted text, plot images, structured summary; output lines go out as progress. */
  async function run(input: unknown, sessions: SessionProvider, extra: Extra): Promise<CallToolResult> {
    let progress = 0;
    const token = extra._meta?.progressToken;
    const report = (text: string) => {
      if (token === undefined) return;
      void extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: ++progress, message: text } }).catch(() => {});
    };
    const result = await executeTool(input, sessions, { signal: extra.signal, onStdout: report, onStderr: report });
    return runContent(result, definition.format);
  }

  server.registerTool(
    "execute_code",
    {
      title: "Execute code",
      description: definition.description,
      inputSchema: definition.inputSchema,
      outputSchema: toolResultSummarySchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: provider.info.network },
    },
    (input, extra) => toolErrors(() => run(input, provider, extra)),
  );

  server.registerTool(
    "get_supported_languages",
    {
      title: "Supported languages",
      description: "The languages execute_code and create_session accept.",
      outputSchema: z.object({ languages: z.array(z.string()) }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () => structured({ languages: [...languages] }),
  );

  server.registerTool(
    "get_language_details",
    {
      title: "Language details",
      description: "What the sandbox offers for one language: image, preinstalled libraries, library installation, plots.",
      inputSchema: z.object({ language: z.string().describe(`One of: ${languages.join(", ")}.`) }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ language }) =>
      toolErrors(async () => {
        const handler = getLanguageHandler(language);
        if (!languages.includes(handler.name)) throw new ToolCallError(`${handler.name} is not enabled on this server; enabled: ${languages.join(", ")}`);
        return structured({
          name: handler.name,
          aliases: [...handler.aliases],
          fileExtension: handler.fileExtension,
          image: sessionOptions.image ?? managedImageName(handler.imageDir),
          preinstalledLibraries: [...handler.preinstalledLibraries],
          canInstallLibraries: Boolean(handler.installCommand) && provider.info.canInstall,
          plots: provider.info.plots,
          network: provider.info.network,
          // Under a network policy: what it allows, and the secrets by name (the info never holds their values).
          ...(provider.info.allowedHosts ? { allowedHosts: provider.info.allowedHosts, deniedHosts: provider.info.deniedHosts, secrets: provider.info.secrets } : {}),
          timeoutSeconds: provider.info.timeoutSeconds,
        });
      }),
  );

  server.registerTool(
    "create_session",
    {
      title: "Create a session",
      description:
        `Open a sandbox that stays between calls: files you write and libraries you install remain until close_session, ` +
        `or until it is unused for ${sessionIdleTimeout} s. Returns the session_id for run_in_session, upload_file and download_file.`,
      inputSchema: z.object({
        language: languageEnum.describe("Language of the code run_in_session runs."),
        libraries: z.array(z.string()).nullable().describe("Packages to install when the session opens, or null."),
      }),
      outputSchema: z.object({ session_id: z.string(), language: z.string(), workdir: z.string(), idle_timeout_seconds: z.number() }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ language, libraries }) =>
      toolErrors(async () => {
        const { id, session } = await registry.create(language, libraries ?? []);
        return structured({ session_id: id, language: session.language.name, workdir: session.options.workdir, idle_timeout_seconds: sessionIdleTimeout });
      }),
  );

  server.registerTool(
    "run_in_session",
    {
      title: "Run code in a session",
      description: "Run code in a session from create_session (in the session's language). Files and installed libraries persist between runs; each run is a new process.",
      inputSchema: z.object({
        session_id: sessionId,
        code: z.string().describe("The complete program to run. Print what you need to see."),
        libraries: z.array(z.string()).nullable().describe("Extra packages to install before running, or null."),
      }),
      outputSchema: toolResultSummarySchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: provider.info.network },
    },
    ({ session_id, code, libraries }, extra) =>
      toolErrors(() => registry.use(session_id, (session) => run({ code, language: session.language.name, libraries }, fromSession(session), extra))),
  );

  server.registerTool(
    "upload_file",
    {
      title: "Upload a file",
      description: "Write a file into a session's sandbox (parent directories are created; relative paths start at the workdir).",
      inputSchema: z.object({
        session_id: sessionId,
        path: z.string().describe("Where to write it, e.g. data/input.csv."),
        content: z.string().describe("The file content: text, or base64 when encoding is base64."),
        encoding: z.enum(["utf8", "base64"]).describe("How `content` is encoded."),
      }),
      outputSchema: z.object({ path: z.string(), bytes: z.number() }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ session_id, path, content, encoding }) =>
      toolErrors(async () => {
        const bytes = encoding === "base64" ? decodeBase64(content) : Buffer.from(content, "utf8");
        await registry.use(session_id, (session) => session.writeFile(path, bytes));
        return structured({ path, bytes: bytes.length });
      }),
  );

  server.registerTool(
    "download_file",
    {
      title: "Download a file",
      description: `Read a file from a session's sandbox: text comes back as text, PNG/JPEG as an image, anything else as a base64 resource (at most ${maxFileBytes} bytes).`,
      inputSchema: z.object({ session_id: sessionId, path: z.string().describe("The file to read, e.g. results/out.csv.") }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ session_id, path }) =>
      toolErrors(async () => {
        const bytes = await registry.use(session_id, (session) => session.readFile(path));
        if (bytes.length > maxFileBytes) throw new ToolCallError(`${path} has ${bytes.length} bytes, more than the ${maxFileBytes} this server returns.`);
        return { content: [fileContent(session_id, path, bytes)] };
      }),
  );

  server.registerTool(
    "close_session",
    {
      title: "Close a session",
      description: "Close a session from create_session and remove its sandbox.",
      inputSchema: z.object({ session_id: sessionId }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ session_id }) =>
      toolErrors(async () => {
        const closed = await registry.close(session_id);
        return { content: [{ type: "text", text: closed ? `Closed ${session_id}.` : `No open session ${session_id}; nothing to close.` }] };
      }),
  );

  return {
    server,
    async close() {
      await Promise.allSettled([server.close(), registry.closeAll(), provider.close()]);
    },
  };
}

/**
 * Failures the model can act on become `isError` results it reads, worded by core as for every adapter; an abort
 * (the client cancelled) and anything that is not a sandbox error propagate.
 */
async function toolErrors(operation: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await operation();
  } catch (error) {
    const failure = toolCallError(error);
    if (!ToolCallError.isInstance(failure)) throw failure;
    return { isError: true, content: [{ type: "text", text: failure.message }] };
  }
}

function runContent(result: ExecutionResult, format: ModelFormatOptions): CallToolResult {
  const { text, images } = modelContent(result, { ...format, images: true });
  return {
    content: [{ type: "text", text }, ...images.map((image) => ({ type: "image" as const, data: image.base64, mimeType: image.mimeType }))],
    structuredContent: summarizeResult(result, format),
  };
}

/** Structured content, and the same JSON as text for clients that only read text. */
function structured(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

function decodeBase64(content: string): Buffer {
  const compact = content.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw new ValidationError("content is not valid base64");
  return Buffer.from(compact, "base64");
}

const PNG = [0x89, 0x50, 0x4e, 0x47];
const JPEG = [0xff, 0xd8, 0xff];
const startsWith = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((byte, i) => bytes[i] === byte);

/** A file as MCP content: UTF-8 text as text, PNG/JPEG as an image, anything else as a base64 blob resource. */
function fileContent(sessionId: string, path: string, bytes: Uint8Array): CallToolResult["content"][number] {
  const data = Buffer.from(bytes);
  if (startsWith(bytes, PNG)) return { type: "image", data: data.toString("base64"), mimeType: "image/png" };
  if (startsWith(bytes, JPEG)) return { type: "image", data: data.toString("base64"), mimeType: "image/jpeg" };
  try {
    return { type: "text", text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    const uri = `sandbox://${sessionId}/${encodeURI(path.replace(/^\/+/, ""))}`;
    return { type: "resource", resource: { uri, mimeType: "application/octet-stream", blob: data.toString("base64") } };
  }
}
