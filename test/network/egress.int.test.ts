// Issue 14's acceptance: the egress policy on every backend, against upstreams of this machine named through `hosts`.
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPoolManager, createSession, InteractiveSandboxSession, type Logger, type SandboxSession, type SessionOptions } from "@llm-sandbox/core";
import { engineClient, podmanClient } from "@llm-sandbox/core/backends";
import { LABELS } from "../../packages/core/src/internal/labels.js";
import { POOL_BACKENDS } from "../helpers/pool-backends.js";
import { sha256, startUpstream, type Upstream } from "../helpers/upstream.js";

const SECRET = "ghp_live_9d1c2b7e5f0a4c3d8e6b1a2f";
/** The names the test upstream answers for (all at its address). */
const NAMES = ["api.test", "other.test", "a.wild.test", "wild.test", "denied.wild.test", "late.test"];

/** Everything any logger of these sessions wrote: the secret must not be in it. */
const logged: string[] = [];
const recordingLogger: Logger = Object.fromEntries(
  (["debug", "info", "warn", "error"] as const).map((level) => [level, (message: string, ...details: unknown[]) => logged.push(`${level} ${message} ${details.map(String).join(" ")}`)]),
) as unknown as Logger;

/** The engine objects of a session (its container, its relay, a pod's), as JSON, as `docker inspect` shows them. */
async function inspected(backend: string, session: SandboxSession): Promise<string> {
  const docker: Docker = backend === "podman" ? podmanClient() : engineClient();
  const filter = backend === "kubernetes" ? `io.kubernetes.pod.name=${session.containerId}` : `${LABELS.session}=${session.id}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [filter] } });
  expect(containers.length).toBeGreaterThan(0);
  return JSON.stringify(await Promise.all(containers.map((c) => docker.getContainer(c.Id).inspect())));
}

/** What of `session` is still there after close: containers (sandbox and relay) labelled with its id. */
async function leftovers(backend: string, session: SandboxSession): Promise<number> {
  const docker: Docker = backend === "podman" ? podmanClient() : engineClient();
  const label = backend === "kubernetes" ? `${LABELS.session}=${session.id}` : `${LABELS.session}=${session.id}`;
  return (await docker.listContainers({ all: true, filters: { label: [label] } })).length;
}

describe.each(POOL_BACKENDS)("egress policy on $name", (backend) => {
  let upstream: Upstream;
  let policy: NonNullable<Exclude<NonNullable<SessionOptions["runtimeConfigs"]>["network"], boolean | string>>;
  const sessions: SandboxSession[] = [];
  const open = async (lang: string, extra: SessionOptions = {}) => {
    const session = createSession({
      ...backend.options,
      lang,
      logger: recordingLogger,
      verbose: true,
      extraCaCerts: [upstream.ca],
      runtimeConfigs: { network: policy },
      ...extra,
    });
    sessions.push(session);
    return session.open();
  };

  beforeAll(async () => {
    upstream = await startUpstream(NAMES);
    policy = {
      allow: ["api.test", "other.test", "*.wild.test"],
      deny: ["denied.wild.test"],
      hosts: Object.fromEntries(NAMES.map((name) => [name, upstream.address])),
      secrets: { GITHUB_TOKEN: { value: SECRET, hosts: ["api.test"] } },
      caCerts: [upstream.ca],
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all(sessions.map((session) => session.close()));
    await upstream?.stop();
    expect(logged.join("\n")).not.toContain(SECRET);
  });

  describe("python", () => {
    let session: SandboxSession;
    beforeAll(async () => {
      session = await open("python");
    }, 180_000);

    it("reaches an allowed name over HTTP and HTTPS with urllib and requests, through the proxy and without it", async () => {
      const result = await session.run(`
import json, os, urllib.request, requests
def get(url, **kw):
    return json.load(urllib.request.urlopen(url, timeout=10))
print(json.dumps([
  get("http://api.test/plain")["ok"],
  get("https://api.test/tls")["ok"],
  requests.get("https://other.test/r", timeout=10).json()["ok"],
  requests.get("http://other.test/r", timeout=10).json()["host"],
  # No proxy at all: the name resolves to the relay, which knows the name by the address.
  requests.get("https://api.test/direct", timeout=10, proxies={"http": None, "https": None}).json()["ok"],
  urllib.request.build_opener(urllib.request.ProxyHandler({})).open("http://a.wild.test/w", timeout=10).status,
]))
`);
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout)).toEqual([true, true, true, "other.test", true, 200]);
      const kinds = result.network!.filter((entry) => entry.allowed).map(({ host, kind }) => `${host}/${kind}`);
      expect(kinds).toEqual(expect.arrayContaining(["api.test/http", "api.test/https", "other.test/https", "a.wild.test/http"]));
    });

    it("refuses every other destination within 2 s, also for a program that ignores the proxy variables", async () => {
      const result = await session.run(`
import json, socket, time, urllib.request
out = {}
def attempt(name, call):
    start = time.monotonic()
    try:
        call(); outcome = "reached"
    except Exception as error:
        outcome = type(error).__name__ + ": " + str(error)[:120]
    out[name] = [outcome, round(time.monotonic() - start, 2)]
proxied = lambda url: urllib.request.urlopen(url, timeout=10).read()
raw = lambda host, port: socket.create_connection((host, port), timeout=10).close()
attempt("denied", lambda: proxied("http://denied.wild.test/"))
attempt("unlisted", lambda: proxied("https://github.com/"))
attempt("bare-wildcard-domain", lambda: proxied("http://wild.test/"))
attempt("raw-ip-proxied", lambda: proxied("http://${upstream.address}/"))
attempt("metadata-proxied", lambda: proxied("http://169.254.169.254/latest/meta-data/"))
attempt("raw-ip", lambda: raw("${upstream.address}", 80))
attempt("metadata", lambda: raw("169.254.169.254", 80))
attempt("gateway", lambda: raw("172.17.0.1", 22))
attempt("public", lambda: raw("8.8.8.8", 53))
attempt("ipv6", lambda: raw("2606:4700:4700::1111", 443))
attempt("dns-unlisted", lambda: socket.getaddrinfo("github.com", 443))
attempt("dns-denied", lambda: socket.getaddrinfo("denied.wild.test", 443))
attempt("allowed-name-other-port", lambda: raw("api.test", 22))
print(json.dumps(out))
`);
      const outcomes = JSON.parse(result.stdout) as Record<string, [string, number]>;
      for (const [name, [outcome, seconds]] of Object.entries(outcomes)) {
        expect(outcome, name).not.toBe("reached");
        expect(seconds, `${name}: ${outcome}`).toBeLessThan(2);
      }
      expect(outcomes.denied![0]).toContain("403");
      expect(outcomes.unlisted![0]).toMatch(/403|Forbidden/);
      expect(outcomes["dns-unlisted"]![0]).toContain("gaierror");
      const refused = result.network!.filter((entry) => !entry.allowed);
      expect(refused.map((entry) => entry.host)).toEqual(expect.arrayContaining(["denied.wild.test", "github.com", "wild.test", upstream.address, "169.254.169.254"]));
      expect(refused.find((entry) => entry.host === "denied.wild.test")!.reason).toBe('denied by "denied.wild.test"');
    });

    it("puts the secret into requests for its host only, over HTTP and HTTPS; the sandbox sees only the placeholder", async () => {
      const result = await session.run(`
import json, os, requests
token = os.environ["GITHUB_TOKEN"]
auth = {"Authorization": "Bearer " + token}
print(json.dumps({
  "placeholder": token,
  "http": requests.get("http://api.test/s?token=" + token, headers=auth, timeout=10).json(),
  "https": requests.get("https://api.test/s", headers=auth, timeout=10).json(),
  "other": requests.get("https://other.test/s", headers=auth, timeout=10).json(),
}))
`);
      const out = JSON.parse(result.stdout);
      const placeholder = out.placeholder as string;
      expect(placeholder).toMatch(/^llmsbx_secret_[0-9a-f]{32}$/);
      expect(out.http.authorization_sha256).toBe(sha256(`Bearer ${SECRET}`));
      expect(out.http.path_sha256).toBe(sha256(`/s?token=${SECRET}`));
      expect(out.https.authorization_sha256).toBe(sha256(`Bearer ${SECRET}`));
      expect(out.other.authorization_sha256).toBe(sha256(`Bearer ${placeholder}`));
      const seen = await upstream.seen();
      expect(seen.filter((request) => request.host === "api.test" && request.path.startsWith("/s")).map((request) => request.authorization)).toEqual([
        `Bearer ${SECRET}`,
        `Bearer ${SECRET}`,
      ]);
      expect(seen.find((request) => request.host === "other.test" && request.path === "/s")?.authorization).toBe(`Bearer ${placeholder}`);

      const env = await session.executeCommand("printenv GITHUB_TOKEN; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c GITHUB_TOKEN= ; grep -rl llmsbx_secret_ /proc/1/environ");
      expect(env.stdout.split("\n")[0]).toBe(placeholder);
      for (const text of [env.stdout, env.stderr, result.stdout, result.stderr, JSON.stringify(result), JSON.stringify(session.networkLog())]) {
        expect(text).not.toContain(SECRET);
      }
      const engineView = await inspected(backend.name, session);
      expect(engineView).toContain(placeholder);
      expect(engineView).not.toContain(SECRET);
    });

    it("carries large bodies both ways and many connections at once (flow control across the relay)", async () => {
      const result = await session.run(`
import concurrent.futures, hashlib, json, requests
size = 24 * 1024 * 1024
def download(url): return len(requests.get(url, timeout=60).content)
def upload(url):
    body = b"0123456789abcdef" * (size // 16)
    return requests.post(url, data=body, timeout=60).json()["body_sha256"] == hashlib.sha256(body).hexdigest()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    small = list(pool.map(lambda i: requests.get("https://other.test/many/%d" % i, timeout=30).json()["ok"], range(48)))
print(json.dumps([download("http://other.test/bytes/%d" % size), download("https://other.test/bytes/%d" % size), upload("http://other.test/up"), all(small), len(small)]))
`, { timeout: 120 });
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout)).toEqual([24 * 1024 * 1024, 24 * 1024 * 1024, true, true, 48]);
      const downloads = result.network!.filter((entry) => entry.host === "other.test" && entry.bytesIn > 20 * 1024 * 1024);
      expect(downloads).toHaveLength(2);
    }, 180_000);

    it("lets a host in and out again with setNetworkPolicy, without reopening", async () => {
      const fetchLate = `
import urllib.request
try: print(urllib.request.urlopen("http://late.test/", timeout=10).status)
except Exception as error: print("refused", error)
`;
      expect((await session.run(fetchLate)).stdout).toContain("refused");
      await session.setNetworkPolicy({ ...policy, allow: [...policy.allow!, "late.test"] });
      const allowed = await session.run(fetchLate);
      expect(allowed.stdout.trim()).toBe("200");
      expect(allowed.network!.map(({ host, allowed }) => [host, allowed])).toEqual([["late.test", true]]);
      await session.setNetworkPolicy(policy);
      expect((await session.run(fetchLate)).stdout).toContain("refused");
      // A port and a secret added at run time: the relay listens on the new port, new processes get the placeholder.
      await session.setNetworkPolicy({
        ...policy,
        allow: [...policy.allow!, "other.test:8080"],
        secrets: { ...policy.secrets, LATE_TOKEN: { value: `${SECRET}-late`, hosts: ["other.test"] } },
      });
      const late = await session.run(`
import http.client, json, os
connection = http.client.HTTPConnection("other.test", 8080, timeout=10)
connection.request("GET", "/seen")
print(connection.getresponse().status)
token = os.environ["LATE_TOKEN"]
connection = http.client.HTTPConnection("other.test", 80, timeout=10)
connection.request("GET", "/late", headers={"Authorization": token})
print(json.load(connection.getresponse())["authorization_sha256"])
print(token)
`);
      const [status, digest, token] = late.stdout.trim().split("\n");
      expect(status).toBe("200");
      expect(digest).toBe(sha256(`${SECRET}-late`));
      expect(token).toMatch(/^llmsbx_secret_/);
      expect(late.network!.find((entry) => entry.port === 8080)).toMatchObject({ host: "other.test", kind: "http", allowed: true }); // parsed: other.test carries a secret now
      await session.setNetworkPolicy(policy);
      // The log keeps every run's attempts, in order.
      expect(session.networkLog().filter((entry) => entry.host === "late.test").map((entry) => entry.allowed)).toEqual([false, true, false]);
    });
  });

  it("reaches an allowed name from Node's fetch (which ignores HTTP_PROXY) and from curl, and not an unlisted one", async () => {
    const node = await open("javascript");
    const fetched = await node.run(`
const answers = [];
for (const url of ["https://api.test/node", "http://other.test/node", "https://github.com/"]) {
  try { answers.push((await (await fetch(url)).json()).ok); } catch (error) { answers.push(String(error.cause?.code ?? error.message)); }
}
console.log(JSON.stringify(answers));
`);
    const [https, http, unlisted] = JSON.parse(fetched.stdout);
    expect([https, http]).toEqual([true, true]);
    expect(unlisted).not.toBe(true);
    await node.close();
    const shell = await open("bash");
    const curl = await shell.run(`
curl -sS --max-time 10 https://api.test/curl | grep -c '"ok": true'
curl -sS --max-time 10 --noproxy '*' https://other.test/curl | grep -c '"ok": true'
curl -sS --max-time 5 -o /dev/null -w '%{http_code}\\n' http://github.com/
curl -sS --max-time 5 --noproxy '*' https://github.com/ -o /dev/null 2>&1 | head -c 60; echo
`);
    const lines = curl.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["1", "1", "403"]);
    expect(lines[3]).toMatch(/resolve|Could not/i);
    await shell.close();
  }, 240_000);

  it("a pooled session's added host is blocked again for the next session; closing leaves nothing", async () => {
    const pool = createPoolManager({
      ...backend.options,
      lang: "python",
      logger: recordingLogger,
      extraCaCerts: [upstream.ca],
      runtimeConfigs: { network: policy },
      config: { minPoolSize: 1, maxPoolSize: 1 },
    });
    try {
      const fetchLate = `import urllib.request\ntry: print(urllib.request.urlopen("http://late.test/", timeout=10).status)\nexcept Exception as error: print("refused")`;
      const first = await createSession({ pool, lang: "python" }).open();
      await first.setNetworkPolicy({ ...policy, allow: [...policy.allow!, "late.test"] });
      expect((await first.run(fetchLate)).stdout.trim()).toBe("200");
      const container = first.containerId;
      await first.close();
      const second = await createSession({ pool, lang: "python" }).open();
      try {
        expect(second.containerId).toBe(container);
        const result = await second.run(fetchLate);
        expect(result.stdout.trim()).toBe("refused");
        // The next session's log starts with its own attempts.
        expect(second.networkLog().map(({ host, allowed }) => [host, allowed])).toEqual([["late.test", false]]);
      } finally {
        await second.close();
      }
    } finally {
      await pool.close();
    }
  }, 240_000);

  it("an interactive session's kernel reaches what the policy allows, with the secret's placeholder", async () => {
    const interactive = new InteractiveSandboxSession({ ...backend.options, lang: "python", logger: recordingLogger, extraCaCerts: [upstream.ca], runtimeConfigs: { network: policy } });
    sessions.push(interactive);
    await interactive.open();
    await interactive.run("import os, requests\ntoken = os.environ['GITHUB_TOKEN']");
    const result = await interactive.run("print(requests.get('https://api.test/kernel', headers={'Authorization': token}, timeout=10).json()['authorization_sha256'])");
    expect(result.stdout.trim()).toBe(sha256(SECRET));
    expect(result.network!.map(({ host, allowed }) => [host, allowed])).toEqual([["api.test", true]]);
    expect((await interactive.run("requests.get('https://github.com', timeout=10)")).stderr).toMatch(/403|ProxyError/);
    await interactive.close();
  }, 180_000);

  it("closing a session removes its relay and everything labelled with it", async () => {
    const session = await open("python");
    expect(await leftovers(backend.name, session)).toBeGreaterThanOrEqual(backend.name === "kubernetes" ? 1 : 2);
    await session.close();
    expect(await leftovers(backend.name, session)).toBe(0);
  }, 120_000);
});
