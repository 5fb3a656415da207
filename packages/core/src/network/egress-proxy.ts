import { Agent, createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Socket } from "node:net";
import { type Duplex } from "node:stream";
import { createSecureContext, rootCertificates, type SecureContext, TLSSocket } from "node:tls";
import { type CertificateAuthority, createCertificateAuthority } from "./certs.js";
import { DNS_TYPE, dnsResponse, parseDnsQuery } from "./dns.js";
import { forwardRequest, refusalResponse, refuse } from "./http-forward.js";
import { type RelayMux, RelayStream } from "./mux.js";
import { LoopbackNames } from "./loopback-names.js";
import { NetworkLog, type NetworkLogEntry } from "./network-log.js";
import { EgressRules, type ParsedEgressPolicy, WEB_PORTS } from "./policy.js";
import { SecretPlaceholders, type Substitution } from "./secrets.js";
import { readServerName } from "./sni.js";
import { dial, upstreamAddress } from "./upstream.js";

/** Where the sandbox's HTTP_PROXY points (the relay listens there). */
export const PROXY_PORT = 3128;
/** Seconds a name's answer may be cached in the sandbox: short, so a policy change is seen soon. */
const DNS_TTL = 5;
/** The most a TLS client hello or HTTP request line is waited for before a tunnel is decided without it. */
const SNIFF_BYTES = 64 * 1024;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** How an HTTP connection reached the proxy: through HTTP_PROXY (absolute URLs), or opened to one name. */
type HttpConnection = { readonly proxy: true } | { readonly proxy: false; readonly host: string; readonly port: number; readonly secure: boolean };

/**
 * The egress proxy of one sandbox, in the library's process: it sees every connection and name lookup of the
 * sandbox's code (through the relay, `RelayMux`), decides each by the policy, puts secrets into requests for their
 * hosts, and logs what was tried. Plain tunnels for HTTPS (filtered by CONNECT target and TLS server name); TLS is
 * opened, with a certificate of this sandbox's own CA, only for hosts that carry a secret.
 */
export class EgressProxy {
  readonly log = new NetworkLog();
  readonly #placeholders = new SecretPlaceholders();
  readonly #names = new LoopbackNames();
  readonly #http = createServer({ requireHostHeader: false }, (request, response) => void this.#onRequest(request, response));
  readonly #connections = new WeakMap<object, HttpConnection>();
  readonly #open = new Set<Duplex | Socket>();
  /** Server contexts for hosts whose TLS is opened here, by host: made once, the certificate is the costly part. */
  readonly #contexts = new Map<string, SecureContext>();
  #ca: CertificateAuthority | undefined;
  #rules: EgressRules;
  #agents: { http: Agent; https: HttpsAgent };
  #mux: RelayMux | undefined;

  constructor(policy: ParsedEgressPolicy) {
    this.#rules = new EgressRules(policy);
    this.#agents = upstreamAgents(policy);
    this.#placeholders.for(Object.keys(policy.secrets));
    this.#http.on("connect", (request: IncomingMessage, socket: Duplex, head: Buffer) => this.#onConnect(request, socket, head));
  }

  get policy(): ParsedEgressPolicy {
    return this.#rules.policy;
  }

  /** The CA the sandbox trusts (for hosts whose TLS the proxy opens to put a secret in). */
  get caCertificate(): string {
    return this.#authority().certPem;
  }

  /** The variables programs in the sandbox get: the proxy for the tools that honour it, and the secrets' placeholders. */
  environment(): Record<string, string> {
    const proxy = `http://127.0.0.1:${PROXY_PORT}`;
    return {
      HTTP_PROXY: proxy,
      HTTPS_PROXY: proxy,
      http_proxy: proxy,
      https_proxy: proxy,
      NO_PROXY: "localhost,127.0.0.1,::1",
      no_proxy: "localhost,127.0.0.1,::1",
      ...this.#placeholders.for(Object.keys(this.policy.secrets)),
    };
  }

  /** The TCP ports the relay listens on: the web ports, the proxy's, and every `name:port` of the policy. */
  get ports(): number[] {
    return [...new Set([...WEB_PORTS, PROXY_PORT, ...this.#rules.extraPorts])].sort((a, b) => a - b);
  }

  /** Applies to new connections and lookups; open connections keep going. */
  setPolicy(policy: ParsedEgressPolicy): void {
    if (policy.caCerts.join() !== this.policy.caCerts.join()) {
      // Requests under way finish on the old agents.
      this.#agents = upstreamAgents(policy);
    }
    this.#rules = new EgressRules(policy);
    this.#placeholders.for(Object.keys(policy.secrets));
    this.#mux?.listen(this.ports);
  }

  /** Serves the relay's connections and lookups. */
  serve(mux: RelayMux): void {
    this.#mux = mux;
  }

  /** Ends every connection (the sandbox is going away). */
  close(): void {
    for (const stream of this.#open) stream.destroy();
    this.#open.clear();
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  // ---------------------------------------------------------------- the relay's side

  onConnection(stream: RelayStream): void {
    this.#track(stream);
    stream.on("error", () => {});
    if (stream.localPort === PROXY_PORT) {
      this.#connections.set(stream, { proxy: true });
      this.#http.emit("connection", stream);
      return;
    }
    const host = this.#names.nameOf(stream.localAddress);
    if (!host) {
      this.#refused({ host: stream.localAddress, port: stream.localPort, kind: kindOf(stream.localPort) }, "connect by name: only names the policy allows are routed");
      stream.reset();
      return;
    }
    void this.#tunnel(stream, host, stream.localPort, Buffer.alloc(0), () => stream.reset());
  }

  onDnsQuery(message: Buffer): Uint8Array | undefined {
    const query = parseDnsQuery(message);
    const question = query?.questions[0];
    if (!query || !question) return undefined;
    if (!this.#rules.resolvable(question.name)) {
      if (question.type === DNS_TYPE.A) {
        const decision = this.#rules.decide(question.name, 443);
        this.#refused({ host: question.name, port: 53, kind: "dns" }, decision.allowed ? "not in the allow-list" : decision.reason);
      }
      return dnsResponse(query, { rcode: "nxdomain" });
    }
    // Only A records: the namespace has no IPv6 route, and each allowed name gets its own loopback address.
    const addresses = question.type === DNS_TYPE.A ? [this.#names.addressOf(question.name)] : [];
    return dnsResponse(query, { rcode: "noerror", addresses, ttl: DNS_TTL });
  }

  // ---------------------------------------------------------------- HTTP

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const connection = this.#connections.get(request.socket);
    if (!connection) return refuse(response, 500, "unknown connection");
    let host: string, port: number, secure: boolean, path: string;
    if (connection.proxy) {
      let url: URL;
      try {
        url = new URL(request.url ?? "");
      } catch {
        return refuse(response, 400, "requests to the proxy need an absolute URL (http://host/path)");
      }
      secure = url.protocol === "https:";
      if (!secure && url.protocol !== "http:") return refuse(response, 400, `${url.protocol} URLs are not proxied`);
      host = url.hostname.toLowerCase();
      port = Number(url.port || (secure ? 443 : 80));
      path = `${url.pathname}${url.search}`;
    } else {
      ({ host, port, secure } = connection);
      path = request.url ?? "/";
      const named = (request.headers.host ?? host).replace(/:\d+$/, "").toLowerCase();
      if (named !== host) {
        this.#refused({ host: named, port, kind: secure ? "https" : "http" }, `the Host header names ${named} on a connection opened to ${host}`);
        return refuse(response, 421, `the Host header names ${named}, but the connection was opened to ${host}`);
      }
    }
    const decision = this.#rules.decide(host, port);
    const kind = secure ? "https" : "http";
    if (!decision.allowed) {
      this.#refused({ host, port, kind }, decision.reason);
      return refuse(response, 403, `${host}:${port} is not allowed: ${decision.reason}`);
    }
    const entry = this.log.record({ host, port, kind, allowed: true });
    const { substitutions, body } = this.#secretsFor(host);
    await forwardRequest(request, response, path, { host, port, secure, decision, substitutions, body, agent: secure ? this.#agents.https : this.#agents.http, entry });
  }

  #onConnect(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const [, host = "", port = "443"] = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec((request.url ?? "").toLowerCase()) ?? [];
    const decision = this.#rules.decide(host, Number(port));
    if (!decision.allowed) {
      this.#refused({ host, port: Number(port), kind: kindOf(Number(port)) }, decision.reason);
      socket.end(refusalResponse(403, `${host}:${port} is not allowed: ${decision.reason}`));
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    void this.#tunnel(socket, host, Number(port), head, () => socket.destroy());
  }

  // ---------------------------------------------------------------- tunnels

  /**
   * An allowed connection to `host:port`: HTTP is parsed (the Host header must be `host`; secrets go in), TLS must
   * name `host` and is opened only to put a secret in, anything else is piped to the upstream as is.
   */
  async #tunnel(client: Duplex, host: string, port: number, head: Buffer, abort: () => void): Promise<void> {
    const decision = this.#rules.decide(host, port);
    if (!decision.allowed) {
      this.#refused({ host, port, kind: kindOf(port) }, decision.reason);
      return abort();
    }
    const secrets = this.#secretsFor(host);
    const web = WEB_PORTS.includes(port) || secrets.substitutions.length > 0;
    // Servers that speak first (SMTP, MySQL) are not waited on: only web ports are sniffed.
    const first = web ? await sniff(client, head) : head;
    if (first === undefined) return abort();
    const tls = first[0] === 0x16;
    if (tls) {
      const hello = readServerName(first);
      const serverName = hello.status === "hello" ? hello.serverName : undefined;
      if (serverName !== undefined && serverName !== host) {
        this.#refused({ host: serverName, port, kind: "https" }, `the TLS server name ${serverName} does not match ${host}, the name connected to`);
        return abort();
      }
      if (secrets.substitutions.length) {
        client.unshift(first);
        const opened = new TLSSocket(client as Socket, {
          isServer: true,
          secureContext: this.#serverContext(host),
          ALPNProtocols: ["http/1.1"],
        });
        opened.on("error", () => client.destroy());
        this.#connections.set(opened, { proxy: false, host, port, secure: true });
        this.#http.emit("connection", opened);
        return;
      }
    } else if (web && looksLikeHttp(first)) {
      client.unshift(first);
      this.#connections.set(client, { proxy: false, host, port, secure: false });
      this.#http.emit("connection", client);
      return;
    }
    const entry = this.log.record({ host, port, kind: tls ? "https" : kindOf(port), allowed: true });
    await this.#pipe(client, first, host, port, decision.address, entry, abort);
  }

  async #pipe(client: Duplex, first: Buffer, host: string, port: number, address: string | undefined, entry: Mutable<NetworkLogEntry>, abort: () => void) {
    let upstream: Socket;
    try {
      upstream = await dial(await upstreamAddress(host, address), port);
    } catch (error) {
      entry.reason = (error as Error).message;
      return abort();
    }
    this.#track(upstream);
    entry.bytesOut += first.length;
    if (first.length) upstream.write(first);
    client.on("data", (chunk: Buffer) => (entry.bytesOut += chunk.length));
    upstream.on("data", (chunk: Buffer) => (entry.bytesIn += chunk.length));
    const fail = () => {
      upstream.destroy();
      abort();
    };
    upstream.on("error", fail);
    client.on("error", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #serverContext(host: string): SecureContext {
    let context = this.#contexts.get(host);
    if (!context) {
      const { certPem, keyPem } = this.#authority().issue([host]);
      this.#contexts.set(host, (context = createSecureContext({ cert: certPem, key: keyPem })));
    }
    return context;
  }

  /** Made on first use: the sandbox's CA bundle and the first host with a secret need it. */
  #authority(): CertificateAuthority {
    return (this.#ca ??= createCertificateAuthority({ commonName: "llm-sandbox egress proxy" }));
  }

  #secretsFor(host: string): { substitutions: Substitution[]; body: boolean } {
    const found = this.#rules.secretsFor(host);
    const placeholders = this.#placeholders.for(found.map(([name]) => name));
    return {
      substitutions: found.map(([name, value]) => [placeholders[name]!, value] as const),
      body: found.some(([, , body]) => body),
    };
  }

  #refused(entry: Pick<NetworkLogEntry, "host" | "port" | "kind">, reason: string): void {
    this.log.record({ ...entry, allowed: false, reason });
  }

  #track(stream: Duplex | Socket): void {
    this.#open.add(stream);
    stream.once("close", () => this.#open.delete(stream));
  }
}

function kindOf(port: number): NetworkLogEntry["kind"] {
  return port === 443 ? "https" : port === 80 ? "http" : "tcp";
}

/**
 * How requests reach upstreams: a connection per request, as the sandbox's own client opened one (a kept connection
 * meets Nagle's algorithm against delayed ACKs on servers that write headers and body apart: 40 ms a request). HTTPS
 * trusts Node's CAs plus the policy's, in one context made once.
 */
function upstreamAgents(policy: ParsedEgressPolicy): { http: Agent; https: HttpsAgent } {
  const ca = policy.caCerts.length ? [...rootCertificates, ...policy.caCerts] : undefined;
  return { http: new Agent(), https: new HttpsAgent(ca ? { secureContext: createSecureContext({ ca }) } : {}) };
}

const HTTP_METHOD = /^[A-Z]{3,10} /;
function looksLikeHttp(bytes: Buffer): boolean {
  return HTTP_METHOD.test(bytes.subarray(0, 11).toString("latin1"));
}

/**
 * The first bytes of a connection: enough to tell TLS (and read its server name) or HTTP from anything else.
 * Undefined when the client went away first.
 */
async function sniff(client: Duplex, head: Buffer): Promise<Buffer | undefined> {
  let bytes = head;
  const enough = () =>
    bytes.length >= SNIFF_BYTES ||
    (bytes.length > 0 && bytes[0] !== 0x16 && (bytes.includes(0x0a) || bytes.length >= 16)) ||
    (bytes.length > 0 && bytes[0] === 0x16 && readServerName(bytes).status !== "incomplete");
  while (!enough()) {
    const chunk = await nextChunk(client);
    if (!chunk) return bytes.length ? bytes : undefined;
    bytes = Buffer.concat([bytes, chunk]);
  }
  return bytes;
}

function nextChunk(stream: Duplex): Promise<Buffer | undefined> {
  const chunk = stream.read() as Buffer | null;
  if (chunk) return Promise.resolve(chunk);
  if (stream.readableEnded || stream.destroyed) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const done = () => {
      stream.off("readable", readable);
      stream.off("end", done);
      stream.off("close", done);
      resolve(undefined);
    };
    const readable = () => {
      const next = stream.read() as Buffer | null;
      if (!next) return;
      stream.off("end", done);
      stream.off("close", done);
      stream.off("readable", readable);
      resolve(next);
    };
    stream.on("readable", readable);
    stream.once("end", done);
    stream.once("close", done);
  });
}
