/**
 * A Kubernetes API server for the tests, speaking the real wire protocol for what the kubernetes backend uses:
 * REST with JSON and `metav1.Status` errors for pods, events, networkpolicies and runtimeclasses (node.k8s.io/v1:
 * get, list, create, delete; the cluster starts with `gvisor`, handler runsc), and exec over WebSocket with the channel framing of
 * `v5.channel.k8s.io` (incl. the client's close-stdin signal) and `v4.channel.k8s.io`: an empty first message on the
 * lowest output channel, stdout 1, stderr 2, the exit status as a `metav1.Status` on channel 3, then close.
 * Commands run in real Docker containers (cluster.ts). Plain HTTP with a bearer token (kubeconfig
 * `insecure-skip-tls-verify`): no TLS.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import { type WebSocket, WebSocketServer } from "ws";
import { FrameDemuxer } from "../../packages/core/src/backends/docker-frames.js";
import { ApiFailure, FakeCluster } from "./cluster.js";

export const V5 = "v5.channel.k8s.io";
export const V4 = "v4.channel.k8s.io";

export interface KubeFixtureOptions {
  readonly docker: Docker;
  /** Exec protocols the server accepts, in no order (the client's order decides, as in the API server). */
  readonly protocols?: readonly string[];
  /** What RBAC denies the fixture's user, as "verb resource" ("create networkpolicies"): answered 403 Forbidden. */
  readonly forbidden?: readonly string[];
}

const VERBS: Record<string, string> = { GET: "get", POST: "create", PATCH: "patch", DELETE: "delete" };

export interface KubeFixture {
  readonly url: string;
  /** A kubeconfig file pointing at the fixture (context namespace "llm-sandbox-test"). */
  readonly kubeconfig: string;
  readonly token: string;
  readonly cluster: FakeCluster;
  /** Stops serving, removes every pod and Docker object left; returns the pods that were left. */
  stop(): Promise<string[]>;
}

const json = (res: ServerResponse, code: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
};

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  code,
});

export async function startKubeFixture(options: KubeFixtureOptions): Promise<KubeFixture> {
  const id = randomBytes(6).toString("hex");
  const token = `fixture-${randomBytes(12).toString("hex")}`;
  const allowed = options.protocols ?? [V5, V4];
  const cluster = new FakeCluster(options.docker, id);
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered].find((p) => allowed.includes(p)) ?? false });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof ApiFailure) return json(res, error.code, status(error.code, error.reason, error.message));
      json(res, 500, status(500, "InternalError", `Internal error occurred: ${(error as Error).message}`));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${token}`) throw new ApiFailure(401, "Unauthorized", "Unauthorized");
    const url = new URL(req.url ?? "/", "http://fixture");
    const body = await readBody(req);
    const policies = /^\/apis\/networking\.k8s\.io\/v1(?:\/namespaces\/([^/]+))?\/networkpolicies(?:\/([^/]+))?$/.exec(url.pathname);
    if (policies) return handlePolicies(req, res, url, body, policies[1] && decodeURIComponent(policies[1]), policies[2] && decodeURIComponent(policies[2]));
    const runtimeClass = /^\/apis\/node\.k8s\.io\/v1\/runtimeclasses(?:\/([^/]+))?$/.exec(url.pathname);
    if (runtimeClass) return handleRuntimeClasses(req, res, body, runtimeClass[1] && decodeURIComponent(runtimeClass[1]));
    const route = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(pods|events)(?:\/([^/]+))?(\/exec)?$/.exec(url.pathname);
    if (!route) throw new ApiFailure(404, "NotFound", "the server could not find the requested resource");
    const [, namespace, kind, name, exec] = route;
    const ns = namespace && decodeURIComponent(namespace);
    if (exec) throw new ApiFailure(400, "BadRequest", "Upgrade request required");
    if (kind === "events" && !name && req.method === "GET") {
      return json(res, 200, { kind: "EventList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: cluster.listEvents(ns, url.searchParams.get("fieldSelector") ?? undefined) });
    }
    if (kind === "pods" && !name && req.method === "GET") {
      return json(res, 200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: cluster.listPods(ns, url.searchParams.get("labelSelector") ?? undefined) });
    }
    if (kind === "pods" && !name && req.method === "POST" && ns) {
      let manifest: Record<string, unknown>;
      try {
        manifest = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
      } catch (error) {
        throw new ApiFailure(400, "BadRequest", `Pod in version "v1" cannot be handled as a Pod: ${(error as Error).message}`);
      }
      return json(res, 201, cluster.createPod(ns, manifest, url.searchParams.get("fieldValidation") === "Strict"));
    }
    if (kind === "pods" && name && ns && req.method === "GET") return json(res, 200, cluster.readPod(ns, decodeURIComponent(name)));
    if (kind === "pods" && name && ns && req.method === "PATCH") {
      if (req.headers["content-type"] !== "application/merge-patch+json") {
        throw new ApiFailure(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (in this fixture)`);
      }
      return json(res, 200, cluster.patchPod(ns, decodeURIComponent(name), JSON.parse(body.toString("utf8"))));
    }
    if (kind === "pods" && name && ns && req.method === "DELETE") {
      const options = body.length ? (JSON.parse(body.toString("utf8")) as { gracePeriodSeconds?: number }) : {};
      const query = url.searchParams.get("gracePeriodSeconds");
      return json(res, 200, cluster.deletePod(ns, decodeURIComponent(name), query !== null ? Number(query) : options.gracePeriodSeconds));
    }
    throw new ApiFailure(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
  }

  function handlePolicies(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, ns: string | undefined, name: string | undefined): void {
    const verb = req.method === "GET" && !name ? "list" : (VERBS[req.method ?? ""] ?? "");
    if (options.forbidden?.includes(`${verb} networkpolicies`)) {
      const scope = ns ? ` in the namespace "${ns}"` : " at the cluster scope";
      throw new ApiFailure(403, "Forbidden", `networkpolicies.networking.k8s.io is forbidden: User "fixture" cannot ${verb} resource "networkpolicies" in API group "networking.k8s.io"${scope}`);
    }
    const parse = () => {
      try {
        return JSON.parse(body.toString("utf8")) as Record<string, any>;
      } catch (error) {
        throw new ApiFailure(400, "BadRequest", `NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: ${(error as Error).message}`);
      }
    };
    const store = cluster.policies;
    if (!name && verb === "list") {
      const items = store.list(ns, url.searchParams.get("labelSelector") ?? undefined);
      return json(res, 200, { kind: "NetworkPolicyList", apiVersion: "networking.k8s.io/v1", metadata: { resourceVersion: "1" }, items });
    }
    if (!name && ns && verb === "create") return json(res, 201, store.create(ns, parse(), url.searchParams.get("fieldValidation") === "Strict"));
    if (name && ns && verb === "get") return json(res, 200, store.read(ns, name));
    if (name && ns && verb === "patch") {
      if (req.headers["content-type"] !== "application/merge-patch+json") {
        throw new ApiFailure(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (in this fixture)");
      }
      return json(res, 200, store.patch(ns, name, parse()));
    }
    if (name && ns && verb === "delete") return json(res, 200, store.delete(ns, name));
    throw new ApiFailure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }

  function handleRuntimeClasses(req: IncomingMessage, res: ServerResponse, body: Buffer, name: string | undefined): void {
    const store = cluster.runtimeClasses;
    if (!name && req.method === "GET") {
      return json(res, 200, { kind: "RuntimeClassList", apiVersion: "node.k8s.io/v1", metadata: { resourceVersion: "1" }, items: store.list() });
    }
    if (!name && req.method === "POST") {
      let manifest: Record<string, unknown>;
      try {
        manifest = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
      } catch (error) {
        throw new ApiFailure(400, "BadRequest", `RuntimeClass in version "v1" cannot be handled as a RuntimeClass: ${(error as Error).message}`);
      }
      return json(res, 201, store.create(manifest));
    }
    if (name && req.method === "GET") return json(res, 200, store.read(name));
    if (name && req.method === "DELETE") return json(res, 200, store.delete(name));
    throw new ApiFailure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (code: number, reason: string, message: string) => {
      const text = JSON.stringify(status(code, reason, message));
      socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    };
    if (req.headers.authorization !== `Bearer ${token}`) return refuse(401, "Unauthorized", "Unauthorized");
    const url = new URL(req.url ?? "/", "http://fixture");
    const route = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    if (!route) return refuse(404, "NotFound", "the server could not find the requested resource");
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (!offered.some((p) => allowed.includes(p))) return refuse(400, "BadRequest", "requested protocol(s) are not supported");
    const flags = (key: string) => url.searchParams.get(key) === "true" || url.searchParams.get(key) === "1";
    const command = url.searchParams.getAll("command");
    if (command.length === 0) return refuse(400, "BadRequest", "you must specify at least 1 command");
    let containerId: string;
    try {
      containerId = cluster.execTarget(decodeURIComponent(route[1]!), decodeURIComponent(route[2]!), url.searchParams.get("container") ?? undefined);
    } catch (error) {
      if (error instanceof ApiFailure) return refuse(error.code, error.reason, error.message);
      return refuse(500, "InternalError", (error as Error).message);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.once("close", () => sockets.delete(ws));
      void runExec(options.docker, ws, containerId, command, { stdin: flags("stdin"), stdout: flags("stdout"), stderr: flags("stderr") }).catch(
        (error: unknown) => {
          sendStatus(ws, internalError((error as Error).message));
          ws.close(1000);
        },
      );
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), "kube-fixture-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: fixture",
      "  cluster:",
      `    server: ${url}`,
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: fixture",
      "  user:",
      `    token: ${token}`,
      "contexts:",
      "- name: fixture",
      "  context:",
      "    cluster: fixture",
      "    user: fixture",
      "    namespace: llm-sandbox-test",
      "current-context: fixture",
      "",
    ].join("\n"),
  );

  return {
    url,
    kubeconfig,
    token,
    cluster,
    async stop() {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const left = await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
      return left;
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const frame = (channel: number, data: Uint8Array = new Uint8Array()) => Buffer.concat([Buffer.from([channel]), data]);

function sendStatus(ws: WebSocket, body: object): void {
  if (ws.readyState === ws.OPEN) ws.send(frame(3, Buffer.from(JSON.stringify(body))));
}

const internalError = (message: string) => ({
  metadata: {},
  status: "Failure",
  message: `Internal error occurred: error executing command in container: ${message}`,
  reason: "InternalError",
  details: { causes: [{ message: `error executing command in container: ${message}` }] },
  code: 500,
});

/** What the kubelet does for one exec: the process's streams over the socket, then its status. */
async function runExec(
  docker: Docker,
  ws: WebSocket,
  containerId: string,
  command: string[],
  streams: { stdin: boolean; stdout: boolean; stderr: boolean },
): Promise<void> {
  // The client may write stdin at once: hold it until the process is there.
  const early: Buffer[] = [];
  const hold = (data: Buffer) => early.push(data);
  ws.on("message", hold);
  const exec = await docker.getContainer(containerId).exec({
    Cmd: command,
    AttachStdin: streams.stdin,
    AttachStdout: streams.stdout,
    AttachStderr: streams.stderr,
    Tty: false,
  });
  const stream = (await exec.start({ hijack: true, stdin: streams.stdin })) as Duplex;
  // The API server's "connected" signal: an empty message on the lowest writable channel.
  ws.send(frame(streams.stdout ? 1 : streams.stderr ? 2 : 3));
  let startFailure: string | undefined;
  let first = true;
  const demux = new FrameDemuxer((which, payload) => {
    const text = first ? Buffer.from(payload).toString("utf8") : "";
    first = false;
    // Docker reports a command that cannot start as output; the kubelet reports it in the status only.
    if (/^OCI runtime exec failed/.test(text)) {
      startFailure = text.trim();
      return;
    }
    if (ws.readyState === ws.OPEN) ws.send(frame(which === "stdout" ? 1 : 2, payload));
  });
  const protocol = ws.protocol;
  const receive = (data: Buffer) => {
    const channel = data[0];
    if (channel === 0) stream.write(data.subarray(1));
    else if (channel === 255 && protocol === V5 && data[1] === 0) stream.end();
  };
  ws.off("message", hold);
  for (const data of early) receive(data);
  ws.on("message", receive);
  // The client going away does not stop the process (as on a real cluster); only its streams go.
  ws.on("close", () => stream.destroy());
  await new Promise<void>((resolve) => {
    stream.on("data", (chunk: Buffer) => demux.push(chunk));
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
  if (ws.readyState !== ws.OPEN) return;
  let exitCode: number | null = null;
  for (let i = 0; i < 500 && exitCode === null; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) exitCode = info.ExitCode;
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (startFailure) sendStatus(ws, internalError(startFailure));
  else if (exitCode === 0) sendStatus(ws, { metadata: {}, status: "Success" });
  else {
    sendStatus(ws, {
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${exitCode}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
    });
  }
  ws.close(1000);
}
