import { parseArgs } from "node:util";
import { ValidationError } from "@llm-sandbox/core";
import { z } from "zod";
import { createSandboxMcpServer, type SandboxMcpServerOptions } from "./server.js";

export interface ServeConfig {
  readonly transport: "stdio" | "http";
  /** HTTP only. Default 127.0.0.1: this server runs code, so it listens on loopback unless told otherwise. */
  readonly host: string;
  /** HTTP only; 0 picks a free port. */
  readonly port: number;
  readonly verbose: boolean;
  readonly server: SandboxMcpServerOptions;
}

export type Command = { readonly help: true } | { readonly version: true } | ServeConfig;

const seconds = z.coerce.number({ error: "expected a number of seconds" }).positive("expected a positive number of seconds");
const count = z.coerce.number({ error: "expected a whole number" }).int("expected a whole number").positive("expected a positive number");
const bool = z.enum(["true", "false", "1", "0", "yes", "no", "on", "off"], { error: "expected true or false" }).transform((v) => ["true", "1", "yes", "on"].includes(v));
const list = z.string().transform((v) => v.split(",").map((item) => item.trim()).filter(Boolean));

/** Every setting: its flag, its environment variable, how its text is read, and the help line. */
const SETTINGS = {
  transport: { env: "LLM_SANDBOX_MCP_TRANSPORT", schema: z.enum(["stdio", "http"]), help: "stdio (default) or http (Streamable HTTP)" },
  host: { env: "LLM_SANDBOX_MCP_HOST", schema: z.string().min(1), help: "HTTP address to listen on (default 127.0.0.1)" },
  port: { env: "LLM_SANDBOX_MCP_PORT", schema: z.coerce.number({ error: "expected a port number from 0 to 65535" }).int().min(0).max(65535), help: "HTTP port (default 3100; 0 = any free port)" },
  backend: { env: "LLM_SANDBOX_BACKEND", schema: z.string().min(1), help: "container engine: docker (default), podman, kubernetes, micromamba" },
  languages: { env: "LLM_SANDBOX_LANGUAGES", schema: list, help: "comma-separated languages to offer (default: all)" },
  reuse: { env: "LLM_SANDBOX_REUSE", schema: z.enum(["per-call", "persistent"]), help: "execute_code sessions: per-call (default) or persistent (one per language)" },
  timeout: { env: "LLM_SANDBOX_TIMEOUT", schema: seconds, help: "seconds one run may take (default 60)" },
  memory: { env: "LLM_SANDBOX_MEMORY", schema: z.string().min(1), help: "memory limit per sandbox, e.g. 512m (default 1g)" },
  cpus: { env: "LLM_SANDBOX_CPUS", schema: z.coerce.number({ error: "expected a number of CPUs" }).positive("expected a positive number of CPUs"), help: "CPUs per sandbox (default 1)" },
  pids: { env: "LLM_SANDBOX_PIDS", schema: count, help: "processes per sandbox (default 256)" },
  network: { env: "LLM_SANDBOX_NETWORK", schema: z.string().min(1), help: "network for user code: false (default), true, or a network name" },
  "max-output-chars": { env: "LLM_SANDBOX_MAX_OUTPUT_CHARS", schema: count, help: "characters of stdout/stderr the model reads per run (default 20000)" },
  "session-idle-timeout": { env: "LLM_SANDBOX_SESSION_IDLE_TIMEOUT", schema: seconds, help: "seconds before an unused create_session session is closed (default 600)" },
  "max-sessions": { env: "LLM_SANDBOX_MAX_SESSIONS", schema: count, help: "create_session sessions open at once (default 8)" },
  verbose: { env: "LLM_SANDBOX_VERBOSE", schema: bool, help: "log to stderr" },
} as const;

type Settings = { -readonly [K in keyof typeof SETTINGS]?: z.output<(typeof SETTINGS)[K]["schema"]> };

export const USAGE = `Usage: llm-sandbox-mcp [options]

Runs the llm-sandbox MCP server (stdio by default). Every option can also be set by its environment variable;
a flag wins over the environment.

${Object.entries(SETTINGS)
  .map(([flag, { env, help }]) => `  --${`${flag}${flag === "verbose" ? "" : " <value>"}`.padEnd(32)}${env.padEnd(34)}${help}`)
  .join("\n")}
  --help                            show this help
  --version                         print the version`;

/** Reads flags and environment into a validated configuration; every problem is listed in one `ValidationError`. */
export function parseCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(Object.keys(SETTINGS).map((flag) => [flag, { type: flag === "verbose" ? "boolean" : "string" } as const])),
        help: { type: "boolean" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    throw new ValidationError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help) return { help: true };
  if (flags.version) return { version: true };

  const problems: string[] = [];
  const settings: Record<string, unknown> = {};
  for (const [flag, { env: name, schema }] of Object.entries(SETTINGS)) {
    const fromFlag = flags[flag];
    const raw = fromFlag === undefined ? env[name] : String(fromFlag);
    if (raw === undefined || raw.trim() === "") continue;
    const result = (schema as z.ZodType).safeParse(raw.trim());
    if (result.success) settings[flag] = result.data;
    else problems.push(`${fromFlag === undefined ? name : `--${flag}`}=${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join("; ")}`);
  }
  if (problems.length) throw new ValidationError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  const config = toConfig(settings as Settings);
  try {
    // Session options are validated by core's own schema (building a server opens nothing); report mistakes now, not at the first call.
    void createSandboxMcpServer(config.server).close();
  } catch (error) {
    throw new ValidationError(`Invalid configuration: ${(error as Error).message}`, { cause: error });
  }
  return config;
}

function toConfig(s: Settings): ServeConfig {
  const runtimeConfigs = {
    ...(s.memory !== undefined ? { memory: s.memory } : {}),
    ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
    ...(s.pids !== undefined ? { pids: s.pids } : {}),
    ...(s.network !== undefined ? { network: s.network === "true" ? true : s.network === "false" ? false : s.network } : {}),
  };
  return {
    transport: s.transport ?? "stdio",
    host: s.host ?? "127.0.0.1",
    port: s.port ?? 3100,
    verbose: s.verbose ?? false,
    server: {
      ...(s.backend !== undefined ? { backend: s.backend } : {}),
      ...(s.languages !== undefined ? { languages: s.languages } : {}),
      ...(s.reuse !== undefined ? { reuse: s.reuse } : {}),
      ...(s.timeout !== undefined ? { executionTimeout: s.timeout } : {}),
      ...(Object.keys(runtimeConfigs).length ? { runtimeConfigs } : {}),
      ...(s["max-output-chars"] !== undefined ? { maxOutputChars: s["max-output-chars"] } : {}),
      ...(s["session-idle-timeout"] !== undefined ? { sessionIdleTimeout: s["session-idle-timeout"] } : {}),
      ...(s["max-sessions"] !== undefined ? { maxSessions: s["max-sessions"] } : {}),
      ...(s.verbose ? { verbose: true } : {}),
    },
  };
}
