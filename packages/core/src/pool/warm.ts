import type { BackendAdapter } from "../backends/backend.js";
import type { Logger } from "../internal/logger.js";
import type { LanguageHandler } from "../languages/handler.js";
import { findLanguageHandler, languageHandlers } from "../languages/registry.js";
import type { ProcessLauncher } from "../session/process.js";
import { ForkServer } from "./fork-server.js";
import { NodeSpare } from "./node-spare.js";

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

/** The warm runners by the kind a language's handler names (`LanguageHandler.warm.runner`). */
const RUNNERS: Readonly<Record<string, (start: WarmStart, language: LanguageHandler) => Promise<WarmRunner | undefined>>> = {
  "fork-server": (start) => ForkServer.start(start),
  "node-spare": (start, language) => NodeSpare.start(start, language.warm?.flags ?? [], language.fileExtension),
};

const warmOf = (language: LanguageHandler | undefined) => (language?.warm && Object.hasOwn(RUNNERS, language.warm.runner) ? language.warm : undefined);

/** Languages whose pooled containers can keep a warm interpreter. */
export const warmLanguages = (): string[] => languageHandlers().flatMap((language) => (warmOf(language) ? [language.name] : []));

/** The modules a language's warm interpreter prepares by default, or undefined when it has none. */
export const defaultWarmModules = (language: string): readonly string[] | undefined => warmOf(findLanguageHandler(language))?.defaultModules;

/** Starts the warm interpreter of `start.language`; undefined when it declines to run here. */
export function startWarmRunner(start: WarmStart): Promise<WarmRunner | undefined> {
  const language = findLanguageHandler(start.language)!;
  return RUNNERS[warmOf(language)!.runner]!(start, language);
}
