import { readFile, stat } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import type { AttachedContainer, BackendAdapter, ContainerSpec, NetworkPolicy } from "../backends/backend.js";
import type { EncodingErrors } from "../enums.js";
import { ContainerError, EngineUnavailableError, LibraryInstallationError, LibraryInstallationNotSupportedError, ValidationError } from "../errors.js";
import type { Logger } from "../internal/logger.js";
import type { LanguageHandler, PackageIndexes, SandboxCommand, SandboxContext } from "../languages/handler.js";
import type { ExecutionErrorInfo } from "../result.js";
import { type ProcessLauncher, type ProcessOutput, type ProcessRequest, runProcess } from "./process.js";
import { onProcessExit } from "./exit-cleanup.js";
import { KILLED_EXIT_CODE, OOM_COUNTER_SCRIPT, oomKills, outOfMemoryError } from "./out-of-memory.js";
import { ContainerEgress } from "./egress.js";
import type { ParsedEgressPolicy } from "../network/policy.js";

/** What preparing a container and installing into it need to know (a subset of the session options). */
export interface PrepareSettings {
  readonly workdir: string;
  readonly packageIndexes: PackageIndexes;
  readonly extraCaCerts: readonly string[];
  readonly skipEnvironmentSetup: boolean;
  /** Seconds a language set-up step or an installation may take. */
  readonly installTimeout: number;
  /** Seconds any other step may take. */
  readonly defaultTimeout: number;
}

/** A process request whose defaults (user) come from the container; the rest is the caller's. */
export type ContainerProcessRequest = Omit<ProcessRequest, "user"> & { readonly user?: string };

/** Where the CA bundle for extra certificates goes (the workdir may be user-visible; /tmp is ours too). */
export const CA_BUNDLE = "/tmp/.llm-sandbox-ca.pem";
/** Variables pointing the usual tools at that bundle. */
export const CA_ENV = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"] as const;

/** Those variables, as a container's environment. */
export const CA_VARIABLES: Readonly<Record<string, string>> = Object.fromEntries(CA_ENV.map((name) => [name, CA_BUNDLE]));
/** The policy of a relayed container nobody gave one: nothing allowed. */
const NO_EGRESS: ParsedEgressPolicy = { allow: [], deny: [], secrets: {}, hosts: {}, caCerts: [] };

/** Caps and decoding for the lifecycle's own steps (set-up, installs, diagnosis): their output is only read for errors. */
const STEP_OUTPUT = { maxOutputBytes: 1024 * 1024, encodingErrors: "replace" as EncodingErrors };

/** How long a container that cannot start a process is given to be reported stopped, before it counts as running. */
const GONE_CHECK_MS = 3_000;

interface ContainerInit {
  readonly backend: BackendAdapter;
  readonly language: LanguageHandler;
  readonly logger: Logger;
  readonly id: string;
  readonly created: boolean;
  readonly user: string | undefined;
  readonly network: NetworkPolicy;
  readonly egress?: ContainerEgress | undefined;
}

/**
 * One sandbox container through its whole life, the single place where containers are created (or attached),
 * prepared (CA certificates, the language's set-up, libraries), executed in, diagnosed and removed. Sessions and
 * pools both hold these; every capability that changes how a sandbox is made or run plugs in here once.
 */
export class SandboxContainer {
  readonly id: string;
  /** Created here, so removed by `remove()` (an attached container is never removed). */
  readonly created: boolean;
  readonly user: string | undefined;
  readonly network: NetworkPolicy;
  readonly backend: BackendAdapter;
  readonly language: LanguageHandler;
  /** The egress proxy of a container whose network is a policy ("relayed"). */
  readonly egress: ContainerEgress | undefined;
  /** Starts runs without an engine exec (a pooled container's warm interpreter), once one is running. */
  launcher: ProcessLauncher | undefined;
  /** The image written by `remove({ commitAs })`. */
  committedImage: string | undefined;

  readonly #logger: Logger;
  #installed = new Set<string>();
  /** Libraries of the prepared state (what a pool's reset returns to). */
  #baseline: readonly string[] | undefined;
  /** Out-of-memory kills seen so far: a new one tells an OOM kill from any other SIGKILL. */
  #oomKills = 0;
  #untrackExit: (() => void) | undefined;
  #removed: Promise<void> | undefined;
  #gone: ContainerError | undefined;
  #networkReady: Promise<void> | undefined;

  private constructor(init: ContainerInit) {
    this.backend = init.backend;
    this.language = init.language;
    this.#logger = init.logger;
    this.id = init.id;
    this.created = init.created;
    this.user = init.user;
    this.network = init.network;
    this.egress = init.egress;
  }

  /**
   * Creates a container from `spec`; it is removed at process exit if nobody removed it before. A "relayed" spec
   * gets its egress proxy, for `egressPolicy`: the proxy's variables join the environment; the relay
   * starts meanwhile, and every process waits for it (a relay that cannot start fails the first one).
   */
  static async create(init: {
    backend: BackendAdapter;
    language: LanguageHandler;
    logger: Logger;
    spec: ContainerSpec;
    egressPolicy?: ParsedEgressPolicy | undefined;
  }): Promise<SandboxContainer> {
    const { backend } = init;
    const egress = init.spec.network.mode === "relayed" ? ContainerEgress.prepare(init.egressPolicy ?? NO_EGRESS, backend, init.logger) : undefined;
    const spec = egress ? { ...init.spec, env: { ...egress.proxy.environment(), ...init.spec.env } } : init.spec;
    const id = await backend.create(spec);
    const container = new SandboxContainer({ ...init, id, created: true, user: spec.user, network: spec.network, egress });
    container.#untrackExit = onProcessExit({ dispose: () => container.remove(), disposeSync: () => backend.removeSync?.(id) });
    if (egress) {
      // Set-up steps go on while the relay starts: only what they run needs it.
      container.#networkReady = egress.start(id);
      container.#networkReady.catch(() => {});
    }
    return container;
  }

  /** Attaches to a container someone else made; it is never removed. `user` overrides the container's own. */
  static async attach(init: { backend: BackendAdapter; language: LanguageHandler; logger: Logger; id: string; user?: string }): Promise<SandboxContainer> {
    const attached: AttachedContainer = await init.backend.attach(init.id);
    return new SandboxContainer({ ...init, id: attached.id, created: false, user: init.user ?? (attached.user || undefined), network: { mode: "none" } });
  }

  /** Set up (`prepare()` done): a pool's container is, before any session gets it. */
  get prepared(): boolean {
    return this.#baseline !== undefined;
  }

  /** Set once the container turned out to be stopped or removed from outside (see `confirmGone`). */
  get gone(): ContainerError | undefined {
    return this.#gone;
  }

  /**
   * The one way processes start in the container: the container's user unless the request names one. An operation
   * that broke off, or whose program was SIGKILLed (as a stopping container's processes are), throws the
   * `ContainerError` of `confirmGone` when the container went away.
   */
  async exec(request: ContainerProcessRequest, options: { launcher?: boolean } = {}): Promise<ProcessOutput> {
    const process: ProcessRequest = {
      ...(this.user ? { user: this.user } : {}),
      ...request,
      // A policy changed at run time may name secrets the container's own environment has no placeholder for.
      ...(this.egress ? { env: { ...this.egress.proxy.environment(), ...request.env } } : {}),
    };
    await this.#networkReady;
    let result: ProcessOutput;
    try {
      result = await runProcess(this.backend, this.id, process, options.launcher ? this.launcher : undefined);
    } catch (error) {
      throw (ContainerError.isInstance(error) && (await this.confirmGone(error))) || error;
    }
    const gone = result.output.exitCode === KILLED_EXIT_CODE && (await this.confirmGone());
    if (gone) throw gone;
    return result;
  }

  /**
   * Whether the container went away behind our back (`docker rm -f`, `docker kill`, an engine restart): from then on
   * `gone` holds the `ContainerError` saying so. Undefined while it runs, or when the engine cannot tell;
   * `EngineUnavailableError` when the engine cannot be reached. Asked only after a failure or a SIGKILL, so a normal
   * operation costs no extra round trip.
   */
  async confirmGone(cause?: unknown): Promise<ContainerError | undefined> {
    if (this.#gone || !this.backend.running) return this.#gone;
    // A process that starts proves the container runs. One that cannot may mean it is stopping: the engine reports
    // its processes' exits a moment before its own, so it is asked again until it says (bounded).
    if (await this.#canStart()) return undefined;
    for (const deadline = Date.now() + GONE_CHECK_MS; Date.now() < deadline; await delay(100)) {
      const running = await this.backend.running(this.id).catch((error: unknown) => {
        if (EngineUnavailableError.isInstance(error)) throw error;
        return undefined;
      });
      if (running !== false) continue;
      this.#gone = new ContainerError(
        `The sandbox's container ${this.id.slice(0, 12)} is gone: it was stopped or removed from outside (docker rm -f or kill, an engine restart)`,
        ...(cause === undefined ? [] : [{ cause }]),
      );
      break;
    }
    return this.#gone;
  }

  /** Whether a process starts (and exits 0) in the container. */
  async #canStart(): Promise<boolean> {
    try {
      return (await this.backend.exec(this.id, { argv: ["true"], ...(this.user ? { user: this.user } : {}) })).exitCode === 0;
    } catch (error) {
      if (EngineUnavailableError.isInstance(error)) throw error;
      return false;
    }
  }

  /**
   * The environment set-up: extra CA certificates, the language's set-up steps and `libraries`. What it installed is
   * the prepared state that `resetInstalled()` returns to.
   */
  async prepare(settings: PrepareSettings, libraries: readonly string[], detach?: AbortSignal): Promise<void> {
    if (!settings.skipEnvironmentSetup) {
      if (settings.extraCaCerts.length || this.egress) await this.#installCaCertificates(settings, detach);
      const context = contextOf(settings);
      for (const step of this.language.setupScripts?.(context) ?? []) {
        const { output } = await this.#step(settings, step, `${this.language.name} set-up`, { detach });
        if (output.exitCode !== 0) {
          throw new ContainerError(`Environment set-up failed (${step.script}):\n${(output.stdout + output.stderr).trim()}`);
        }
      }
      await this.install(settings, libraries, { detach });
    }
    this.#baseline = [...this.#installed];
  }

  /** Installs what is not installed yet, with the language's package manager; the install network only meanwhile. */
  async install(settings: PrepareSettings, libraries: readonly string[], options: { signal?: AbortSignal; detach?: AbortSignal } = {}): Promise<void> {
    const wanted = [...new Set(libraries)].filter((name) => !this.#installed.has(name));
    if (wanted.length === 0) return;
    if (settings.skipEnvironmentSetup) {
      throw new LibraryInstallationNotSupportedError(this.language.name, "environment set-up is skipped for this session");
    }
    if (!this.language.installCommand) throw new LibraryInstallationNotSupportedError(this.language.name);
    const command = this.language.installCommand(wanted, contextOf(settings));
    const network = this.network.mode === "install-only" && this.backend.setInstallNetwork;
    if (network) await this.backend.setInstallNetwork!(this.id, true);
    let output;
    try {
      ({ output } = await this.#step(settings, command, `installation of ${wanted.join(", ")}`, options));
    } finally {
      if (network) await this.backend.setInstallNetwork!(this.id, false);
    }
    if (output.exitCode !== 0) throw new LibraryInstallationError(wanted, output.exitCode, `${output.stdout}${output.stderr}`);
    for (const name of wanted) this.#installed.add(name);
    this.#logger.info(`installed ${wanted.join(", ")}`);
  }

  /** After a reset restored the prepared files: only the prepared libraries are installed again. */
  resetInstalled(): void {
    this.#installed = new Set(this.#baseline);
  }

  /**
   * Why a program was killed, when the container's out-of-memory counter says it was the memory limit: the one
   * diagnosis for runs, warm runs and kernels. Undefined for any other exit (or when the engine has no counter).
   */
  async outOfMemory(exitCode: number | undefined, memoryLimitBytes: number | undefined, detach?: AbortSignal): Promise<ExecutionErrorInfo | undefined> {
    if (exitCode !== KILLED_EXIT_CODE) return undefined;
    try {
      const { output } = await this.exec({
        argv: ["/bin/sh", "-c", OOM_COUNTER_SCRIPT],
        timeout: 10,
        ...STEP_OUTPUT,
        description: "out-of-memory check",
        ...(detach ? { detach } : {}),
      });
      const kills = oomKills(output.stdout);
      if (kills === undefined || kills <= this.#oomKills) return undefined;
      this.#oomKills = kills;
      return outOfMemoryError(memoryLimitBytes);
    } catch (error) {
      this.#logger.warn(`out-of-memory check failed: ${error}`);
      return undefined;
    }
  }

  /** Removes the container if it was created here, committing it first when asked. Idempotent; a failed removal (the engine away) may be tried again. */
  remove(options: { commitAs?: string } = {}): Promise<void> {
    if (!this.created) return Promise.resolve();
    const removed = (this.#removed ??= (async () => {
      try {
        this.egress?.stop();
        if (options.commitAs && this.backend.commit) this.committedImage = await this.backend.commit(this.id, options.commitAs);
      } finally {
        await this.backend.remove(this.id);
        this.#untrackExit?.();
      }
    })());
    removed.catch(() => this.#removed === removed && (this.#removed = undefined));
    return removed;
  }

  async #installCaCertificates(settings: PrepareSettings, detach: AbortSignal | undefined): Promise<void> {
    const own = this.egress ? [this.egress.proxy.caCertificate] : [];
    const pem = [...(await Promise.all(settings.extraCaCerts.map(readCertificate))), ...own].join("\n");
    const { output } = await this.exec({
      argv: ["/bin/sh", "-c", `{ cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null; cat; } > ${CA_BUNDLE}`],
      stdin: Buffer.from(pem),
      workdir: settings.workdir,
      timeout: settings.defaultTimeout,
      ...STEP_OUTPUT,
      description: "CA certificate set-up",
      ...(detach ? { detach } : {}),
    });
    if (output.exitCode !== 0) throw new ContainerError(`Cannot install CA certificates: ${output.stderr.trim()}`);
  }

  #step(settings: PrepareSettings, command: SandboxCommand, description: string, options: { signal?: AbortSignal; detach?: AbortSignal }) {
    return this.exec({
      argv: ["/bin/sh", "-c", command.script],
      workdir: settings.workdir,
      ...(command.user === "root" ? { user: "0" } : {}),
      timeout: settings.installTimeout,
      ...STEP_OUTPUT,
      description,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.detach ? { detach: options.detach } : {}),
    });
  }
}

function contextOf(settings: PrepareSettings): SandboxContext {
  return { workdir: settings.workdir, packageIndexes: settings.packageIndexes };
}

async function readCertificate(source: string): Promise<string> {
  if (source.includes("-----BEGIN CERTIFICATE-----")) return source;
  try {
    if ((await stat(source)).isFile()) return await readFile(source, "utf8");
  } catch {
    // reported below
  }
  throw new ValidationError(`extraCaCerts: ${source} is neither a readable file nor PEM text`);
}
