import type { BackendAdapter } from "../backends/backend.js";
import type { Logger } from "../internal/logger.js";
import type { ProcessLauncher } from "../session/process.js";

/**
 * A pooled container's warm interpreter, as the pool sees it: it launches the container's runs (a fresh copy of a
 * prepared interpreter each) and takes part in the reset.
 */
export interface WarmRunner extends ProcessLauncher {
  readonly alive: boolean;
  /**
   * The reset's kill step, done by a process no program can trace: every process but init, its keep-alive and the
   * runner's own. Absent when the runner has no such process (the pool then runs the kill step itself).
   */
  clear?(timeoutMs: number): Promise<boolean>;
  /** Stops an operation a closing session left running and waits for it; false if it does not end in time. */
  settle(timeoutMs: number): Promise<boolean>;
  /**
   * Ready for the next session: `fresh` after a reset (prepared state is made anew), else a health check. False when
   * it is broken.
   */
  prepare(timeoutMs: number, options: { fresh: boolean }): Promise<boolean>;
  /** Resolves when it can serve no more (its server ended), for runners with a long-lived server. */
  readonly ended?: Promise<void>;
}

export interface WarmStart {
  readonly language: string;
  readonly modules: readonly string[];
  readonly backend: BackendAdapter;
  readonly containerId: string;
  readonly user: string | undefined;
  readonly workdir: string;
  /** Aborted when the container goes away: stop waiting for it. */
  readonly detach: AbortSignal;
  /** Seconds the preparation (imports) may take. */
  readonly startTimeout: number;
  readonly logger: Logger;
}
