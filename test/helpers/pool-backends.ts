import { readFileSync } from "node:fs";
import type Docker from "dockerode";
import type { SessionOptions } from "@llm-sandbox/core";
import { engineClient, podmanClient } from "@llm-sandbox/core/backends";
import { LABELS } from "../../packages/core/src/internal/labels.js";
import { fixtureApi, suiteFixture } from "../kube-fixture/api.js";

/** A backend the pool tests run on, with the ways a test looks at its sandboxes behind the pool's back. */
export interface PoolBackend {
  readonly name: string;
  readonly options: Pick<SessionOptions, "backend" | "client" | "kubeConfig" | "podManifest">;
  /** Whether a container reset through plain execs (no warm Python) is reused rather than replaced. */
  readonly plainResetReuses: boolean;
  /** Ids (container ids, pod names) of the sandboxes the pool `poolId` holds. */
  sandboxes(poolId: string): Promise<string[]>;
  exists(id: string): Promise<boolean>;
  /** Kills a sandbox the way a crash would. */
  kill(id: string): Promise<void>;
}

const engineBackend = (name: string, options: PoolBackend["options"], docker: Docker): PoolBackend => ({
  name,
  options,
  plainResetReuses: true,
  sandboxes: async (poolId) => (await docker.listContainers({ all: true, filters: { label: [`${LABELS.pool}=${poolId}`] } })).map((c) => c.Id),
  exists: (id) => docker.getContainer(id).inspect().then(() => true, () => false),
  kill: async (id) => void (await docker.getContainer(id).kill()),
});

/** Pods of the API-server fixture, which runs each pod as a Docker container. */
function kubernetesBackend(): PoolBackend {
  const fixture = suiteFixture();
  const api = fixtureApi(fixture);
  const docker = engineClient();
  return {
    name: "kubernetes",
    options: {
      backend: "kubernetes",
      kubeConfig: fixture.kubeconfig,
      // The local package indexes listen on this host, which the pods know by the name the Docker sandboxes use.
      podManifest: { spec: { hostAliases: [{ ip: fixture.hostAddress, hostnames: ["host.docker.internal"] }] } },
    },
    // The fixture's pods run on this kernel: its Yama setting decides whether a reset as the pod's user is safe.
    plainResetReuses: yamaPtraceScope() >= 1,
    sandboxes: async (poolId) => (await api.listPods(`${LABELS.pool}=${poolId}`)).map((pod: { metadata: { name: string } }) => pod.metadata.name),
    exists: async (id) => (await api.readPod(id)) !== undefined,
    kill: async (id) => {
      const [container] = await docker.listContainers({ filters: { label: [`io.kubernetes.pod.name=${id}`] } });
      if (container) await docker.getContainer(container.Id).kill();
    },
  };
}

function yamaPtraceScope(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/yama/ptrace_scope", "utf8").trim());
  } catch {
    return 0;
  }
}

/**
 * The backends the pool tests run on. A pool is one implementation above the backend interface, so every backend
 * must pass the same tests.
 */
export const POOL_BACKENDS: readonly PoolBackend[] = [
  engineBackend("docker", {}, engineClient()),
  engineBackend("podman", { backend: "podman", client: podmanClient() }, podmanClient()),
  kubernetesBackend(),
];
