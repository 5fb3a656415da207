import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority } from "./certs.js";
import { DNS_TYPE } from "./dns.js";
import { EgressProxy, PROXY_PORT } from "./egress-proxy.js";
import { FRAME, FrameReader, encodeFrame, RelayMux } from "./mux.js";
import { egressPolicySchema, type EgressPolicy } from "./policy.js";

/**
 * The proxy with a relay played in-process: the "sandbox" side is a Duplex per connection whose bytes travel as
 * the relay's frames. Upstreams are local servers named through `hosts`.
 */
class FakeRelay {
  readonly mux: RelayMux;
  readonly #clients = new Map<number, Duplex>();
  #next = 1;

  constructor(readonly proxy: EgressProxy) {
    this.mux = new RelayMux({ onConnection: (stream) => proxy.onConnection(stream), onDnsQuery: (query) => proxy.onDnsQuery(query) });
    proxy.serve(this.mux);
    void this.#pump();
  }

  /** A connection from sandbox code to `address:port`. */
  connect(address: string, port: number): Duplex {
    const id = this.#next++;
    const mux = this.mux;
    const client = new Duplex({
      allowHalfOpen: true,
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        mux.receive(encodeFrame(FRAME.data, id, chunk));
        callback();
      },
      final(callback) {
        mux.receive(encodeFrame(FRAME.end, id));
        callback();
      },
    });
    this.#clients.set(id, client);
    mux.receive(encodeFrame(FRAME.open, id, Buffer.from(`${address} ${port}`)));
    return client;
  }

  async #pump(): Promise<void> {
    const reader = new FrameReader();
    for await (const chunk of this.mux.input) {
      for (const { type, id, payload } of reader.push(chunk)) {
        const client = this.#clients.get(id);
        if (!client) continue;
        if (type === FRAME.data) client.push(payload);
        else if (type === FRAME.end) client.push(null);
        else if (type === FRAME.close || type === FRAME.reset) {
          client.push(null);
          client.destroy();
          this.#clients.delete(id);
        }
      }
    }
  }
}

/** An upstream that answers with what it received. */
async function echoServer(): Promise<{ server: Server; port: number; seen: { url: string; headers: IncomingHttpHeaders; body: string }[] }> {
  const seen: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ url: req.url ?? "", headers: req.headers, body });
    res.end(JSON.stringify({ url: req.url, authorization: req.headers.authorization ?? null, body }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port, seen };
}

function proxyFor(policy: EgressPolicy): { proxy: EgressProxy; relay: FakeRelay } {
  const proxy = new EgressProxy(egressPolicySchema.parse(policy));
  return { proxy, relay: new FakeRelay(proxy) };
}

/** A GET through HTTP_PROXY (absolute URL) over a relayed connection. */
function getThroughProxy(relay: FakeRelay, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { createConnection: () => relay.connect("127.0.0.1", PROXY_PORT) as never, headers, path: url }, async (res) => {
      let body = "";
      for await (const chunk of res) body += chunk;
      resolve({ status: res.statusCode ?? 0, body });
    });
    req.on("error", reject);
    req.end();
  });
}

const TOKEN = "ghp_real_value_1234567890";

describe("EgressProxy", () => {
  let upstream: Awaited<ReturnType<typeof echoServer>>;
  beforeAll(async () => {
    upstream = await echoServer();
  });
  afterAll(() => upstream.server.close());

  it("forwards an allowed request and puts the secret in for its host only", async () => {
    const { proxy, relay } = proxyFor({
      allow: [`api.test:${upstream.port}`, `other.test:${upstream.port}`],
      hosts: { "api.test": "127.0.0.1", "other.test": "127.0.0.1" },
      secrets: { TOKEN: { value: TOKEN, hosts: ["api.test"] } },
    });
    const placeholder = proxy.environment().TOKEN!;
    expect(placeholder).toMatch(/^llmsbx_secret_[0-9a-f]{32}$/);
    const ok = await getThroughProxy(relay, `http://api.test:${upstream.port}/x?key=${placeholder}`, { authorization: `Bearer ${placeholder}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ url: `/x?key=${TOKEN}`, authorization: `Bearer ${TOKEN}`, body: "" });
    const other = await getThroughProxy(relay, `http://other.test:${upstream.port}/`, { authorization: `Bearer ${placeholder}` });
    expect(JSON.parse(other.body).authorization).toBe(`Bearer ${placeholder}`);
    const log = proxy.log.since();
    expect(log.map(({ host, allowed }) => [host, allowed])).toEqual([["api.test", true], ["other.test", true]]);
    expect(log[0]!.bytesIn).toBeGreaterThan(0);
    expect(JSON.stringify(log)).not.toContain(TOKEN);
  });

  it("refuses what the policy does not allow with a 403 that says why, and logs it", async () => {
    const { proxy, relay } = proxyFor({ allow: ["*.example.test"], deny: ["bad.example.test"] });
    const denied = await getThroughProxy(relay, "http://bad.example.test/");
    expect(denied.status).toBe(403);
    expect(denied.body).toContain('denied by "bad.example.test"');
    expect((await getThroughProxy(relay, "http://example.test/")).body).toContain("not in the allow-list");
    expect((await getThroughProxy(relay, "http://10.0.0.1/")).body).toContain("raw IP");
    expect(proxy.log.since().map(({ allowed }) => allowed)).toEqual([false, false, false]);
  });

  it("answers DNS only for allowed names, each with its own loopback address, and routes connections to it", async () => {
    const { proxy, relay } = proxyFor({ allow: [`api.test:${upstream.port}`], hosts: { "api.test": "127.0.0.1" } });
    const query = (name: string, type: number) =>
      Buffer.concat([
        Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
        ...name.split(".").map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
        Buffer.from([0, 0, type, 0, 1]),
      ]);
    const answer = Buffer.from(proxy.onDnsQuery(query("api.test", DNS_TYPE.A))!);
    expect(answer[3]! & 0x0f).toBe(0);
    const address = [...answer.subarray(answer.length - 4)].join(".");
    expect(address).toMatch(/^127\.100\./);
    expect(Buffer.from(proxy.onDnsQuery(query("evil.test", DNS_TYPE.A))!)[3]! & 0x0f).toBe(3);
    // A program that ignores HTTP_PROXY: it dials the address the name server gave.
    const direct = relay.connect(address, upstream.port);
    direct.write(`GET /direct HTTP/1.1\r\nhost: api.test:${upstream.port}\r\nconnection: close\r\n\r\n`);
    let text = "";
    for await (const chunk of direct) text += chunk;
    expect(text).toContain('"url":"/direct"');
    // An address no name was given for is not routed.
    const raw = relay.connect("127.0.0.1", 443);
    for await (const _ of raw);
    expect(proxy.log.since().find(({ host }) => host === "127.0.0.1")?.reason).toContain("connect by name");
  });

  it("opens TLS only for a host with a secret: CONNECT, then the sandbox's TLS ends at the proxy's CA", async () => {
    const upstreamCa = createCertificateAuthority();
    const leaf = upstreamCa.issue(["secure.test"]);
    const secure = createTlsServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => res.end(`auth=${req.headers.authorization}`));
    secure.listen(0, "127.0.0.1");
    await once(secure, "listening");
    const port = (secure.address() as AddressInfo).port;
    try {
      const { proxy, relay } = proxyFor({
        allow: [`secure.test:${port}`],
        hosts: { "secure.test": "127.0.0.1" },
        secrets: { TOKEN: { value: TOKEN, hosts: ["secure.test"] } },
        caCerts: [upstreamCa.certPem],
      });
      const tunnel = relay.connect("127.0.0.1", PROXY_PORT);
      tunnel.write(`CONNECT secure.test:${port} HTTP/1.1\r\nhost: secure.test:${port}\r\n\r\n`);
      const [established] = (await once(tunnel, "data")) as [Buffer];
      expect(established.toString()).toContain("200 Connection Established");
      const tls = tlsConnect({ socket: tunnel, servername: "secure.test", ca: [proxy.caCertificate] });
      await once(tls, "secureConnect");
      tls.write(`GET / HTTP/1.1\r\nhost: secure.test\r\nauthorization: Bearer ${proxy.environment().TOKEN}\r\nconnection: close\r\n\r\n`);
      let text = "";
      for await (const chunk of tls) text += chunk;
      expect(text).toContain(`auth=Bearer ${TOKEN}`);
    } finally {
      secure.close();
    }
  });

  it("refuses a Host header or a TLS server name other than the name connected to (no domain fronting)", async () => {
    const { proxy, relay } = proxyFor({ allow: ["api.test", "*.cdn.test"], hosts: { "api.test": "127.0.0.1" } });
    const address = Buffer.from(proxy.onDnsQuery(dnsQuery("api.test"))!);
    const loopback = [...address.subarray(address.length - 4)].join(".");
    const fronted = relay.connect(loopback, 80);
    fronted.end("GET / HTTP/1.1\r\nhost: evil.test\r\n\r\n");
    let text = "";
    for await (const chunk of fronted) text += chunk;
    expect(text).toMatch(/^HTTP\/1.1 421/);
    const tls = tlsConnect({ socket: relay.connect(loopback, 443), servername: "other.cdn.test", rejectUnauthorized: false });
    const [error] = (await once(tls, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNRESET");
    expect(proxy.log.since().map(({ host, allowed, reason }) => [host, allowed, reason])).toEqual([
      ["evil.test", false, "the Host header names evil.test on a connection opened to api.test"],
      ["other.cdn.test", false, "the TLS server name other.cdn.test does not match api.test, the name connected to"],
    ]);
  });

  it("dials an allowed public name only at a public address (DNS rebinding reaches nothing)", async () => {
    const { proxy, relay } = proxyFor({ allow: ["localhost"] });
    const refused = await getThroughProxy(relay, "http://localhost/");
    expect(refused.status).toBe(502);
    expect(refused.body).toMatch(/resolves only to private or reserved addresses/);
    expect(proxy.log.since()[0]).toMatchObject({ host: "localhost", allowed: true, reason: expect.stringContaining("private") });
  });

  it("rewrites a body only when the secret says so", async () => {
    const { proxy, relay } = proxyFor({
      allow: [`api.test:${upstream.port}`],
      hosts: { "api.test": "127.0.0.1" },
      secrets: { A: { value: "value-a", hosts: ["api.test"], body: true } },
    });
    const placeholder = proxy.environment().A!;
    const answer = await new Promise<string>((resolve, reject) => {
      const url = `http://api.test:${upstream.port}/post`;
      const req = request(url, { method: "POST", path: url, createConnection: () => relay.connect("127.0.0.1", PROXY_PORT) as never }, async (res) => {
        let body = "";
        for await (const chunk of res) body += chunk;
        resolve(body);
      });
      req.on("error", reject);
      req.end(`{"key":"${placeholder}","again":"${placeholder}"}`);
    });
    expect(JSON.parse(answer).body).toBe('{"key":"value-a","again":"value-a"}');
  });
});

function dnsQuery(name: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...name.split(".").map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0, 0, DNS_TYPE.A, 0, 1]),
  ]);
}
