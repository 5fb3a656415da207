import type { BackendAdapter } from "../backends/backend.js";
import { egressPolicyOf, sandboxImage, secureContainerSpec, sessionLimits } from "./container-spec.js";
import { SandboxContainer } from "../container/sandbox-container.js";
import type { ContainerLease } from "../container/source.js";
import {
  NotOpenSessionError,
  type SecurityViolation,
  SecurityViolationError,
  ValidationError,
} from "../errors.js";
import { newId } from "../internal/ids.js";
import { checkTimerSeconds } from "../internal/timers.js";
import { type Logger, silentLogger, stderrLogger } from "../internal/logger.js";
import { resolveSandboxPath } from "../internal/sandbox-path.js";
import type { LanguageHandler, SandboxContext } from "../languages/handler.js";
import { getLanguageHandler } from "../languages/registry.js";
import { ConsoleOutput, ExecutionResult } from "../result.js";
import type { NetworkLogEntry } from "../network/network-log.js";
import { type EgressPolicy, egressPolicySchema } from "../network/policy.js";
import { describeViolations, type SecurityCheckResult, type SecurityPolicy } from "../security/policy.js";
import { createBackend } from "./backend-factory.js";
import { type Executor, ProgramExecutor } from "./executor.js";
import { type ParsedSessionOptions, parseOptions, type SessionOptions, sessionOptionsSchema, validateLibraries } from "./options.js";
import { sourcedOptions } from "./pooled-options.js";
import type { ProcessOutput, ProcessRequest } from "../container/process.js";
import { commandArgv, commitReference, requireCode, streamOf } from "./requests.js";
import { egressOf } from "../container/egress.js";
import { extractCopy, packForCopy, packInSandbox, readSandboxFile, unpackInSandbox, writeSandboxFile } from "./transfer.js";
import type { CommandOptions, CommandSpec, RunOptions, SandboxAccess, SessionInfo, SessionLimits, SessionProcessRequest, StreamOptions } from "./types.js";

type State = "new" | "opening" | "open" | "closing" | "closed";

/**
 * A sandbox: one container, used through `run` (code in a language), `executeCommand`, `install` and file copies.
 * Operations of one session run one at a time, in call order. Program failures are data in the result; only
 * infrastructure failures throw (all `SandboxError`s).
 *
 * `run()` is one pipeline for every kind of session: validate → policy → queue → install → executor (a cold exec, a
 * pooled container's warm runner, or an interactive kernel's cell). The container itself — created, attached or
 * borrowed from a pool — is a `SandboxContainer`, the one lifecycle sessions and pools share.
 */
export class SandboxSession implements AsyncDisposable {
  readonly id = newId();
  readonly options: ParsedSessionOptions;
  readonly language: LanguageHandler;
  /** Resolved once; see `SessionLimits`. */
  readonly limits: SessionLimits;
  /**
   * Where the session runs: its backend and isolation tier (and runtime when one is named). It is what the container
   * gets: a tier the engine cannot give fails `open()` (MissingDependencyError, CapabilityUnavailableError), never
   * falls back.
   */
  readonly info: SessionInfo;
  protected readonly logger: Logger;

  #backend: BackendAdapter | undefined;
  #container: SandboxContainer | undefined;
  #state: State = "new";
  #queue: Promise<unknown> = Promise.resolve();
  #closing = new AbortController();
  #released: Promise<void> | undefined;
  #builtImage: string | undefined;
  #committed: string | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #expired = false;
  /** Why the session closed itself: its container went away from outside. */
  #lost: SandboxContainer["gone"];
  #lease: ContainerLease | undefined;
  #executor: Executor | undefined;
  /** Where the container's network log was when this session got it (a pooled container's has earlier sessions'). */
  #networkMark = 0;

  constructor(options: SessionOptions = {}) {
    this.options = parseOptions(sessionOptionsSchema, sourcedOptions(options ?? {}));
    this.language = getLanguageHandler(this.options.lang);
    this.logger = this.options.logger ?? (this.options.verbose ? stderrLogger : silentLogger);
    this.limits = sessionLimits(this.options);
    this.info = Object.freeze({
      backend: this.options.backend,
      isolation: this.options.runtimeConfigs.isolation ?? "container",
      ...(this.options.runtimeConfigs.runtime ? { runtime: this.options.runtimeConfigs.runtime } : {}),
    });
    this.enforcePolicy(undefined, this.options.libraries);
  }

  /** The session's security policy, if any (a preset name given as option is resolved to its policy). */
  get securityPolicy(): SecurityPolicy | undefined {
    return this.options.securityPolicy;
  }

  /**
   * Checks code against the session's policy without running it: `{ safe, violations }` (safe and no violations
   * without a policy). Needs no open session; never changes the policy.
   */
  isSafe(code: string): SecurityCheckResult {
    return this.options.securityPolicy?.check(code, this.language.name) ?? { safe: true, violations: [] };
  }

  get isOpen(): boolean {
    return this.#state === "open";
  }

  /** Id of the container (or pod) the session runs in, once open. */
  get containerId(): string | undefined {
    return this.#container?.id;
  }

  /** The image reference written by `commitContainer`, once closed. */
  get committedImage(): string | undefined {
    return this.#committed;
  }

  protected get backend(): BackendAdapter {
    return (this.#backend ??= createBackend(this.options));
  }

  protected get context(): SandboxContext {
    return { workdir: this.options.workdir, packageIndexes: this.options.packageIndexes };
  }

  /** Creates the container (or borrows one from the `pool`; `signal` stops waiting for it). */
  async open(options: { signal?: AbortSignal } = {}): Promise<this> {
    if (this.#state === "open") return this;
    if (this.#state !== "new") throw new NotOpenSessionError(`Session cannot be opened: it is ${this.#state}`);
    this.#state = "opening";
    try {
      const container = (this.#container = await this.#acquire(options));
      this.#networkMark = container.egress?.proxy.log.mark ?? 0;
      // A pool's container is prepared already; the session adds its own libraries.
      if (container.prepared) await container.install(this.options, this.options.libraries, { detach: this.#closing.signal });
      else await container.prepare(this.options, this.options.libraries, this.#closing.signal);
      await this.afterOpen(container);
      // close() while opening found no container yet: this one must go too.
      if ((this.#state as State) !== "opening") throw new NotOpenSessionError("The session was closed while it opened");
      this.#state = "open";
    } catch (error) {
      await this.#release().catch((cleanupError: unknown) => this.logger.warn(`cleanup after failed open: ${cleanupError}`));
      this.#state = "closed";
      throw error;
    }
    if (this.options.sessionTimeout) {
      this.#expiry = setTimeout(() => void this.expire(), this.options.sessionTimeout * 1000);
      this.#expiry.unref();
    }
    this.logger.info(`session ${this.id} open (container ${this.#container.id.slice(0, 12)})`);
    return this;
  }

  /**
   * Replaces the network policy (a session opened with one, `runtimeConfigs.network: { allow: [...] }`): new
   * connections and name lookups follow it at once, open ones keep going. A pooled session's change lasts until
   * the container goes back to its pool.
   */
  async setNetworkPolicy(policy: EgressPolicy): Promise<void> {
    const parsed = parseOptions(egressPolicySchema, policy, "network policy");
    egressOf(this.requireOpen()).proxy.setPolicy(parsed);
  }

  /** What the session's code tried to reach since it opened (allowed and refused), oldest first. */
  networkLog(): NetworkLogEntry[] {
    return this.#container?.egress?.proxy.log.since(this.#networkMark) ?? [];
  }

  /** Removes the container (unless attached), after committing it if asked. Idempotent; never throws for cleanup. */
  async close(): Promise<void> {
    if (this.#state === "new") {
      this.#state = "closed";
      return;
    }
    // A second close() (or one during the expiry's) resolves when the first has removed the container.
    if (this.#state === "closing" || this.#state === "closed") return this.#released;
    this.#state = "closing";
    clearTimeout(this.#expiry);
    this.#closing.abort();
    this.#released = this.#release().finally(() => {
      this.#state = "closed";
    });
    return this.#released;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Runs `code` in the session's language. A failing program is a result with a non-zero `exitCode`. */
  async run(code: string, options: RunOptions = {}): Promise<ExecutionResult> {
    requireCode(code);
    const libraries = validateLibraries(options.libraries ?? []);
    const timeout = options.timeout === undefined ? this.limits.executionTimeout : checkTimerSeconds(options.timeout, "timeout");
    this.enforcePolicy(code, libraries);
    return this.exclusive(async (container) => {
      await this.#install(container, libraries, options.signal);
      const log = container.egress?.proxy.log;
      const mark = log?.mark;
      const result = await this.executor.execute(container, {
        code,
        timeout,
        prelude: this.runPrelude(options),
        ...streamOf(options),
      });
      return this.afterRun(log ? ExecutionResult.from(result, { network: log.since(mark) }) : result, this.sandboxFor(container), options);
    });
  }

  /**
   * Runs a command. A string runs through `/bin/sh -c` (pipes, `&&`, globs work); an array runs as argv, with no
   * shell. That is the one rule for every backend.
   */
  async executeCommand(command: string | readonly string[], options: CommandOptions = {}): Promise<ConsoleOutput> {
    const argv = commandArgv(command);
    return this.exclusive(async (container) => (await this.#command(container, argv, options)).output);
  }

  /** Runs commands in order and stops at the first failure, returning its output (else the last output). */
  async executeCommands(commands: readonly CommandSpec[], options: Omit<CommandOptions, "workdir"> = {}): Promise<ConsoleOutput> {
    const steps = commands.map((spec) => {
      const { command, workdir } = typeof spec === "object" && "command" in spec ? spec : { command: spec, workdir: undefined };
      return { argv: commandArgv(command), workdir };
    });
    return this.exclusive(async (container) => {
      let last = new ConsoleOutput({ exitCode: 0 });
      for (const step of steps) {
        last = (await this.#command(container, step.argv, { ...options, ...(step.workdir ? { workdir: step.workdir } : {}) })).output;
        if (last.exitCode !== 0) break;
      }
      return last;
    });
  }

  /** Installs libraries with the language's package manager; repeats within a session are skipped. */
  async install(libraries: readonly string[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const names = validateLibraries(libraries);
    this.enforcePolicy(undefined, names);
    await this.exclusive((container) => this.#install(container, names, options.signal));
  }

  /** Copies a host file or directory to `dest` in the sandbox (relative paths are taken from the workdir). */
  async copyToRuntime(src: string, dest: string): Promise<void> {
    const target = resolveSandboxPath(dest, this.options.workdir);
    const archive = await packForCopy(src, target);
    await this.exclusive((container) => unpackInSandbox(this.sandboxFor(container).exec, archive, target, this.limits.defaultTimeout));
  }

  /** Copies a file or directory from the sandbox to `dest` on the host; a hostile archive writes nothing outside `dest`. */
  async copyFromRuntime(src: string, dest: string): Promise<void> {
    const source = resolveSandboxPath(src, this.options.workdir);
    const packed = await this.exclusive((container) => packInSandbox(this.sandboxFor(container).exec, source, this.limits.defaultTimeout));
    await extractCopy(packed, source, dest);
  }

  /** Writes bytes (or UTF-8 text) to a sandbox file, creating parent directories and replacing the file if it exists. */
  async writeFile(path: string, data: Uint8Array | string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const target = resolveSandboxPath(path, this.options.workdir);
    await this.exclusive((container) => writeSandboxFile(this.sandboxFor(container).exec, target, data, this.limits.defaultTimeout, options.signal));
  }

  /** Reads a sandbox file's bytes. A missing file is `FileNotFoundError`; a directory or unreadable file is `FileAccessError`. */
  async readFile(path: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const source = resolveSandboxPath(path, this.options.workdir);
    return this.exclusive((container) => readSandboxFile(this.sandboxFor(container).exec, source, this.limits.defaultTimeout, options.signal));
  }

  /**
   * Refuses (or, in advisory mode, logs) code and libraries the policy blocks. Runs before anything is queued, so
   * refused code never reaches the sandbox.
   */
  protected enforcePolicy(code: string | undefined, libraries: readonly string[]): void {
    const policy = this.options.securityPolicy;
    if (!policy) return;
    const violations: SecurityViolation[] = [
      ...(code === undefined ? [] : policy.check(code, this.language.name).violations),
      ...policy.refusedLibraries(libraries, this.language.name),
    ];
    if (!violations.some((violation) => policy.blocks(violation.severity))) return;
    const message = describeViolations(policy, violations);
    if (this.options.securityMode === "advisory") this.logger.warn(`[advisory] ${message}`);
    else throw new SecurityViolationError(message, violations);
  }

  /** The last step of `run()`: a program run (cold or warm); an interactive session's is its kernel. */
  protected get executor(): Executor {
    return (this.#executor ??= new ProgramExecutor({
      exec: (container, request, options) => this.#process(container, request, options),
      sandbox: this.context,
      memoryLimitBytes: this.limits.memoryBytes,
    }));
  }

  /** Hook: shell lines the run executes before the language's script (e.g. `export` of capture settings). */
  protected runPrelude(_options: RunOptions): string {
    return "";
  }

  /** Hook: runs in the run's turn once the program ended (whatever its exit code); may exec more in the sandbox. */
  protected async afterRun(result: ExecutionResult, _sandbox: SandboxAccess, _options: RunOptions): Promise<ExecutionResult> {
    return result;
  }

  /** Hook: the container is ready and set up, the session not yet open; a failure here closes the session. */
  protected async afterOpen(_container: SandboxContainer): Promise<void> {}

  /** Exec access to the session's container for hooks, with the session's defaults. */
  protected sandboxFor(container: SandboxContainer): SandboxAccess {
    return { exec: (request) => this.#process(container, request) };
  }

  /** Aborted when the session starts closing: long-lived streams into the container stop waiting then. */
  protected get closingSignal(): AbortSignal {
    return this.#closing.signal;
  }

  /** What an operation cut short by `close()` (or the session's expiry) throws. */
  protected closedError(): NotOpenSessionError {
    return new NotOpenSessionError(this.#expired ? this.expiredMessage() : "The session was closed during the operation");
  }

  /** Serialises operations: one at a time, in call order; each re-checks that the session is still open. */
  protected exclusive<T>(operation: (container: SandboxContainer) => Promise<T>): Promise<T> {
    const result = this.#queue.then(() => {
      const container = this.requireOpen();
      return operation(container).catch((error: unknown) => {
        // The container was removed or stopped from outside: nothing can run there again.
        if (container.gone && !this.#lost) {
          this.#lost = container.gone;
          void this.close().catch((cause: unknown) => this.logger.warn(`removing the lost container failed: ${cause}`));
        }
        throw error;
      });
    });
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Creates (or attaches to, or borrows from the pool) the container. */
  async #acquire(wait: { signal?: AbortSignal }): Promise<SandboxContainer> {
    const { options, backend, language, logger } = this;
    if (options.pool) {
      this.#lease = await options.pool.acquire(wait);
      return this.#lease.container;
    }
    if (options.containerId) {
      return SandboxContainer.attach({ backend, language, logger, id: options.containerId, ...(options.runtimeConfigs.user ? { user: options.runtimeConfigs.user } : {}) });
    }
    const { image, built } = await sandboxImage(options, backend, language, logger);
    this.#builtImage = built;
    const spec = secureContainerSpec(options, backend, language, image, this.id);
    return SandboxContainer.create({ backend, language, logger, spec, egressPolicy: egressPolicyOf(options) });
  }

  /** Gives the container back: to its pool, or removed (committed first if asked) when this session created it. */
  async #release(): Promise<void> {
    const container = this.#container;
    const lease = this.#lease;
    this.#lease = undefined;
    lease?.release();
    try {
      // A borrowed container is its pool's to reset or remove; an attached one is never removed.
      if (!lease && container?.created) await container.remove(this.options.commitContainer ? { commitAs: commitReference(this.options.commitContainer, this.language.name, this.id) } : {});
    } finally {
      this.#committed = container?.committedImage;
      this.#container = undefined;
      if (this.#builtImage && !this.options.keepTemplate) await this.backend.removeImage?.(this.#builtImage);
    }
  }

  #install(container: SandboxContainer, libraries: readonly string[], signal?: AbortSignal): Promise<void> {
    return container.install(this.options, libraries, { ...(signal ? { signal } : {}), detach: this.#closing.signal });
  }

  #command(container: SandboxContainer, argv: readonly string[], options: CommandOptions): Promise<ProcessOutput> {
    return this.#process(container, {
      argv,
      ...(options.workdir ? { workdir: resolveSandboxPath(options.workdir, this.options.workdir) } : {}),
      ...(options.env ? { env: options.env } : {}),
      timeout: options.timeout ?? this.limits.defaultTimeout,
      description: `command ${JSON.stringify(argv.join(" ").slice(0, 80))}`,
      ...streamOf(options),
    });
  }

  /** Every operation goes through here: session defaults, and "closed under our feet" reported as such. */
  async #process(container: SandboxContainer, request: SessionProcessRequest, options: { launcher?: boolean } = {}): Promise<ProcessOutput> {
    try {
      return await container.exec(
        {
          timeout: this.limits.defaultTimeout,
          maxOutputBytes: this.options.maxOutputBytes,
          encodingErrors: this.options.encodingErrors,
          workdir: this.options.workdir,
          detach: this.#closing.signal,
          ...request,
        },
        options,
      );
    } catch (error) {
      if (this.#closing.signal.aborted && !request.signal?.aborted) throw this.closedError();
      throw error;
    }
  }

  private requireOpen(): SandboxContainer {
    if (this.#state === "open" && this.#container) return this.#container;
    if (this.#expired) throw new NotOpenSessionError(this.expiredMessage());
    if (this.#lost) throw new NotOpenSessionError(`The session is closed: ${this.#lost.message}`, { cause: this.#lost });
    throw new NotOpenSessionError();
  }

  private expiredMessage(): string {
    return `Session exceeded its maximum lifetime of ${this.options.sessionTimeout} seconds and was closed`;
  }

  private async expire(): Promise<void> {
    this.#expired = true;
    this.logger.warn(this.expiredMessage());
    await this.close().catch((error: unknown) => this.logger.error(`closing the expired session failed: ${error}`));
  }
}
