import type { LanguageHandler } from "../languages/handler.js";
import { findLanguageHandler, languageHandlers } from "../languages/registry.js";
import { ForkServer } from "./fork-server.js";
import { NodeSpare } from "./node-spare.js";
import type { WarmRunner, WarmStart } from "./warm-runner.js";

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
