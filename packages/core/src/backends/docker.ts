import { posix } from "node:path";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import { type SandboxBackend, SandboxBackend as Backends } from "../enums.js";
import { ContainerError, EngineUnavailableError, SandboxAbortError, SandboxError } from "../errors.js";
import { buildDockerfile, prepareImage } from "../images/builder.js";
import { LABELS } from "../internal/labels.js";
import { engineRuntime, missingRuntime } from "./gvisor.js";
import type { Logger } from "../internal/logger.js";
import { type AttachedContainer, type BackendAdapter, type ContainerSpec, type ExecOutcome, type ExecRequest, FREE_SLOTS_SIGNAL, KEEP_ALIVE_NAME, PROGRAM_NOT_FOUND, programNotFound } from "./backend.js";
import { describeEndpoint } from "./engine-client.js";
import { watchStops } from "./docker-events.js";
import { FrameDemuxer } from "./docker-frames.js";
import { installNetwork } from "./docker-network.js";
import { relayCreateOptions, relayLabel, removeContainersSync, startRelay } from "./docker-relay.js";
import { readImageSeeds } from "./image-seeds.js";
import { ensureReaper, reaperOwner } from "./reaper.js";

/** Connection errors: nothing answers where the engine should be (or it dropped the connection: it went away). */
const UNREACHABLE = new Set(["ENOENT", "ECONNREFUSED", "ECONNRESET", "EACCES", "EHOSTUNREACH", "ETIMEDOUT"]);

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/**
 * Docker Engine API adapter (dockerode). Podman's Docker-compatible service speaks the same API, so the Podman
 * backend is this class with another client and kind.
 *
 * `passthrough` (runtimeConfigs.passthrough) is merged into the create request: top-level keys as given, and
 * `HostConfig` merged into ours — see docs/security.md for what is refused without `allowUnsafe`.
 */
export class DockerBackend implements BackendAdapter {
  private installNetworkId: Promise<string> | undefined;
  /** Sandbox id → the id of its relay (undefined: it has none), for the sandboxes created or looked at here. */
  private readonly relays = new Map<string, string | undefined>();

  constructor(
    readonly docker: Docker,
    readonly kind: SandboxBackend = Backends.DOCKER,
  ) {}

  prepareImage(image: string, logger: Logger): Promise<void> {
    return prepareImage(this.docker, image, { logger }).catch((error: unknown) => {
      throw this.unreachable(error);
    });
  }

  buildImage(dockerfile: string, logger: Logger): Promise<string> {
    return buildDockerfile(this.docker, dockerfile, { logger }).catch((error: unknown) => {
      throw this.unreachable(error);
    });
  }

  async create(spec: ContainerSpec): Promise<string> {
    const network = spec.network;
    const installNetwork = network.mode === "install-only" ? await this.ensureInstallNetwork() : undefined;
    // Started beside the first sandbox, not before it; it never fails a create (see ensureReaper).
    const reaper = ensureReaper(this.docker, spec.image);
    // The sandbox joins its relay's namespace, so the relay is created first (and started beside the next steps).
    const relayNetwork = network.mode === "relayed" ? await this.relayNetwork() : "none";
    const relay = network.mode === "relayed"
      ? await this.docker.createContainer(relayCreateOptions(spec, network.relay, reaperOwner(this.docker), relayNetwork)).catch((error: unknown) => {
          throw this.failure(error, "Cannot create the relay container");
        })
      : undefined;
    // Started while the sandbox is created; before the sandbox starts, it keeps only loopback.
    const relayStarted = relay
      ?.start()
      .then(() => relayNetwork !== "none" && this.docker.getNetwork(relayNetwork).disconnect({ Container: relay.id }))
      .catch((error: unknown) => {
        throw this.failure(error, "Cannot start the relay container");
      });
    relayStarted?.catch(() => {}); // awaited below, or the create failed first
    let container: Docker.Container | undefined;
    try {
      const networkMode = relay ? `container:${relay.id}` : network.mode === "attached" ? network.network : (installNetwork ?? "none");
      const options = await this.createOptions(spec, networkMode, relay?.id);
      container = await this.docker.createContainer(options).catch((error: unknown) => {
        throw missingRuntime(error, options.HostConfig?.Runtime) ?? this.failure(error, "Cannot create the container");
      });
      // Disconnect before start: user code never runs with the install network attached.
      if (installNetwork) await this.docker.getNetwork(installNetwork).disconnect({ Container: container.id });
      const [seeds] = await Promise.all([
        this.imageSeeds(container, spec),
        relayStarted,
      ]);
      await container.start();
      for (const [path, archive] of seeds) if (archive) await this.seedDirectory(container.id, path, archive, spec.user);
      await reaper;
      this.relays.set(container.id, relay?.id);
      return container.id;
    } catch (error) {
      // The sandbox first: Podman refuses to remove a container whose namespace another one uses.
      await container?.remove({ force: true }).catch(() => {});
      await relayStarted?.catch(() => {});
      await relay?.remove({ force: true }).catch(() => {});
      throw error;
    }
  }

  /** The network a relay is created on: "none" (only loopback); another one is disconnected once it started. */
  protected async relayNetwork(): Promise<string> {
    return "none";
  }

  /** EngineUnavailableError when the engine cannot be reached, else ContainerError: "`what`: the engine's message". */
  private failure(error: unknown, what: string): SandboxError {
    const failure = this.unreachable(error);
    return SandboxError.isInstance(failure) ? failure : new ContainerError(`${what}: ${(error as Error).message}`, { cause: error });
  }

  /** A failure to reach the engine at all becomes EngineUnavailableError saying how to get one; others stay. */
  protected unreachable(error: unknown): unknown {
    const code = (error as NodeJS.ErrnoException).code;
    if (!code || !UNREACHABLE.has(code)) return error;
    return new EngineUnavailableError(
      `Cannot reach ${this.engineName()} at ${describeEndpoint(this.docker)}: ${(error as Error).message}. ${this.startHint()}`,
      { cause: error },
    );
  }

  protected engineName(): string {
    return "the Docker engine";
  }

  protected startHint(): string {
    return "Run `npx llm-sandbox setup` (installs and starts Docker on Debian/Ubuntu as root), or set DOCKER_HOST.";
  }

  /** The engine's create request for `spec` on `networkMode`, with `passthrough` merged in. */
  protected async createOptions(spec: ContainerSpec, networkMode: string, relay?: string): Promise<Docker.ContainerCreateOptions> {
    const { HostConfig: extraHostConfig, ...extraTop } = (spec.passthrough ?? {}) as { HostConfig?: object };
    const runtime = engineRuntime(spec, networkMode);
    return {
      Image: spec.image,
      Entrypoint: spec.init.slice(0, 1),
      Cmd: spec.init.slice(1),
      User: spec.user,
      WorkingDir: spec.workdir,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      // Whose reaper removes it, should this process end without doing so (reaper.ts).
      Labels: { ...spec.labels, [LABELS.owner]: reaperOwner(this.docker), ...(relay ? { [LABELS.relay]: relay } : {}) },
      HostConfig: {
        // Our first process reaps orphans itself and frees the process slots on a signal (freeProcessSlots); the
        // engine's init would take its place as PID 1. (Podman's needs catatonit on the host, too.)
        Init: false,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        ReadonlyRootfs: spec.readOnlyRootfs,
        Tmpfs: Object.fromEntries(
          Object.entries(spec.tmpfs).map(([path, bytes]) => [path, this.tmpfsOptions(bytes, spec.user)]),
        ),
        ...(spec.memoryBytes ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
        ...(spec.cpus ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
        ...(spec.pids ? { PidsLimit: spec.pids } : {}),
        NetworkMode: networkMode,
        ...(runtime ? { Runtime: runtime } : {}),
        // The host by name, for servers on it (package mirrors), also when the network is there only for installs.
        // Not in a relay's namespace: it has no route to the host, and the engine refuses ExtraHosts there.
        ...(networkMode !== "none" && !relay ? { ExtraHosts: [`host.docker.internal:${await this.hostAddress(networkMode)}`] } : {}),
        ...extraHostConfig,
      },
      ...extraTop,
    };
  }

  /** How a sandbox on `network` reaches the host, for its host.docker.internal entry. */
  protected async hostAddress(_network: string): Promise<string> {
    return "host-gateway";
  }

  /** tmpfs owned by a numeric session user; world-writable with the sticky bit for a named one. */
  protected tmpfsOptions(bytes: number, user: string): string {
    const numeric = /^(\d+)(?::(\d+))?$/.exec(user);
    const owner = numeric ? `mode=0755,uid=${numeric[1]},gid=${numeric[2] ?? numeric[1]}` : "mode=1777";
    return `rw,exec,nosuid,nodev,size=${bytes},${owner}`;
  }

  /** What the image holds at each tmpfs mount point (image-seeds.ts). */
  protected imageSeeds(container: Docker.Container, spec: ContainerSpec): Promise<Array<readonly [string, Buffer | undefined]>> {
    return readImageSeeds(this.docker, container, spec);
  }

  /** A tmpfs hides what the image has at its mount point; put the image's files back (Podman's "tmpcopyup"). */
  private async seedDirectory(id: string, path: string, archive: Buffer, user: string): Promise<void> {
    const stderr: Buffer[] = [];
    const { exitCode } = await this.engineExec(id, {
      argv: ["tar", "-x", "--no-same-owner", "-f", "-", "-C", posix.dirname(path)],
      stdin: archive,
      user,
      onStderr: (chunk) => stderr.push(Buffer.from(chunk)),
    });
    if (exitCode !== 0) throw new ContainerError(`Cannot copy the image's ${path} into the sandbox: ${Buffer.concat(stderr).toString()}`);
  }

  async attach(id: string): Promise<AttachedContainer> {
    const container = this.docker.getContainer(id);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (error) {
      if (statusOf(error) === 404) throw new ContainerError(`Container ${id} not found`);
      throw this.failure(error, `Failed to connect to container ${id}`);
    }
    const relay = relayLabel(info.Config.Labels);
    this.relays.set(info.Id, relay);
    if (!info.State.Running) {
      // The namespace the sandbox joins must be there first.
      if (relay) await startRelay(this.docker, relay, await this.relayNetwork()).catch((error: unknown) => {
        throw this.failure(error, `Cannot start the relay of container ${id}`);
      });
      await container.start();
    }
    return { id: info.Id, user: info.Config.User ?? "" };
  }

  exec(id: string, request: ExecRequest): Promise<ExecOutcome> {
    return this.engineExec(id, request);
  }

  async execRelay(id: string, request: ExecRequest): Promise<ExecOutcome> {
    const relay = await this.relayOf(id);
    if (!relay) throw new ContainerError(`Container ${id} has no relay (it was not created with network mode "relayed")`);
    return this.engineExec(relay, request);
  }

  /** The relay of sandbox `id` (undefined: none, or the sandbox is gone), read from its label once. */
  private async relayOf(id: string): Promise<string | undefined> {
    if (this.relays.has(id)) return this.relays.get(id);
    let labels: Record<string, string> | undefined;
    try {
      labels = (await this.docker.getContainer(id).inspect()).Config.Labels;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.failure(error, `Cannot inspect container ${id}`);
    }
    const relay = relayLabel(labels);
    this.relays.set(id, relay);
    return relay;
  }

  /** The engine's exec as it is, for the adapter's own steps: what subclasses wrap around `exec` stays out of them. */
  protected async engineExec(id: string, request: ExecRequest): Promise<ExecOutcome> {
    const stdin = request.stdin;
    let exec: Docker.Exec;
    let stream: Duplex;
    try {
      exec = await this.docker.getContainer(id).exec({
        Cmd: [...request.argv],
        AttachStdin: stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...(request.env ? { Env: Object.entries(request.env).map(([key, value]) => `${key}=${value}`) } : {}),
        ...(request.workdir ? { WorkingDir: request.workdir } : {}),
        ...(request.user ? { User: request.user } : {}),
      });
      stream = (await exec.start({ hijack: true, stdin: stdin !== undefined })) as Duplex;
      if (request.keepAlive === false) (stream as Partial<Socket>).unref?.();
    } catch (error) {
      throw this.execError(id, error);
    }
    // A program that cannot start is reported by the engine as its output's first text (Docker 20.10: on stdout,
    // exit code 126; Podman: on stderr), in the engine's own words. It is nothing the program wrote: keep it out of
    // the output and report it the same way on every engine (see the exit code below).
    let first = true;
    let startFailure: string | undefined;
    const demux = new FrameDemuxer((which, payload) => {
      if (first && START_FAILURE.test(payload.toString("utf8", 0, 200))) startFailure = payload.toString();
      first = false;
      if (startFailure) return;
      if (which === "stdout") request.onStdout?.(payload);
      else request.onStderr?.(payload);
    });
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        stream.destroy();
        reject(new SandboxAbortError());
      };
      if (request.signal?.aborted) return onAbort();
      request.signal?.addEventListener("abort", onAbort, { once: true });
      const done = (error?: Error) => {
        request.signal?.removeEventListener("abort", onAbort);
        if (error) reject(this.execError(id, error));
        else resolve();
      };
      stream.on("data", (chunk: Buffer) => demux.push(chunk));
      stream.once("end", () => done());
      stream.once("close", () => done());
      stream.once("error", done);
      if (stdin instanceof Uint8Array) stream.end(stdin);
      else if (stdin) void pipeStdin(stdin, stream).catch(done);
    });
    const exitCode = await this.exitCodeOf(exec!, id);
    if (startFailure && PROGRAM_NOT_FOUND.test(startFailure)) {
      request.onStderr?.(Buffer.from(programNotFound(request.argv[0] ?? "")));
      return { exitCode: 127 };
    }
    if (startFailure) request.onStderr?.(Buffer.from(startFailure));
    return { exitCode };
  }

  /** The stream can end a moment before the engine records the exit, so ask again briefly. */
  private async exitCodeOf(exec: Docker.Exec, id: string): Promise<number> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const info = await exec.inspect().catch((error: unknown) => {
        throw this.execError(id, error);
      });
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new ContainerError(`exec in container ${id} did not report an exit code`);
  }

  private execError(id: string, error: unknown): SandboxError {
    if (SandboxError.isInstance(error)) return error;
    const status = statusOf(error);
    if (status === 404 || status === 409) {
      return new ContainerError(`Container ${id} is gone or not running (removed, crashed or out of memory)`, {
        cause: error,
      });
    }
    return this.failure(error, `exec in container ${id} failed`);
  }

  async running(id: string): Promise<boolean> {
    try {
      return (await this.docker.getContainer(id).inspect()).State.Running;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw this.unreachable(error);
    }
  }

  watchContainers(label: string, onStop: (id: string) => void, signal: AbortSignal): Promise<{ readonly closed: Promise<void> }> {
    return watchStops(this.docker, label, onStop, signal).catch((error: unknown) => {
      throw this.unreachable(error);
    });
  }

  async freeProcessSlots(id: string): Promise<void> {
    const container = this.docker.getContainer(id);
    const { Config, HostConfig } = await container.inspect();
    // Another first process (an attached container of someone else's) may take the signal for a stop.
    const command = [Config.Entrypoint ?? [], Config.Cmd ?? []].flat();
    if (HostConfig.Init || command.at(-1) !== KEEP_ALIVE_NAME) return;
    await container.kill({ signal: FREE_SLOTS_SIGNAL });
  }

  async setInstallNetwork(id: string, connected: boolean): Promise<void> {
    const network = this.docker.getNetwork(await this.ensureInstallNetwork());
    try {
      if (connected) await network.connect({ Container: id });
      else await network.disconnect({ Container: id, Force: true });
    } catch (error) {
      const message = (error as Error).message;
      // Idempotent: already in the wanted state.
      if (/already exists|is not connected/i.test(message)) return;
      throw new ContainerError(`Cannot ${connected ? "connect" : "disconnect"} the install network: ${message}`, {
        cause: error,
      });
    }
  }

  /** The install network's id (docker-network.ts), found or created once. */
  protected ensureInstallNetwork(): Promise<string> {
    this.installNetworkId ??= installNetwork(this.docker).catch((error: unknown) => {
      this.installNetworkId = undefined;
      throw SandboxError.isInstance(error) ? error : new ContainerError(`Cannot create the install network: ${(error as Error).message}`, { cause: error });
    });
    return this.installNetworkId;
  }

  async commit(id: string, reference: string): Promise<string> {
    const colon = reference.lastIndexOf(":");
    const [repo, tag] = colon > reference.lastIndexOf("/") ? [reference.slice(0, colon), reference.slice(colon + 1)] : [reference, "latest"];
    await this.docker.getContainer(id).commit({ repo, tag, comment: "committed by llm-sandbox" });
    return `${repo}:${tag}`;
  }

  /** Removes the sandbox, then its relay (Podman removes no container whose namespace another one uses). */
  async remove(id: string): Promise<void> {
    const relay = await this.relayOf(id);
    for (const container of relay ? [id, relay] : [id]) {
      try {
        await this.docker.getContainer(container).remove({ force: true, v: true });
      } catch (error) {
        const status = statusOf(error);
        if (status !== 404 && status !== 409) throw this.failure(error, `Cannot remove container ${container}`);
      }
    }
    this.relays.delete(id);
  }

  /** A relay this adapter does not know of (nothing created or attached it here) is left to the reaper. */
  removeSync(id: string): void {
    const relay = this.relays.get(id);
    removeContainersSync(this.docker, relay ? [id, relay] : [id]);
  }

  async removeImage(image: string): Promise<void> {
    // 409 = still used by a container: keep it.
    await this.docker.getImage(image).remove().catch(() => {});
  }
}

/** The first words of an engine's "could not start the program" (Docker's OCI runtime; Podman's runc or crun). */
const START_FAILURE = /^(?:OCI runtime exec failed|Error: (?:runc|crun): exec failed)/;

/** Writes a stdin stream as it produces, honouring back-pressure, then half-closes (the program sees EOF). */
async function pipeStdin(source: AsyncIterable<Uint8Array>, stream: Duplex): Promise<void> {
  for await (const chunk of source) {
    if (stream.destroyed) return;
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once("drain", resolve));
  }
  stream.end();
}
