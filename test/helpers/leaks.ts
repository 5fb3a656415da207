import type Docker from "dockerode";
import { LABELS } from "../../packages/core/src/internal/labels.js";
import { ownerGone } from "../../packages/core/src/host/cleanup.js";

const labelled = (docker: Docker) => docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`] } });

/**
 * Labelled sandboxes created since `sinceSeconds` whose owning process (on this host) no longer runs. Reapers are
 * not sandboxes: they outlive their owner by their grace period on purpose (see reapersOfGoneOwners).
 */
export async function leakedContainers(docker: Docker, sinceSeconds: number): Promise<Docker.ContainerInfo[]> {
  return (await labelled(docker)).filter((c) => c.Created >= sinceSeconds && !c.Labels[LABELS.reaper] && ownerGone(c.Labels).gone);
}

/** Reaper containers whose owner process is gone: each must remove its owner's leftovers and then itself. */
export async function reapersOfGoneOwners(docker: Docker): Promise<Docker.ContainerInfo[]> {
  return (await labelled(docker)).filter((c) => c.Labels[LABELS.reaper] && ownerGone(c.Labels).gone);
}
