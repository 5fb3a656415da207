import type { BackendAdapter } from "../backends/backend.js";
import { onProcessExit } from "../container/exit-cleanup.js";
import type { ContainerLease, ContainerSource } from "../container/source.js";
import { EngineUnavailableError, PoolClosedError, PoolExhaustedError, SandboxAbortError } from "../errors.js";
import { deferred } from "../internal/async.js";
import { newId } from "../internal/ids.js";
import { LABELS } from "../internal/labels.js";
import { type Logger, silentLogger, stderrLogger } from "../internal/logger.js";
import { createBackend } from "../session/backend-factory.js";
import type { ParsedSessionOptions, SessionOptions } from "../session/options.js";
import { ExhaustionStrategy, type ResolvedPoolConfig } from "./config.js";
import { followEngine } from "./engine-watch.js";
import { PooledContainer, type PooledContainerState } from "./pool-container.js";
import { PoolPlan } from "./pool-plan.js";
import { type PoolManagerOptions, type PoolStats, parsePoolOptions } from "./pool-options.js";

interface Waiter {
  readonly resolve: (lease: ContainerLease) => void;
  readonly reject: (error: unknown) => void;
  timer?: NodeJS.Timeout;
  readonly cleanup: () => void;
}

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
  readonly #backend: BackendAdapter;
  readonly #logger: Logger;
  readonly #plan: PoolPlan;
  readonly #containers = new Set<PooledContainer>();
  readonly #waiters: Waiter[] = [];
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #closeSignal = new AbortController();
  readonly #health: NodeJS.Timeout;
  readonly #untrackExit: () => void;
  #closing: Promise<void> | undefined;
  #lastError: unknown;
  #retryAt = 0;
  #changed = deferred<void>();
  #counters = { created: 0, acquired: 0, reused: 0, resetFailures: 0 };

  constructor(options: PoolManagerOptions = {}) {
    const parsed = parsePoolOptions(options);
    this.config = parsed.config;
    this.#options = parsed.containers;
    const handler = parsed.language;
    this.language = handler.name;
    this.warmModules = parsed.warmModules;
    this.sessionDefaults = parsed.sessionDefaults;
    this.#backend = createBackend(this.#options);
    this.#logger = this.#options.logger ?? (this.#options.verbose ? stderrLogger : silentLogger);
    this.#plan = new PoolPlan(this.id, this.#options, this.#backend, handler, this.#logger, this.warmModules, this.#closeSignal.signal);
    this.#health = setInterval(() => this.#checkHealth(), this.config.healthCheckInterval * 1000);
    this.#health.unref();
    // Ctrl-C or the end of the program closes the pool (so nothing tops it up meanwhile); on a hard exit each
    // container removes itself (the container lifecycle registers it).
    this.#untrackExit = onProcessExit({ dispose: () => this.close(), disposeSync: () => {} });
    this.#track(followEngine(this.#backend, `${LABELS.pool}=${this.id}`, this.#follower, this.#logger, this.#closeSignal.signal));
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
      this.#resume();
      while (this.#tasks.size) await Promise.allSettled([...this.#tasks]);
      await this.#plan.removeBuiltImage();
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
  #takeIdle(): PooledContainer | undefined {
    const idle = [...this.#containers].filter((c) => c.state === "idle").sort((a, b) => b.idleSince - a.idleSince);
    for (const container of idle) {
      if (container.expired(this.config)) this.#remove(container);
      else return container;
    }
    return undefined;
  }

  #lend(container: PooledContainer): ContainerLease {
    container.state = "busy";
    container.uses++;
    this.#counters.acquired++;
    if (container.uses > 1) this.#counters.reused++;
    const lease: ContainerLease = { container: container.container!, release: () => this.#release(container, lease) };
    container.lease = lease;
    this.#notify();
    return lease;
  }

  #release(container: PooledContainer, lease: ContainerLease): void {
    if (container.lease !== lease || container.state !== "busy") return;
    container.lease = undefined;
    if (this.#closeSignal.signal.aborted || container.temporary || container.expired(this.config)) return this.#remove(container);
    container.state = "resetting";
    this.#notify();
    this.#task(async () => {
      try {
        await container.reset();
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

  #newEntry(temporary: boolean): PooledContainer {
    const container = new PooledContainer(this.#plan, temporary);
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

  async #build(container: PooledContainer): Promise<void> {
    try {
      await container.build();
    } finally {
      if (container.container) this.#counters.created++;
    }
    void container.warm?.ended?.then(() => this.#onWarmEnded(container));
  }

  #remove(container: PooledContainer): void {
    if (container.state === "removing") return;
    container.state = "removing";
    this.#notify();
    this.#removal(container);
  }

  /** A removal that finds the engine away keeps the container listed, to be removed when it is back (or on close). */
  #removal(container: PooledContainer): void {
    container.awaitingEngine = false;
    this.#task(async () => {
      try {
        await container.remove();
        this.#containers.delete(container);
      } catch (error) {
        container.awaitingEngine = EngineUnavailableError.isInstance(error);
        if (!container.awaitingEngine) this.#containers.delete(container);
        throw error;
      } finally {
        this.#dispatch();
      }
    });
  }

  /** Carries on with the containers held back while the engine was away: removals, and probes of idle ones. */
  #resume(): void {
    for (const container of this.#containers) {
      if (container.awaitingEngine && container.state === "removing") this.#removal(container);
      else if (container.awaitingEngine) this.#probe(container);
    }
  }

  /**
   * Where the backend can follow the engine: an idle container that stops is replaced at once; while the engine is
   * away (a restart stops every container) no idle one is lent, and when it is back they are probed.
   */
  readonly #follower = {
    stopped: (id: string) => {
      const stopped = [...this.#containers].find((c) => c.container?.id === id);
      if (stopped?.state === "idle") this.#remove(stopped);
    },
    lost: () => {
      for (const container of this.#containers) if (container.state === "idle") container.holdForEngine();
    },
    back: () => {
      this.#resume();
      this.#checkHealth();
    },
  };

  #onWarmEnded(container: PooledContainer): void {
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
      if (container.expired(this.config)) {
        this.#remove(container);
      } else if (idleTimeout !== null && surplus > 0 && Date.now() - container.idleSince >= idleTimeout * 1000) {
        surplus--;
        this.#remove(container);
      } else {
        this.#probe(container);
      }
    }
    this.#retryAt = 0;
    this.#dispatch();
  }

  #probe(container: PooledContainer): void {
    container.state = "checking";
    container.awaitingEngine = false;
    this.#task(async () => {
      const healthy = await container.probe();
      if (container.state !== "checking") return;
      if (!healthy) return this.#remove(container);
      container.state = "idle";
      this.#dispatch();
    });
  }
}

/**
 * A pool of containers for one language: `createSession({ pool })` and `new ArtifactSandboxSession({ pool })` then
 * borrow them. Accepts the session options that describe containers (backend, image, runtimeConfigs, libraries, …)
 * plus `config` and `warmInterpreter`. Close it when done (`await pool.close()` or `await using`).
 */
export function createPoolManager(options: PoolManagerOptions = {}): PoolManager {
  return new PoolManager(options);
}
