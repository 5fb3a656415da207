/**
 * The Pod a Kubernetes session runs in: our secure defaults from the engine-neutral ContainerSpec, with the user's
 * `podManifest` merged over them. Pure data; no I/O.
 */
import { ValidationError } from "../errors.js";
import type { ContainerSpec } from "./backend.js";
import { GVISOR_RUNTIME_CLASS } from "./gvisor.js";
import { LABELS } from "../internal/labels.js";
import { leaseAnnotation } from "./kube-lease.js";
import { networkPolicyManifest, RELAY_CONTAINER, relayContainer, relayPodSpec } from "./kube-relay.js";

type Json = Record<string, unknown>;

/** Name of the sandbox container in pods we create (a user's manifest may name it otherwise). */
const SANDBOX_CONTAINER = "sandbox";
/** The init container that copies the image's files into the in-memory volumes (a tmpfs hides them). */
const SEED_CONTAINER = "llm-sandbox-seed";
const SEED_ROOT = "/llm-sandbox-seed";
/**
 * Copies each directory's entries (not the directory itself: the volume's root is not ours to retime) into its
 * volume. A file it cannot read is reported in the pod's log and left out; the pod still starts.
 */
const SEED_SCRIPT = `for p; do
  [ -d "$p" ] || continue
  for f in "$p"/* "$p"/.[!.]* "$p"/..?*; do
    if [ -e "$f" ] || [ -L "$f" ]; then cp -a "$f" "${SEED_ROOT}$p/" || echo "llm-sandbox: could not copy $f" >&2; fi
  done
done
exit 0`;
/** Seconds past the sandbox's lifetime before the kubelet stops the pod (the session, when alive, stops it first). */
export const DEADLINE_SLACK_SECONDS = 60;
/** kubectl's annotation for the container `kubectl exec` and `kubectl logs` pick. */
export const DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container";
/** The id of the create call that made the pod: a repeated POST recognises its own pod by it. */
export const CREATE_ANNOTATION = "org.llm-sandbox.create-id";

export interface PodRequest {
  readonly name: string;
  /** Unique to this create call (see CREATE_ANNOTATION). */
  readonly createId: string;
  readonly namespace: string;
  readonly spec: ContainerSpec;
  readonly podManifest?: Readonly<Json>;
  readonly envVars?: Readonly<Record<string, string>>;
  /** Seconds of the owner's first lease on the pod (kube-lease.ts). */
  readonly leaseSeconds: number;
}

export interface PodPlan {
  readonly manifest: Json;
  /** The container commands run in. */
  readonly container: string;
  /** The pod's RuntimeClass, when it names one (ours or the podManifest's). */
  readonly runtimeClass?: string;
  /** Network mode "relayed": the NetworkPolicy to create before the pod (kube-relay.ts). */
  readonly policy?: Json;
}

/** The numeric uid and gid of a session user ("1000", "1000:1000"); Kubernetes has no user names. */
export function numericUser(user: string): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) throw new ValidationError(`Kubernetes needs a numeric user (uid or uid:gid), not ${JSON.stringify(user)}`);
  const uid = Number(match[1]);
  return { uid, gid: match[2] === undefined ? uid : Number(match[2]) };
}

/** A label value as Kubernetes accepts it: at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** CPU cores as a Kubernetes quantity ("1", "500m"). */
const cpuQuantity = (cores: number) => (Number.isInteger(cores) ? String(cores) : `${Math.max(1, Math.round(cores * 1000))}m`);

export function planPod({ name, createId, namespace, spec, podManifest = {}, envVars = {}, leaseSeconds }: PodRequest): PodPlan {
  const { uid, gid } = numericUser(spec.user);
  const mounts = Object.entries(spec.tmpfs).map(([path, bytes], index) => ({ path, bytes, volume: `llm-sandbox-fs-${index}` }));
  const containerSecurity = {
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: spec.readOnlyRootfs,
  };
  const limits: Json = {
    ...(spec.cpus ? { cpu: cpuQuantity(spec.cpus) } : {}),
    ...(spec.memoryBytes ? { memory: String(spec.memoryBytes) } : {}),
  };
  // Requests well below the limits: sandboxes are mostly idle, and a 1-CPU request each would crowd a cluster.
  const requests: Json = {
    cpu: spec.cpus && spec.cpus < 0.1 ? cpuQuantity(spec.cpus) : "100m",
    memory: String(Math.min(spec.memoryBytes ?? Infinity, 256 * 1024 ** 2)),
  };
  const resources = { limits, requests };

  const theirSpec = (podManifest.spec as Json | undefined) ?? {};
  const userContainers = asArray(theirSpec.containers, "spec.containers");
  const userSandbox = userContainers.find((c) => c.name === SANDBOX_CONTAINER) ?? userContainers[0];
  const container = typeof userSandbox?.name === "string" ? userSandbox.name : SANDBOX_CONTAINER;
  const runtimeClass = podRuntimeClass(spec, theirSpec.runtimeClassName);

  const sandbox: Json = {
    name: SANDBOX_CONTAINER,
    image: spec.image,
    imagePullPolicy: "IfNotPresent",
    // Our PID 1 unless the manifest brings its own: it reaps orphans and stops at once on TERM.
    ...(userSandbox?.command || userSandbox?.args ? {} : { command: [...spec.init] }),
    workingDir: spec.workdir,
    env: Object.entries({ ...spec.env, ...envVars }).map(([key, value]) => ({ name: key, value })),
    resources,
    securityContext: containerSecurity,
    volumeMounts: mounts.map((m) => ({ name: m.volume, mountPath: m.path })),
  };
  const seed: Json[] = mounts.length
    ? [
        {
          name: SEED_CONTAINER,
          image: (userSandbox?.image as string | undefined) ?? spec.image,
          imagePullPolicy: "IfNotPresent",
          command: ["/bin/sh", "-c", SEED_SCRIPT, "seed", ...mounts.map((m) => m.path)],
          resources,
          securityContext: containerSecurity,
          volumeMounts: mounts.map((m) => ({ name: m.volume, mountPath: `${SEED_ROOT}${m.path}` })),
        },
      ]
    : [];

  const defaults: Json = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, annotations: { [DEFAULT_CONTAINER_ANNOTATION]: container } },
    spec: {
      restartPolicy: "Never",
      ...(runtimeClass ? { runtimeClassName: runtimeClass } : {}),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      // Later than the session's own expiry (it starts once the pod runs): this one is for an owner that died.
      ...(spec.lifetimeSeconds ? { activeDeadlineSeconds: Math.ceil(spec.lifetimeSeconds) + DEADLINE_SLACK_SECONDS } : {}),
      securityContext: {
        runAsUser: uid,
        runAsGroup: gid,
        runAsNonRoot: uid !== 0,
        fsGroup: gid,
        seccompProfile: { type: "RuntimeDefault" },
      },
      initContainers: seed,
      containers: [sandbox],
      volumes: mounts.map((m) => ({ name: m.volume, emptyDir: { medium: "Memory", sizeLimit: String(m.bytes) } })),
    },
  };

  const merged = merge(defaults, podManifest, "");
  const metadata = merged.metadata as Json;
  const ours = Object.fromEntries(Object.entries(spec.labels).map(([key, value]) => [key, labelValue(value)]));
  // Ours last: the session's identity and ownership labels are how leaks are found.
  metadata.labels = { ...(metadata.labels as Json | undefined), ...ours };
  metadata.annotations = { ...(metadata.annotations as Json | undefined), [CREATE_ANNOTATION]: createId, ...leaseAnnotation(leaseSeconds) };
  metadata.namespace = namespace;
  const named = runtimeClass ? { runtimeClass } : {};
  if (spec.network.mode !== "relayed") return { manifest: merged, container, ...named };

  // Also over the podManifest: what keeps a relayed pod's traffic on the relay.
  const podSpec = merged.spec as Json;
  podSpec.containers = [...asArray(podSpec.containers, ".spec.containers").filter((c) => c.name !== RELAY_CONTAINER), relayContainer(spec, spec.network.relay)];
  relayPodSpec(podSpec);
  // The policy selects this pod alone: by this create's id (and the session, when there is one).
  const selector = { [LABELS.relay]: createId, ...(ours[LABELS.session] ? { [LABELS.session]: ours[LABELS.session] } : {}) };
  metadata.labels = { ...(metadata.labels as Json), [LABELS.relay]: createId };
  const relayLabels = Object.fromEntries(Object.entries(spec.network.relay.labels).map(([key, value]) => [key, labelValue(value)]));
  return { manifest: merged, container, ...named, policy: networkPolicyManifest(name, namespace, { ...ours, ...relayLabels }, selector) };
}

/**
 * The pod's runtimeClassName: what the session asked for (`runtime`, else "gvisor" for isolation "gvisor"), else the
 * podManifest's. Both, and different, is refused: silently running under another runtime than the one asked for
 * would weaken (or change) the isolation the caller chose.
 */
function podRuntimeClass(spec: ContainerSpec, theirs: unknown): string | undefined {
  if (theirs !== undefined && (typeof theirs !== "string" || !theirs)) throw new ValidationError("podManifest: spec.runtimeClassName must be a non-empty string");
  const ours = spec.runtime ?? (spec.isolation === "gvisor" ? GVISOR_RUNTIME_CLASS : undefined);
  if (ours && theirs && ours !== theirs) {
    throw new ValidationError(
      `podManifest sets spec.runtimeClassName ${JSON.stringify(theirs)} but the session asks for ${JSON.stringify(ours)} ` +
        `(runtimeConfigs.${spec.runtime ? "runtime" : "isolation"}): set one of them`,
    );
  }
  return ours ?? theirs;
}

/** Lists merged item by item, matched by a key. */
const KEYED_LISTS: Readonly<Record<string, string>> = {
  ".spec.initContainers": "name",
  ".spec.volumes": "name",
  ".spec.containers[].env": "name",
  ".spec.containers[].volumeMounts": "mountPath",
  ".spec.initContainers[].env": "name",
  ".spec.initContainers[].volumeMounts": "mountPath",
};

/** `over` merged into `base`: objects key by key, keyed lists item by item, anything else replaced. */
function merge(base: Json, over: Json, path: string): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const here = `${path}.${key}`;
    const current = out[key];
    const listKey = KEYED_LISTS[here];
    if (here === ".spec.containers") out[key] = mergeContainers(asArray(current, here), asArray(value, here));
    else if (listKey) out[key] = mergeKeyed(asArray(current, here), asArray(value, here), listKey, here);
    else if (isObject(current) && isObject(value)) out[key] = merge(current, value, here);
    else out[key] = value;
  }
  return out;
}

/** The user's sandbox container (named "sandbox", else their first) merges into ours; the others stay as given. */
function mergeContainers(ours: Json[], theirs: Json[]): Json[] {
  if (theirs.length === 0) return ours;
  const named = theirs.findIndex((c) => c.name === SANDBOX_CONTAINER);
  const index = named >= 0 ? named : 0;
  return theirs.map((container, i) => (i === index ? merge(ours[0] ?? {}, container, ".spec.containers[]") : container));
}

function mergeKeyed(ours: Json[], theirs: Json[], key: string, path: string): Json[] {
  const out = [...ours];
  for (const item of theirs) {
    const at = out.findIndex((existing) => existing[key] !== undefined && existing[key] === item[key]);
    if (at >= 0) out[at] = merge(out[at]!, item, `${path}[]`);
    else out.push(item);
  }
  return out;
}

function asArray(value: unknown, path: string): Json[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isObject)) throw new ValidationError(`podManifest: ${path.slice(1)} must be a list of objects`);
  return value;
}

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);


interface ContainerStatus {
  name: string;
  image?: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: object;
    terminated?: { exitCode?: number; reason?: string; message?: string };
  };
}

interface ContainerObject {
  name: string;
  image?: string;
  securityContext?: { runAsUser?: number; runAsGroup?: number };
}

/** The parts of a Pod object the backend reads. */
export interface PodObject {
  metadata?: { name?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    containers?: ContainerObject[];
    initContainers?: ContainerObject[];
    securityContext?: { runAsUser?: number; runAsGroup?: number };
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}

/** Waiting reasons that do not get better by waiting longer (the kubelet only backs off). */
const IMAGE_FAILURES = new Set(["ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"]);
const START_FAILURES = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff"]);

export type PodProgress =
  | { readonly state: "running" }
  | { readonly state: "waiting"; readonly message: string }
  | { readonly state: "failed"; readonly message: string; readonly image?: string };

/** Where a starting pod stands: running (`container` can exec), still on its way, or failed for good. */
export function podProgress(pod: PodObject, container: string): PodProgress {
  const status = pod.status ?? {};
  const specOf = (name: string) => [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
  for (const [init, list] of [[true, status.initContainerStatuses], [false, status.containerStatuses]] as const) {
    for (const item of list ?? []) {
      const waiting = item.state?.waiting;
      const what = `${init ? "init container" : "container"} ${item.name}`;
      if (waiting?.reason && IMAGE_FAILURES.has(waiting.reason)) {
        const image = specOf(item.name)?.image ?? item.image ?? "";
        return { state: "failed", message: `${what}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`, image };
      }
      if (waiting?.reason && START_FAILURES.has(waiting.reason)) {
        return { state: "failed", message: `${what}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}` };
      }
      const ended = item.state?.terminated;
      if (ended && (ended.exitCode !== 0 || !init)) {
        return {
          state: "failed",
          message: `${what} ended (exit code ${ended.exitCode ?? "?"}${ended.reason ? `, ${ended.reason}` : ""})${ended.message ? `: ${ended.message}` : ""}`,
        };
      }
    }
  }
  if (status.phase === "Failed" || status.phase === "Succeeded") {
    return { state: "failed", message: `pod ${status.phase}${status.reason ? ` (${status.reason})` : ""}${status.message ? `: ${status.message}` : ""}` };
  }
  const ours = status.containerStatuses?.find((c) => c.name === container);
  if (status.phase === "Running" && ours?.state?.running) return { state: "running" };
  const unscheduled = status.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  const waiting = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]
    .map((c) => c.state?.waiting?.reason)
    .filter(Boolean);
  return {
    state: "waiting",
    message: [
      `phase ${status.phase ?? "unknown"}`,
      ...(unscheduled ? [`not scheduled: ${unscheduled.reason ?? ""}${unscheduled.message ? ` ${unscheduled.message}` : ""}`] : []),
      ...(waiting.length ? [`waiting: ${waiting.join(", ")}`] : []),
    ].join("; "),
  };
}
