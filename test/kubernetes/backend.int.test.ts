/**
 * What only the kubernetes backend does, against the API-server fixture: pods that never start, the pod it
 * creates, podManifest and namespaces, the v4 exec protocol, kubeconfig discovery.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ContainerError,
  createSession,
  EngineUnavailableError,
  ImagePullError,
  SandboxKubernetesSession,
  SandboxTimeoutError,
  ValidationError,
} from "@llm-sandbox/core";
import { engineClient, KubernetesBackend } from "@llm-sandbox/core/backends";
import { cleanupPods } from "@llm-sandbox/core/setup";
import { afterAll, describe, expect, it } from "vitest";
import { LABELS } from "../../packages/core/src/internal/labels.js";
import { fixtureApi, suiteFixture } from "../kube-fixture/api.js";
import { startKubeFixture, V4 } from "../kube-fixture/server.js";
import { upperCaseOverStdin } from "../helpers/stdin.js";

const fixture = suiteFixture();
const api = fixtureApi(fixture);
const docker = engineClient();
const kube = { backend: "kubernetes", kubeConfig: fixture.kubeconfig } as const;

/** Pods and Docker containers of one session: none may be left once it is closed or failed to open. */
async function leftOf(sessionId: string, namespace?: string): Promise<string[]> {
  const pods = await api.listPods(`${LABELS.session}=${sessionId}`, namespace);
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${sessionId}`] } });
  return [...pods.map((p) => `pod ${p.metadata.name}`), ...containers.map((c) => `container ${c.Names[0]}`)];
}

describe("kubernetes: pods that never start", () => {
  it("an image that cannot be pulled fails open() early with the pod's event, and the pod is deleted", async () => {
    const session = new SandboxKubernetesSession({ kubeConfig: fixture.kubeconfig, image: "llm-sandbox/not-there:1", podStartTimeout: 60 });
    const started = Date.now();
    const error = await session.open().catch((e: unknown) => e);
    expect(ImagePullError.isInstance(error)).toBe(true);
    expect((error as ImagePullError).image).toBe("llm-sandbox/not-there:1");
    expect((error as Error).message).toContain('Failed to pull image "llm-sandbox/not-there:1"');
    expect((error as Error).message).toMatch(/Pod events:[\s\S]*BackOff/);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await leftOf(session.id)).toEqual([]);
  });

  it("an unschedulable pod fails open() when podStartTimeout ends, showing the scheduler's event; the pod is deleted", async () => {
    const session = createSession({
      ...kube,
      podStartTimeout: 3,
      podManifest: { spec: { containers: [{ resources: { requests: { cpu: "4096" } } }] } },
    });
    const started = Date.now();
    const error = await session.open().catch((e: unknown) => e);
    expect(SandboxTimeoutError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("did not start within 3 seconds");
    expect((error as Error).message).toMatch(/FailedScheduling: 0\/1 nodes are available: 1 Insufficient cpu/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await leftOf(session.id)).toEqual([]);
  });

  it("a namespace that does not exist is the API's error", async () => {
    const error = await createSession({ ...kube, kubeNamespace: "no-such-namespace" }).open().catch((e: unknown) => e);
    expect(ContainerError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('namespaces "no-such-namespace" not found');
  });

  it("a misspelt podManifest field is refused by the server (strict field validation), not dropped", async () => {
    const error = await createSession({ ...kube, podManifest: { spec: { containers: [{ resorces: {} }] } } })
      .open()
      .catch((e: unknown) => e);
    expect(ContainerError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('unknown field "spec.containers[0].resorces"');
  });
});

describe("kubernetes: sweeping leaked pods", () => {
  it("cleanupPods deletes the pod of a session whose process was SIGKILLed, and keeps pods of live owners", async () => {
    const script = fileURLToPath(new URL("../fixtures/open-session.mjs", import.meta.url));
    const child = spawn(process.execPath, [script], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LLM_SANDBOX_TEST_OPTIONS: JSON.stringify({ backend: "kubernetes", kubeConfig: fixture.kubeconfig }) },
    });
    const pod = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())));
    const live = await createSession(kube).open();
    try {
      child.kill("SIGKILL"); // no chance to delete its pod
      await new Promise((resolve) => child.once("exit", resolve));
      const leaked = (await api.listPods(`${LABELS.managed}=true`)).find((p) => p.metadata.name === pod);
      expect(leaked).toBeDefined();
      const namespace = leaked!.metadata.namespace;
      const report = await cleanupPods({ kubeConfig: fixture.kubeconfig });
      expect(report.removed.map((r) => r.name)).toEqual([`${namespace}/${pod}`]);
      expect(report.kept.map((r) => r.name)).toContain(`${namespace}/${live.containerId}`);
      expect((await api.listPods(`${LABELS.managed}=true`)).map((p) => p.metadata.name)).not.toContain(pod);
    } finally {
      await live.close();
    }
  });
});

describe("kubernetes: the pod a session creates", async () => {
  const session = await new SandboxKubernetesSession({
    kubeConfig: fixture.kubeconfig,
    envVars: { FROM_ENV_VARS: "yes" },
    runtimeConfigs: { env: { FROM_RUNTIME: "also" } },
    labels: { team: "data" },
    podManifest: {
      metadata: { labels: { app: "llm-sandbox" }, annotations: { note: "from the manifest" } },
      spec: { containers: [{ resources: { limits: { memory: "512Mi" } }, env: [{ name: "FROM_MANIFEST", value: "1" }] }] },
    },
  }).open();
  afterAll(() => session.close());
  const pod = await api.readPod(session.containerId!);

  it("is hardened by default: non-root, no privilege escalation, no capabilities, read-only root, no token", () => {
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.enableServiceLinks).toBe(false);
    expect(pod.spec.restartPolicy).toBe("Never");
    const sandbox = pod.spec.containers[0];
    expect(sandbox.securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true });
    expect(pod.spec.volumes).toEqual([
      { name: "llm-sandbox-fs-0", emptyDir: { medium: "Memory", sizeLimit: String(512 * 1024 ** 2) } },
      { name: "llm-sandbox-fs-1", emptyDir: { medium: "Memory", sizeLimit: String(256 * 1024 ** 2) } },
    ]);
  });

  it("has the session's labels, and podManifest merged over the defaults", () => {
    expect(pod.metadata.labels).toMatchObject({ [LABELS.managed]: "true", [LABELS.session]: session.id, team: "data", app: "llm-sandbox" });
    expect(pod.metadata.annotations).toMatchObject({ note: "from the manifest", "kubectl.kubernetes.io/default-container": "sandbox" });
    // The manifest's memory limit replaced the default; the CPU limit stayed.
    expect(pod.spec.containers[0].resources.limits).toEqual({ cpu: "1", memory: "512Mi" });
  });

  it("runs with envVars, runtimeConfigs.env and the manifest's env; no service-account token is mounted", async () => {
    const result = await session.executeCommand('echo "$FROM_ENV_VARS $FROM_RUNTIME $FROM_MANIFEST"; ls /var/run/secrets/kubernetes.io 2>&1');
    expect(result.stdout).toBe("yes also 1\nls: cannot access '/var/run/secrets/kubernetes.io': No such file or directory\n");
  });

  it("(a pod that does not opt out gets a token: the check above can fail)", async () => {
    const name = `with-token-${randomBytes(4).toString("hex")}`;
    await api.runPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { [LABELS.managed]: "true" } },
      spec: { containers: [{ name: "main", image: "llm-sandbox/python:latest", command: ["sleep", "infinity"], securityContext: { runAsUser: 1000 } }] },
    });
    try {
      const chunks: Buffer[] = [];
      const adapter = new KubernetesBackend({ kubeConfig: fixture.kubeconfig });
      await adapter.exec(name, { argv: ["ls", "/var/run/secrets/kubernetes.io/serviceaccount"], onStdout: (c) => chunks.push(Buffer.from(c)) });
      expect(Buffer.concat(chunks).toString()).toContain("token");
    } finally {
      await api.deletePod(name);
    }
  });

  it("has the image's files in the in-memory workdir and /tmp (copied by the init container)", async () => {
    // The python image builds matplotlib's font cache into /tmp at build time.
    const result = await session.executeCommand("ls -A /tmp; mount | grep -c ' /tmp '");
    expect(result.stdout).toContain(".cache");
  });

  it("refuses a step that needs root, which Kubernetes cannot exec as", async () => {
    const adapter = new KubernetesBackend({ kubeConfig: fixture.kubeconfig });
    await expect(adapter.exec(session.containerId!, { argv: ["id"], user: "0" })).rejects.toThrow(/needs root/);
  });
});

describe("kubernetes: namespaces and kubeconfig", () => {
  it("kubeNamespace places the pod; the context's namespace is the default", async () => {
    const inDefault = await createSession({ ...kube, kubeNamespace: "default" }).open();
    try {
      expect(await api.readPod(inDefault.containerId!, "default")).toBeDefined();
      expect(await api.readPod(inDefault.containerId!)).toBeUndefined();
    } finally {
      await inDefault.close();
    }
    expect(await leftOf(inDefault.id, "default")).toEqual([]);
  });

  it("a podManifest's namespace places the pod, and a session attached by pod name finds it there", async () => {
    const owner = await createSession({ ...kube, podManifest: { metadata: { namespace: "default" } } }).open();
    try {
      expect(await api.readPod(owner.containerId!, "default")).toBeDefined();
      const attached = await createSession({ ...kube, podManifest: { metadata: { namespace: "default" } }, containerId: owner.containerId! }).open();
      expect((await attached.run("print('attached')")).stdout).toBe("attached\n");
      await attached.close();
      expect(await api.readPod(owner.containerId!, "default")).toBeDefined();
    } finally {
      await owner.close();
    }
    expect(await leftOf(owner.id, "default")).toEqual([]);
  });

  it("finds the cluster through KUBECONFIG when no kubeConfig is given", async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = fixture.kubeconfig;
    try {
      const session = await createSession({ backend: "kubernetes" }).open();
      expect((await session.run("print('via KUBECONFIG')")).stdout).toBe("via KUBECONFIG\n");
      await session.close();
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it("without any configuration, says how to provide one", async () => {
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME, KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST };
    const home = await mkdtemp(join(tmpdir(), "no-kube-"));
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
    process.env.HOME = home;
    try {
      const error = await createSession({ backend: "kubernetes" }).open().catch((e: unknown) => e);
      expect(EngineUnavailableError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/KUBECONFIG/);
    } finally {
      for (const [key, value] of Object.entries(saved)) if (value === undefined) delete process.env[key];
      else process.env[key] = value;
      await rm(home, { recursive: true, force: true });
    }
  });

  it("an unknown context and wrong credentials are clear errors", async () => {
    const error = await createSession({ ...kube, kubeContext: "nope" }).open().catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("no context nope");
    const dir = await mkdtemp(join(tmpdir(), "bad-token-"));
    try {
      const config = join(dir, "config");
      await writeFile(config, (await readFile(fixture.kubeconfig, "utf8")).replace(fixture.token, "wrong-token"));
      const denied = await createSession({ backend: "kubernetes", kubeConfig: config }).open().catch((e: unknown) => e);
      expect(ContainerError.isInstance(denied)).toBe(true);
      expect((denied as Error).message).toContain("Unauthorized");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("kubernetes: an API server that speaks only v4.channel.k8s.io (before Kubernetes 1.30)", async () => {
  const old = await startKubeFixture({ docker, protocols: [V4] });
  afterAll(async () => expect(await old.stop()).toEqual([]));
  const session = await createSession({ backend: "kubernetes", kubeConfig: old.kubeconfig }).open();
  afterAll(() => session.close());

  it("runs code (stdin ends without closing the connection) and keeps exit codes", async () => {
    const result = await session.run("import sys\nprint(sys.stdin.read() == '', 'ok')\nsys.exit(4)");
    expect(result).toMatchObject({ exitCode: 4, stdout: "True ok\n" });
  });

  it("copies files both ways byte-identically", async () => {
    const dir = await mkdtemp(join(tmpdir(), "v4-copy-"));
    try {
      const data = randomBytes(700_000);
      await writeFile(join(dir, "in.bin"), data);
      await session.copyToRuntime(join(dir, "in.bin"), "in.bin");
      await session.copyFromRuntime("in.bin", join(dir, "out.bin"));
      expect(Buffer.compare(await readFile(join(dir, "out.bin")), data)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("streams stdin in chunks to a long-lived program, answers arriving before stdin ends", async () => {
    const adapter = new KubernetesBackend({ kubeConfig: old.kubeconfig });
    expect(await upperCaseOverStdin(adapter, session.containerId!, ["one\n", "two\n", "three\n"])).toEqual({ exitCode: 0, answers: "ONE\nTWO\nTHREE\n" });
  });
});
