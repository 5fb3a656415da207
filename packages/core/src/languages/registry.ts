import { LanguageNotSupportedError, ValidationError } from "../errors.js";
import { bash } from "./bash.js";
import { cpp } from "./cpp.js";
import { go } from "./go.js";
import type { LanguageHandler } from "./handler.js";
import { java } from "./java.js";
import { javascript } from "./javascript.js";
import { python } from "./python.js";
import { r } from "./r.js";
import { ruby } from "./ruby.js";
import { typescript } from "./typescript.js";

const handlers = new Map<string, LanguageHandler>();
const byAlias = new Map<string, LanguageHandler>();

/** Adds (or replaces) a language; custom handlers work through every backend like built-in ones. */
export function registerLanguageHandler(handler: LanguageHandler): void {
  // A replaced handler's aliases go with it: they must not keep resolving to the old one.
  const replaced = handlers.get(handler.name);
  for (const [alias, owner] of byAlias) if (owner === replaced) byAlias.delete(alias);
  handlers.set(handler.name, handler);
  for (const name of [handler.name, ...handler.aliases]) byAlias.set(name.toLowerCase(), handler);
}

/** Removes a language registered at run time (and its aliases); a built-in one cannot be removed, only replaced. */
export function unregisterLanguageHandler(name: string): void {
  const handler = findLanguageHandler(name);
  if (!handler) return;
  if ((BUILT_IN as readonly LanguageHandler[]).some((builtIn) => builtIn.name === handler.name)) {
    throw new ValidationError(`${handler.name} is a built-in language: replace it with registerLanguageHandler instead`);
  }
  handlers.delete(handler.name);
  for (const [alias, owner] of byAlias) if (owner === handler) byAlias.delete(alias);
}

/** The languages that ship with the sandbox (adding one: its file, a line here, its image). */
const BUILT_IN = [python, javascript, typescript, java, cpp, go, ruby, r, bash] as const;
for (const handler of BUILT_IN) registerLanguageHandler(handler);

/** The built-in languages' names. */
export type SupportedLanguage = (typeof BUILT_IN)[number]["name"];
/** Enum-like constants of the built-in languages: usable as values (`SupportedLanguage.PYTHON`) and as a string-literal type. */
export const SupportedLanguage = Object.freeze(Object.fromEntries(BUILT_IN.map(({ name }) => [name.toUpperCase(), name]))) as {
  readonly [Name in SupportedLanguage as Uppercase<Name>]: Name;
};

/** Case-insensitive lookup by name or alias; undefined when no language has it. */
export const findLanguageHandler = (language: string): LanguageHandler | undefined => byAlias.get(String(language).trim().toLowerCase());

/**
 * Case-insensitive lookup by name or alias: the one resolver of language names (sessions, security policies, pools
 * and tools all ask it).
 */
export function getLanguageHandler(language: string): LanguageHandler {
  const handler = findLanguageHandler(language);
  if (!handler) {
    throw new LanguageNotSupportedError(language, `supported: ${supportedLanguages().join(", ")}`);
  }
  return handler;
}

export const supportedLanguages = (): string[] => [...handlers.keys()];

/** Every registered language, in the order registered. */
export const languageHandlers = (): LanguageHandler[] => [...handlers.values()];
