/**
 * The fixture's NetworkPolicies (networking.k8s.io/v1): stored with the API's validation, listed by label selector,
 * patched (metadata only), deleted, and garbage-collected with the pod that owns them (ownerReferences). The kubelet
 * (cluster.ts) enforces them the simple way: a pod that a policy denies all egress (`policyTypes` with Egress and
 * an empty `egress`) gets a network namespace with no network; anything else leaves the pod's network as it is.
 */
import { randomUUID } from "node:crypto";
import { ApiFailure, selector } from "./cluster.js";

type Json = Record<string, any>;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Fields the API knows (for fieldValidation=Strict). */
const KNOWN: Record<string, readonly string[]> = {
  "": ["apiVersion", "kind", "metadata", "spec", "status"],
  metadata: ["name", "generateName", "namespace", "labels", "annotations", "ownerReferences", "finalizers", "uid", "resourceVersion", "creationTimestamp"],
  spec: ["podSelector", "policyTypes", "ingress", "egress"],
};

export class NetworkPolicies {
  readonly #items = new Map<string, Json>();

  constructor(
    readonly namespaces: ReadonlySet<string>,
    readonly version: () => string,
    readonly now: () => string,
  ) {}

  create(namespace: string, body: Json, strict: boolean): Json {
    if (!this.namespaces.has(namespace)) throw new ApiFailure(404, "NotFound", `namespaces "${namespace}" not found`);
    validate(body, strict);
    if (body.metadata.namespace && body.metadata.namespace !== namespace) {
      throw new ApiFailure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
    const name = body.metadata.name as string;
    const key = `${namespace}/${name}`;
    if (this.#items.has(key)) throw new ApiFailure(409, "AlreadyExists", `networkpolicies.networking.k8s.io "${name}" already exists`);
    const policy = structuredClone(body);
    policy.metadata = { ...policy.metadata, namespace, uid: randomUUID(), resourceVersion: this.version(), generation: 1, creationTimestamp: this.now() };
    // The API server's defaulting: no policyTypes means Ingress, plus Egress when egress rules are given.
    policy.spec.policyTypes ??= ["Ingress", ...(policy.spec.egress ? ["Egress"] : [])];
    this.#items.set(key, policy);
    return policy;
  }

  read(namespace: string, name: string): Json {
    const policy = this.#items.get(`${namespace}/${name}`);
    if (!policy) throw new ApiFailure(404, "NotFound", `networkpolicies.networking.k8s.io "${name}" not found`);
    return policy;
  }

  list(namespace: string | undefined, labelSelector: string | undefined): Json[] {
    const matches = selector(labelSelector);
    return [...this.#items.values()].filter((p) => (namespace === undefined || p.metadata.namespace === namespace) && matches(p.metadata.labels ?? {}));
  }

  /** A JSON merge patch of metadata labels, annotations and ownerReferences (what the fixture's clients change). */
  patch(namespace: string, name: string, patch: Json): Json {
    const policy = this.read(namespace, name);
    const { metadata = {}, ...rest } = patch ?? {};
    const { labels, annotations, ownerReferences, ...other } = metadata as Json;
    if (Object.keys(rest).length || Object.keys(other).length) {
      throw new ApiFailure(422, "Invalid", `NetworkPolicy "${name}" is invalid: the fixture patches only metadata labels, annotations and ownerReferences`);
    }
    for (const [field, changes] of [["labels", labels], ["annotations", annotations]] as const) {
      if (changes === undefined) continue;
      const merged: Json = { ...(policy.metadata[field] ?? {}) };
      for (const [key, value] of Object.entries((changes ?? {}) as Json)) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      policy.metadata[field] = merged;
    }
    if (ownerReferences !== undefined) {
      for (const ref of ownerReferences ?? []) {
        if (!ref.apiVersion || !ref.kind || !ref.name || !ref.uid) {
          throw new ApiFailure(422, "Invalid", `NetworkPolicy "${name}" is invalid: metadata.ownerReferences: apiVersion, kind, name and uid are required`);
        }
      }
      policy.metadata.ownerReferences = ownerReferences;
    }
    policy.metadata.resourceVersion = this.version();
    return policy;
  }

  delete(namespace: string, name: string): Json {
    const policy = this.read(namespace, name);
    this.#items.delete(`${namespace}/${name}`);
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: "networking.k8s.io", kind: "networkpolicies", uid: policy.metadata.uid } };
  }

  /** The garbage collector: a deleted pod's dependents go with it. */
  ownerDeleted(uid: string): void {
    for (const [key, policy] of this.#items) {
      if ((policy.metadata.ownerReferences ?? []).some((ref: Json) => ref.uid === uid)) this.#items.delete(key);
    }
  }

  /** Whether the policies selecting this pod deny it all egress (and none allows any). */
  deniesEgress(pod: Json): boolean {
    const selecting = [...this.#items.values()].filter(
      (p) => p.metadata.namespace === pod.metadata.namespace && p.spec.policyTypes.includes("Egress") && selects(p.spec.podSelector, pod.metadata.labels ?? {}),
    );
    return selecting.length > 0 && selecting.every((p) => (p.spec.egress ?? []).length === 0);
  }
}

/** A LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); empty selects every pod. */
function selects(podSelector: Json, labels: Record<string, string>): boolean {
  const exact = Object.entries((podSelector.matchLabels ?? {}) as Record<string, string>).every(([key, value]) => labels[key] === value);
  return (
    exact &&
    ((podSelector.matchExpressions ?? []) as Json[]).every(({ key, operator, values = [] }) => {
      if (operator === "In") return values.includes(labels[key]);
      if (operator === "NotIn") return !values.includes(labels[key]);
      if (operator === "Exists") return key in labels;
      return !(key in labels);
    })
  );
}

function validate(body: Json, strict: boolean): void {
  const name = body?.metadata?.name;
  const invalid = (message: string) => new ApiFailure(422, "Invalid", `NetworkPolicy.networking.k8s.io "${name ?? ""}" is invalid: ${message}`);
  if (body?.kind !== "NetworkPolicy" || body?.apiVersion !== "networking.k8s.io/v1") {
    throw new ApiFailure(400, "BadRequest", "the object provided is not a networking.k8s.io/v1 NetworkPolicy");
  }
  if (strict) {
    const unknown = (path: string, object: Json | undefined, known: readonly string[]) =>
      Object.keys(object ?? {}).filter((k) => !known.includes(k)).map((k) => `${path}${path ? "." : ""}${k}`);
    const fields = [...unknown("", body, KNOWN[""]!), ...unknown("metadata", body.metadata, KNOWN.metadata!), ...unknown("spec", body.spec, KNOWN.spec!)];
    if (fields.length) {
      throw new ApiFailure(400, "BadRequest", `NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(", ")}`);
    }
  }
  if (typeof name !== "string" || !DNS_SUBDOMAIN.test(name)) throw invalid(`metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
  for (const [key, value] of Object.entries((body.metadata.labels ?? {}) as Record<string, unknown>)) {
    if (!LABEL_NAME.test(key)) throw invalid(`metadata.labels: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`);
    if (typeof value !== "string" || !LABEL_VALUE.test(value)) throw invalid(`metadata.labels: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`);
  }
  const spec = body.spec;
  if (typeof spec !== "object" || spec === null) throw invalid("spec: Required value");
  if (typeof spec.podSelector !== "object" || spec.podSelector === null) throw invalid("spec.podSelector: Required value");
  for (const [key, value] of Object.entries((spec.podSelector.matchLabels ?? {}) as Record<string, unknown>)) {
    if (!LABEL_NAME.test(key) || typeof value !== "string" || !LABEL_VALUE.test(value)) throw invalid(`spec.podSelector.matchLabels: Invalid value: "${key}=${String(value)}"`);
  }
  for (const [i, type] of ((spec.policyTypes ?? []) as unknown[]).entries()) {
    if (type !== "Ingress" && type !== "Egress") throw invalid(`spec.policyTypes[${i}]: Unsupported value: "${String(type)}": supported values: "Egress", "Ingress"`);
  }
  for (const field of ["ingress", "egress"]) {
    if (spec[field] !== undefined && spec[field] !== null && !Array.isArray(spec[field])) throw invalid(`spec.${field}: Invalid value: must be a list`);
  }
}
