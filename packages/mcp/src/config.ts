import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type EgressPolicy, egressPolicySchema, ValidationError } from "@llm-sandbox/core";
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
const nameAddresses = list.pipe(z.array(z.string().regex(/^[^=]+=[^=]+$/, "expected name=address, e.g. db.internal=10.1.2.3")));
/** `NAME=ENV_VAR:host1,host2`, several separated by whitespace (hosts take the commas). */
const SECRET_SPEC = /^([A-Za-z_]\w*)=([A-Za-z_]\w*):(\S+)$/;
const secretSpecs = z
  .string()
  .transform((v) => v.split(/\s+/).filter(Boolean))
  .pipe(z.array(z.string().regex(SECRET_SPEC, "expected NAME=ENV_VAR:host1,host2 (the value is read from ENV_VAR)")));

interface Setting {
  readonly env: string;
  readonly schema: z.ZodType;
  readonly help: string;
  /** The flag may be repeated; the values add up. */
  readonly multiple?: boolean;
  /** The value's name in the help. */
  readonly arg?: string;
  /** Messages do not repeat the text: a credential pasted in by mistake must not reach a log. */
  readonly quiet?: boolean;
}

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
  network: { env: "LLM_SANDBOX_NETWORK", schema: z.string().min(1), help: "network for user code: false (default), true, or a network name; or a policy, below" },
  // A policy: only these names, through the library's egress proxy. Repeatable; the variables take comma-separated lists.
  "allow-host": { env: "LLM_SANDBOX_ALLOW_HOSTS", schema: list, multiple: true, arg: "<pattern>", help: "a host user code may reach (only these): api.example.com, *.example.com, db.internal:5432" },
  "deny-host": { env: "LLM_SANDBOX_DENY_HOSTS", schema: list, multiple: true, arg: "<pattern>", help: "host refused even when allowed" },
  "host-address": { env: "LLM_SANDBOX_HOST_ADDRESSES", schema: nameAddresses, multiple: true, arg: "<name=ip>", help: "static name (e.g. a private service) and its address" },
  secret: { env: "LLM_SANDBOX_SECRETS", schema: secretSpecs, multiple: true, quiet: true, arg: "<NAME=ENV_VAR:hosts>", help: "$NAME in the sandbox is a placeholder the proxy swaps for $ENV_VAR's value on requests to hosts (variable: space-separated)" },
  "proxy-ca": { env: "LLM_SANDBOX_PROXY_CA", schema: list, multiple: true, arg: "<pem file>", help: "extra CA certificates the egress proxy trusts for upstreams" },
  "max-output-chars": { env: "LLM_SANDBOX_MAX_OUTPUT_CHARS", schema: count, help: "characters of stdout/stderr the model reads per run (default 20000)" },
  "session-idle-timeout": { env: "LLM_SANDBOX_SESSION_IDLE_TIMEOUT", schema: seconds, help: "seconds before an unused create_session session is closed (default 600)" },
  "max-sessions": { env: "LLM_SANDBOX_MAX_SESSIONS", schema: count, help: "create_session sessions open at once (default 8)" },
  verbose: { env: "LLM_SANDBOX_VERBOSE", schema: bool, arg: "", help: "log to stderr" },
} as const satisfies Record<string, Setting>;
const ALL_SETTINGS: [flag: string, setting: Setting][] = Object.entries(SETTINGS);

type Settings = { -readonly [K in keyof typeof SETTINGS]?: z.output<(typeof SETTINGS)[K]["schema"]> };

/** The settings that make the network a policy. */
const POLICY_SETTINGS = ["allow-host", "deny-host", "host-address", "secret", "proxy-ca"] as const;

export const USAGE = `Usage: llm-sandbox-mcp [options]

Runs the llm-sandbox MCP server (stdio by default). Every option can also be set by its environment variable;
a flag wins over the environment.

${ALL_SETTINGS.map(([flag, { env, help, arg = "<value>", multiple }]) => `  --${`${flag} ${arg}`.trimEnd().padEnd(32)}${env.padEnd(34)}${help}${multiple ? " (repeatable)" : ""}`)
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
        ...Object.fromEntries(
          ALL_SETTINGS.map(([flag, { multiple = false }]) => [flag, { type: flag === "verbose" ? "boolean" : "string", multiple } as const]),
        ),
        help: { type: "boolean" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    throw new ValidationError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const flags = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (flags.help) return { help: true };
  if (flags.version) return { version: true };

  const problems: string[] = [];
  const settings: Record<string, unknown> = {};
  /** Where each setting came from (its flag or variable), for messages. */
  const sources: Record<string, string> = {};
  for (const [flag, { env: name, schema, multiple, quiet }] of ALL_SETTINGS) {
    const fromFlag = flags[flag];
    const raws = (fromFlag === undefined ? [env[name]] : [fromFlag].flat().map(String)).filter((raw): raw is string => raw !== undefined && raw.trim() !== "");
    if (raws.length === 0) continue;
    sources[flag] = fromFlag === undefined ? name : `--${flag}`;
    // A repeated flag's values add up (each may itself be a list).
    const values = raws.flatMap((raw) => {
      const result = schema.safeParse(raw.trim());
      if (result.success) return [result.data];
      problems.push(`${sources[flag]}${quiet ? "" : `=${JSON.stringify(raw)}`}: ${result.error.issues.map((i) => i.message).join("; ")}`);
      return [];
    });
    if (values.length === raws.length) settings[flag] = multiple ? values.flat() : values[0];
  }
  const network = problems.length ? undefined : networkPolicy(settings as Settings, sources, env, problems);
  if (problems.length) throw new ValidationError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  const config = toConfig(settings as Settings, network);
  try {
    // Session options are validated by core's own schema (building a server opens nothing); report mistakes now, not at the first call.
    void createSandboxMcpServer(config.server).close();
  } catch (error) {
    throw new ValidationError(`Invalid configuration: ${(error as Error).message}`, { cause: error });
  }
  return config;
}

/**
 * The egress policy the policy settings describe, or undefined when none is given. Secret values are read from the
 * server's environment here; messages name the variable, never its value. Problems are added to `problems`.
 */
function networkPolicy(s: Settings, sources: Record<string, string>, env: Readonly<Record<string, string | undefined>>, problems: string[]): EgressPolicy | undefined {
  const given = POLICY_SETTINGS.filter((flag) => s[flag] !== undefined);
  if (given.length === 0) return undefined;
  if (s.network !== undefined) {
    problems.push(`${sources.network} cannot be combined with ${given.map((flag) => sources[flag]).join(", ")}: those make the network a policy (only the allowed hosts)`);
    return undefined;
  }
  const secrets: NonNullable<EgressPolicy["secrets"]> = {};
  for (const spec of s.secret ?? []) {
    const [, name = "", variable = "", hosts = ""] = SECRET_SPEC.exec(spec) ?? [];
    const value = env[variable];
    if (name in secrets) problems.push(`${sources.secret}: secret ${name} is given twice`);
    else if (!value) problems.push(`${sources.secret}: secret ${name} reads environment variable ${variable}, which is not set or empty`);
    else secrets[name] = { value, hosts: hosts.split(",").filter(Boolean) };
  }
  const caCerts = (s["proxy-ca"] ?? []).flatMap((file) => {
    try {
      const pem = readFileSync(file, "utf8");
      if (pem.includes("-----BEGIN CERTIFICATE-----")) return [pem];
      problems.push(`${sources["proxy-ca"]}: ${file} holds no PEM certificate`);
    } catch (error) {
      problems.push(`${sources["proxy-ca"]}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return [];
  });
  const policy = {
    allow: s["allow-host"] ?? [],
    deny: s["deny-host"] ?? [],
    hosts: Object.fromEntries((s["host-address"] ?? []).map((pair) => pair.split("=").map((part) => part.trim()))),
    secrets,
    caCerts,
  };
  // Checked here, with core's rules, so each mistake names the flag it came from.
  const checked = egressPolicySchema.safeParse(policy);
  const flagOf: Record<string, string> = { allow: "allow-host", deny: "deny-host", hosts: "host-address", secrets: "secret" };
  for (const issue of checked.error?.issues ?? []) problems.push(`${sources[flagOf[String(issue.path[0])] ?? ""] ?? "network policy"}: ${issue.message}`);
  return policy;
}

function toConfig(s: Settings, policy: EgressPolicy | undefined): ServeConfig {
  const network = policy ?? (s.network === undefined ? undefined : s.network === "true" ? true : s.network === "false" ? false : s.network);
  const runtimeConfigs = {
    ...(s.memory !== undefined ? { memory: s.memory } : {}),
    ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
    ...(s.pids !== undefined ? { pids: s.pids } : {}),
    ...(network !== undefined ? { network } : {}),
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

/**
 * The configuration as `--verbose` logs it at start: secrets by name and hosts only (their values never reach a
 * log), extra CAs counted rather than printed.
 */
export function loggableConfig(config: ServeConfig): string {
  return JSON.stringify(config, (key, value: unknown) => {
    if (key === "secrets" && value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value as NonNullable<EgressPolicy["secrets"]>).map(([name, secret]) => [name, { hosts: secret.hosts }]));
    }
    return key === "caCerts" && Array.isArray(value) ? `${value.length} certificate(s)` : value;
  });
}
