import { SandboxBackend } from "../enums.js";
import { ContainerError, SandboxAbortError, type SandboxError } from "../errors.js";
import { newId } from "../internal/ids.js";
import { LABELS } from "../internal/labels.js";
import { type AttachedContainer, type BackendAdapter, type ContainerSpec, type ExecOutcome, type ExecRequest, PROGRAM_NOT_FOUND, programNotFound } from "./backend.js";
import { connectKube, KubeApiError, kubeRequest, type KubeTarget, podPath } from "./kube-client.js";
import { DEFAULT_LEASE_SECONDS, LeaseRenewer } from "./kube-lease.js";
import {
  Channel,
  closeStdinFrame,
  frame,
  parseExecStatus,
  stdinChunk,
  V4_PROTOCOL,
  V5_PROTOCOL,
  withChunkedStdin,
  withEnvironment,
} from "./kube-exec.js";
import { DEFAULT_CONTAINER_ANNOTATION, planPod, type PodObject } from "./kube-pod.js";
import { apiError, createPod, deletePod, deletePodSync, podEvents, readPod, waitRunning } from "./kube-pod-api.js";
import { adoptNetworkPolicy, createNetworkPolicy, deleteNetworkPolicy, RELAY_CONTAINER } from "./kube-relay.js";

export interface KubernetesBackendOptions {
  /** A kubeconfig path or a KubeConfig of @kubernetes/client-node (default: found as kubectl finds it). */
  readonly kubeConfig?: string | object;
  readonly kubeContext?: string;
  /** Default: the pod manifest's namespace, else the context's, else "default". */
  readonly namespace?: string;
  readonly podManifest?: Readonly<Record<string, unknown>>;
  readonly envVars?: Readonly<Record<string, string>>;
  /** Seconds a pod may take to be running. Default 300. */
  readonly podStartTimeout?: number;
  /**
   * Seconds of the owner's lease on each pod, renewed while this process lives; `llm-sandbox cleanup --kubernetes`
   * deletes pods whose lease ran out (kube-lease.ts). Default 120.
   */
  readonly ownerLeaseSeconds?: number;
}

/** What exec needs to know of a pod. */
interface PodTarget {
  readonly namespace: string;
  readonly container: string;
  /** The uid the container runs as, when the pod says. */
  readonly uid: number | undefined;
  /** Network mode "relayed": the pod has a relay container and a NetworkPolicy named as the pod. */
  readonly relayed: boolean;
}

/** The subset of a `ws` WebSocket that exec uses (client-node opens it; its type comes with an optional package). */
interface ExecSocket {
  readonly protocol: string;
  readonly readyState: number;
  send(data: Buffer, callback: (error?: Error) => void): void;
  terminate(): void;
  on(event: "close", listener: (code: number, reason: Buffer) => void): void;
}

const OPEN = 1;
/** Largest stdin message sent at once (the API server accepts far more; this keeps memory flat). */
const STDIN_FRAME_BYTES = 256 * 1024;

/** Each API server's exec protocol, found once (all pods of one server speak the same). */
const protocols = new Map<string, Promise<string>>();

/**
 * Kubernetes: one pod per session, created from the secure defaults merged with `podManifest` (kube-pod.ts), commands
 * run through the exec WebSocket (kube-exec.ts), files moved by the session as tar over that exec, and the pod
 * deleted on close. Calls run concurrently (no lock); only the requests that may be repeated are retried.
 */
export class KubernetesBackend implements BackendAdapter {
  readonly kind = SandboxBackend.KUBERNETES;
  readonly fixedExecUser = true;
  readonly #options: KubernetesBackendOptions;
  #target: Promise<KubeTarget> | undefined;
  /** The connection once made (for the synchronous removal at process exit). */
  #settled: KubeTarget | undefined;
  readonly #pods = new Map<string, PodTarget>();
  readonly #leases: LeaseRenewer;

  constructor(options: KubernetesBackendOptions = {}) {
    this.#options = options;
    this.#leases = new LeaseRenewer(options.ownerLeaseSeconds ?? DEFAULT_LEASE_SECONDS, async (name, annotations) => {
      const target = await this.#connect();
      const namespace = this.#pods.get(name)?.namespace ?? target.namespace;
      await kubeRequest(target.config, { method: "PATCH", path: podPath(namespace, name), body: { metadata: { annotations } }, idempotent: true });
    });
  }

  /** The kubelet pulls images: a pull that fails shows at `create`, with the pod's events. */
  async prepareImage(): Promise<void> {}

  async create(spec: ContainerSpec): Promise<string> {
    const target = await this.#connect();
    const namespace = target.namespace;
    const session = spec.labels[LABELS.session] ?? newId();
    // Every create makes a pod of its own, also when several carry one session label (a pool's containers do).
    const createId = newId(4);
    const { manifest, container, policy, runtimeClass } = planPod({
      name: `llm-sandbox-${(spec.labels[LABELS.language] ?? "pod").toLowerCase()}-${session}-${createId}`,
      createId,
      namespace,
      spec,
      ...(this.#options.podManifest ? { podManifest: this.#options.podManifest } : {}),
      ...(this.#options.envVars ? { envVars: this.#options.envVars } : {}),
      leaseSeconds: this.#leases.seconds,
    });
    const name = (manifest.metadata as { name: string }).name;
    const runtime = runtimeClass ? { runtimeClass, gvisor: spec.isolation === "gvisor" } : undefined;
    // Before the pod: it never runs without its egress denied.
    if (policy) await createNetworkPolicy(target, namespace, policy);
    const dropPolicy = () => (policy ? deleteNetworkPolicy(target, namespace, name).catch(() => {}) : undefined);
    const created = await createPod(target, namespace, name, manifest, createId, runtime).catch(async (error: unknown) => {
      await dropPolicy();
      throw error;
    });
    const uid = created?.metadata?.uid;
    try {
      const [pod] = await Promise.all([
        waitRunning(target, namespace, name, container, this.#options.podStartTimeout ?? 300, runtime),
        policy && uid ? adoptNetworkPolicy(target, namespace, name, { name, uid }) : undefined,
      ]);
      this.#pods.set(name, { namespace, container, uid: podUid(pod, container), relayed: policy !== undefined });
      this.#leases.add(name);
      return name;
    } catch (error) {
      await deletePod(target, namespace, name).catch(() => {});
      await dropPolicy();
      throw error;
    }
  }

  async attach(name: string): Promise<AttachedContainer> {
    const { uid, gid } = await this.#describe(name);
    return { id: name, user: uid === undefined ? "" : `${uid}${gid === undefined ? "" : `:${gid}`}` };
  }

  /** Reads a pod this adapter did not create (waiting while it is Pending) and remembers how to exec in it. */
  async #describe(name: string): Promise<PodTarget & { readonly gid: number | undefined }> {
    const target = await this.#connect();
    const namespace = target.namespace;
    let pod: PodObject;
    try {
      pod = await readPod(target, namespace, name);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) throw new ContainerError(`Pod ${name} not found in namespace ${namespace}`);
      throw apiError(`Cannot read pod ${name}`, error);
    }
    const container = pod.metadata?.annotations?.[DEFAULT_CONTAINER_ANNOTATION] ?? pod.spec?.containers?.[0]?.name ?? "";
    const phase = pod.status?.phase;
    if (phase === "Pending") pod = await waitRunning(target, namespace, name, container, this.#options.podStartTimeout ?? 300);
    else if (phase !== "Running") throw new ContainerError(`Pod ${name} is not running (phase ${phase ?? "unknown"})`);
    const relayed = pod.metadata?.labels?.[LABELS.relay] !== undefined && (pod.spec?.containers ?? []).some((c) => c.name === RELAY_CONTAINER);
    const described = { namespace, container, uid: podUid(pod, container), relayed };
    this.#pods.set(name, described);
    return { ...described, gid: podGid(pod, container) };
  }

  async exec(name: string, request: ExecRequest): Promise<ExecOutcome> {
    const pod = this.#pods.get(name) ?? (await this.#describe(name));
    if (request.user && /^(0|root)(:|$)/.test(request.user) && pod.uid !== 0) {
      throw new ContainerError(
        `Kubernetes runs every command as the pod's user (uid ${pod.uid ?? "of the image"}); this step needs root`,
      );
    }
    return this.#execIn(name, pod, request);
  }

  async execRelay(name: string, request: ExecRequest): Promise<ExecOutcome> {
    const pod = this.#pods.get(name) ?? (await this.#describe(name));
    if (!pod.relayed) throw new ContainerError(`Pod ${name} has no relay (it was not created with network mode "relayed")`);
    return this.#execIn(name, { ...pod, container: RELAY_CONTAINER, uid: 0 }, request);
  }

  /** Runs a command in `pod.container` (named always: a relayed pod has two containers). */
  async #execIn(name: string, pod: PodTarget, request: ExecRequest): Promise<ExecOutcome> {
    const target = await this.#connect();
    const protocol = request.stdin ? await this.#protocol(target, name, pod) : undefined;
    const argv = withEnvironment(
      request.stdin && protocol === V4_PROTOCOL ? withChunkedStdin(request.argv) : request.argv,
      request.env,
      request.workdir,
    );
    const { socket, status } = await this.#open(target, name, pod, argv, request);
    const closed = new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        socket.terminate();
        reject(new SandboxAbortError());
      };
      if (request.signal?.aborted) return onAbort();
      request.signal?.addEventListener("abort", onAbort, { once: true });
      socket.on("close", () => {
        request.signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
    if (request.stdin) void sendStdin(socket, request.stdin, protocol!).catch(() => socket.terminate());
    await closed;
    const text = status.text();
    if (status.failure) throw status.failure;
    if (text === undefined) throw await this.#lost(target, name, pod, "the connection closed before the exit status arrived");
    const result = parseExecStatus(text);
    if ("exitCode" in result) return { exitCode: result.exitCode };
    // As on every engine: a program that does not exist is exit code 127 with the same message on stderr.
    if (PROGRAM_NOT_FOUND.test(result.error)) {
      request.onStderr?.(Buffer.from(programNotFound(request.argv[0] ?? "")));
      return { exitCode: 127 };
    }
    throw new ContainerError(`exec in pod ${name} failed: ${result.error}`);
  }

  async remove(name: string): Promise<void> {
    const target = await this.#connect();
    const pod = this.#pods.get(name);
    const namespace = pod?.namespace ?? target.namespace;
    this.#leases.delete(name);
    await deletePod(target, namespace, name);
    // Its owner, the pod, is gone: a cluster's garbage collector would delete it too, but not at once.
    if (pod?.relayed) await deleteNetworkPolicy(target, namespace, name);
    this.#pods.delete(name);
  }

  /** At process exit: one DELETE from a child process. */
  removeSync(name: string): void {
    const target = this.#settled;
    if (!target) return;
    const namespace = this.#pods.get(name)?.namespace ?? target.namespace;
    deletePodSync(target, namespace, name);
  }

  /**
   * The connection, made once. Its namespace is where this adapter's pods live: the option, else the pod manifest's,
   * else the context's (so pods it attaches to and removes are looked for where it creates them).
   */
  #connect(): Promise<KubeTarget> {
    if (!this.#target) {
      const { kubeConfig, kubeContext, podManifest } = this.#options;
      const manifestNamespace = (podManifest?.metadata as { namespace?: unknown } | undefined)?.namespace;
      const namespace = this.#options.namespace ?? (typeof manifestNamespace === "string" ? manifestNamespace : undefined);
      this.#target = connectKube({
        ...(kubeConfig ? { kubeConfig } : {}),
        ...(kubeContext ? { kubeContext } : {}),
        ...(namespace !== undefined ? { namespace } : {}),
      }).then(
        (target) => (this.#settled = target),
        (error: unknown) => {
          this.#target = undefined;
          throw error;
        },
      );
    }
    return this.#target;
  }

  /** Which channel protocol the server speaks, learnt once per server from a trivial exec. */
  #protocol(target: KubeTarget, name: string, pod: PodTarget): Promise<string> {
    const server = target.config.getCurrentCluster()!.server;
    let known = protocols.get(server);
    if (!known) {
      known = (async () => {
        const { socket } = await this.#open(target, name, pod, ["/bin/sh", "-c", "exit 0"], {});
        const protocol = socket.protocol;
        await new Promise<void>((resolve) => (socket.readyState === OPEN ? socket.on("close", () => resolve()) : resolve()));
        return protocol;
      })();
      protocols.set(server, known);
      known.catch(() => protocols.delete(server));
    }
    return known;
  }

  /** Opens the exec WebSocket; output goes to the request's callbacks, the status channel is kept. */
  async #open(
    target: KubeTarget,
    name: string,
    pod: PodTarget,
    argv: readonly string[],
    request: Pick<ExecRequest, "stdin" | "onStdout" | "onStderr">,
  ): Promise<{ socket: ExecSocket; status: { text(): string | undefined; failure: unknown } }> {
    const query = new URLSearchParams();
    for (const arg of argv) query.append("command", arg);
    query.set("container", pod.container);
    query.set("stdin", String(request.stdin !== undefined));
    query.set("stdout", "true");
    query.set("stderr", "true");
    query.set("tty", "false");
    const path = `${podPath(pod.namespace, name)}/exec?${query}`;
    let statusText: string | undefined;
    const status = { text: () => statusText, failure: undefined as unknown };
    let socket: ExecSocket | undefined;
    // Exec's handler opens the socket with the kubeconfig's credentials and offers v5, v4, … in that order.
    const { handler } = new target.module.Exec(target.config);
    try {
      socket = (await handler.connect(path, null, (channel: number, data: Buffer) => {
        try {
          // The server's first message, empty, only says the streams are connected.
          if (data.length === 0) return true;
          if (channel === Channel.stdout) request.onStdout?.(data);
          else if (channel === Channel.stderr) request.onStderr?.(data);
          else if (channel === Channel.status) statusText = (statusText ?? "") + data.toString("utf8");
          return true;
        } catch (error) {
          // A consumer's callback failed: stop, and report that rather than the stream's end.
          status.failure ??= error;
          return false;
        }
      })) as unknown as ExecSocket;
    } catch (error) {
      throw await this.#lost(target, name, pod, (error as { message?: string }).message ?? String(error));
    }
    if (socket.protocol !== V5_PROTOCOL && socket.protocol !== V4_PROTOCOL) {
      socket.terminate();
      throw new ContainerError(
        `The API server answered exec with the protocol "${socket.protocol}"; v4.channel.k8s.io or newer is needed (Kubernetes 1.5+)`,
      );
    }
    return { socket, status };
  }

  /** An exec that could not run or broke off: say why, from the pod's state. */
  async #lost(target: KubeTarget, name: string, pod: PodTarget, what: string): Promise<SandboxError> {
    const state = await readPod(target, pod.namespace, name).then(
      (found) => `pod phase ${found.status?.phase ?? "unknown"}`,
      (error: unknown) => (error instanceof KubeApiError && error.status === 404 ? "the pod is gone" : `pod unreadable: ${(error as Error).message}`),
    );
    return new ContainerError(`exec in pod ${name} failed: ${what} (${state})`);
  }
}

function securityOf(pod: PodObject, container: string, key: "runAsUser" | "runAsGroup"): number | undefined {
  const own = pod.spec?.containers?.find((c) => c.name === container)?.securityContext?.[key];
  return own ?? pod.spec?.securityContext?.[key];
}
const podUid = (pod: PodObject, container: string) => securityOf(pod, container, "runAsUser");
const podGid = (pod: PodObject, container: string) => securityOf(pod, container, "runAsGroup");

/** Writes stdin as it comes (one message in flight: back-pressure), then ends it the way the protocol allows. */
async function sendStdin(socket: ExecSocket, stdin: Uint8Array | AsyncIterable<Uint8Array>, protocol: string): Promise<void> {
  const send = (data: Buffer) => new Promise<void>((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = stdin instanceof Uint8Array ? [stdin] : stdin;
  for await (const chunk of source) {
    for (let offset = 0; offset < chunk.length; offset += STDIN_FRAME_BYTES) {
      if (socket.readyState !== OPEN) return;
      const piece = chunk.subarray(offset, offset + STDIN_FRAME_BYTES);
      await send(frame(Channel.stdin, protocol === V4_PROTOCOL ? stdinChunk(piece) : piece));
    }
  }
  if (socket.readyState !== OPEN) return;
  await send(protocol === V4_PROTOCOL ? frame(Channel.stdin, stdinChunk(new Uint8Array())) : closeStdinFrame());
}
