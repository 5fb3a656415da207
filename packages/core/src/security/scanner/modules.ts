import { getLanguageHandler } from "../../languages/registry.js";
import type { ModuleNames } from "../../languages/scanning.js";

const namesOf = (language: string): ModuleNames => getLanguageHandler(language).scanner?.modules ?? {};

/** A module name as the language means it: `node:fs` is `fs`, `<cstdlib>` is `stdlib`, `/usr/bin/curl` is `curl`. */
export function canonicalModule(language: string, name: string): string {
  const trimmed = name.trim();
  return namesOf(language).canonical?.(trimmed) ?? trimmed;
}

/**
 * True when using `used` uses the restricted module `restricted`: the same module or one of its submodules
 * (`os.path` is in `os`, `fs/promises` in `fs`, `os/exec` in `os`, `java.io.File` in `java.io`).
 */
export function moduleMatches(language: string, used: string, restricted: string): boolean {
  const a = canonicalModule(language, used);
  const b = canonicalModule(language, restricted);
  if (!a || !b) return false;
  const { separator } = namesOf(language);
  return a === b || (separator !== undefined && a.startsWith(b + separator));
}

/** The package name in an installer argument: versions, extras and markers removed (`requests[socks]>=2` → `requests`). */
export function libraryName(language: string, library: string): string {
  const spec = library.trim();
  return namesOf(language).libraryName?.(spec) ?? spec.split(/[@:=\s]/)[0]!;
}

/** True when installing `library` would install the restricted module (pip names compare as PEP 503 says). */
export function libraryMatches(language: string, library: string, restricted: string): boolean {
  const { libraryMatches: matches } = namesOf(language);
  return matches ? matches(library.trim(), restricted) : moduleMatches(language, libraryName(language, library), restricted);
}
