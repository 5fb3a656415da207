import type { SandboxBackend } from "../enums.js";
import type { Logger } from "../internal/logger.js";

/**
 * The seam between sessions and container engines. A backend creates, executes, moves nothing but bytes through
 * exec, and removes. It knows nothing of languages, policies or plots; all of that lives once, above it.
 * File transfer is built on `exec` (tar over stdin/stdout), so an engine with only exec (Kubernetes) is enough.
 */
export interface BackendAdapter {
  readonly kind: SandboxBackend;
  /** The image a session runs when it names none; without it, the language's own image. */
  readonly defaultImage?: string;
  /** Makes an image available: present, pulled, or built from this package's Dockerfiles. */
  prepareImage(image: string, logger: Logger): Promise<void>;
  /** Builds a user's Dockerfile; returns the image reference. */
  buildImage?(dockerfile: string, logger: Logger): Promise<string>;
  /** Creates and starts a container; resolves with its id once it can exec. */
  create(spec: ContainerSpec): Promise<string>;
  /** Attaches to an existing container (starting it if it is stopped). */
  attach(id: string): Promise<AttachedContainer>;
  exec(id: string, request: ExecRequest): Promise<ExecOutcome>;
  /** True when every exec runs as the container's user whatever `ExecRequest.user` says (Kubernetes). */
  readonly fixedExecUser?: boolean;
  /**
   * Execs in the relay sidecar of a sandbox created with network mode "relayed": as root with only the capability to
   * bind low ports, in the sandbox's network namespace but not its process namespace (sandbox code cannot see it).
   */
  execRelay?(id: string, request: ExecRequest): Promise<ExecOutcome>;
  /** Connects or disconnects the install network (containers whose user code has no network). */
  setInstallNetwork?(id: string, connected: boolean): Promise<void>;
  /** Saves the container's filesystem as a new image; returns its reference. */
  commit?(id: string, reference: string): Promise<string>;
  /**
   * Frees a sandbox whose process slots are all taken (a fork bomb), starting no process in it: the kill step's
   * exec cannot start then. Signals the sandbox's first process (`ContainerSpec.init`) through the engine; does
   * nothing for a container that runs another first process. Absent where the engine cannot signal it (Kubernetes).
   */
  freeProcessSlots?(id: string): Promise<void>;
  /**
   * Whether the container still runs (false: stopped or removed). Asked only when an operation broke off or its
   * program was killed, to tell a container that went away from a program that failed.
   */
  running?(id: string): Promise<boolean>;
  /**
   * Follows the engine: calls `onStop` with the id of each container labelled `label` ("key=value") that stops.
   * Resolves once following; `closed` resolves when that ends — the engine went away (stopped, restarting) or
   * `signal` fired. Absent where the engine offers no event stream.
   */
  watchContainers?(label: string, onStop: (id: string) => void, signal: AbortSignal): Promise<{ readonly closed: Promise<void> }>;
  /** Removes the container (gone already is fine); `EngineUnavailableError` when the engine cannot be reached. */
  remove(id: string): Promise<void>;
  /** Synchronous last-resort removal for process exit, when no event loop is left to await `remove`. */
  removeSync?(id: string): void;
  removeImage?(image: string): Promise<void>;
}

export type NetworkPolicy =
  /** No network for anything: installs fail. */
  | { readonly mode: "none" }
  /** No network for user code; the backend attaches one only while libraries install. */
  | { readonly mode: "install-only" }
  /** Attached to this network (e.g. "bridge") for the whole session. */
  | { readonly mode: "attached"; readonly network: string }
  /**
   * Only loopback: the sandbox shares a network namespace with a relay sidecar and nothing else, so it has no route
   * anywhere. The library's egress proxy reaches it through `execRelay` (the relay's stdio carries its connections);
   * the namespace resolves names through 127.0.0.1 (the relay). See docs/network.md.
   */
  | { readonly mode: "relayed"; readonly relay: RelaySpec };

/** The sidecar of a "relayed" sandbox. */
export interface RelaySpec {
  /** Its image: any with the relay's interpreter (perl-base is in every Debian image); made available like the sandbox's. */
  readonly image: string;
  /**
   * Labels for the sidecar (and, on Kubernetes, the generated NetworkPolicy). The adapter adds the sandbox's ownership
   * labels (the reaper and cleanup sweep a relay like a sandbox), not the ones pools and sessions find sandboxes by.
   */
  readonly labels: Readonly<Record<string, string>>;
}

/** The signal that asks a sandbox's first process (`ContainerSpec.init`) to free the process slots. */
export const FREE_SLOTS_SIGNAL = "USR1";
/** The name (`$0`, the last argument) of that first process. */
export const KEEP_ALIVE_NAME = "llm-sandbox-keep-alive";

export interface ContainerSpec {
  readonly image: string;
  /**
   * The container's first process: the lifecycle's keep-alive, which reaps orphans, stops at once on TERM and frees
   * the process slots on `FREE_SLOTS_SIGNAL`. Its last argument names it (`$0`), so an adapter can recognise it.
   */
  readonly init: readonly string[];
  readonly user: string;
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly memoryBytes?: number;
  readonly cpus?: number;
  readonly pids?: number;
  readonly readOnlyRootfs: boolean;
  /** Size-limited in-memory mounts: mount point → size in bytes, owned by the session user. */
  readonly tmpfs: Readonly<Record<string, number>>;
  readonly network: NetworkPolicy;
  /**
   * The most seconds the sandbox may live (the session's `sessionTimeout`). The session ends it itself; an engine
   * that can also enforce it (Kubernetes' activeDeadlineSeconds) does, for when the owner died first.
   */
  readonly lifetimeSeconds?: number;
  /**
   * The isolation tier: "container" (the default: the engine's default runtime, runc) or "gvisor" (runsc: a kernel of its own in
   * user space between the sandbox and the host's). Docker and Podman pick the runtime of `gvisor.ts` for the network
   * mode; Kubernetes sets the pod's runtimeClassName.
   */
  readonly isolation?: "container" | "gvisor";
  /** An OCI runtime (Docker, Podman) or RuntimeClass (Kubernetes) by name, instead of the one `isolation` picks. */
  readonly runtime?: string;
  /** Backend-specific settings merged into the engine's create request (documented per backend). */
  readonly passthrough?: Readonly<Record<string, unknown>>;
}

export interface AttachedContainer {
  readonly id: string;
  /** The container's configured user ("" = the image's default). */
  readonly user: string;
}

export interface ExecRequest {
  /** The program and its arguments; never interpreted by a shell unless argv[0] is one. */
  readonly argv: readonly string[];
  /**
   * The program's stdin: bytes written then closed, or a stream written as it produces (a long-lived kernel's
   * commands) and closed when it ends. Without it stdin is not attached.
   */
  readonly stdin?: Uint8Array | AsyncIterable<Uint8Array>;
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly user?: string;
  readonly onStdout?: (chunk: Uint8Array) => void;
  readonly onStderr?: (chunk: Uint8Array) => void;
  /** Stops waiting and releases the stream. Killing the process is the session's job (it knows the run). */
  readonly signal?: AbortSignal;
  /** False: the open stream does not keep the Node.js process alive (a kernel idling between cells). Default true. */
  readonly keepAlive?: boolean;
}

export interface ExecOutcome {
  readonly exitCode: number;
}

/** How container runtimes (runc, crun, runsc) say the program to exec does not exist: exit code 127, as a shell would give. */
export const PROGRAM_NOT_FOUND =
  /executable file not found|exec: "[^"]*": stat [^:]*: no such file or directory|error finding executable "[^"]*" in PATH|failed to load [^:]*: no such file or directory/i;

/**
 * What stderr says when the program to exec does not exist, the same on every engine (their own wordings differ):
 * as bash says it, with exit code 127.
 */
export const programNotFound = (program: string): string =>
  program.includes("/") ? `${program}: No such file or directory\n` : `${program}: command not found\n`;

/**
 * Shell that execs "$@" — for backends that start programs through a shell of their own — saying a missing program
 * in programNotFound's words (a shell's `exec` would use its own).
 */
export const EXEC_PROGRAM = `case "$1" in
  */*) [ -e "$1" ] || { printf '%s: No such file or directory\\n' "$1" >&2; exit 127; } ;;
  *) command -v -- "$1" > /dev/null 2>&1 || { printf '%s: command not found\\n' "$1" >&2; exit 127; } ;;
esac
exec "$@"`;
