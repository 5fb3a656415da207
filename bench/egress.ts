// The egress policy's costs against a networked session and the engine floor, side by side in one run (issue 14's
// benchmark): what a policy adds to open(), and the latency of an allowed request through the egress proxy.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { createSession, type SessionOptions } from "@llm-sandbox/core";
import { type Container, dockerRunTrue, docker, IMAGE, rawExec, withContainer, withFloorContainer } from "./floor.ts";
import { ms, printTable, samples } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const HOST = "api.test";
const SECRET = "bench-real-token";
/** Requests before the timed ones: imports, the first DNS answer, the proxy's first leaf certificate. */
const WARM_UP = 3;

/**
 * The upstream: the egress tests' program (test/fixtures/upstream-server.py: HTTP on 80, HTTPS on 443, answering
 * with the hash of the Authorization header it got), with a CA and a leaf for HOST made by the image's openssl (the
 * library's own CA code is internal). It prints the CA and "ready", and ends when its stdin closes (withContainer
 * holds it).
 */
const SERVER = readFileSync(new URL("../test/fixtures/upstream-server.py", import.meta.url), "utf8");
const CERTS = [
  'cd /tmp && K="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"',
  "openssl req -x509 $K -keyout ca.key -out ca.pem -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null",
  `openssl req -x509 $K -CA ca.pem -CAkey ca.key -keyout leaf.key -out leaf.pem -subj /CN=${HOST} -addext subjectAltName=DNS:${HOST} -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature -addext extendedKeyUsage=serverAuth 2>/dev/null`,
  '{ UPSTREAM_CERT=/tmp/leaf.pem UPSTREAM_KEY=/tmp/leaf.key python3 -c "$1" </dev/null & }',
  // "ready" once it listens (8080 is bound last).
  `until python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080))' 2>/dev/null; do sleep 0.1; done`,
  "cat ca.pem && echo ready && cat >/dev/null",
].join(" && ");

/** The upstream's output up to "ready": its CA certificate. */
async function upstreamCa(container: Container, attached: NodeJS.ReadWriteStream): Promise<string> {
  let out = "";
  let err = "";
  const collect = (append: (text: string) => void) => new Writable({ write: (chunk, _, done) => (append(String(chunk)), done()) });
  docker.modem.demuxStream(attached, collect((t) => (out += t)), collect((t) => (err += t)));
  const deadline = Date.now() + 30_000;
  while (!out.includes("ready")) {
    if (Date.now() > deadline || !(await container.inspect()).State.Running) throw new Error(`the upstream did not start: ${err || out}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return out.slice(0, out.indexOf("ready"));
}

/** Timed inside the sandbox: `n` GETs (a new connection each, as urllib does), per-request ms and what the upstream saw. */
const requests = (url: string, n: number) => `
import json, os, ssl, time, urllib.request
# One TLS context (reading the CA bundle costs more than a request here); the proxy variables apply as usual.
opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl.create_default_context()))
request = urllib.request.Request(${JSON.stringify(url)}, headers={"Authorization": "Bearer " + os.environ.get("API_TOKEN", "none")})
def get():
    with opener.open(request, timeout=10) as response:
        return json.load(response)
for _ in range(${WARM_UP}): get()
ms = []
for _ in range(${n}):
    started = time.perf_counter(); seen = get(); ms.append((time.perf_counter() - started) * 1000)
print(json.dumps({"ms": ms, "auth": seen["authorization_sha256"]}))
`;

async function openClose(options: SessionOptions) {
  const session = await createSession(options).open();
  await session.close();
}

/** Per-request ms of HTTP and HTTPS from one warm session; a wrong answer (e.g. no substitution) fails the run. */
async function measureRequests(options: SessionOptions, auth: "real" | "other") {
  const session = await createSession(options).open();
  try {
    const measure = async (scheme: string) => {
      const result = await session.run(requests(`${scheme}://${HOST}/`, RUNS));
      if (result.exitCode !== 0) throw new Error(`${scheme} requests failed: ${result.stderr}`);
      const seen = JSON.parse(result.stdout) as { ms: number[]; auth: string };
      const real = seen.auth === createHash("sha256").update(`Bearer ${SECRET}`).digest("hex");
      if (real !== (auth === "real")) throw new Error(`${scheme}: the upstream ${real ? "got" : "did not get"} the real secret, expected ${auth}`);
      return seen.ms;
    };
    return { https: await measure("https"), http: await measure("http") };
  } finally {
    await session.close();
  }
}

const upstream = { Image: IMAGE, User: "0", Entrypoint: ["sh", "-c", CERTS, "sh", SERVER], HostConfig: { Init: true } };
await withContainer(upstream, async (container, attached) => {
  const ca = await upstreamCa(container, attached);
  const ip = (await container.inspect()).NetworkSettings.Networks.bridge!.IPAddress;
  const allowed = { allow: [HOST], hosts: { [HOST]: ip } };
  // caCerts: the proxy trusts the upstream when it opens TLS itself (the secret's host).
  const policy = { ...allowed, caCerts: [ca] };
  const secrets = { API_TOKEN: { value: SECRET, hosts: [HOST] } };
  // Every request session trusts the upstream's CA; the direct one finds HOST in /etc/hosts, the same IP.
  const direct: SessionOptions = { lang: "python", extraCaCerts: [ca], runtimeConfigs: { network: true, passthrough: { HostConfig: { ExtraHosts: [`${HOST}:${ip}`] } } } };
  const proxied: SessionOptions = { lang: "python", extraCaCerts: [ca], runtimeConfigs: { network: policy } };
  const withSecret: SessionOptions = { lang: "python", extraCaCerts: [ca], runtimeConfigs: { network: { ...policy, secrets } } };

  const floor = await withFloorContainer(async (floorContainer) => ({
    execPython: await samples(RUNS, () => rawExec(floorContainer, ["python3", "-c", "print(1)"])),
    runTrue: await samples(Math.max(5, RUNS / 3), dockerRunTrue),
  }));
  const opens = Math.max(5, Math.ceil(RUNS / 3));
  const openNone = await samples(opens, () => openClose({ lang: "python", runtimeConfigs: { network: false } }));
  const openPolicy = await samples(opens, () => openClose({ lang: "python", runtimeConfigs: { network: allowed } }));
  const openNetwork = await samples(opens, () => openClose({ lang: "python", runtimeConfigs: { network: true } }));
  const plain = await measureRequests(direct, "other");
  const tunnel = await measureRequests(proxied, "other");
  const opened = await measureRequests(withSecret, "real");

  const floorExec = ms(floor.execPython).p50;
  const floorRun = ms(floor.runTrue).p50;
  const times = (values: number[], base: number, what: string) => `${(ms(values).p50 / base).toFixed(2)}× ${what}`;
  const added = (values: number[]) => Math.round(ms(values).p50 - ms(openNone).p50);
  const open = (values: number[], compared = true) => ({
    ...ms(values),
    ratio: compared ? `${times(values, ms(openNone).p50, "network: false")} (${added(values) < 0 ? "" : "+"}${added(values)} ms)` : "",
    "vs floor": times(values, floorRun, "docker run"),
  });
  const request = (values: number[], direct?: number[]) => ({ ...ms(values), ratio: direct ? times(values, ms(direct).p50, "direct") : "", "vs floor": times(values, floorExec, "python exec") });
  printTable(`Egress policy vs a networked session vs engine floor (${RUNS} requests per row, ${opens} opens, ms)`, [
    { what: "floor: raw exec `python3 -c print(1)`", ...ms(floor.execPython) },
    { what: "floor: docker run --rm IMAGE true (API)", ...ms(floor.runTrue) },
    { what: "open+close, network: false", ...open(openNone, false) },
    { what: "open+close, network: true", ...open(openNetwork) },
    { what: "open+close, policy (allow + hosts)", ...open(openPolicy) },
    { what: "HTTPS GET, direct (network: true)", ...request(plain.https) },
    { what: "HTTPS GET via proxy (CONNECT tunnel)", ...request(tunnel.https, plain.https) },
    { what: "HTTPS GET via proxy, secret (TLS opened)", ...request(opened.https, plain.https) },
    { what: "HTTP GET, direct (network: true)", ...request(plain.http) },
    { what: "HTTP GET via proxy", ...request(tunnel.http, plain.http) },
    { what: "HTTP GET via proxy, secret substituted", ...request(opened.http, plain.http) },
  ]);
});
