import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ContainerError, ImagePullError, SandboxError, SandboxTimeoutError } from "../errors.js";
import { KubeApiError, kubeRequest, type KubeTarget, podPath, podsPath } from "./kube-client.js";
import { CREATE_ANNOTATION, podProgress, type PodObject } from "./kube-pod.js";
import { missingRuntimeClass, missingRuntimeHandler, type PodRuntime } from "./kube-runtime-class.js";

/**
 * A pod's life through the API server's REST endpoints: create (retried safely), wait until it runs (failing early,
 * with its events), delete and wait until it is gone, and the last-resort delete at process exit.
 */

/** How often a waiting pod's events are read for a node that lacks its RuntimeClass's handler. */
const RUNTIME_CHECK_MS = 2000;
/** Seconds between TERM and KILL when a pod is deleted (our PID 1 stops at once on TERM). */
const DELETE_GRACE_SECONDS = 1;
const GONE_TIMEOUT_MS = 60_000;

export function readPod(target: KubeTarget, namespace: string, name: string): Promise<PodObject> {
  return kubeRequest<PodObject>(target.config, { method: "GET", path: podPath(namespace, name), idempotent: true });
}

/** POST, retried only because a repeat is recognisable: a 409 for a pod carrying this create's id is ours. */
export async function createPod(
  target: KubeTarget,
  namespace: string,
  name: string,
  manifest: object,
  createId: string,
  runtime?: PodRuntime,
): Promise<PodObject> {
  try {
    return await kubeRequest<PodObject>(target.config, {
      method: "POST",
      path: podsPath(namespace),
      // The server refuses fields it does not know (a misspelt podManifest key) instead of dropping them.
      query: { fieldValidation: "Strict" },
      body: manifest,
      idempotent: true,
    });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 409) {
      const existing = await readPod(target, namespace, name).catch(() => undefined);
      if (existing?.metadata?.annotations?.[CREATE_ANNOTATION] === createId) return existing;
      throw new ContainerError(`A pod named ${name} already exists in namespace ${namespace}`, { cause: error });
    }
    const missing = missingRuntimeClass(error, runtime);
    if (missing) throw missing;
    throw apiError(`Cannot create pod ${name} in namespace ${namespace}`, error);
  }
}

/**
 * Polls until the pod runs; fails early on states that do not get better by waiting, with the pod's events (among
 * them a node without the handler of the pod's RuntimeClass).
 */
export async function waitRunning(
  target: KubeTarget,
  namespace: string,
  name: string,
  container: string,
  timeout: number,
  runtime?: PodRuntime,
): Promise<PodObject> {
  const deadline = Date.now() + timeout * 1000;
  let runtimeChecked = Date.now();
  for (let delay = 200; ; delay = Math.min(delay * 1.5, 1000)) {
    let pod: PodObject;
    try {
      pod = await readPod(target, namespace, name);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) throw new ContainerError(`Pod ${name} was deleted while it started`);
      throw apiError(`Cannot read pod ${name}`, error);
    }
    const progress = podProgress(pod, container);
    if (progress.state === "running") return pod;
    if (progress.state === "failed") {
      const events = await podEvents(target, namespace, name);
      if (progress.image) {
        const pull = events.find((e) => /^Failed to pull image|^Failed to inspect image|pull access denied/i.test(e.message));
        const reason = pull?.message.replace(/^Failed to pull image "[^"]*":\s*/, "") ?? progress.message;
        throw new ImagePullError(progress.image, `${reason}${formatEvents(events)}`);
      }
      throw new ContainerError(`Pod ${name} cannot start: ${progress.message}${formatEvents(events)}`);
    }
    if (runtime && Date.now() - runtimeChecked >= RUNTIME_CHECK_MS) {
      runtimeChecked = Date.now();
      const missing = missingRuntimeHandler(await podEvents(target, namespace, name), runtime);
      if (missing) throw missing;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const events = await podEvents(target, namespace, name);
      const missing = missingRuntimeHandler(events, runtime);
      if (missing) throw missing;
      throw new SandboxTimeoutError(`Pod ${name} did not start within ${timeout} seconds (${progress.message})${formatEvents(events)}`, timeout);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
  }
}

export async function podEvents(target: KubeTarget, namespace: string, name: string): Promise<PodEvent[]> {
  const list = await kubeRequest<{ items?: PodEvent[] }>(target.config, {
    method: "GET",
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
    query: { fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` },
    idempotent: true,
  }).catch(() => ({ items: [] }));
  const at = (e: PodEvent) => e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? "";
  return (list.items ?? []).sort((a, b) => at(a).localeCompare(at(b)));
}

/** Deletes and waits until the pod is gone (its containers stopped), so "closed" means nothing runs. */
export async function deletePod(target: KubeTarget, namespace: string, name: string): Promise<void> {
  try {
    await kubeRequest(target.config, {
      method: "DELETE",
      path: podPath(namespace, name),
      query: { gracePeriodSeconds: DELETE_GRACE_SECONDS },
      idempotent: true,
    });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return;
    throw apiError(`Cannot delete pod ${name}`, error);
  }
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      await readPod(target, namespace, name);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return;
      throw apiError(`Cannot read pod ${name}`, error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** At process exit: one DELETE from a child process (credentials and all, as client-node applies them). */
export function deletePodSync(target: KubeTarget, namespace: string, name: string): void {
  spawnSync(process.execPath, ["--input-type=module", "-e", REMOVE_SCRIPT], {
    // From here the optional package resolves as it does for this module.
    cwd: dirname(fileURLToPath(import.meta.url)),
    input: JSON.stringify({ config: target.config.exportConfig(), namespace, name, grace: DELETE_GRACE_SECONDS }),
    timeout: 10_000,
    stdio: ["pipe", "ignore", "ignore"],
  });
}

function formatEvents(events: readonly PodEvent[]): string {
  if (events.length === 0) return "";
  return `\nPod events:\n${events.map((e) => `  ${e.type ?? ""} ${e.reason ?? ""}: ${e.message}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ""}`).join("\n")}`;
}

export function apiError(what: string, error: unknown): SandboxError {
  if (SandboxError.isInstance(error)) return error;
  return new ContainerError(`${what}: ${(error as Error).message}`, { cause: error });
}

interface PodEvent {
  type?: string;
  reason?: string;
  message: string;
  count?: number;
  lastTimestamp?: string;
  firstTimestamp?: string;
  eventTime?: string;
  metadata?: { creationTimestamp?: string };
}

/** Executed by a child process at exit: one DELETE through client-node's credentials. */
const REMOVE_SCRIPT = `
import http from "node:http";
import https from "node:https";
let input = ""; for await (const chunk of process.stdin) input += chunk;
const { config, namespace, name, grace } = JSON.parse(input);
const { KubeConfig } = await import("@kubernetes/client-node");
const kc = new KubeConfig(); kc.loadFromString(config);
const url = new URL(kc.getCurrentCluster().server.replace(/\\/+$/, "") + "/api/v1/namespaces/" + encodeURIComponent(namespace) + "/pods/" + encodeURIComponent(name) + "?gracePeriodSeconds=" + grace);
const options = { method: "DELETE" };
await kc.applyToHTTPSOptions(options);
await new Promise((resolve) => {
  const req = (url.protocol === "https:" ? https : http).request(url, options, (res) => { res.resume(); res.on("end", resolve); });
  req.on("error", resolve); req.end();
});`;
