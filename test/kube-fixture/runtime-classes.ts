/**
 * The fixture's RuntimeClasses (node.k8s.io/v1, cluster-scoped): created, read, listed and deleted with the API's
 * validation. The cluster starts with one, `gvisor` with handler `runsc`, as a cluster with gVisor installed has.
 * What a handler means to the fixture's kubelet (a Docker runtime) is in `dockerRuntime`.
 */
import { randomUUID } from "node:crypto";
import { GVISOR_NETWORKED_RUNTIME, GVISOR_RUNTIME_CLASS } from "../../packages/core/src/backends/gvisor.js";
import { ApiFailure } from "./cluster.js";

type Json = Record<string, any>;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Docker runtime a handler runs containers with: runsc is `--network=host` gVisor, because a pod's containers
 * join the pause container's network namespace (gVisor's own network stack would give each container one of its
 * own, and the pod's containers could not reach each other on 127.0.0.1); runc is Docker's default; any other
 * handler is looked for by its name.
 */
export const dockerRuntime = (handler: string): string | undefined =>
  handler === "runsc" ? GVISOR_NETWORKED_RUNTIME : handler === "runc" ? undefined : handler;

export class RuntimeClasses {
  readonly #items = new Map<string, Json>();

  constructor(
    readonly version: () => string,
    readonly now: () => string,
  ) {
    this.create({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: GVISOR_RUNTIME_CLASS }, handler: "runsc" });
  }

  create(body: Json): Json {
    if (body?.kind !== "RuntimeClass" || body?.apiVersion !== "node.k8s.io/v1") throw new ApiFailure(400, "BadRequest", "the object provided is not a node.k8s.io/v1 RuntimeClass");
    const name = body.metadata?.name;
    const invalid = (message: string) => new ApiFailure(422, "Invalid", `RuntimeClass.node.k8s.io "${name ?? ""}" is invalid: ${message}`);
    if (typeof name !== "string" || !DNS_SUBDOMAIN.test(name)) throw invalid(`metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    if (typeof body.handler !== "string" || !DNS_LABEL.test(body.handler)) throw invalid(`handler: Invalid value: "${body.handler}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`);
    if (this.#items.has(name)) throw new ApiFailure(409, "AlreadyExists", `runtimeclasses.node.k8s.io "${name}" already exists`);
    const item = structuredClone(body);
    item.metadata = { ...item.metadata, uid: randomUUID(), resourceVersion: this.version(), creationTimestamp: this.now() };
    this.#items.set(name, item);
    return item;
  }

  /** The class, or undefined (for admission and the kubelet). */
  find(name: string): Json | undefined {
    return this.#items.get(name);
  }

  read(name: string): Json {
    const item = this.#items.get(name);
    if (!item) throw new ApiFailure(404, "NotFound", `runtimeclasses.node.k8s.io "${name}" not found`);
    return item;
  }

  list(): Json[] {
    return [...this.#items.values()];
  }

  delete(name: string): Json {
    const item = this.read(name);
    this.#items.delete(name);
    return item;
  }
}
