import { hostname } from "node:os";
import type Docker from "dockerode";
import { LABELS } from "../internal/labels.js";
import { silentLogger, type Logger } from "../internal/logger.js";

export interface CleanupOptions {
  /** Remove every labelled container and network, including those of live processes. */
  readonly all?: boolean;
  /** Only report what would be removed. */
  readonly dryRun?: boolean;
  readonly logger?: Logger;
}

export interface SweptResource {
  readonly kind: "container" | "network";
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
  const logger = options.logger ?? silentLogger;
  const filters = { label: [`${LABELS.managed}=true`] };
  const report: CleanupReport = { removed: [], kept: [], failed: [] };
  const sweep = async (
    kind: SweptResource["kind"],
    id: string,
    name: string,
    labels: Record<string, string>,
    remove: () => Promise<unknown>,
  ) => {
    const verdict = options.all ? { gone: true, reason: "--all" } : ownerGone(labels);
    const resource = { kind, id: id.slice(0, 12), name, reason: verdict.reason };
    if (!verdict.gone) return void report.kept.push(resource);
    if (options.dryRun) return void report.removed.push(resource);
    try {
      await remove();
      report.removed.push(resource);
      logger.info(`removed ${kind} ${name} (${verdict.reason})`);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return void report.removed.push(resource);
      report.failed.push({ ...resource, error: (error as Error).message });
      logger.warn(`could not remove ${kind} ${name}: ${(error as Error).message}`);
    }
  };

  for (const c of await docker.listContainers({ all: true, filters })) {
    const name = c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
    await sweep("container", c.Id, name, c.Labels ?? {}, () => docker.getContainer(c.Id).remove({ force: true, v: true }));
  }
  for (const n of await docker.listNetworks({ filters })) {
    await sweep("network", n.Id, n.Name, n.Labels ?? {}, () => docker.getNetwork(n.Id).remove());
  }
  return report;
}
