/**
 * The fixture's "cluster": a pod store with the API's validation, a one-node scheduler, and a kubelet that runs
 * each pod's containers as real Docker containers (init containers first, emptyDir volumes as Docker volumes,
 * security context and limits mapped to Docker's), with the pod status and events a kubelet reports.
 *
 * As a kubelet does, each pod has a pod sandbox (a "pause" container) that holds its volumes and its one network
 * namespace, which all its containers join (they reach each other on 127.0.0.1): the pod's host name, hostAliases,
 * name servers (dnsPolicy None with dnsConfig) and sysctls are set there. NetworkPolicies are stored and listed
 * (network-policies.ts); one that denies a pod all egress is enforced the simple way: the pod's namespace gets no
 * network at all. Other policies are stored but not enforced.
 *
 * RuntimeClasses (runtime-classes.ts) are admitted as the API server's RuntimeClass plugin does (a pod naming one
 * that does not exist: 403 Forbidden) and run by handler: a pod of class `gvisor` (handler runsc) runs each of its
 * containers under gVisor (Docker runtime `llm-sandbox-gvisor-net`); a handler the Docker engine lacks leaves the pod
 * Pending with a FailedCreatePodSandBox event. Unlike a real node, each container gets a gVisor kernel of its own
 * (not one per pod), and the pause container stays runc.
 *
 * What it does not do: admission webhooks or other policies (nor a RuntimeClass's overhead and scheduling), real scheduling (one node, a request check), image pulls
 * (an image must already be in the local Docker engine: anything else fails as ErrImagePull), probes, restarts.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { NetworkPolicies } from "./network-policies.js";
import { dockerRuntime, RuntimeClasses } from "./runtime-classes.js";

type Json = Record<string, any>;

/** Labels on every Docker object the fixture creates, so they can be found and removed. */
export const FIXTURE_LABEL = "org.llm-sandbox.kube-fixture";
export const NODE_NAME = "fixture-node";
const SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const NAMESPACES = new Set(["default", "llm-sandbox-test"]);

/** An API error: answered as a metav1.Status with this code and reason. */
export class ApiFailure extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface PodEntry {
  pod: Json;
  /** Docker container ids by container name ("" for the pod sandbox that holds the volumes). */
  containers: Map<string, string>;
  /** Docker volume names by pod volume name. */
  volumes: Map<string, string>;
  /** The kubelet's start of the pod; deletion does not wait for it (it checks `deleting` after each step). */
  starting: Promise<void>;
  deleting: boolean;
}

export class FakeCluster {
  readonly #pods = new Map<string, PodEntry>();
  readonly #events: Json[] = [];
  #version = 1;
  readonly #serviceAccountDir = mkdtempSync(join(tmpdir(), "kube-fixture-sa-"));
  readonly policies = new NetworkPolicies(NAMESPACES, () => String(this.#version++), now);
  readonly runtimeClasses = new RuntimeClasses(() => String(this.#version++), now);
  /** The Docker engine's runtimes, read once (what the node's container runtime has handlers for). */
  #engineRuntimes: Promise<Set<string>> | undefined;

  constructor(
    readonly docker: Docker,
    readonly id: string,
  ) {
    // As a kubelet projects it: readable by the container's user.
    chmodSync(this.#serviceAccountDir, 0o755);
    writeFileSync(join(this.#serviceAccountDir, "token"), "fixture-service-account-token", { mode: 0o644 });
    writeFileSync(join(this.#serviceAccountDir, "namespace"), "default", { mode: 0o644 });
  }

  // ------------------------------------------------------------------ API

  createPod(namespace: string, body: Json, strict: boolean): Json {
    if (!NAMESPACES.has(namespace)) throw new ApiFailure(404, "NotFound", `namespaces "${namespace}" not found`);
    validatePod(body, strict);
    const name = body.metadata.name as string;
    // The RuntimeClass admission plugin: a pod naming a class that does not exist is refused.
    const runtimeClass = body.spec.runtimeClassName;
    if (runtimeClass !== undefined && !this.runtimeClasses.find(runtimeClass)) {
      throw new ApiFailure(403, "Forbidden", `pods "${name}" is forbidden: pod rejected: RuntimeClass "${runtimeClass}" not found`);
    }
    if (body.metadata.namespace && body.metadata.namespace !== namespace) {
      throw new ApiFailure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
    const key = `${namespace}/${name}`;
    if (this.#pods.has(key)) throw new ApiFailure(409, "AlreadyExists", `pods "${name}" already exists`);
    const pod: Json = structuredClone(body);
    pod.metadata = {
      ...pod.metadata,
      namespace,
      uid: randomUUID(),
      resourceVersion: String(this.#version++),
      creationTimestamp: now(),
    };
    pod.spec.restartPolicy ??= "Always";
    pod.spec.terminationGracePeriodSeconds ??= 30;
    pod.status = { phase: "Pending", qosClass: "Burstable", conditions: [] };
    const entry: PodEntry = { pod, containers: new Map(), volumes: new Map(), starting: Promise.resolve(), deleting: false };
    this.#pods.set(key, entry);
    entry.starting = this.#start(entry).catch((error: unknown) => {
      process.stderr.write(`[kube-fixture] ${name}: ${(error as Error).stack ?? error}\n`);
    });
    return pod;
  }

  readPod(namespace: string, name: string): Json {
    return this.#entry(namespace, name).pod;
  }

  /**
   * A JSON merge patch (RFC 7386), as `kubectl annotate` sends one. A pod's metadata labels and annotations may change;
   * anything else is refused as the API server refuses most pod updates.
   */
  patchPod(namespace: string, name: string, patch: Json): Json {
    const entry = this.#entry(namespace, name);
    const { metadata = {}, ...rest } = patch ?? {};
    const { labels, annotations, ...otherMetadata } = metadata as Json;
    if (Object.keys(rest).length || Object.keys(otherMetadata).length) {
      throw new ApiFailure(422, "Invalid", `Pod "${name}" is invalid: spec: Forbidden: pod updates may not change fields other than metadata labels and annotations (in this fixture)`);
    }
    for (const [field, changes] of [["labels", labels], ["annotations", annotations]] as const) {
      if (changes === undefined) continue;
      const merged: Record<string, unknown> = { ...(entry.pod.metadata[field] ?? {}) };
      for (const [key, value] of Object.entries((changes ?? {}) as Json)) {
        if (value === null) delete merged[key];
        else if (typeof value !== "string") throw new ApiFailure(400, "BadRequest", `metadata.${field}.${key}: expected a string`);
        else merged[key] = value;
      }
      entry.pod.metadata[field] = merged;
    }
    this.#touch(entry);
    return entry.pod;
  }

  listPods(namespace: string | undefined, labelSelector: string | undefined): Json[] {
    const matches = selector(labelSelector);
    return [...this.#pods.values()]
      .map((e) => e.pod)
      .filter((pod) => (namespace === undefined || pod.metadata.namespace === namespace) && matches(pod.metadata.labels ?? {}));
  }

  /** Graceful unless the grace period is 0: the object stays, marked, until its containers are gone. */
  deletePod(namespace: string, name: string, gracePeriodSeconds: number | undefined): Json {
    const entry = this.#entry(namespace, name);
    const grace = gracePeriodSeconds ?? entry.pod.spec.terminationGracePeriodSeconds ?? 30;
    if (!entry.deleting) {
      entry.deleting = true;
      entry.pod.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, "Z");
      entry.pod.metadata.deletionGracePeriodSeconds = grace;
      this.#touch(entry);
      const gone = () => {
        this.#pods.delete(`${namespace}/${name}`);
        this.policies.ownerDeleted(entry.pod.metadata.uid);
      };
      if (grace === 0) gone();
      void this.#teardown(entry, grace).then(gone);
    }
    return entry.pod;
  }

  listEvents(namespace: string | undefined, fieldSelector: string | undefined): Json[] {
    const fields = Object.fromEntries((fieldSelector ?? "").split(",").filter(Boolean).map((pair) => pair.split("=") as [string, string]));
    return this.#events.filter(
      (event) =>
        (namespace === undefined || event.metadata.namespace === namespace) &&
        Object.entries(fields).every(([path, value]) => String(path.split(".").reduce<any>((o, k) => o?.[k], event)) === value),
    );
  }

  /** The Docker container of a running pod container, for exec. */
  execTarget(namespace: string, name: string, container: string | undefined): string {
    const entry = this.#entry(namespace, name);
    const chosen = container ?? entry.pod.spec.containers[0].name;
    const status = (entry.pod.status.containerStatuses ?? []).find((c: Json) => c.name === chosen);
    if (!entry.pod.spec.containers.some((c: Json) => c.name === chosen)) {
      throw new ApiFailure(400, "BadRequest", `container ${chosen} is not valid for pod ${name}`);
    }
    if (entry.pod.status.phase === "Succeeded" || entry.pod.status.phase === "Failed") {
      throw new ApiFailure(400, "BadRequest", `cannot exec into a container in a completed pod; current phase is ${entry.pod.status.phase}`);
    }
    const id = entry.containers.get(chosen);
    if (!status?.state?.running || !id) throw new ApiFailure(400, "BadRequest", `container not found ("${chosen}")`);
    return id;
  }

  /** Names of the pods that exist, for the suite's teardown. */
  podNames(): string[] {
    return [...this.#pods.keys()];
  }

  /** Removes every pod (and Docker object) left; returns the pods that were still there. */
  async stop(): Promise<string[]> {
    const left = this.podNames();
    await Promise.all(
      [...this.#pods.values()].map((entry) => {
        entry.deleting = true;
        return this.#teardown(entry, 0).then(() => entry.starting);
      }),
    );
    for (const entry of this.#pods.values()) this.policies.ownerDeleted(entry.pod.metadata.uid);
    this.#pods.clear();
    const filters = { label: [`${FIXTURE_LABEL}=${this.id}`] };
    for (const c of await this.docker.listContainers({ all: true, filters })) await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    for (const v of (await this.docker.listVolumes({ filters })).Volumes ?? []) await this.docker.getVolume(v.Name).remove().catch(() => {});
    rmSync(this.#serviceAccountDir, { recursive: true, force: true });
    return left;
  }

  // ------------------------------------------------------------------ kubelet

  #entry(namespace: string, name: string): PodEntry {
    const entry = this.#pods.get(`${namespace}/${name}`);
    if (!entry) throw new ApiFailure(404, "NotFound", `pods "${name}" not found`);
    return entry;
  }

  #touch(entry: PodEntry): void {
    entry.pod.metadata.resourceVersion = String(this.#version++);
  }

  #event(entry: PodEntry, type: "Normal" | "Warning", reason: string, message: string, fieldPath?: string, component = "kubelet"): void {
    const pod = entry.pod;
    const time = now();
    const same = this.#events.find(
      (e) => e.involvedObject.uid === pod.metadata.uid && e.reason === reason && e.message === message,
    );
    if (same) {
      same.count += 1;
      same.lastTimestamp = time;
      return;
    }
    this.#events.push({
      kind: "Event",
      apiVersion: "v1",
      metadata: { name: `${pod.metadata.name}.${randomBytes(8).toString("hex")}`, namespace: pod.metadata.namespace, creationTimestamp: time },
      involvedObject: {
        kind: "Pod",
        apiVersion: "v1",
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        uid: pod.metadata.uid,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: component === "kubelet" ? { component, host: NODE_NAME } : { component },
      reportingComponent: component,
      reportingInstance: component === "kubelet" ? NODE_NAME : "",
    });
  }

  #condition(entry: PodEntry, type: string, status: "True" | "False", reason?: string, message?: string): void {
    const conditions = entry.pod.status.conditions as Json[];
    const condition = { type, status, lastTransitionTime: now(), ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
    const at = conditions.findIndex((c) => c.type === type);
    if (at >= 0) conditions[at] = condition;
    else conditions.push(condition);
  }

  async #start(entry: PodEntry): Promise<void> {
    const pod = entry.pod;
    const spec = pod.spec;
    // Scheduling: one node with this machine's CPUs and memory.
    const wanted = { cpu: 0, memory: 0 };
    for (const c of spec.containers) {
      const requests = c.resources?.requests ?? c.resources?.limits ?? {};
      wanted.cpu += requests.cpu ? cpuQuantity(requests.cpu) : 0;
      wanted.memory += requests.memory ? byteQuantity(requests.memory) : 0;
    }
    const short = [wanted.cpu > cpus().length ? "Insufficient cpu" : "", wanted.memory > totalmem() ? "Insufficient memory" : ""].filter(Boolean);
    if (short.length) {
      const message = `0/1 nodes are available: ${short.map((s) => `1 ${s}`).join(", ")}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`;
      this.#condition(entry, "PodScheduled", "False", "Unschedulable", message);
      this.#event(entry, "Warning", "FailedScheduling", message, undefined, "default-scheduler");
      this.#touch(entry);
      return;
    }
    spec.nodeName = NODE_NAME;
    this.#condition(entry, "PodScheduled", "True");
    this.#event(entry, "Normal", "Scheduled", `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${NODE_NAME}`, undefined, "default-scheduler");
    pod.status.hostIP = "127.0.0.1";
    pod.status.startTime = now();
    this.#touch(entry);

    for (const volume of spec.volumes ?? []) {
      if (!volume.emptyDir) continue;
      const name = `kubefix-${pod.metadata.uid.slice(0, 8)}-${volume.name}`;
      const size = volume.emptyDir.sizeLimit ? byteQuantity(volume.emptyDir.sizeLimit) : undefined;
      await this.docker.createVolume({
        Name: name,
        Driver: "local",
        // kubelet makes an emptyDir world-writable (0777); medium Memory is a tmpfs, sized by sizeLimit.
        DriverOpts:
          volume.emptyDir.medium === "Memory"
            ? { type: "tmpfs", device: "tmpfs", o: `mode=0777${size ? `,size=${size}` : ""}` }
            : {},
        Labels: { [FIXTURE_LABEL]: this.id },
      });
      entry.volumes.set(volume.name, name);
      if (entry.deleting) return this.#teardown(entry, 0);
    }

    const runtime = await this.#sandboxRuntime(entry);
    if (runtime === false) return;

    // The pod sandbox ("pause") holds the volumes for the pod's life (a tmpfs volume lives only while mounted) and
    // the pod's network namespace. Without any image present there is none: every container fails to pull.
    const image = await this.#presentImage([...(spec.initContainers ?? []), ...spec.containers].map((c: Json) => c.image));
    if (image) {
      const dns: Json = spec.dnsPolicy === "None" ? (spec.dnsConfig ?? {}) : {};
      const holder = await this.docker.createContainer({
        name: `kubefix-${pod.metadata.name}-pause-${pod.metadata.uid.slice(0, 8)}`,
        Image: image,
        Hostname: pod.metadata.name.slice(0, 63),
        Entrypoint: ["sleep"],
        Cmd: ["infinity"],
        Labels: { ...pod.metadata.labels, [FIXTURE_LABEL]: this.id },
        HostConfig: {
          // A pod denied all egress by a NetworkPolicy gets no network (the fixture's way of enforcing one).
          NetworkMode: this.policies.deniesEgress(pod) ? "none" : "bridge",
          ...(dns.nameservers ? { Dns: dns.nameservers } : {}),
          ...(dns.searches ? { DnsSearch: dns.searches } : {}),
          ...(dns.options ? { DnsOptions: dns.options.map((o: Json) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)) } : {}),
          // The kubelet writes hostAliases into the pod's /etc/hosts.
          ExtraHosts: (spec.hostAliases ?? []).flatMap((alias: Json) => (alias.hostnames ?? []).map((host: string) => `${host}:${alias.ip}`)),
          Sysctls: Object.fromEntries(((spec.securityContext?.sysctls ?? []) as Json[]).map((s) => [s.name, s.value])),
          ReadonlyRootfs: true,
          CapDrop: ["ALL"],
          Mounts: [...entry.volumes].map(([name, volume]) => volumeMount(volume, `/volumes/${name}`)),
        },
      });
      entry.containers.set("", holder.id);
      await holder.start();
      if (entry.deleting) return this.#teardown(entry, 0);
    }

    const init = (spec.initContainers ?? []) as Json[];
    pod.status.initContainerStatuses = init.map((c) => waitingStatus(c, "PodInitializing"));
    pod.status.containerStatuses = spec.containers.map((c: Json) => waitingStatus(c, init.length ? "PodInitializing" : "ContainerCreating"));
    this.#condition(entry, "Initialized", init.length ? "False" : "True");
    this.#touch(entry);
    for (const [index, container] of init.entries()) {
      if (entry.deleting) return;
      const id = await this.#run(entry, container, `spec.initContainers{${container.name}}`, pod.status.initContainerStatuses, index, runtime);
      if (!id) return;
      const { StatusCode } = (await this.docker.getContainer(id).wait().catch(() => ({ StatusCode: -1 }))) as { StatusCode: number };
      if (entry.deleting) return;
      pod.status.initContainerStatuses[index] = {
        ...pod.status.initContainerStatuses[index],
        ready: StatusCode === 0,
        state: { terminated: { exitCode: StatusCode, reason: StatusCode === 0 ? "Completed" : "Error", finishedAt: now() } },
      };
      this.#touch(entry);
      if (StatusCode !== 0) {
        pod.status.phase = "Failed";
        return;
      }
    }
    this.#condition(entry, "Initialized", "True");
    for (const [index, container] of (spec.containers as Json[]).entries()) {
      if (entry.deleting) return;
      const id = await this.#run(entry, container, `spec.containers{${container.name}}`, pod.status.containerStatuses, index, runtime);
      if (!id) return;
      void this.docker.getContainer(id).wait().then(({ StatusCode }: { StatusCode: number }) => {
        if (entry.deleting) return;
        pod.status.containerStatuses[index] = {
          ...pod.status.containerStatuses[index],
          ready: false,
          started: false,
          state: { terminated: { exitCode: StatusCode, reason: StatusCode === 0 ? "Completed" : "Error", finishedAt: now() } },
        };
        const states = pod.status.containerStatuses.map((c: Json) => c.state?.terminated?.exitCode);
        if (states.every((code: unknown) => code !== undefined)) pod.status.phase = states.every((code: number) => code === 0) ? "Succeeded" : "Failed";
        this.#touch(entry);
      }, () => {});
    }
    if (entry.deleting) return;
    pod.status.phase = "Running";
    pod.status.podIP = "10.244.0.1";
    this.#condition(entry, "ContainersReady", "True");
    this.#condition(entry, "Ready", "True");
    this.#touch(entry);
    if (spec.activeDeadlineSeconds) this.#enforceDeadline(entry, spec.activeDeadlineSeconds);
  }

  /** As the kubelet does: a pod active longer than its deadline has its containers killed and fails. */
  #enforceDeadline(entry: PodEntry, seconds: number): void {
    setTimeout(() => {
      if (entry.deleting) return;
      const pod = entry.pod;
      pod.status.phase = "Failed";
      pod.status.reason = "DeadlineExceeded";
      pod.status.message = "Pod was active on the node longer than the specified deadline";
      this.#event(entry, "Normal", "DeadlineExceeded", pod.status.message);
      this.#touch(entry);
      for (const id of entry.containers.values()) void this.docker.getContainer(id).kill().catch(() => {});
    }, seconds * 1000).unref();
  }

  /** Pulls (checks the local engine), creates and starts one container; reports failures as the kubelet does. */
  async #run(entry: PodEntry, container: Json, fieldPath: string, statuses: Json[], index: number, runtime: string | undefined): Promise<string | undefined> {
    const pod = entry.pod;
    const fail = (reason: string, message: string) => {
      statuses[index] = { ...statuses[index], state: { waiting: { reason, message } } };
      this.#touch(entry);
    };
    const image = container.image as string;
    let imageInfo: Docker.ImageInspectInfo;
    try {
      imageInfo = await this.docker.getImage(image).inspect();
    } catch {
      if (container.imagePullPolicy === "Never") {
        const message = `Container image "${image}" is not present with pull policy of Never`;
        this.#event(entry, "Warning", "ErrImageNeverPull", message, fieldPath);
        return void fail("ErrImageNeverPull", message);
      }
      // A kubelet would pull; the fixture has no registry, so an image missing locally cannot be pulled.
      this.#event(entry, "Normal", "Pulling", `Pulling image "${image}"`, fieldPath);
      const reason = `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`;
      this.#event(entry, "Warning", "Failed", `Failed to pull image "${image}": ${reason}`, fieldPath);
      this.#event(entry, "Warning", "Failed", "Error: ErrImagePull", fieldPath);
      fail("ErrImagePull", reason);
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (entry.deleting) return;
      this.#event(entry, "Normal", "BackOff", `Back-off pulling image "${image}"`, fieldPath);
      this.#event(entry, "Warning", "Failed", "Error: ImagePullBackOff", fieldPath);
      return void fail("ImagePullBackOff", `Back-off pulling image "${image}"`);
    }
    this.#event(entry, "Normal", "Pulled", `Container image "${image}" already present on machine`, fieldPath);

    const security = { ...pod.spec.securityContext, ...container.securityContext };
    const uid: number | undefined = security.runAsUser;
    const problem =
      security.runAsNonRoot && uid === 0
        ? `container's runAsUser breaks non-root policy (pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${container.name})`
        : security.runAsNonRoot && uid === undefined && !/^[1-9]\d*(:\d+)?$/.test(imageInfo.Config.User ?? "")
          ? /^\d*$|^root$/.test(imageInfo.Config.User ?? "")
            ? `container has runAsNonRoot and image will run as root (pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${container.name})`
            : `container has runAsNonRoot and image has non-numeric user (${imageInfo.Config.User}), cannot verify user is non-root (pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${container.name})`
          : (container.env ?? []).some((e: Json) => e.valueFrom)
            ? "env valueFrom is not implemented by the fixture"
            : undefined;
    if (problem) {
      this.#event(entry, "Warning", "Failed", `Error: ${problem}`, fieldPath);
      return void fail("CreateContainerConfigError", problem);
    }

    const limits = container.resources?.limits ?? {};
    const mounts = (container.volumeMounts ?? []).map((m: Json) => {
      return volumeMount(entry.volumes.get(m.name)!, m.mountPath, m.readOnly === true);
    });
    if (pod.spec.automountServiceAccountToken !== false) {
      mounts.push({ Type: "bind", Source: this.#serviceAccountDir, Target: SERVICE_ACCOUNT_PATH, ReadOnly: true });
    }
    const groups = [security.fsGroup, ...(security.supplementalGroups ?? [])].filter((g) => g !== undefined).map(String);
    const created = await this.docker.createContainer({
      name: `kubefix-${pod.metadata.name}-${container.name}-${pod.metadata.uid.slice(0, 8)}`.slice(0, 200),
      Image: image,
      ...(container.command ? { Entrypoint: container.command, Cmd: container.args ?? [] } : container.args ? { Cmd: container.args } : {}),
      ...(uid !== undefined ? { User: `${uid}${security.runAsGroup !== undefined ? `:${security.runAsGroup}` : ""}` } : {}),
      ...(container.workingDir ? { WorkingDir: container.workingDir } : {}),
      Env: [
        "KUBERNETES_SERVICE_HOST=10.96.0.1",
        "KUBERNETES_SERVICE_PORT=443",
        ...(container.env ?? []).map((e: Json) => `${e.name}=${e.value ?? ""}`),
      ],
      Labels: { ...pod.metadata.labels, [FIXTURE_LABEL]: this.id, "io.kubernetes.pod.name": pod.metadata.name, "io.kubernetes.pod.namespace": pod.metadata.namespace },
      HostConfig: {
        CapDrop: security.capabilities?.drop ?? [],
        CapAdd: security.capabilities?.add ?? [],
        ReadonlyRootfs: security.readOnlyRootFilesystem === true,
        Privileged: security.privileged === true,
        SecurityOpt: security.allowPrivilegeEscalation === false ? ["no-new-privileges"] : [],
        GroupAdd: groups,
        Mounts: mounts,
        ...(limits.memory ? { Memory: byteQuantity(limits.memory), MemorySwap: byteQuantity(limits.memory) } : {}),
        ...(limits.cpu ? { NanoCpus: Math.round(cpuQuantity(limits.cpu) * 1e9) } : {}),
        ...(runtime ? { Runtime: runtime } : {}),
        // The pod's network namespace (host name, /etc/hosts, name servers come with it).
        NetworkMode: entry.containers.has("") ? `container:${entry.containers.get("")}` : "none",
      },
    });
    entry.containers.set(container.name, created.id);
    if (entry.deleting) return void (await this.#teardown(entry, 0));
    this.#event(entry, "Normal", "Created", `Created container ${container.name}`, fieldPath);
    try {
      await created.start();
    } catch (error) {
      const message = (error as Error).message;
      this.#event(entry, "Warning", "Failed", `Error: ${message}`, fieldPath);
      fail("RunContainerError", message);
      return undefined;
    }
    this.#event(entry, "Normal", "Started", `Started container ${container.name}`, fieldPath);
    statuses[index] = {
      ...statuses[index],
      containerID: `docker://${created.id}`,
      imageID: imageInfo.Id,
      ready: true,
      started: true,
      state: { running: { startedAt: now() } },
    };
    this.#touch(entry);
    return created.id;
  }

  /**
   * The Docker runtime of the pod's RuntimeClass (undefined: the default), or false when the node has no handler for
   * it: then, as a kubelet does, the pod stays Pending with a FailedCreatePodSandBox event. Every container of the
   * pod (init, app, a relay) runs with it, as every container of a real pod runs in its one sandbox; the pause
   * container does not: it only holds the network namespace and volumes, and gVisor with `--network=host` passes
   * the pod's sockets through to that namespace whatever runs it.
   */
  async #sandboxRuntime(entry: PodEntry): Promise<string | undefined | false> {
    const name = entry.pod.spec.runtimeClassName;
    if (name === undefined) return undefined;
    const handler = this.runtimeClasses.find(name)?.handler as string | undefined;
    const runtime = handler === undefined ? undefined : dockerRuntime(handler);
    this.#engineRuntimes ??= this.docker.info().then((info: Json) => new Set(Object.keys(info.Runtimes ?? {})));
    const problem =
      handler === undefined
        ? `RuntimeClass "${name}" not found`
        : runtime !== undefined && !(await this.#engineRuntimes).has(runtime)
          ? `rpc error: code = Unknown desc = failed to get sandbox runtime: no runtime for "${handler}" is configured`
          : undefined;
    if (!problem) return runtime;
    entry.pod.status.containerStatuses = entry.pod.spec.containers.map((c: Json) => waitingStatus(c, "ContainerCreating"));
    this.#event(entry, "Warning", "FailedCreatePodSandBox", `Failed to create pod sandbox: ${problem}`);
    this.#touch(entry);
    return false;
  }

  /** The first of these images the local engine has. */
  async #presentImage(images: readonly string[]): Promise<string | undefined> {
    for (const image of images) if (await this.docker.getImage(image).inspect().then(() => true, () => false)) return image;
    return undefined;
  }

  /** Stops the pod's containers (TERM, then KILL after the grace period) and removes them and its volumes. */
  async #teardown(entry: PodEntry, grace: number): Promise<void> {
    await Promise.all(
      [...entry.containers].map(async ([name, id]) => {
        const container = this.docker.getContainer(id);
        if (grace > 0 && name) await container.stop({ t: grace }).catch(() => {});
        await container.remove({ force: true, v: true }).catch(() => {});
      }),
    );
    entry.containers.clear();
    const volumes = [...entry.volumes.values()];
    entry.volumes.clear();
    for (const volume of volumes) await this.docker.getVolume(volume).remove().catch(() => {});
  }
}

/** NoCopy: Docker fills an empty volume with the image's files at the mount point (and their owner); a kubelet does not. */
const volumeMount = (source: string, target: string, readOnly = false) =>
  ({ Type: "volume", Source: source, Target: target, ReadOnly: readOnly, VolumeOptions: { NoCopy: true } }) as unknown as Docker.MountSettings;

function waitingStatus(container: Json, reason: string): Json {
  return { name: container.name, image: container.image, imageID: "", ready: false, restartCount: 0, started: false, state: { waiting: { reason } } };
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** CPU quantity ("2", "500m", "0.5") in cores. */
export function cpuQuantity(value: string | number): number {
  const text = String(value);
  return text.endsWith("m") ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** Memory quantity ("1Gi", "512Mi", "1G", "1073741824", "1e9") in bytes. */
export function byteQuantity(value: string | number): number {
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)([KMGTPE]i?|m|k)?$/.exec(String(value));
  if (!match) throw new ApiFailure(422, "Invalid", `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${value}`);
  const units: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, m: 1e-3 };
  return Math.floor(Number(match[1]) * (match[2] ? units[match[2]]! : 1));
}

/** Equality-based label selectors: `a=b,c!=d,e` (the forms kubectl's -l uses most). */
export function selector(text: string | undefined): (labels: Record<string, string>) => boolean {
  const terms = (text ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  return (labels) =>
    terms.every((term) => {
      const [, key, op, value] = /^([^!=]+)(!=|==|=)?(.*)$/.exec(term) ?? [];
      if (!key) return false;
      if (!op) return key in labels;
      return op === "!=" ? labels[key] !== value : labels[key] === value;
    });
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Fields the API knows at the levels a pod manifest usually touches (for fieldValidation=Strict). */
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  "": ["apiVersion", "kind", "metadata", "spec", "status"],
  metadata: ["name", "generateName", "namespace", "labels", "annotations", "ownerReferences", "finalizers", "uid", "resourceVersion", "creationTimestamp"],
  spec: [
    "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers", "dnsConfig", "dnsPolicy",
    "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostUsers",
    "hostname", "imagePullSecrets", "initContainers", "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy",
    "priority", "priorityClassName", "readinessGates", "resourceClaims", "resources", "restartPolicy", "runtimeClassName",
    "schedulerName", "schedulingGates", "securityContext", "serviceAccount", "serviceAccountName", "setHostnameAsFQDN",
    "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints", "volumes",
  ],
  container: [
    "args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle", "livenessProbe", "name", "ports",
    "readinessProbe", "resizePolicy", "resources", "restartPolicy", "securityContext", "startupProbe", "stdin",
    "stdinOnce", "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir",
  ],
};

function validatePod(body: Json, strict: boolean): void {
  const invalid = (message: string) => new ApiFailure(422, "Invalid", `Pod "${body?.metadata?.name ?? ""}" is invalid: ${message}`);
  if (body?.kind !== "Pod" || body?.apiVersion !== "v1") throw new ApiFailure(400, "BadRequest", `the object provided is not a v1 Pod`);
  if (strict) {
    const unknown = (path: string, object: Json | undefined, known: readonly string[]) =>
      Object.keys(object ?? {}).filter((k) => !known.includes(k)).map((k) => `${path}${path ? "." : ""}${k}`);
    const fields = [
      ...unknown("", body, KNOWN_FIELDS[""]!),
      ...unknown("metadata", body.metadata, KNOWN_FIELDS.metadata!),
      ...unknown("spec", body.spec, KNOWN_FIELDS.spec!),
      ...[...(body.spec?.initContainers ?? []).map((c: Json, i: number) => unknown(`spec.initContainers[${i}]`, c, KNOWN_FIELDS.container!)),
        ...(body.spec?.containers ?? []).map((c: Json, i: number) => unknown(`spec.containers[${i}]`, c, KNOWN_FIELDS.container!))].flat(),
    ];
    if (fields.length) {
      throw new ApiFailure(400, "BadRequest", `Pod in version "v1" cannot be handled as a Pod: strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(", ")}`);
    }
  }
  const name = body.metadata?.name;
  if (typeof name !== "string" || !DNS_SUBDOMAIN.test(name)) throw invalid(`metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
  for (const [key, value] of Object.entries((body.metadata.labels ?? {}) as Record<string, unknown>)) {
    if (!LABEL_NAME.test(key)) throw invalid(`metadata.labels: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`);
    if (typeof value !== "string" || !LABEL_VALUE.test(value)) throw invalid(`metadata.labels: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`);
  }
  const runtimeClass = body.spec?.runtimeClassName;
  if (runtimeClass !== undefined && (typeof runtimeClass !== "string" || !DNS_SUBDOMAIN.test(runtimeClass))) {
    throw invalid(`spec.runtimeClassName: Invalid value: "${runtimeClass}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
  }
  const containers = body.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) throw invalid("spec.containers: Required value");
  const volumes = new Set(((body.spec.volumes ?? []) as Json[]).map((v) => v.name));
  for (const [i, c] of [...(body.spec.initContainers ?? []), ...containers].entries()) {
    if (typeof c.name !== "string" || !DNS_LABEL.test(c.name)) throw invalid(`spec.containers[${i}].name: Invalid value: "${c.name}"`);
    if (typeof c.image !== "string" || !c.image) throw invalid(`spec.containers[${i}].image: Required value`);
    for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) throw invalid(`spec.containers[${i}].volumeMounts[0].name: Not found: "${m.name}"`);
    for (const key of ["limits", "requests"]) for (const [r, q] of Object.entries(c.resources?.[key] ?? {})) if (r === "memory") byteQuantity(q as string);
  }
}
