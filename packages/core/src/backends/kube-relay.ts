/**
 * Network mode "relayed" on Kubernetes: the pod gets a second container, the relay, in the pod's one network
 * namespace (every container of a pod shares it), and the pod's name server is 127.0.0.1 (the relay). A NetworkPolicy
 * that selects only this pod denies it all egress: the relay reaches the library through the API server's exec
 * stream, so the pod needs no network at all. The policy is created before the pod, owned by the pod once it exists
 * (the cluster's garbage collector then deletes it with the pod), and deleted with the pod.
 */
import { ContainerError, PermissionDeniedError } from "../errors.js";
import { LABELS } from "../internal/labels.js";
import type { ContainerSpec, RelaySpec } from "./backend.js";
import { KubeApiError, kubeRequest, type KubeTarget } from "./kube-client.js";

type Json = Record<string, unknown>;

/** The relay's container in a relayed pod. */
export const RELAY_CONTAINER = "relay";

const API_GROUP = "networking.k8s.io";
export const policiesPath = (namespace: string): string => `/apis/${API_GROUP}/v1/namespaces/${encodeURIComponent(namespace)}/networkpolicies`;
const policyPath = (namespace: string, name: string) => `${policiesPath(namespace)}/${encodeURIComponent(name)}`;

/** The relay container: root with only the capability to bind low ports (53, 80, 443), nothing writable, small. */
export function relayContainer(spec: ContainerSpec, relay: RelaySpec): Json {
  return {
    name: RELAY_CONTAINER,
    image: relay.image,
    imagePullPolicy: "IfNotPresent",
    command: [...spec.init],
    resources: { limits: { cpu: "500m", memory: String(128 * 1024 ** 2) }, requests: { cpu: "10m", memory: String(32 * 1024 ** 2) } },
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      readOnlyRootFilesystem: true,
    },
  };
}

/**
 * What a relayed pod's spec must say, over anything a podManifest says: a process namespace per container (sandbox
 * code cannot see the relay's), the name server is the relay, names are looked up as given (ndots 0: no search
 * domains tried), and only the relay may bind low ports (a runtime may let anyone bind them;
 * `ip_unprivileged_port_start` is a namespaced, safe sysctl).
 */
export function relayPodSpec(podSpec: Json): void {
  podSpec.shareProcessNamespace = false;
  podSpec.dnsPolicy = "None";
  podSpec.dnsConfig = { nameservers: ["127.0.0.1"], options: [{ name: "ndots", value: "0" }] };
  const security = (podSpec.securityContext ?? {}) as Json;
  const sysctls = ((security.sysctls ?? []) as Json[]).filter((s) => s.name !== "net.ipv4.ip_unprivileged_port_start");
  podSpec.securityContext = { ...security, sysctls: [...sysctls, { name: "net.ipv4.ip_unprivileged_port_start", value: "1024" }] };
}

/** The deny-all-egress policy for the pod carrying `selector` (labels only that pod has). */
export function networkPolicyManifest(name: string, namespace: string, labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): Json {
  return {
    apiVersion: `${API_GROUP}/v1`,
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels: { ...labels } },
    spec: { podSelector: { matchLabels: { ...selector } }, policyTypes: ["Egress"], egress: [] },
  };
}

/** Creates the policy; a repeat of this create (same name, same relay selector) is fine. */
export async function createNetworkPolicy(target: KubeTarget, namespace: string, manifest: Json): Promise<void> {
  const name = (manifest.metadata as { name: string }).name;
  try {
    await kubeRequest(target.config, { method: "POST", path: policiesPath(namespace), query: { fieldValidation: "Strict" }, body: manifest, idempotent: true });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 403) throw denied("create", namespace, error);
    if (error instanceof KubeApiError && error.status === 409) {
      const existing = await kubeRequest<Json>(target.config, { method: "GET", path: policyPath(namespace, name), idempotent: true }).catch(() => undefined);
      const wanted = (manifest.spec as { podSelector: { matchLabels: Json } }).podSelector.matchLabels[LABELS.relay];
      const found = (existing?.spec as { podSelector?: { matchLabels?: Json } } | undefined)?.podSelector?.matchLabels?.[LABELS.relay];
      if (found !== undefined && found === wanted) return;
    }
    throw new ContainerError(`Cannot create NetworkPolicy ${name} in namespace ${namespace}: ${(error as Error).message}`, { cause: error });
  }
}

/** Makes the pod the policy's owner, so the cluster deletes the policy with the pod whoever deletes that. */
export async function adoptNetworkPolicy(target: KubeTarget, namespace: string, name: string, pod: { name: string; uid: string }): Promise<void> {
  await kubeRequest(target.config, {
    method: "PATCH",
    path: policyPath(namespace, name),
    body: { metadata: { ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: pod.name, uid: pod.uid }] } },
    idempotent: true,
  }).catch((error: unknown) => {
    if (error instanceof KubeApiError && error.status === 403) throw denied("patch", namespace, error);
    throw new ContainerError(`Cannot make pod ${pod.name} the owner of NetworkPolicy ${name}: ${(error as Error).message}`, { cause: error });
  });
}

/** What RBAC refused, said with what the mode needs. */
function denied(verb: string, namespace: string, error: KubeApiError): PermissionDeniedError {
  const permission = `${verb} networkpolicies (API group ${API_GROUP}) in namespace ${namespace}`;
  return new PermissionDeniedError(
    permission,
    `Network mode "relayed" needs the permission to ${permission} (it creates, patches, lists and deletes them): ${error.message}`,
    { cause: error },
  );
}

/** Deletes the policy (gone already is fine). */
export async function deleteNetworkPolicy(target: KubeTarget, namespace: string, name: string): Promise<void> {
  try {
    await kubeRequest(target.config, { method: "DELETE", path: policyPath(namespace, name), idempotent: true });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return;
    throw new ContainerError(`Cannot delete NetworkPolicy ${name}: ${(error as Error).message}`, { cause: error });
  }
}
