import type Docker from "dockerode";
import { engineClient, podmanClient, type SessionOptions } from "@llm-sandbox/core";
import { LABELS } from "../../packages/core/src/internal/labels.js";

/** A backend the pool tests run on, with the ways a test looks at its sandboxes behind the pool's back. */
export interface PoolBackend {
  readonly name: string;
  readonly options: Pick<SessionOptions, "backend" | "client" | "kubeConfig">;
  /** Ids (container ids, pod names) of the sandboxes the pool `poolId` holds. */
  sandboxes(poolId: string): Promise<string[]>;
  exists(id: string): Promise<boolean>;
  /** Kills a sandbox the way a crash would. */
  kill(id: string): Promise<void>;
}

const engineBackend = (name: string, options: PoolBackend["options"], docker: Docker): PoolBackend => ({
  name,
  options,
  sandboxes: async (poolId) => (await docker.listContainers({ all: true, filters: { label: [`${LABELS.pool}=${poolId}`] } })).map((c) => c.Id),
  exists: (id) => docker.getContainer(id).inspect().then(() => true, () => false),
  kill: async (id) => void (await docker.getContainer(id).kill()),
});

/**
 * The backends the pool tests run on. A pool is one implementation above the backend interface, so every backend
 * must pass the same tests.
 */
export const POOL_BACKENDS: readonly PoolBackend[] = [
  engineBackend("docker", {}, engineClient()),
  engineBackend("podman", { backend: "podman", client: podmanClient() }, podmanClient()),
];
