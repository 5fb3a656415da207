import type Docker from "dockerode";
import { LABELS } from "../../packages/core/src/internal/labels.js";
import { ownerGone } from "../../packages/core/src/host/cleanup.js";

/** Labelled containers created since `sinceSeconds` whose owning process (on this host) no longer runs. */
export async function leakedContainers(docker: Docker, sinceSeconds: number): Promise<Docker.ContainerInfo[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`] } });
  return containers.filter((c) => c.Created >= sinceSeconds && ownerGone(c.Labels).gone);
}
