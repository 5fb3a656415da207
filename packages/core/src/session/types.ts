import type { SandboxBackend } from "../enums.js";
import type { ProcessOutput, ProcessRequest } from "../container/process.js";

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

/** A process request; what is left out comes from the session (timeout = `defaultTimeout`, caps, workdir, user). */
export type SessionProcessRequest = Omit<ProcessRequest, "timeout" | "maxOutputBytes" | "encodingErrors" | "workdir" | "user"> &
  Partial<Pick<ProcessRequest, "timeout" | "maxOutputBytes" | "encodingErrors" | "workdir" | "user">>;

/** One entry of `executeCommands`: a command, or a command with its own working directory. */
export type CommandSpec = string | readonly string[] | { readonly command: string | readonly string[]; readonly workdir?: string };

/**
 * The limits of a session, resolved once from its options: the same for every kind of session (plain, plot-capturing,
 * interactive, pooled) and every executor, and what the tool layer tells the model.
 */
export interface SessionLimits {
  /** Seconds one `run()` may take unless the call sets its own `timeout`. */
  readonly executionTimeout: number;
  /** Seconds any other operation may take. */
  readonly defaultTimeout: number;
  readonly installTimeout: number;
  /** Bytes of stdout and of stderr kept per operation. */
  readonly maxOutputBytes: number;
  /** Plots kept per run, and bytes per plot, where plots are captured. */
  readonly maxPlotsPerRun: number;
  readonly maxPlotBytes: number;
  /** The container's memory limit; undefined when turned off. */
  readonly memoryBytes: number | undefined;
}

/** Where a session runs (`session.info`). */
export interface SessionInfo {
  readonly backend: SandboxBackend;
  /** "gvisor": runsc, a user-space kernel between the sandbox and the host's; "container": the engine's runc. */
  readonly isolation: "container" | "gvisor";
  /** The OCI runtime (Docker) or RuntimeClass (Kubernetes) named by `runtimeConfigs.runtime`. */
  readonly runtime?: string;
}
