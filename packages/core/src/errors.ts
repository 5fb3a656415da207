/**
 * Every infrastructure failure is a `SandboxError`. A failing *program* (non-zero exit, exception in user code)
 * is never an error: it is data in the `ExecutionResult`.
 *
 * `instanceof` breaks when two copies of this package are loaded (bundlers, monorepos), so each error also carries
 * a marker under a global symbol listing its class chain; `SomeError.isInstance(e)` checks that marker.
 */
const MARKER = Symbol.for("llm-sandbox.error");

type ErrorClass = { readonly errorName: string };

export class SandboxError extends Error {
  static readonly errorName: string = "SandboxError";
  readonly [MARKER]: readonly string[];

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    const chain: string[] = [];
    for (let c: unknown = new.target; c && c !== Error; c = Object.getPrototypeOf(c)) {
      chain.push((c as ErrorClass).errorName);
    }
    this[MARKER] = chain;
    this.name = chain[0] ?? "SandboxError";
  }

  /**
   * True when `error` is this class or a subclass, across package copies. Safe to pass around unbound
   * (`errors.filter(SandboxTimeoutError.isInstance)`): every class gets its own bound copy below.
   */
  static isInstance<T extends abstract new (...args: never[]) => SandboxError>(
    this: T & ErrorClass,
    error: unknown,
  ): error is InstanceType<T> {
    return hasErrorName(error, this.errorName);
  }
}

function hasErrorName(error: unknown, name: string): boolean {
  const chain = (error as { [MARKER]?: unknown } | null)?.[MARKER];
  return Array.isArray(chain) && chain.includes(name);
}

export class ValidationError extends SandboxError {
  static override readonly errorName: string = "ValidationError";
}

export class ContainerError extends SandboxError {
  static override readonly errorName: string = "ContainerError";
}

/** The engine or cluster refuses an operation to our credentials; `permission` names what they lack. */
export class PermissionDeniedError extends ContainerError {
  static override readonly errorName: string = "PermissionDeniedError";
  constructor(readonly permission: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export class ResourceError extends SandboxError {
  static override readonly errorName: string = "ResourceError";
}

export class SecurityError extends SandboxError {
  static override readonly errorName: string = "SecurityError";
}

/** A path escapes the directory it must stay in (`..`, absolute archive members, links). */
export class PathTraversalError extends SecurityError {
  static override readonly errorName: string = "PathTraversalError";
  constructor(readonly path: string, reason = "path traversal") {
    super(`Path traversal detected in ${path}: ${reason}`);
  }
}

/** A file or directory named by the caller does not exist (on the host or in the sandbox). */
export class FileNotFoundError extends SandboxError {
  static override readonly errorName: string = "FileNotFoundError";
  constructor(readonly path: string, where: "host" | "sandbox") {
    super(`${where === "host" ? "Source path" : "Path"} ${path} does not exist ${where === "host" ? "on the host" : "in the sandbox"}`);
  }
}

/** A sandbox path exists but cannot be used as asked: it is a directory, or the sandbox user may not access it. */
export class FileAccessError extends SandboxError {
  static override readonly errorName: string = "FileAccessError";
  constructor(readonly path: string, readonly reason: "is_directory" | "permission_denied") {
    super(`${path} ${reason === "is_directory" ? "is a directory" : "is not accessible to the sandbox user (permission denied)"}`);
  }
}

/** An archive is malformed or holds nothing that may be extracted. */
export class ArchiveError extends SandboxError {
  static override readonly errorName: string = "ArchiveError";
}

export class EngineUnavailableError extends SandboxError {
  static override readonly errorName: string = "EngineUnavailableError";
}

export class MissingDependencyError extends SandboxError {
  static override readonly errorName: string = "MissingDependencyError";
}

export class LanguageNotSupportedError extends SandboxError {
  static override readonly errorName: string = "LanguageNotSupportedError";
  constructor(readonly language: string, detail?: string) {
    super(`Language ${language} is not supported${detail ? `: ${detail}` : ""}`);
  }
}

export class LanguageNotSupportPlotError extends SandboxError {
  static override readonly errorName: string = "LanguageNotSupportPlotError";
  constructor(readonly language: string) {
    super(`Language ${language} does not support plot detection`);
  }
}

export class ImageNotFoundError extends SandboxError {
  static override readonly errorName: string = "ImageNotFoundError";
  constructor(readonly image: string, hint?: string) {
    super(`Image ${image} not found${hint ? `. ${hint}` : ""}`);
  }
}

export class ImagePullError extends SandboxError {
  static override readonly errorName: string = "ImagePullError";
  constructor(readonly image: string, reason: string, options?: ErrorOptions) {
    super(`Failed to pull image ${image}: ${reason}`, options);
  }
}

export class ImageBuildError extends SandboxError {
  static override readonly errorName: string = "ImageBuildError";
  constructor(readonly image: string, readonly log: string, options?: ErrorOptions) {
    super(`Failed to build image ${image}:\n${log.split("\n").slice(-20).join("\n")}`, options);
  }
}

export class NotOpenSessionError extends SandboxError {
  static override readonly errorName: string = "NotOpenSessionError";
  constructor(detail = "Session is not open. Please call open() method before running code.", options?: ErrorOptions) {
    super(detail, options);
  }
}

export class CommandEmptyError extends SandboxError {
  static override readonly errorName: string = "CommandEmptyError";
  constructor() {
    super("Command cannot be empty");
  }
}

export class CommandFailedError extends SandboxError {
  static override readonly errorName: string = "CommandFailedError";
  constructor(readonly command: string, readonly exitCode: number, readonly output: string) {
    super(`Command ${command} failed with exit code ${exitCode}:\n${output}`);
  }
}

export class LibraryInstallationNotSupportedError extends SandboxError {
  static override readonly errorName: string = "LibraryInstallationNotSupportedError";
  constructor(readonly language: string, detail?: string) {
    super(`Library installation is not supported for ${language}${detail ? `: ${detail}` : ""}`);
  }
}

/** An installer ran and failed: names the libraries and keeps the installer's output. */
export class LibraryInstallationError extends SandboxError {
  static override readonly errorName: string = "LibraryInstallationError";
  constructor(
    readonly libraries: readonly string[],
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(
      `Failed to install ${libraries.join(", ")} (installer exit code ${exitCode}):\n${output.trimEnd().split("\n").slice(-30).join("\n")}`,
    );
  }
}

export class PackageManagerError extends SandboxError {
  static override readonly errorName: string = "PackageManagerError";
  constructor(readonly packageManager: string) {
    super(`Package manager ${packageManager} not found`);
  }
}

export class UnsupportedBackendError extends SandboxError {
  static override readonly errorName: string = "UnsupportedBackendError";
  constructor(readonly backend: string, detail?: string) {
    super(`Unsupported backend: ${backend}${detail ? ` (${detail})` : ""}`);
  }
}

/** A capability this session (its backend, its container) does not have: says why and what would give it. */
export class CapabilityUnavailableError extends SandboxError {
  static override readonly errorName: string = "CapabilityUnavailableError";
  constructor(
    readonly capability: string,
    why: string,
    readonly remedy: string,
  ) {
    super(`${capability} is not available: ${why}. ${remedy}`);
  }
}

export class InvalidRegexPatternError extends SandboxError {
  static override readonly errorName: string = "InvalidRegexPatternError";
  constructor(readonly pattern: string, reason?: string) {
    super(`Invalid regex pattern: ${pattern}${reason ? ` (${reason})` : ""}`);
  }
}

export class LanguageHandlerNotInitializedError extends SandboxError {
  static override readonly errorName: string = "LanguageHandlerNotInitializedError";
  constructor(readonly language: string) {
    super(`Language handler for ${language} is not initialized.`);
  }
}

/** Output captured before an interrupted operation, so an interruption loses nothing. */
export interface PartialOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export class SandboxTimeoutError extends SandboxError {
  static override readonly errorName: string = "SandboxTimeoutError";
  constructor(
    message: string,
    /** The limit that was exceeded, in seconds. */
    readonly timeoutDuration?: number,
    readonly partialOutput?: PartialOutput,
  ) {
    super(message);
  }
}

/** The caller's AbortSignal fired; the program inside the sandbox was stopped. `name` stays "AbortError"-compatible via `code`. */
export class SandboxAbortError extends SandboxError {
  static override readonly errorName: string = "SandboxAbortError";
  readonly code = "ABORT_ERR";
  constructor(readonly partialOutput?: PartialOutput, options?: ErrorOptions) {
    super("The operation was aborted; the program in the sandbox was stopped.", options);
  }
}

/**
 * An interactive session's kernel process ended (out of memory, killed, exited): the state it held is gone.
 * Every `run()` reports this until `restart()` starts a fresh kernel.
 */
export class KernelDiedError extends SandboxError {
  static override readonly errorName: string = "KernelDiedError";
  constructor(
    message: string,
    /** The kernel's exit code, when the engine reported one (137 = SIGKILL, e.g. out of memory). */
    readonly exitCode?: number,
    /** Output of the cell that was running when the kernel died. */
    readonly partialOutput?: PartialOutput,
  ) {
    super(message);
  }
}

/** Output was not valid UTF-8 and `encodingErrors` is "strict". The raw bytes are kept. */
export class OutputDecodingError extends SandboxError {
  static override readonly errorName: string = "OutputDecodingError";
  constructor(
    readonly stream: "stdout" | "stderr",
    readonly offset: number,
    readonly raw: { readonly stdout: Uint8Array; readonly stderr: Uint8Array; readonly exitCode: number },
  ) {
    super(`Invalid UTF-8 in ${stream} at byte ${offset} (encodingErrors is "strict"); raw bytes are on error.raw`);
  }
}

export interface SecurityViolation {
  readonly description: string;
  /** `SecurityIssueSeverity`: 0 SAFE, 1 LOW, 2 MEDIUM, 3 HIGH. */
  readonly severity: number;
  /** What found it: a pattern, a restricted module used, dynamic code the scanner cannot resolve, or a library to install. */
  readonly kind?: "pattern" | "module" | "dynamic-import" | "dynamic-eval" | "library";
  readonly pattern?: string;
  /** The restricted module that was used. */
  readonly module?: string;
  readonly line?: number;
  readonly snippet?: string;
}

export class SecurityViolationError extends SecurityError {
  static override readonly errorName: string = "SecurityViolationError";
  constructor(message: string, readonly violations: readonly SecurityViolation[] = []) {
    super(message);
  }
}

/**
 * A code-tool call failed in a way the model can act on (bad input, time limit, failed install, sandbox trouble).
 * The message is written for the model; the original error is the `cause`.
 */
export class ToolCallError extends SandboxError {
  static override readonly errorName: string = "ToolCallError";
}

export class PoolExhaustedError extends SandboxError {
  static override readonly errorName: string = "PoolExhaustedError";
  constructor(readonly poolSize: number, readonly timeout?: number) {
    super(
      timeout === undefined
        ? `All ${poolSize} containers in pool are busy`
        : `All ${poolSize} containers in pool are busy and timeout of ${timeout}s exceeded`,
    );
  }
}

export class PoolClosedError extends SandboxError {
  static override readonly errorName: string = "PoolClosedError";
  constructor() {
    super("Container pool has been closed");
  }
}

/** Gives every error class its own `isInstance` bound to it, so it works without `this` (see SandboxError.isInstance). */
function bindIsInstance(...classes: ReadonlyArray<ErrorClass & Function>): void {
  for (const cls of classes) {
    Object.defineProperty(cls, "isInstance", { value: (error: unknown) => hasErrorName(error, cls.errorName) });
  }
}

bindIsInstance(
  SandboxError,
  ValidationError,
  ContainerError,
  PermissionDeniedError,
  ResourceError,
  SecurityError,
  PathTraversalError,
  FileNotFoundError,
  FileAccessError,
  ArchiveError,
  EngineUnavailableError,
  MissingDependencyError,
  LanguageNotSupportedError,
  LanguageNotSupportPlotError,
  ImageNotFoundError,
  ImagePullError,
  ImageBuildError,
  NotOpenSessionError,
  CommandEmptyError,
  CommandFailedError,
  LibraryInstallationNotSupportedError,
  LibraryInstallationError,
  PackageManagerError,
  UnsupportedBackendError,
  CapabilityUnavailableError,
  InvalidRegexPatternError,
  LanguageHandlerNotInitializedError,
  SandboxTimeoutError,
  SandboxAbortError,
  KernelDiedError,
  OutputDecodingError,
  SecurityViolationError,
  PoolExhaustedError,
  PoolClosedError,
  ToolCallError,
);
