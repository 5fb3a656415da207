import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { posix } from "node:path";
import type { BackendAdapter, ContainerSpec, NetworkPolicy } from "../backends/backend.js";
import {
  CommandEmptyError,
  ContainerError,
  FileAccessError,
  FileNotFoundError,
  LibraryInstallationError,
  LibraryInstallationNotSupportedError,
  NotOpenSessionError,
  ResourceError,
  type SandboxError,
  type SecurityViolation,
  SecurityViolationError,
  ValidationError,
} from "../errors.js";
import { newId } from "../internal/ids.js";
import { type Logger, silentLogger, stderrLogger } from "../internal/logger.js";
import { resolveSandboxPath } from "../internal/sandbox-path.js";
import { extractArchive, packHostPath } from "../internal/tar.js";
import type { LanguageHandler, SandboxCommand, SandboxContext } from "../languages/handler.js";
import { getLanguageHandler } from "../languages/registry.js";
import { ConsoleOutput, type ExecutionErrorInfo, ExecutionResult } from "../result.js";
import { describeViolations, type SecurityCheckResult, type SecurityPolicy } from "../security/policy.js";
import { createBackend } from "./backend-factory.js";
import { type ContainerLease, sourcedOptions } from "./container-source.js";
import { CA_BUNDLE, memoryLimitBytes, sandboxImage, secureContainerSpec } from "./container-spec.js";
import { onProcessExit } from "./exit-cleanup.js";
import { KILLED_EXIT_CODE, OOM_COUNTER_SCRIPT, oomKills, outOfMemoryError } from "./out-of-memory.js";
import { type ParsedSessionOptions, parseOptions, type SessionOptions, sessionOptionsSchema, validateLibraries } from "./options.js";
import { type ProcessLauncher, type ProcessOutput, type ProcessRequest, runProcess } from "./process.js";
import { launchProgram, REAP_LEFTOVERS } from "./process-control.js";

export interface StreamOptions {
  /** Receives decoded stdout text as it arrives (never splits a character). */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  /** Aborting stops the program inside the sandbox and rejects with `SandboxAbortError`. */
  signal?: AbortSignal;
  /** Seconds; overrides the session's limit for this call. */
  timeout?: number;
}

export interface RunOptions extends StreamOptions {
  /** Installed (once per session) before the code runs. */
  libraries?: readonly string[];
}

export interface CommandOptions extends StreamOptions {
  /** Working directory inside the sandbox; default the session's workdir. */
  workdir?: string;
  env?: Readonly<Record<string, string>>;
}

/** What session hooks may do with the container: exec with the session's defaults (user, workdir, caps, timeout). */
export interface SandboxAccess {
  exec(request: SessionProcessRequest): Promise<ProcessOutput>;
}

type SessionDefaults = "timeout" | "maxOutputBytes" | "encodingErrors" | "workdir" | "user";
/** A process request; what is left out comes from the session (timeout = `defaultTimeout`, caps, workdir, user). */
export type SessionProcessRequest = Omit<ProcessRequest, SessionDefaults> & Partial<Pick<ProcessRequest, SessionDefaults>>;

/** One entry of `executeCommands`: a command, or a command with its own working directory. */
export type CommandSpec = string | readonly string[] | { readonly command: string | readonly string[]; readonly workdir?: string };

const CODE_WRITE_FAILED = 125;

/**
 * Writes the code from stdin to `$SANDBOX_FILE`, runs the language's script as the run's program (see
 * process-control.ts), ends the processes it left behind, removes the file and exits with the program's status.
 */
const RUN_WRAPPER = (runScript: string, prelude: string) =>
  `cat > "$SANDBOX_FILE" || { echo "[llm-sandbox] cannot write $SANDBOX_FILE" >&2; exit ${CODE_WRITE_FAILED}; }
${prelude}${launchProgram(runScript)}
rc=$?
${REAP_LEFTOVERS}
rm -f -- "$SANDBOX_FILE"; exit $rc`;

type State = "new" | "opening" | "open" | "closing" | "closed";

/** The container a session runs in, once open. */
export interface OpenContainer {
  readonly id: string;
  /** Removed on close: created by this session (not attached). */
  readonly created: boolean;
  readonly user: string | undefined;
  readonly network: NetworkPolicy;
  /** Set up already (CA certificates, language set-up, these libraries): a pool's container. */
  readonly prepared?: { readonly libraries: readonly string[] };
  /** Starts processes without an engine exec (a pooled container's warm interpreter). */
  readonly launcher?: ProcessLauncher;
}

/**
 * A sandbox: one container, used through `run` (code in a language), `executeCommand`, `install` and file copies.
 * Operations of one session run one at a time, in call order. Program failures are data in the result; only
 * infrastructure failures throw (all `SandboxError`s).
 */
export class SandboxSession implements AsyncDisposable {
  readonly id = newId();
  readonly options: ParsedSessionOptions;
  readonly language: LanguageHandler;
  protected readonly logger: Logger;
  /** The image reference written by `commitContainer`, once closed. */
  committedImage: string | undefined;

  #backend: BackendAdapter | undefined;
  #container: OpenContainer | undefined;
  #state: State = "new";
  #queue: Promise<unknown> = Promise.resolve();
  #installed = new Set<string>();
  #closing = new AbortController();
  #released: Promise<void> | undefined;
  #builtImage: string | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #expired = false;
  #untrackExit: (() => void) | undefined;
  /** Out-of-memory kills seen in the container so far (a new kill tells an OOM from another SIGKILL). */
  #oomKills = 0;
  #lease: ContainerLease | undefined;

  constructor(options: SessionOptions = {}) {
    this.options = parseOptions(sessionOptionsSchema, sourcedOptions(options ?? {}));
    this.language = getLanguageHandler(this.options.lang);
    this.logger = this.options.logger ?? (this.options.verbose ? stderrLogger : silentLogger);
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
      this.#container = await this.acquireContainer(options);
      if (!this.options.skipEnvironmentSetup) await this.setUpEnvironment();
      await this.afterOpen(this.#container);
      // close() while opening found no container yet: this one must go too.
      if ((this.#state as State) !== "opening") throw new NotOpenSessionError("The session was closed while it opened");
      this.#state = "open";
    } catch (error) {
      await this.releaseContainer().catch((cleanupError: unknown) => this.logger.warn(`cleanup after failed open: ${cleanupError}`));
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
    this.#released = this.releaseContainer().finally(() => {
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
    this.enforcePolicy(code, libraries);
    return this.exclusive(async (container) => {
      await this.installLocked(container, libraries, options.signal);
      const runId = newId();
      const file = posix.join(this.options.workdir, this.language.codeFile(runId));
      const prelude = this.runPrelude(options);
      const { output } = await this.process(container, {
        argv: ["/bin/sh", "-c", RUN_WRAPPER(this.language.runScript(this.context), prelude)],
        stdin: Buffer.from(code, "utf8"),
        env: { SANDBOX_FILE: file },
        program: { language: this.language.name, code, file, prelude },
        runId,
        cleanupPath: file,
        timeout: options.timeout ?? this.options.executionTimeout ?? this.options.defaultTimeout,
        description: `${this.language.name} run`,
        ...streamOf(options),
      });
      if (output.exitCode === CODE_WRITE_FAILED && output.stderr.startsWith("[llm-sandbox] cannot write")) {
        throw new ContainerError(`The sandbox cannot store the code: ${output.stderr.trim()}`);
      }
      const error = output.exitCode !== 0 ? ((await this.outOfMemory(container, output.exitCode)) ?? this.language.parseError?.(output.stderr)) : undefined;
      return this.afterRun(ExecutionResult.from(output, error ? { error } : {}), this.sandboxFor(container), options);
    });
  }

  /**
   * Runs a command. A string runs through `/bin/sh -c` (pipes, `&&`, globs work); an array runs as argv, with no
   * shell. That is the one rule for every backend.
   */
  async executeCommand(command: string | readonly string[], options: CommandOptions = {}): Promise<ConsoleOutput> {
    const argv = commandArgv(command);
    return this.exclusive(async (container) => (await this.commandLocked(container, argv, options)).output);
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
        last = (await this.commandLocked(container, step.argv, { ...options, ...(step.workdir ? { workdir: step.workdir } : {}) })).output;
        if (last.exitCode !== 0) break;
      }
      return last;
    });
  }

  /** Installs libraries with the language's package manager; repeats within a session are skipped. */
  async install(libraries: readonly string[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const names = validateLibraries(libraries);
    this.enforcePolicy(undefined, names);
    await this.exclusive((container) => this.installLocked(container, names, options.signal));
  }

  /** Copies a host file or directory to `dest` in the sandbox (relative paths are taken from the workdir). */
  async copyToRuntime(src: string, dest: string): Promise<void> {
    const target = resolveSandboxPath(dest, this.options.workdir);
    if (!existsSync(src)) throw new FileNotFoundError(src, "host");
    const archive = await packHostPath(src, posix.basename(target));
    await this.exclusive(async (container) => {
      const { output } = await this.process(container, {
        argv: ["/bin/sh", "-c", 'mkdir -p -- "$1" && tar -x --no-same-owner -f - -C "$1"', "copy", posix.dirname(target)],
        stdin: archive,
        timeout: this.options.defaultTimeout,
        description: `copy to ${target}`,
      });
      if (output.exitCode !== 0) throw new ContainerError(`Copy to ${target} failed: ${output.stderr.trim()}`);
    });
  }

  /** Copies a file or directory from the sandbox to `dest` on the host; a hostile archive writes nothing outside `dest`. */
  async copyFromRuntime(src: string, dest: string): Promise<void> {
    const source = resolveSandboxPath(src, this.options.workdir);
    const { output, stdoutBytes } = await this.exclusive((container) =>
      this.process(container, {
        argv: ["/bin/sh", "-c", 'cd -- "$1" && exec tar -c -f - -- "$2"', "copy", posix.dirname(source), posix.basename(source)],
        rawStdout: true,
        maxOutputBytes: MAX_TRANSFER_BYTES,
        timeout: this.options.defaultTimeout,
        description: `copy from ${source}`,
      }),
    );
    if (output.exitCode !== 0) {
      if (/No such|Cannot stat|can't change directory|can't cd/i.test(output.stderr)) throw new FileNotFoundError(source, "sandbox");
      throw new ContainerError(`Copy from ${source} failed: ${output.stderr.trim()}`);
    }
    if (output.stdoutTruncated) throw new ResourceError(`${source} is larger than ${MAX_TRANSFER_BYTES} bytes`);
    await extractArchive(stdoutBytes!, dest);
  }

  /** Writes bytes (or UTF-8 text) to a sandbox file, creating parent directories and replacing the file if it exists. */
  async writeFile(path: string, data: Uint8Array | string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const target = resolveSandboxPath(path, this.options.workdir);
    const { output } = await this.exclusive((container) =>
      this.process(container, {
        argv: ["/bin/sh", "-c", WRITE_FILE_SCRIPT, "write", target],
        stdin: typeof data === "string" ? Buffer.from(data, "utf8") : data,
        timeout: this.options.defaultTimeout,
        description: `write ${target}`,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
    if (output.exitCode !== 0) throw fileError(target, output);
  }

  /** Reads a sandbox file's bytes. A missing file is `FileNotFoundError`; a directory or unreadable file is `FileAccessError`. */
  async readFile(path: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const source = resolveSandboxPath(path, this.options.workdir);
    const { output, stdoutBytes } = await this.exclusive((container) =>
      this.process(container, {
        argv: ["/bin/sh", "-c", READ_FILE_SCRIPT, "read", source],
        rawStdout: true,
        maxOutputBytes: MAX_TRANSFER_BYTES,
        timeout: this.options.defaultTimeout,
        description: `read ${source}`,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
    if (output.exitCode !== 0) throw fileError(source, output);
    if (output.stdoutTruncated) throw new ResourceError(`${source} is larger than ${MAX_TRANSFER_BYTES} bytes`);
    return new Uint8Array(stdoutBytes!);
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

  /** A program killed with SIGKILL: an out-of-memory kill when the container's OOM counter went up. */
  private async outOfMemory(container: OpenContainer, exitCode: number): Promise<ExecutionErrorInfo | undefined> {
    if (exitCode !== KILLED_EXIT_CODE) return undefined;
    try {
      const { output } = await this.process(container, {
        argv: ["/bin/sh", "-c", OOM_COUNTER_SCRIPT],
        timeout: this.options.defaultTimeout,
        description: "out-of-memory check",
      });
      const kills = oomKills(output.stdout);
      if (kills === undefined || kills <= this.#oomKills) return undefined;
      this.#oomKills = kills;
      return outOfMemoryError(memoryLimitBytes(this.options.runtimeConfigs));
    } catch (error) {
      this.logger.warn(`out-of-memory check failed: ${error}`);
      return undefined;
    }
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
  protected async afterOpen(_container: OpenContainer): Promise<void> {}

  /** Creates (or attaches to, or borrows from the pool) the container. */
  protected async acquireContainer(wait: { signal?: AbortSignal } = {}): Promise<OpenContainer> {
    const { options, backend } = this;
    const configs = options.runtimeConfigs;
    if (options.pool) {
      this.#lease = await options.pool.acquire(wait);
      return this.#lease.container;
    }
    if (options.containerId) {
      const attached = await backend.attach(options.containerId);
      return { id: attached.id, created: false, user: configs.user ?? (attached.user || undefined), network: { mode: "none" } };
    }
    const { image, built } = await sandboxImage(options, backend, this.language, this.logger);
    this.#builtImage = built;
    const spec = this.containerSpec(image);
    const id = await backend.create(spec);
    this.#untrackExit = onProcessExit({
      dispose: () => backend.remove(id),
      disposeSync: () => backend.removeSync?.(id),
    });
    return { id, created: true, user: spec.user, network: spec.network };
  }

  /** Gives the container back: commit if asked, then remove it (only if this session created it). */
  protected async releaseContainer(): Promise<void> {
    const container = this.#container;
    this.#container = undefined;
    this.#lease?.release();
    this.#lease = undefined;
    if (container?.created) {
      try {
        if (this.options.commitContainer && this.backend.commit) {
          const reference =
            typeof this.options.commitContainer === "string"
              ? this.options.commitContainer
              : `llm-sandbox-commit/${this.language.name}:${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}-${this.id.slice(0, 6)}`;
          this.committedImage = await this.backend.commit(container.id, reference);
        }
      } finally {
        await this.backend.remove(container.id);
        this.#untrackExit?.();
      }
    }
    if (this.#builtImage && !this.options.keepTemplate) await this.backend.removeImage?.(this.#builtImage);
  }

  /** The secure defaults, adjusted by `runtimeConfigs` (see docs/security.md). */
  protected containerSpec(image: string): ContainerSpec {
    return secureContainerSpec(this.options, this.backend, this.language, image, this.id);
  }

  private async setUpEnvironment(): Promise<void> {
    const container = this.#container!;
    if (container.prepared) {
      for (const name of container.prepared.libraries) this.#installed.add(name);
      return this.installLocked(container, this.options.libraries);
    }
    if (this.options.extraCaCerts.length) {
      const pem = (await Promise.all(this.options.extraCaCerts.map(readCertificate))).join("\n");
      const { output } = await this.process(container, {
        argv: ["/bin/sh", "-c", `{ cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null; cat; } > ${CA_BUNDLE}`],
        stdin: Buffer.from(pem),
        timeout: this.options.defaultTimeout,
        description: "CA certificate set-up",
      });
      if (output.exitCode !== 0) throw new ContainerError(`Cannot install CA certificates: ${output.stderr.trim()}`);
    }
    for (const step of this.language.setupScripts?.(this.context) ?? []) {
      const { output } = await this.sandboxCommand(container, step, this.options.installTimeout, `${this.language.name} set-up`);
      if (output.exitCode !== 0) {
        throw new ContainerError(`Environment set-up failed (${step.script}):\n${(output.stdout + output.stderr).trim()}`);
      }
    }
    await this.installLocked(container, this.options.libraries);
  }

  protected async installLocked(container: OpenContainer, libraries: readonly string[], signal?: AbortSignal): Promise<void> {
    const wanted = [...new Set(libraries)].filter((name) => !this.#installed.has(name));
    if (wanted.length === 0) return;
    if (this.options.skipEnvironmentSetup) {
      throw new LibraryInstallationNotSupportedError(this.language.name, "environment set-up is skipped for this session");
    }
    if (!this.language.installCommand) throw new LibraryInstallationNotSupportedError(this.language.name);
    const command = this.language.installCommand(wanted, this.context);
    const network = container.network.mode === "install-only" && this.backend.setInstallNetwork;
    if (network) await this.backend.setInstallNetwork!(container.id, true);
    let output: ConsoleOutput;
    try {
      ({ output } = await this.sandboxCommand(container, command, this.options.installTimeout, `installation of ${wanted.join(", ")}`, signal));
    } finally {
      if (network) await this.backend.setInstallNetwork!(container.id, false);
    }
    if (output.exitCode !== 0) throw new LibraryInstallationError(wanted, output.exitCode, `${output.stdout}${output.stderr}`);
    for (const name of wanted) this.#installed.add(name);
    this.logger.info(`installed ${wanted.join(", ")}`);
  }

  private sandboxCommand(container: OpenContainer, command: SandboxCommand, timeout: number, description: string, signal?: AbortSignal) {
    return this.process(container, {
      argv: ["/bin/sh", "-c", command.script],
      ...(command.user === "root" ? { user: "0" } : {}),
      timeout,
      description,
      ...(signal ? { signal } : {}),
    });
  }

  private commandLocked(container: OpenContainer, argv: readonly string[], options: CommandOptions): Promise<ProcessOutput> {
    return this.process(container, {
      argv,
      ...(options.workdir ? { workdir: resolveSandboxPath(options.workdir, this.options.workdir) } : {}),
      ...(options.env ? { env: options.env } : {}),
      timeout: options.timeout ?? this.options.defaultTimeout,
      description: `command ${JSON.stringify(argv.join(" ").slice(0, 80))}`,
      ...streamOf(options),
    });
  }

  /** Exec access to the session's container for hooks, with the session's defaults. */
  protected sandboxFor(container: OpenContainer): SandboxAccess {
    return { exec: (request) => this.process(container, request) };
  }

  /** Every operation goes through here: session defaults, and "closed under our feet" reported as such. */
  private async process(container: OpenContainer, request: SessionProcessRequest): Promise<ProcessOutput> {
    try {
      return await runProcess(
        this.backend,
        container.id,
        {
          timeout: this.options.defaultTimeout,
          maxOutputBytes: this.options.maxOutputBytes,
          encodingErrors: this.options.encodingErrors,
          workdir: this.options.workdir,
          ...(container.user ? { user: container.user } : {}),
          detach: this.#closing.signal,
          ...request,
        },
        container.launcher,
      );
    } catch (error) {
      if (this.#closing.signal.aborted && !request.signal?.aborted) throw this.closedError();
      throw error;
    }
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
  protected exclusive<T>(operation: (container: OpenContainer) => Promise<T>): Promise<T> {
    const result = this.#queue.then(() => operation(this.requireOpen()));
    this.#queue = result.catch(() => {});
    return result;
  }

  private requireOpen(): OpenContainer {
    if (this.#state === "open" && this.#container) return this.#container;
    if (this.#expired) throw new NotOpenSessionError(this.expiredMessage());
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


/** Archives read back from the sandbox may be large, but not unbounded. */
const MAX_TRANSFER_BYTES = 2 * 1024 ** 3;

/** Exit statuses of the file scripts below that name a caller's mistake rather than a sandbox failure. */
const FILE_STATUS = { missing: 2, directory: 21, denied: 13 } as const;
const WRITE_FILE_SCRIPT = `[ -d "$1" ] && exit ${FILE_STATUS.directory}
d=$(dirname -- "$1")
mkdir -p -- "$d" 2>/dev/null || exit ${FILE_STATUS.denied}
if [ -e "$1" ]; then [ -w "$1" ]; else [ -w "$d" ]; fi || exit ${FILE_STATUS.denied}
cat > "$1" || exit 1`;
const READ_FILE_SCRIPT = `[ -e "$1" ] || exit ${FILE_STATUS.missing}
[ -d "$1" ] && exit ${FILE_STATUS.directory}
[ -r "$1" ] || exit ${FILE_STATUS.denied}
exec cat -- "$1"`;

function fileError(path: string, output: ConsoleOutput): SandboxError {
  switch (output.exitCode) {
    case FILE_STATUS.missing:
      return new FileNotFoundError(path, "sandbox");
    case FILE_STATUS.directory:
      return new FileAccessError(path, "is_directory");
    case FILE_STATUS.denied:
      return new FileAccessError(path, "permission_denied");
    default:
      return new ContainerError(`File transfer for ${path} failed: ${output.stderr.trim() || `exit code ${output.exitCode}`}`);
  }
}

/** `run()`'s code must be a non-empty string. */
export function requireCode(code: unknown): asserts code is string {
  if (typeof code !== "string" || code.trim() === "") throw new ValidationError("code must be a non-empty string");
}

function commandArgv(command: string | readonly string[]): readonly string[] {
  if (typeof command === "string") {
    if (!command.trim()) throw new CommandEmptyError();
    return ["/bin/sh", "-c", command];
  }
  if (!Array.isArray(command) || command.length === 0 || !command[0]) throw new CommandEmptyError();
  return command;
}

function streamOf(options: StreamOptions): Pick<ProcessRequest, "onStdout" | "onStderr" | "signal"> {
  return {
    ...(options.onStdout ? { onStdout: options.onStdout } : {}),
    ...(options.onStderr ? { onStderr: options.onStderr } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
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
