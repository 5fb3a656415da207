/**
 * The NetworkPolicy of a relayed pod, against the API-server fixture: it exists before the pod runs, selects exactly
 * that pod and denies all egress, is owned by the pod, goes with it; a missing RBAC permission is a clear error;
 * `cleanupPods` sweeps policies whose pod is gone. (What the pod's network looks like is in relayed.int.test.ts.)
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { PermissionDeniedError } from "@llm-sandbox/core";
import { engineClient, KubernetesBackend } from "@llm-sandbox/core/backends";
import { cleanupPods } from "@llm-sandbox/core/setup";
import { describe, expect, it } from "vitest";
import type { ContainerSpec } from "../../packages/core/src/backends/backend.js";
import { labelValue } from "../../packages/core/src/backends/kube-pod.js";
import { KEEP_ALIVE_COMMAND } from "../../packages/core/src/container/process-control.js";
import { LABELS, ownershipLabels } from "../../packages/core/src/internal/labels.js";
import { fixtureApi, suiteFixture, TEST_NAMESPACE } from "../kube-fixture/api.js";
import { startKubeFixture } from "../kube-fixture/server.js";

const fixture = suiteFixture();
const api = fixtureApi(fixture);
const policies = `/apis/networking.k8s.io/v1/namespaces/${TEST_NAMESPACE}/networkpolicies`;

function relayedSpec(session: string): ContainerSpec {
  return {
    image: "llm-sandbox/base",
    init: KEEP_ALIVE_COMMAND,
    user: "1000:1000",
    workdir: "/sandbox",
    env: {},
    labels: { ...ownershipLabels(session), [LABELS.language]: "bash" },
    readOnlyRootfs: true,
    tmpfs: {},
    network: { mode: "relayed", relay: { image: "llm-sandbox/base", labels: { "org.llm-sandbox.test-relay": "policy" } } },
  };
}

const readPolicy = async (name: string) => {
  const { status, json } = await api.call("GET", `${policies}/${name}`);
  return status === 404 ? undefined : json;
};

const selects = (policy: any, labels: Record<string, string>) =>
  Object.entries(policy.spec.podSelector.matchLabels as Record<string, string>).every(([key, value]) => labels[key] === value);

describe("kubernetes: the NetworkPolicy of a relayed pod", () => {
  it("exists while the pod lives, selects exactly that pod, denies all egress, is owned by the pod, and goes with it", async () => {
    const backend = new KubernetesBackend({ kubeConfig: fixture.kubeconfig });
    const session = `policy${randomBytes(4).toString("hex")}`;
    const [name, other] = await Promise.all([backend.create(relayedSpec(session)), backend.create(relayedSpec(session))]);
    try {
      const pod = await api.readPod(name);
      const policy = await readPolicy(name);
      expect(policy.spec).toEqual({ podSelector: { matchLabels: expect.any(Object) }, policyTypes: ["Egress"], egress: [] });
      expect(selects(policy, pod.metadata.labels)).toBe(true);
      // Not the session's other pod: each pod has a policy of its own.
      expect(selects(policy, (await api.readPod(other)).metadata.labels)).toBe(false);
      expect(policy.metadata.labels).toMatchObject({ [LABELS.managed]: "true", [LABELS.session]: session, "org.llm-sandbox.test-relay": "policy" });
      expect(policy.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Pod", name, uid: pod.metadata.uid }]);
      // The pod: the relay beside the sandbox, its name server the relay.
      expect(pod.spec.dnsPolicy).toBe("None");
      expect(pod.spec.dnsConfig).toEqual({ nameservers: ["127.0.0.1"], options: [{ name: "ndots", value: "0" }] });
      const relay = pod.spec.containers.find((c: { name: string }) => c.name === "relay");
      expect(relay.securityContext).toMatchObject({
        runAsUser: 0,
        runAsNonRoot: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      });

      await backend.remove(name);
      expect(await readPolicy(name)).toBeUndefined();
      // Deleted behind the backend's back, the pod takes its policy along (the garbage collector, by owner).
      await api.deletePod(other);
      expect(await readPolicy(other)).toBeUndefined();
    } finally {
      await Promise.all([backend.remove(name), backend.remove(other)]);
    }
  });

  it("without the permission to create NetworkPolicies, create fails with a PermissionDeniedError naming it; nothing is left", async () => {
    const denied = await startKubeFixture({ docker: engineClient(), forbidden: ["create networkpolicies"] });
    try {
      const backend = new KubernetesBackend({ kubeConfig: denied.kubeconfig });
      const error = await backend.create(relayedSpec(`denied${randomBytes(4).toString("hex")}`)).catch((e: unknown) => e);
      expect(PermissionDeniedError.isInstance(error)).toBe(true);
      expect((error as PermissionDeniedError).permission).toBe(`create networkpolicies (API group networking.k8s.io) in namespace ${TEST_NAMESPACE}`);
      expect((error as Error).message).toContain('cannot create resource "networkpolicies"');
      expect(denied.cluster.podNames()).toEqual([]);
    } finally {
      expect(await denied.stop()).toEqual([]);
    }
  });

  it("cleanupPods deletes policies whose pod is gone and whose owner is gone; keeps those of a pod or of a live owner", async () => {
    const session = `orphans${randomBytes(4).toString("hex")}`;
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const owned = (pid: number) => ({ ...ownershipLabels(session), [LABELS.ownerPid]: String(pid), [LABELS.ownerHost]: labelValue(hostname()) });
    const policy = (name: string, labels: Record<string, string>) => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name, labels },
      spec: { podSelector: { matchLabels: { [LABELS.relay]: name } }, policyTypes: ["Egress"], egress: [] },
    });
    const orphan = `${session}-orphan`;
    const young = `${session}-young`;
    for (const [name, pid] of [[orphan, dead], [young, process.pid]] as const) {
      expect((await api.call("POST", policies, policy(name, owned(pid)))).status).toBe(201);
    }
    const backend = new KubernetesBackend({ kubeConfig: fixture.kubeconfig });
    const pod = await backend.create(relayedSpec(session));
    try {
      const report = await cleanupPods({ kubeConfig: fixture.kubeconfig });
      const removed = report.removed.filter((r) => r.kind === "networkpolicy").map((r) => r.name);
      expect(removed).toContain(`${TEST_NAMESPACE}/${orphan}`);
      expect(removed).not.toContain(`${TEST_NAMESPACE}/${young}`);
      expect(removed).not.toContain(`${TEST_NAMESPACE}/${pod}`);
      expect(await readPolicy(orphan)).toBeUndefined();
      expect(await readPolicy(young)).toBeDefined();
      expect(await readPolicy(pod)).toBeDefined();
    } finally {
      await backend.remove(pod);
      await api.call("DELETE", `${policies}/${young}`);
    }
  });
});
