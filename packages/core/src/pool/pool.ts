import { z } from "zod";
import type { BackendAdapter, ContainerSpec } from "../backends/backend.js";
import { ContainerError, PoolClosedError, PoolExhaustedError, SandboxAbortError, ValidationError } from "../errors.js";
import { deferred } from "../internal/async.js";
import { newId } from "../internal/ids.js";
import { LABELS } from "../internal/labels.js";
import { type Logger, silentLogger, stderrLogger } from "../internal/logger.js";
import type { LanguageHandler } from "../languages/handler.js";
import { getLanguageHandler } from "../languages/registry.js";
import { createBackend } from "../session/backend-factory.js";
import type { ContainerLease, ContainerSource } from "../session/container-source.js";
import { sandboxImage, secureContainerSpec } from "../session/container-spec.js";
import { onProcessExit } from "../session/exit-cleanup.js";
import { type ParsedSessionOptions, parseOptions, type SessionOptions, sessionOptionsSchema } from "../session/options.js";
import { type ProcessLauncher, type ProcessRequest, runProcess } from "../session/process.js";
import { type OpenContainer, SandboxSession } from "../session/session.js";
import { ExhaustionStrategy, type PoolConfig, parsePoolConfig, type ResolvedPoolConfig } from "./config.js";
import { KILL_SCRIPT, killStepUser, RESTORE_SCRIPT, SNAPSHOT_SCRIPT } from "./reset.js";
import { defaultWarmModules, startWarmRunner, type WarmRunner, warmLanguages } from "./warm.js";

/** Session options that make no sense for a pool's containers. */
const REFUSED = ["pool", "containerId", "commitContainer", "sessionTimeout"] as const;

const warmSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      /** Modules imported once; default for Python: numpy, pandas, matplotlib, matplotlib.pyplot. */
      modules: z.array(z.string().regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/, "expected a module name such as numpy or matplotlib.pyplot")).optional(),
    }),
  ])
  .optional();

export type PoolManagerOptions = Omit<SessionOptions, (typeof REFUSED)[number]> & {
  /** The pool's rules (sizes, timeouts, exhaustion strategy). */
  config?: PoolConfig;
  /**
   * A warm interpreter in every pooled container (Python): each run forks an interpreter that imported these
   * modules already. Default: on, with the language's default modules, where the language has one.
   */
  warmInterpreter?: z.input<typeof warmSchema>;
};

/** What a pooled container is doing. */
export type PooledContainerState = "creating" | "idle" | "busy" | "checking" | "resetting" | "removing";

export interface PoolStats {
  /** Containers the pool holds (every state but "removing"; temporary ones excluded). */
  readonly totalSize: number;
  readonly maxSize: number;
  readonly minSize: number;
  readonly stateCounts: Readonly<Record<PooledContainerState, number>>;
  /** TEMPORARY containers in use (outside the pool's count). */
  readonly temporary: number;
  /** `acquire()` calls waiting for a container. */
  readonly waiting: number;
  readonly closed: boolean;
  /** Since the pool started: containers created, leases handed out, leases of a used container, failed resets. */
  readonly counters: { readonly created: number; readonly acquired: number; readonly reused: number; readonly resetFailures: number };
  /** Idle, busy or checked containers whose warm interpreter runs. */
  readonly warm: number;
}

interface Pooled {
  readonly key: string;
  readonly temporary: boolean;
  state: PooledContainerState;
  createdAt: number;
  idleSince: number;
  uses: number;
  open?: OpenContainer;
  warm?: WarmRunner;
  /** Used once and replaced: no reset could kill its processes untraceably (see #build). */
  singleUse?: boolean;
  lease?: ContainerLease;
  readonly stop: AbortController;
}

interface Waiter {
  readonly resolve: (lease: ContainerLease) => void;
  readonly reject: (error: unknown) => void;
  timer?: NodeJS.Timeout;
  readonly cleanup: () => void;
}

/** What every container of the pool is reset to: the files of its in-memory mounts right after set-up. */
interface Baseline {
  /** Mount points relative to /. */
  readonly mounts: readonly string[];
  readonly archive?: Buffer;
  readonly fingerprint: string;
}

/** Seconds a reset (or a health probe) may take before the container counts as broken. */
const RESET_TIMEOUT = 30;
const PROBE_TIMEOUT_MS = 10_000;
/** The baseline is kept in memory for the pool's life. */
const MAX_BASELINE_BYTES = 256 * 1024 * 1024;
/** After a failed creation, top-ups to `minPoolSize` pause this long (an acquire still tries at once). */
const RETRY_DELAY_MS = 5_000;

/**
 * A pool of ready containers for one language and image, shared by sessions (`createSession({ pool })`). A
 * released container is reset to its starting state before anyone gets it again — processes killed, in-memory
 * workdir and /tmp restored, IPC objects removed — or removed if the reset fails. Containers are created and reset
 * in the background; nothing ever waits on the engine while holding the pool's state. One implementation for every
 * backend: it only uses the backend adapter (create, exec, remove).
 */
export class PoolManager implements ContainerSource, AsyncDisposable {
  readonly id = newId();
  readonly language: string;
  readonly config: ResolvedPoolConfig;
  readonly sessionDefaults: Readonly<SessionOptions>;
  /** Modules the warm interpreters import; undefined when containers have none. */
  readonly warmModules: readonly string[] | undefined;
  readonly #options: ParsedSessionOptions;
  readonly #handler: LanguageHandler;
  readonly #backend: BackendAdapter;
  readonly #logger: Logger;
  readonly #containers = new Set<Pooled>();
  readonly #waiters: Waiter[] = [];
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #closeSignal = new AbortController();
  readonly #health: NodeJS.Timeout;
  readonly #untrackExit: () => void;
  #image: Promise<{ image: string; built?: string }> | undefined;
  #baseline: Promise<Baseline> | undefined;
  #spec: ContainerSpec | undefined;
  #closing: Promise<void> | undefined;
  #lastError: unknown;
  #retryAt = 0;
  #changed = deferred<void>();
  #counters = { created: 0, acquired: 0, reused: 0, resetFailures: 0 };
  /** Set when a warm interpreter declined to run on this host: the pool goes on without them. */
  #warmDeclined = false;
  #singleUseReported = false;

  constructor(options: PoolManagerOptions = {}) {
    const { config, warmInterpreter, ...sessionOptions } = options ?? {};
    const refused = REFUSED.filter((key) => (sessionOptions as Record<string, unknown>)[key] !== undefined);
    if (refused.length) throw new ValidationError(`Invalid pool options:\n✖ ${refused.join(", ")}: not available for pooled containers`);
    this.config = parsePoolConfig(config);
    this.#options = parseOptions(sessionOptionsSchema, sessionOptions, "pool options");
    if (this.#options.runtimeConfigs.readOnly === false) {
      throw new ValidationError(
        "Invalid pool options:\n✖ runtimeConfigs.readOnly: a pool resets containers by restoring their in-memory workdir and /tmp, so the root filesystem must stay read-only",
      );
    }
    this.#handler = getLanguageHandler(this.#options.lang);
    this.language = this.#handler.name;
    this.warmModules = resolveWarm(warmInterpreter === undefined ? undefined : parseOptions(warmSchema, warmInterpreter, "warmInterpreter option"), this.language);
    this.#backend = createBackend(this.#options);
    this.#logger = this.#options.logger ?? (this.#options.verbose ? stderrLogger : silentLogger);
    // Sessions on the pool get its options; the pool's libraries are in its containers already, not theirs to install.
    const { libraries: _poolLibraries, ...defaults } = sessionOptions;
    this.sessionDefaults = { ...defaults, lang: this.language };
    this.#health = setInterval(() => this.#checkHealth(), this.config.healthCheckInterval * 1000);
    this.#health.unref();
    // Ctrl-C or the end of the program closes the pool (so nothing tops it up meanwhile); a hard exit removes what it can.
    this.#untrackExit = onProcessExit({
      dispose: () => this.close(),
      disposeSync: () => {
        for (const container of this.#containers) if (container.open) this.#backend.removeSync?.(container.open.id);
      },
    });
    this.#dispatch();
  }

  /** Borrows a container (see `exhaustionStrategy`). Sessions do this for you: `createSession({ pool })`. */
  acquire(options: { signal?: AbortSignal } = {}): Promise<ContainerLease> {
    const { signal } = options;
    if (this.#closeSignal.signal.aborted) return Promise.reject(new PoolClosedError());
    if (signal?.aborted) return Promise.reject(new SandboxAbortError());
    const idle = this.#takeIdle();
    if (idle) return Promise.resolve(this.#lend(idle));
    const full = this.#size() >= this.config.maxPoolSize;
    // Only containers held by sessions are busy: one being created, reset or checked is coming, unless earlier
    // waiters have it already.
    const coming = this.#size() - this.#count("busy") - this.#waiters.length;
    if (full && coming <= 0 && this.config.exhaustionStrategy === ExhaustionStrategy.FAIL_FAST) {
      return Promise.reject(new PoolExhaustedError(this.config.maxPoolSize));
    }
    if (full && this.config.exhaustionStrategy === ExhaustionStrategy.TEMPORARY) return this.#temporary();
    return new Promise<ContainerLease>((resolve, reject) => {
      const onAbort = () => settle(() => reject(new SandboxAbortError(undefined, { cause: signal?.reason })));
      const waiter: Waiter = {
        resolve: (lease) => settle(() => resolve(lease)),
        reject: (error) => settle(() => reject(error)),
        cleanup: () => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      const settle = (action: () => void) => {
        const index = this.#waiters.indexOf(waiter);
        if (index === -1) return;
        this.#waiters.splice(index, 1);
        waiter.cleanup();
        action();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#armTimeout(waiter);
      this.#waiters.push(waiter);
      this.#dispatch();
    });
  }

  /**
   * Resolves once the prewarmed `minPoolSize` containers are ready (at once without prewarming); rejects if creating
   * them failed, or the pool closed.
   */
  async ready(): Promise<void> {
    for (;;) {
      if (this.#closeSignal.signal.aborted) throw new PoolClosedError();
      if (!this.config.enablePrewarming) return;
      const ready = [...this.#containers].filter((c) => !c.temporary && c.state !== "creating" && c.state !== "removing").length;
      if (ready >= this.config.minPoolSize) return;
      if (this.#lastError !== undefined && this.#count("creating") === 0) throw this.#lastError;
      await this.#changed.promise;
    }
  }

  getStats(): PoolStats {
    const stateCounts: Record<PooledContainerState, number> = { creating: 0, idle: 0, busy: 0, checking: 0, resetting: 0, removing: 0 };
    for (const container of this.#containers) if (!container.temporary) stateCounts[container.state]++;
    return {
      totalSize: this.#size(),
      maxSize: this.config.maxPoolSize,
      minSize: this.config.minPoolSize,
      stateCounts,
      temporary: [...this.#containers].filter((c) => c.temporary && c.state !== "removing").length,
      waiting: this.#waiters.length,
      closed: this.#closeSignal.signal.aborted,
      counters: { ...this.#counters },
      warm: [...this.#containers].filter((c) => c.warm?.alive && ["idle", "busy", "checking"].includes(c.state)).length,
    };
  }

  /**
   * Removes every container — busy ones too (their sessions fail from then on) — and wakes waiting `acquire()`s
   * with `PoolClosedError`. Idempotent; resolves when everything is gone.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closeSignal.abort();
      clearInterval(this.#health);
      for (const waiter of [...this.#waiters]) waiter.reject(new PoolClosedError());
      for (const container of this.#containers) if (container.state !== "creating") this.#remove(container);
      while (this.#tasks.size) await Promise.allSettled([...this.#tasks]);
      const image = await this.#image?.catch(() => undefined);
      if (image?.built && !this.#options.keepTemplate) await this.#backend.removeImage?.(image.built);
      this.#untrackExit();
      this.#notify();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- state ------------------------------------------------------------------------------------------------

  #size(): number {
    return [...this.#containers].filter((c) => !c.temporary && c.state !== "removing").length;
  }

  #count(state: PooledContainerState): number {
    return [...this.#containers].filter((c) => !c.temporary && c.state === state).length;
  }

  /** The most recently used idle container (the others can then age out), skipping expired ones. */
  #takeIdle(): Pooled | undefined {
    const idle = [...this.#containers].filter((c) => c.state === "idle").sort((a, b) => b.idleSince - a.idleSince);
    for (const container of idle) {
      if (this.#expired(container)) this.#remove(container);
      else return container;
    }
    return undefined;
  }

  #expired(container: Pooled): boolean {
    const { maxContainerLifetime, maxContainerUses } = this.config;
    return (
      (maxContainerLifetime !== null && Date.now() - container.createdAt >= maxContainerLifetime * 1000) ||
      (maxContainerUses != null && container.uses >= maxContainerUses) ||
      (container.warm !== undefined && !container.warm.alive) ||
      (container.singleUse === true && container.uses > 0)
    );
  }

  #lend(container: Pooled): ContainerLease {
    container.state = "busy";
    container.uses++;
    this.#counters.acquired++;
    if (container.uses > 1) this.#counters.reused++;
    const lease: ContainerLease = { container: container.open!, release: () => this.#release(container, lease) };
    container.lease = lease;
    this.#notify();
    return lease;
  }

  #release(container: Pooled, lease: ContainerLease): void {
    if (container.lease !== lease || container.state !== "busy") return;
    container.lease = undefined;
    if (this.#closeSignal.signal.aborted || container.temporary || this.#expired(container)) return this.#remove(container);
    container.state = "resetting";
    this.#notify();
    this.#task(async () => {
      try {
        await this.#reset(container);
      } catch (error) {
        if (container.state !== "resetting") return; // removed meanwhile (close)
        this.#counters.resetFailures++;
        this.#logger.warn(`pool ${this.id}: container ${container.key} could not be reset and is replaced: ${(error as Error).message}`);
        return this.#remove(container);
      }
      if (container.state !== "resetting") return; // removed meanwhile (close)
      container.state = "idle";
      container.idleSince = Date.now();
      this.#dispatch();
    });
  }

  /** Hands idle containers to waiters (oldest first), then creates containers for waiters and up to `minPoolSize`. */
  #dispatch(): void {
    if (this.#closeSignal.signal.aborted) return;
    while (this.#waiters.length) {
      const idle = this.#takeIdle();
      if (!idle) break;
      this.#waiters[0]!.resolve(this.#lend(idle));
    }
    // Containers being created or reset are coming; a reset is far cheaper than a creation.
    let wanted = this.#waiters.length - this.#count("creating") - this.#count("resetting");
    if (this.config.enablePrewarming && Date.now() >= this.#retryAt) wanted = Math.max(wanted, this.config.minPoolSize - this.#size());
    for (; wanted > 0 && this.#size() < this.config.maxPoolSize; wanted--) this.#create();
    this.#notify();
  }

  #armTimeout(waiter: Waiter): void {
    const timeout = this.config.acquisitionTimeout;
    // TEMPORARY never waits for a busy pool; WAIT and FAIL_FAST wait for a container that is coming.
    if (timeout === null || this.config.exhaustionStrategy === ExhaustionStrategy.TEMPORARY) return;
    waiter.timer = setTimeout(() => {
      // The timeout is for a busy pool; a container being created for this waiter is still coming.
      if (this.#waiters.indexOf(waiter) < this.#count("creating")) return this.#armTimeout(waiter);
      waiter.reject(new PoolExhaustedError(this.config.maxPoolSize, timeout));
    }, timeout * 1000);
  }

  #notify(): void {
    this.#changed.resolve();
    this.#changed = deferred<void>();
  }

  /** Background work, awaited by `close()`; never rejects. */
  #task(work: () => Promise<void>): void {
    this.#track(work().catch((error: unknown) => this.#logger.error(`pool ${this.id}: ${(error as Error).message}`)));
  }

  #track(work: Promise<unknown>): void {
    const task = work.catch(() => {});
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  // ---- containers -------------------------------------------------------------------------------------------------

  #newEntry(temporary: boolean): Pooled {
    const container: Pooled = { key: newId(4), temporary, state: "creating", createdAt: Date.now(), idleSince: 0, uses: 0, stop: new AbortController() };
    this.#containers.add(container);
    return container;
  }

  #create(): void {
    const container = this.#newEntry(false);
    this.#task(async () => {
      try {
        await this.#build(container);
      } catch (error) {
        this.#remove(container);
        if (this.#closeSignal.signal.aborted) return;
        this.#lastError = error;
        this.#retryAt = Date.now() + RETRY_DELAY_MS;
        this.#logger.warn(`pool ${this.id}: creating a container failed: ${(error as Error).message}`);
        // Whoever waits longest was counting on this container.
        this.#waiters[0]?.reject(error);
        return;
      }
      this.#lastError = undefined;
      if (this.#closeSignal.signal.aborted) return this.#remove(container);
      container.state = "idle";
      container.idleSince = Date.now();
      this.#dispatch();
    });
  }

  /** A container for one use beyond `maxPoolSize`: no warm interpreter, removed on release. */
  async #temporary(): Promise<ContainerLease> {
    const container = this.#newEntry(true);
    const built = this.#build(container);
    this.#track(built);
    try {
      await built;
    } catch (error) {
      this.#remove(container);
      throw error;
    }
    if (this.#closeSignal.signal.aborted) {
      this.#remove(container);
      throw new PoolClosedError();
    }
    return this.#lend(container);
  }

  /** Creates, sets up and (first time) snapshots a container, then starts its warm interpreter. */
  async #build(container: Pooled): Promise<void> {
    const image = (this.#image ??= sandboxImage(this.#options, this.#backend, this.#handler, this.#logger));
    image.catch(() => this.#image === image && (this.#image = undefined));
    const spec = (this.#spec ??= this.#containerSpec((await image).image));
    const id = await this.#backend.create(spec);
    const open: OpenContainer = { id, created: false, user: spec.user, network: spec.network };
    container.open = { ...open, prepared: { libraries: this.#options.libraries } };
    this.#counters.created++;
    if (this.#closeSignal.signal.aborted) return;
    await this.#setUp(open);
    if (container.temporary) return;
    // The first container's files are the baseline, taken before anything else runs in it; the others need it
    // only for their first reset, so their warm interpreters start meanwhile.
    if (!this.#baseline) {
      const baseline = (this.#baseline = this.#snapshot(open, spec));
      baseline.catch(() => this.#baseline === baseline && (this.#baseline = undefined));
      await baseline;
    }
    // The warm interpreter starts before anyone uses the container: a session's processes must never be able to
    // touch it while it imports (it reads files under HOME=/tmp, e.g. matplotlib's configuration).
    if (this.warmModules && !this.#warmDeclined && !this.#closeSignal.signal.aborted) {
      const warm = await startWarmRunner({
        language: this.language,
        modules: this.warmModules,
        backend: this.#backend,
        containerId: id,
        user: spec.user,
        workdir: spec.workdir,
        detach: AbortSignal.any([this.#closeSignal.signal, container.stop.signal]),
        startTimeout: this.#options.defaultTimeout,
        logger: this.#logger,
      });
      if (!warm) this.#warmDeclined = true;
      else {
        container.warm = warm;
        container.open = { ...container.open, launcher: warm };
        void warm.ended?.then(() => this.#onWarmEnded(container));
      }
    }
    // Where every exec runs as the session's user and gid (Kubernetes), a reset's kill step is as traceable by the
    // session's processes as they are by it — unless a warm interpreter kills them from a process none can trace,
    // or the node's kernel forbids tracing non-descendants (Yama; probed per container, as pods land on any node).
    if (this.#backend.fixedExecUser && !container.warm?.clear && (await this.#sameUserTracing(open))) {
      container.singleUse = true;
      if (!this.#singleUseReported) {
        this.#singleUseReported = true;
        this.#logger.warn(
          `pool ${this.id}: containers are used once and replaced, not reset: on ${this.#backend.kind} a reset runs as ` +
            "the session's own user, and this node lets a process trace others of its user (kernel.yama.ptrace_scope 0), " +
            "so what a session left running could stop the reset. Nodes with ptrace_scope >= 1, or Python's warm " +
            "interpreter, allow reuse.",
        );
      }
    }
  }

  /** Whether a process here may trace any other of its user: no Yama restriction (kernel.yama.ptrace_scope 0 or absent). */
  async #sameUserTracing(container: OpenContainer): Promise<boolean> {
    const { output } = await this.#exec(container, {
      argv: ["/bin/sh", "-c", "cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0"],
      description: "pool tracing probe",
    });
    return !(Number(output.stdout.trim()) >= 1);
  }

  #containerSpec(image: string): ContainerSpec {
    const spec = secureContainerSpec(this.#options, this.#backend, this.#handler, image, this.id);
    return { ...spec, labels: { ...spec.labels, [LABELS.pool]: this.id } };
  }

  /** The session set-up (CA certificates, the language's set-up, the pool's libraries), by a session on this container. */
  async #setUp(container: OpenContainer): Promise<void> {
    const { extraCaCerts, libraries, skipEnvironmentSetup, workdir, packageIndexes } = this.#options;
    const steps = this.#handler.setupScripts?.({ workdir, packageIndexes }) ?? [];
    if (skipEnvironmentSetup || (!extraCaCerts.length && !steps.length && !libraries.length)) return;
    const source: ContainerSource = {
      language: this.language,
      sessionDefaults: this.sessionDefaults,
      acquire: async () => ({ container, release: () => {} }),
    };
    const session = new SandboxSession({ pool: source, libraries: [...libraries] });
    try {
      await session.open();
    } finally {
      await session.close();
    }
  }

  /** The baseline every reset restores: the in-memory mounts as they are right after creation and set-up. */
  async #snapshot(container: OpenContainer, spec: ContainerSpec): Promise<Baseline> {
    const mounts = Object.keys(spec.tmpfs).map((path) => path.replace(/^\/+/, ""));
    if (!mounts.length) return { mounts, fingerprint: "-" };
    const { output, stdoutBytes } = await this.#exec(container, {
      argv: ["/bin/sh", "-c", SNAPSHOT_SCRIPT, "snapshot", ...mounts],
      rawStdout: true,
      maxOutputBytes: MAX_BASELINE_BYTES,
      description: "pool baseline snapshot",
    });
    const fingerprint = output.stderr.trimEnd().split("\n").at(-1) ?? "";
    if (output.exitCode !== 0 || !fingerprint) throw new ContainerError(`Cannot take the pool's baseline of ${mounts.join(", ")}: ${output.stderr.trim()}`);
    if (output.stdoutTruncated) throw new ContainerError(`The pool's baseline (${mounts.join(", ")}) exceeds ${MAX_BASELINE_BYTES} bytes`);
    return { mounts, archive: stdoutBytes!, fingerprint };
  }

  /**
   * Puts a used container back to the baseline; throws if anything is off. First every process the session left is
   * killed — by the warm interpreter if it can do so untraceably, else by an exec no leftover can trace (reset.ts) —
   * then the files are restored and the warm interpreter made ready for the next session.
   */
  async #reset(container: Pooled): Promise<void> {
    const open = container.open!;
    const warm = container.warm;
    if (warm && !(await warm.settle(PROBE_TIMEOUT_MS))) throw new ContainerError("an operation of the warm interpreter does not end");
    const killed = warm?.clear
      ? await warm.clear(PROBE_TIMEOUT_MS)
      : await this.#exec(open, {
          argv: ["/bin/sh", "-c", KILL_SCRIPT, "kill"],
          user: killStepUser(open.user ?? "1000:1000"),
          description: "pool reset (processes)",
        }).then(({ output }) => output.exitCode === 0 || Promise.reject(new ContainerError(output.stderr.trim())));
    if (!killed) throw new ContainerError("processes of the session survive");
    const baseline = await (this.#baseline ?? Promise.reject(new ContainerError("the pool has no baseline to reset to")));
    // A session's install may have left the install network attached; the restore and the disconnect run together.
    const disconnected = open.network.mode === "install-only" ? this.#backend.setInstallNetwork?.(open.id, false) : undefined;
    // Through the warm interpreter when it can (no engine exec), else as a plain exec.
    const restore = this.#exec(
      open,
      {
        argv: ["/bin/sh", "-c", RESTORE_SCRIPT, "restore", baseline.fingerprint, ...baseline.mounts],
        ...(baseline.archive ? { stdin: baseline.archive } : {}),
        description: "pool reset (files)",
      },
      open.launcher,
    );
    const [{ output }] = await Promise.all([restore, disconnected]);
    if (output.exitCode !== 0) throw new ContainerError(`reset failed (exit code ${output.exitCode}): ${output.stderr.trim()}`);
    if (warm && !(await warm.prepare(PROBE_TIMEOUT_MS, { fresh: true }))) throw new ContainerError("its warm interpreter is not ready");
  }

  #exec(
    container: OpenContainer,
    request: Omit<ProcessRequest, "timeout" | "maxOutputBytes" | "encodingErrors"> & { maxOutputBytes?: number },
    launcher?: ProcessLauncher,
  ) {
    const process = {
      timeout: RESET_TIMEOUT,
      maxOutputBytes: 64 * 1024,
      encodingErrors: "replace",
      workdir: "/",
      ...(container.user ? { user: container.user } : {}),
      detach: this.#closeSignal.signal,
      ...request,
    } as const;
    return runProcess(this.#backend, container.id, process, launcher);
  }

  #remove(container: Pooled): void {
    if (container.state === "removing") return;
    container.state = "removing";
    container.lease = undefined;
    container.stop.abort();
    this.#notify();
    this.#task(async () => {
      try {
        if (container.open) await this.#backend.remove(container.open.id);
      } finally {
        this.#containers.delete(container);
        this.#dispatch();
      }
    });
  }

  #onWarmEnded(container: Pooled): void {
    if (container.state === "idle") {
      this.#logger.warn(`pool ${this.id}: the warm interpreter of container ${container.key} ended; replacing the container`);
      this.#remove(container);
    }
  }

  /** Idle containers: expired or idle too long are removed, the rest probed (warm interpreter ping, or an exec). */
  #checkHealth(): void {
    const { idleTimeout } = this.config;
    const idle = [...this.#containers].filter((c) => c.state === "idle").sort((a, b) => a.idleSince - b.idleSince);
    let surplus = this.#size() - this.config.minPoolSize;
    for (const container of idle) {
      if (this.#expired(container)) {
        this.#remove(container);
      } else if (idleTimeout !== null && surplus > 0 && Date.now() - container.idleSince >= idleTimeout * 1000) {
        surplus--;
        this.#remove(container);
      } else {
        container.state = "checking";
        this.#task(async () => {
          const healthy = await this.#probe(container);
          if (container.state !== "checking") return;
          if (!healthy) return this.#remove(container);
          container.state = "idle";
          this.#dispatch();
        });
      }
    }
    this.#retryAt = 0;
    this.#dispatch();
  }

  async #probe(container: Pooled): Promise<boolean> {
    if (container.warm) return container.warm.prepare(PROBE_TIMEOUT_MS, { fresh: false });
    try {
      const { output } = await this.#exec(container.open!, { argv: ["true"], description: "pool health check" });
      return output.exitCode === 0;
    } catch {
      return false;
    }
  }
}

function resolveWarm(setting: z.output<typeof warmSchema>, language: string): readonly string[] | undefined {
  const defaults = defaultWarmModules(language);
  if (setting === false || (setting === undefined && !defaults)) return undefined;
  if (!defaults) {
    throw new ValidationError(`Invalid pool options:\n✖ warmInterpreter: ${language} has no warm interpreter (available: ${warmLanguages().join(", ")})`);
  }
  return typeof setting === "object" && setting.modules ? [...setting.modules] : defaults;
}

/**
 * A pool of containers for one language: `createSession({ pool })` and `new ArtifactSandboxSession({ pool })` then
 * borrow them. Accepts the session options that describe containers (backend, image, runtimeConfigs, libraries, …)
 * plus `config` and `warmInterpreter`. Close it when done (`await pool.close()` or `await using`).
 */
export function createPoolManager(options: PoolManagerOptions = {}): PoolManager {
  return new PoolManager(options);
}
