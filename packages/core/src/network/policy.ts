import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";

/**
 * The egress policy: which names a sandbox may reach, through the library's egress proxy, and which secrets the proxy
 * puts into requests for them. Everything not allowed is refused. See docs/network.md.
 */

/** Ports a name is allowed on when its entry names none: HTTP and HTTPS. */
export const WEB_PORTS: readonly number[] = [80, 443];

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** "api.github.com", "*.githubusercontent.com", "db.internal:5432": a name (or every subdomain of one) and a port. */
export interface HostPattern {
  readonly text: string;
  /** Matches subdomains of `domain` (any depth), not `domain` itself. */
  readonly wildcard: boolean;
  readonly domain: string;
  /** Undefined: 80 and 443 for allow entries, every port for deny entries. */
  readonly port: number | undefined;
}

/** Why a text is not a host pattern, or undefined when it is one. */
function patternProblem(text: string, withPort: boolean): string | undefined {
  const { wildcard, domain: name, port } = parseHostPattern(text);
  if (port !== undefined && (!withPort || port < 1 || port > 65535)) {
    return withPort ? `port ${port} is out of range` : "a port is not allowed here";
  }
  if (isIP(name.replace(/^\[|\]$/g, ""))) return "raw IP addresses cannot be allowed: name the address in `hosts` and allow that name";
  if (wildcard && !name.includes(".")) return "a wildcard needs a domain with a dot (*.example.com)";
  if (name.length > 253 || !name.split(".").every((label) => LABEL.test(label))) return "expected a host name such as api.example.com";
  return undefined;
}

export function parseHostPattern(text: string): HostPattern {
  const normalized = text.trim().toLowerCase();
  const [, name = "", port] = /^(.*?)(?::(\d{1,5}))?$/.exec(normalized) ?? [];
  const wildcard = name.startsWith("*.");
  return { text: normalized, wildcard, domain: wildcard ? name.slice(2) : name, port: port === undefined ? undefined : Number(port) };
}

const hostPattern = (withPort: boolean) =>
  z.string().superRefine((text, context) => {
    const problem = patternProblem(text, withPort);
    if (problem) context.addIssue({ code: "custom", message: `${JSON.stringify(text)}: ${problem}` });
  });

const hostName = z.string().superRefine((text, context) => {
  const problem = patternProblem(text, false) ?? (text.startsWith("*.") ? "a static name cannot be a wildcard" : undefined);
  if (problem) context.addIssue({ code: "custom", message: `${JSON.stringify(text)}: ${problem}` });
});

const secretSchema = z.strictObject({
  /** The real value: kept by the proxy only; the sandbox sees a placeholder. */
  value: z.string().min(1, "a secret's value cannot be empty"),
  /** Where the proxy puts the value in: requests to these hosts (patterns as in `allow`). */
  hosts: z.array(hostPattern(false)).min(1, "a secret needs the hosts it is for"),
  /** Also replace the placeholder in request bodies (headers and the URL always). Default false. */
  body: z.boolean().optional(),
});

export const egressPolicySchema = z.strictObject({
  /** Names (and `*.domain` wildcards) the sandbox may reach; on 80 and 443 unless an entry says `name:port`. */
  allow: z.array(hostPattern(true)).default([]),
  /** Refused even when `allow` matches. */
  deny: z.array(hostPattern(true)).default([]),
  /** By environment variable name: the sandbox's variable holds a placeholder the proxy swaps for the value. */
  secrets: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "invalid environment variable name"), secretSchema).default({}),
  /** Static names (like --add-host): reached at that address, the only way to reach a private address. */
  hosts: z
    .record(hostName, z.string().refine((address) => isIP(address) !== 0, { message: "expected an IPv4 or IPv6 address" }))
    .default({}),
  /** Extra CAs (PEM text or file paths) the proxy trusts for upstreams, besides Node's own. */
  caCerts: z.array(z.string().min(1).transform(pemText)).default([]),
});

/** A CA given as PEM text or as the path of a PEM file: its text, read once, when the policy is parsed. */
function pemText(source: string, context: z.RefinementCtx): string {
  if (source.includes("-----BEGIN CERTIFICATE-----")) return source;
  try {
    const text = readFileSync(source, "utf8");
    if (text.includes("-----BEGIN CERTIFICATE-----")) return text;
  } catch {
    // reported below
  }
  context.addIssue({ code: "custom", message: `caCerts: ${source} is neither PEM text nor a readable PEM file` });
  return z.NEVER;
}

/** A network policy as users write it. */
export type EgressPolicy = z.input<typeof egressPolicySchema>;
export type ParsedEgressPolicy = z.output<typeof egressPolicySchema>;

export function matchesHost(pattern: HostPattern, host: string): boolean {
  return pattern.wildcard ? host.endsWith(`.${pattern.domain}`) : host === pattern.domain;
}

export type EgressDecision =
  | { readonly allowed: true; /** From `hosts`: connect here instead of resolving. */ readonly address: string | undefined }
  | { readonly allowed: false; readonly reason: string };

/** A policy compiled for lookups: what the proxy asks on every connection and name lookup. */
export class EgressRules {
  readonly #allow: readonly HostPattern[];
  readonly #deny: readonly HostPattern[];
  readonly #hosts: ReadonlyMap<string, string>;
  readonly #secrets: readonly { name: string; value: string; body: boolean; hosts: readonly HostPattern[] }[];

  constructor(readonly policy: ParsedEgressPolicy) {
    this.#allow = policy.allow.map(parseHostPattern);
    this.#deny = policy.deny.map(parseHostPattern);
    this.#secrets = Object.entries(policy.secrets).map(([name, secret]) => ({
      name,
      value: secret.value,
      body: secret.body ?? false,
      hosts: secret.hosts.map(parseHostPattern),
    }));
    this.#hosts = new Map(Object.entries(policy.hosts).map(([name, address]) => [name.toLowerCase(), address]));
  }

  /** Whether `host` may be reached on `port` (a name; raw IPs never are). */
  decide(rawHost: string, port: number): EgressDecision {
    const host = rawHost.toLowerCase().replace(/\.$/, "");
    if (isIP(host.replace(/^\[|\]$/g, ""))) return { allowed: false, reason: "raw IP addresses are not allowed; only names" };
    const denied = this.#deny.find((pattern) => matchesHost(pattern, host) && (pattern.port === undefined || pattern.port === port));
    if (denied) return { allowed: false, reason: `denied by "${denied.text}"` };
    const named = this.#allow.filter((pattern) => matchesHost(pattern, host));
    if (named.length === 0) return { allowed: false, reason: "not in the allow-list" };
    if (!named.some((pattern) => (pattern.port === undefined ? WEB_PORTS.includes(port) : pattern.port === port))) {
      return { allowed: false, reason: `port ${port} is not allowed for ${host} (allow "${host}:${port}" to open it)` };
    }
    return { allowed: true, address: this.#hosts.get(host) };
  }

  /** Whether any port of `host` is allowed: what the name server answers for. */
  resolvable(rawHost: string): boolean {
    const host = rawHost.toLowerCase().replace(/\.$/, "");
    if (this.#deny.some((pattern) => pattern.port === undefined && matchesHost(pattern, host))) return false;
    return this.#allow.some((pattern) => matchesHost(pattern, host));
  }

  /** Every port some allow entry names: the relay listens on these besides the web ports. */
  get extraPorts(): number[] {
    return [...new Set(this.#allow.flatMap((pattern) => (pattern.port === undefined ? [] : [pattern.port])))].sort((a, b) => a - b);
  }

  /** The secrets whose hosts include `host`, by name. */
  secretsFor(rawHost: string): [name: string, value: string, body: boolean][] {
    const host = rawHost.toLowerCase();
    return this.#secrets.filter((secret) => secret.hosts.some((pattern) => matchesHost(pattern, host))).map(({ name, value, body }) => [name, value, body]);
  }
}

/**
 * Whether an upstream address may be dialled for a name the policy allows by DNS (not through `hosts`): only public
 * unicast addresses. Private, loopback, link-local (the 169.254.169.254 metadata service), carrier-grade NAT,
 * multicast, reserved and IPv6 unique-local (fc00::/7) addresses are the host's and its neighbours'.
 */
export function isPublicAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) {
    const [a = 0, b = 0] = address.split(".").map(Number);
    return !(
      a === 0 || a === 10 || a === 127 || a >= 224 ||
      (a === 100 && b >= 64 && b < 128) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b < 32) ||
      (a === 192 && b === 168) ||
      (a === 192 && b === 0) ||
      (a === 198 && (b === 18 || b === 19))
    );
  }
  if (version === 6) {
    const lower = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isPublicAddress(mapped[1]!);
    const first = parseInt(lower.split(":")[0] || "0", 16);
    // Global unicast is 2000::/3; everything else (::1, fe80::/10, fc00::/7, ff00::/8, ::) is not.
    return first >= 0x2000 && first < 0x4000;
  }
  return false;
}
