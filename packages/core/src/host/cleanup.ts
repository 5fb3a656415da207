import { hostname } from "node:os";
import type Docker from "dockerode";
import { connectKube, KubeApiError, type KubeConnectOptions, kubeRequest, podPath, podsPath } from "../backends/kube-client.js";
import { leaseVerdict } from "../backends/kube-lease.js";
import { labelValue, type PodObject } from "../backends/kube-pod.js";
import { policiesPath } from "../backends/kube-relay.js";
import { LABELS } from "../internal/labels.js";
import { silentLogger, type Logger } from "../internal/logger.js";

export interface CleanupOptions {
  /** Remove every labelled resource, including those of live processes. */
  readonly all?: boolean;
  /** Only report what would be removed. */
  readonly dryRun?: boolean;
  readonly logger?: Logger;
}

export interface SweptResource {
  readonly kind: "container" | "network" | "pod" | "networkpolicy";
  readonly id: string;
  readonly name: string;
  /** Why it is (or would be) removed, or why it was kept. */
  readonly reason: string;
}

export interface CleanupReport {
  /** Removed, or with dryRun: would be removed. */
  readonly removed: SweptResource[];
  readonly kept: SweptResource[];
  readonly failed: Array<SweptResource & { readonly error: string }>;
}

/**
 * Whether a labelled resource was leaked: its owner process (LABELS.ownerPid on LABELS.ownerHost) is gone. Only
 * owners on this host can be checked; anything else counts as alive.
 */
export function ownerGone(labels: Readonly<Record<string, string>>, host = hostname()): { gone: boolean; reason: string } {
  const ownerHost = labels[LABELS.ownerHost];
  const pid = Number(labels[LABELS.ownerPid]);
  if (!ownerHost || !Number.isInteger(pid) || pid <= 0) return { gone: false, reason: "no owner labels" };
  if (ownerHost !== host) return { gone: false, reason: `owned by a process on ${ownerHost}` };
  return processAlive(pid)
    ? { gone: false, reason: `owner pid ${pid} is alive` }
    : { gone: true, reason: `owner pid ${pid} is gone` };
}

/** Whether a process of this host runs (one we may not signal counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes containers (with their anonymous volumes), then networks, labelled `org.llm-sandbox.managed=true` whose
 * owner process is gone, or all of them with `all`.
 */
export async function cleanupResources(docker: Docker, options: CleanupOptions = {}): Promise<CleanupReport> {
  const filters = { label: [`${LABELS.managed}=true`] };
  const { sweep, report } = sweeper(options);
  // Relays last: Podman removes no container whose network namespace a sandbox still uses.
  const containers = await docker.listContainers({ all: true, filters });
  const relay = (c: Docker.ContainerInfo) => (c.Labels?.[LABELS.relay] === "true" ? 1 : 0);
  for (const c of containers.sort((a, b) => relay(a) - relay(b))) {
    const name = c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
    await sweep("container", c.Id, name, ownerGone(c.Labels ?? {}), () => docker.getContainer(c.Id).remove({ force: true, v: true }));
  }
  for (const n of await docker.listNetworks({ filters })) {
    await sweep("network", n.Id, n.Name, ownerGone(n.Labels ?? {}), () => docker.getNetwork(n.Id).remove());
  }
  return report;
}

/**
 * Deletes the pods labelled `org.llm-sandbox.managed=true` in the namespace whose owner process on this host is
 * gone, or whose owner's lease ran out (judged from any host), or all of them with `all`: pods of sessions whose
 * process was killed, or hangs, before it could delete them. Then the NetworkPolicies of relayed pods that are gone.
 */
export async function cleanupPods(options: CleanupOptions & KubeConnectOptions = {}): Promise<CleanupReport> {
  const target = await connectKube(options);
  const listed = await kubeRequest<{ items?: PodObject[] }>(target.config, {
    method: "GET",
    path: podsPath(target.namespace),
    query: { labelSelector: `${LABELS.managed}=true` },
    idempotent: true,
  });
  const { sweep, report } = sweeper(options);
  // Pod labels hold the host name as Kubernetes accepts label values.
  const host = labelValue(hostname());
  for (const pod of listed.items ?? []) {
    const name = pod.metadata?.name;
    if (!name) continue;
    // Either tells a pod is leaked: its owner on this host is gone, or (wherever and whatever the owner is, even a
    // process that hangs or whose pid was reused) its lease ran out. Kept, it says the lease when it has one.
    const lease = leaseVerdict(pod.metadata?.annotations);
    const owner = ownerGone(pod.metadata?.labels ?? {}, host);
    const verdict = owner.gone || !lease ? owner : lease;
    await sweep("pod", name, `${target.namespace}/${name}`, verdict, () =>
      kubeRequest(target.config, { method: "DELETE", path: podPath(target.namespace, name), query: { gracePeriodSeconds: 0 }, idempotent: true }),
    );
  }
  const swept = new Set(report.removed.map((pod) => pod.name));
  const pods = new Set((listed.items ?? []).map((pod) => `${target.namespace}/${pod.metadata?.name}`).filter((pod) => !swept.has(pod)));
  await sweepPolicies(target, pods, sweep);
  return report;
}

/** A policy is created just before its pod: one without a pod for this long is left over, whoever made it. */
const POLICY_GRACE_MS = 60_000;

/**
 * NetworkPolicies we made for relayed pods (named as their pod) whose pod is gone. A cluster's garbage collector
 * deletes those the pod owned; this finds the rest (the owner died between creating the policy and the pod). Where
 * our credentials may not list policies, nobody here made any: nothing to do.
 */
async function sweepPolicies(target: Awaited<ReturnType<typeof connectKube>>, pods: ReadonlySet<string>, sweep: Sweep): Promise<void> {
  let policies: { items?: Array<{ metadata?: { name?: string; creationTimestamp?: string; labels?: Record<string, string> } }> };
  try {
    policies = await kubeRequest(target.config, { method: "GET", path: policiesPath(target.namespace), query: { labelSelector: `${LABELS.managed}=true` }, idempotent: true });
  } catch (error) {
    if (error instanceof KubeApiError && (error.status === 403 || error.status === 404)) return;
    throw error;
  }
  for (const policy of policies.items ?? []) {
    const name = policy.metadata?.name;
    if (!name) continue;
    const age = Date.now() - Date.parse(policy.metadata?.creationTimestamp ?? "");
    const owner = ownerGone(policy.metadata?.labels ?? {}, labelValue(hostname()));
    const verdict = pods.has(`${target.namespace}/${name}`)
      ? { gone: false, reason: "its pod exists" }
      : owner.gone || age >= POLICY_GRACE_MS
        ? { gone: true, reason: `its pod is gone${owner.gone ? ` (${owner.reason})` : ""}` }
        : { gone: false, reason: "its pod may be being created" };
    await sweep("networkpolicy", name, `${target.namespace}/${name}`, verdict, () =>
      kubeRequest(target.config, { method: "DELETE", path: `${policiesPath(target.namespace)}/${encodeURIComponent(name)}`, idempotent: true }),
    );
  }
}

type Sweep = ReturnType<typeof sweeper>["sweep"];

/** Judges and removes labelled resources one at a time, recording each outcome; "already gone" counts as removed. */
function sweeper(options: CleanupOptions) {
  const logger = options.logger ?? silentLogger;
  const report: CleanupReport = { removed: [], kept: [], failed: [] };
  const sweep = async (kind: SweptResource["kind"], id: string, name: string, owner: { gone: boolean; reason: string }, remove: () => Promise<unknown>) => {
    const verdict = options.all ? { gone: true, reason: "--all" } : owner;
    const resource = { kind, id: id.slice(0, 12), name, reason: verdict.reason };
    if (!verdict.gone) return void report.kept.push(resource);
    if (options.dryRun) return void report.removed.push(resource);
    try {
      await remove();
      report.removed.push(resource);
      logger.info(`removed ${kind} ${name} (${verdict.reason})`);
    } catch (error) {
      const status = (error as { statusCode?: number; status?: number }).statusCode ?? (error as { status?: number }).status;
      if (status === 404) return void report.removed.push(resource);
      report.failed.push({ ...resource, error: (error as Error).message });
      logger.warn(`could not remove ${kind} ${name}: ${(error as Error).message}`);
    }
  };
  return { sweep, report };
}
