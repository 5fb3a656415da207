/**
 * Isolation "gvisor" on Kubernetes, against the API-server fixture: the pod names the RuntimeClass gvisor and its
 * code runs on gVisor's kernel (the fixture runs it with runsc); a RuntimeClass the cluster lacks, or whose handler
 * the node lacks, is a MissingDependencyError saying what to install; a relayed session works under gVisor too.
 */
import { randomBytes } from "node:crypto";
import { release } from "node:os";
import { createSession, MissingDependencyError, type SandboxSession } from "@llm-sandbox/core";
import { engineClient } from "@llm-sandbox/core/backends";
import { afterAll, describe, expect, it } from "vitest";
import { GVISOR_NETWORKED_RUNTIME } from "../../packages/core/src/backends/gvisor.js";
import { LABELS } from "../../packages/core/src/internal/labels.js";
import { fixtureApi, suiteFixture } from "../kube-fixture/api.js";

const fixture = suiteFixture();
const api = fixtureApi(fixture);
const docker = engineClient();
const kube = { backend: "kubernetes", kubeConfig: fixture.kubeconfig, lang: "python" } as const;
/** gVisor reports this kernel whatever the host runs. */
const GVISOR_KERNEL = "Linux version 4.4.0";

const kernelOf = async (session: SandboxSession) => (await session.run("print(open('/proc/version').read().strip())")).stdout;
/** The Docker runtime of each of the pod's containers (the fixture's kubelet labels them with the pod's name). */
async function runtimesOf(pod: string): Promise<Record<string, string>> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`io.kubernetes.pod.name=${pod}`] } });
  const inspected = await Promise.all(containers.map((c) => docker.getContainer(c.Id).inspect()));
  return Object.fromEntries(inspected.map((c) => [c.Name.replace(/^\/kubefix-.*?-(sandbox|relay|llm-sandbox-seed)-[0-9a-f]{8}$/, "$1"), c.HostConfig.Runtime ?? ""]));
}

describe("kubernetes: isolation gvisor", () => {
  const sessions: SandboxSession[] = [];
  afterAll(() => Promise.all(sessions.map((s) => s.close())));
  const open = (options: Parameters<typeof createSession>[0]) => {
    const session = createSession(options);
    sessions.push(session);
    return session.open();
  };

  it("the fixture has the RuntimeClass gvisor, handler runsc", async () => {
    const { status, json } = await api.call("GET", "/apis/node.k8s.io/v1/runtimeclasses");
    expect(status).toBe(200);
    expect(json.items.map((c: any) => [c.metadata.name, c.handler])).toEqual([["gvisor", "runsc"]]);
    expect((await api.call("GET", "/apis/node.k8s.io/v1/runtimeclasses/gvisor")).json.handler).toBe("runsc");
  });

  it("runs Python in a pod of RuntimeClass gvisor, on gVisor's kernel; a default session runs on the host's", async () => {
    const [gvisor, plain] = await Promise.all([open({ ...kube, runtimeConfigs: { isolation: "gvisor" } }), open(kube)]);
    expect((await api.readPod(gvisor.containerId!)).spec.runtimeClassName).toBe("gvisor");
    expect("runtimeClassName" in (await api.readPod(plain.containerId!)).spec).toBe(false);
    expect(await kernelOf(gvisor)).toContain(GVISOR_KERNEL);
    const host = await kernelOf(plain);
    expect(host).toContain(`Linux version ${release()}`);
    expect(host).not.toContain(GVISOR_KERNEL);
    expect((await gvisor.run("print(sum(range(10)))")).stdout).toBe("45\n");
    const runtimes = await runtimesOf(gvisor.containerId!);
    expect(runtimes.sandbox).toBe(GVISOR_NETWORKED_RUNTIME);
    expect(runtimes["llm-sandbox-seed"]).toBe(GVISOR_NETWORKED_RUNTIME);
  });

  it("a RuntimeClass the cluster does not have is a MissingDependencyError saying what to create; no pod is left", async () => {
    const session = createSession({ ...kube, runtimeConfigs: { isolation: "gvisor", runtime: "no-such-class" } });
    const error = await session.open().catch((e: unknown) => e);
    expect(MissingDependencyError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('pod rejected: RuntimeClass "no-such-class" not found');
    expect((error as Error).message).toContain("name: no-such-class\nhandler: runsc");
    expect(await api.listPods(`${LABELS.session}=${session.id}`)).toEqual([]);
  });

  it("a RuntimeClass whose handler the node lacks fails open() early (not at podStartTimeout), and the pod is deleted", async () => {
    const name = `nohandler-${randomBytes(3).toString("hex")}`;
    const created = await api.call("POST", "/apis/node.k8s.io/v1/runtimeclasses", { apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name }, handler: "no-such-handler" });
    expect(created.status).toBe(201);
    try {
      const session = createSession({ ...kube, podStartTimeout: 60, runtimeConfigs: { isolation: "gvisor", runtime: name } });
      const started = Date.now();
      const error = await session.open().catch((e: unknown) => e);
      expect(MissingDependencyError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain('no runtime for "no-such-handler" is configured');
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(await api.listPods(`${LABELS.session}=${session.id}`)).toEqual([]);
    } finally {
      await api.call("DELETE", `/apis/node.k8s.io/v1/runtimeclasses/${name}`);
    }
  });

  it("a relayed session (network allow []) opens and runs under gVisor", async () => {
    const session = await open({ ...kube, runtimeConfigs: { isolation: "gvisor", network: { allow: [] } } });
    expect(await kernelOf(session)).toContain(GVISOR_KERNEL);
    const runtimes = await runtimesOf(session.containerId!);
    expect(runtimes.relay).toBe(GVISOR_NETWORKED_RUNTIME);
    // A name the policy does not allow, looked up (the relay is the name server) and asked for through the proxy.
    const lookup = await session.run(
      "import socket\ntry:\n    print(socket.getaddrinfo('example.com', 443))\nexcept OSError as e:\n    print('refused', type(e).__name__)",
    );
    const web = await session.run(
      "import urllib.request, urllib.error\ntry:\n    urllib.request.urlopen('http://example.com/', timeout=30)\nexcept urllib.error.HTTPError as e:\n    print('status', e.code, e.read()[:200])\nexcept Exception as e:\n    print('error', type(e).__name__, e)",
    );
    // Both reached the relay (another gVisor kernel, over the pod's 127.0.0.1), which asked the library.
    expect(lookup.stdout).toBe("refused gaierror\n");
    expect(lookup.network).toEqual([expect.objectContaining({ host: "example.com", kind: "dns", allowed: false })]);
    expect(web.stdout).toMatch(/^status 403 .*example\.com:80 is not allowed/);
    expect(web.network).toEqual([expect.objectContaining({ host: "example.com", kind: "http", allowed: false })]);
  });
});
