import type { SupportedLanguage } from "../../enums.js";

/** C headers that C++ also offers as `<cname>` (`<cstdlib>` is `<stdlib.h>`). */
const C_HEADERS = new Set([
  "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "iso646", "limits", "locale", "math", "setjmp",
  "signal", "stdalign", "stdarg", "stdbool", "stddef", "stdint", "stdio", "stdlib", "string", "tgmath", "time", "uchar",
  "wchar", "wctype",
]);

/** How a language separates a module from its submodules; undefined: names are flat. */
const SEPARATOR: Readonly<Record<SupportedLanguage, string | undefined>> = {
  python: ".",
  java: ".",
  javascript: "/",
  typescript: "/",
  go: "/",
  ruby: "/",
  cpp: "/",
  r: undefined,
  bash: undefined,
};

/** A module name as the language means it: `node:fs` is `fs`, `<cstdlib>` is `stdlib`, `/usr/bin/curl` is `curl`. */
export function canonicalModule(language: SupportedLanguage, name: string): string {
  const trimmed = name.trim();
  switch (language) {
    case "javascript":
    case "typescript":
      return trimmed.replace(/^node:/, "");
    case "cpp": {
      const header = trimmed.replace(/\.(?:h|hpp|hh|hxx)$/, "");
      return /^c[a-z]+$/.test(header) && C_HEADERS.has(header.slice(1)) ? header.slice(1) : header;
    }
    case "ruby":
      return trimmed.replace(/\.(?:rb|so|bundle)$/, "");
    case "bash":
      return trimmed.split("/").at(-1)!;
    default:
      return trimmed;
  }
}

/**
 * True when using `used` uses the restricted module `restricted`: the same module or one of its submodules
 * (`os.path` is in `os`, `fs/promises` in `fs`, `os/exec` in `os`, `java.io.File` in `java.io`).
 */
export function moduleMatches(language: SupportedLanguage, used: string, restricted: string): boolean {
  const a = canonicalModule(language, used);
  const b = canonicalModule(language, restricted);
  if (!a || !b) return false;
  const separator = SEPARATOR[language];
  return a === b || (separator !== undefined && a.startsWith(b + separator));
}

/** The package name in an installer argument: versions, extras and markers removed (`requests[socks]>=2` → `requests`). */
export function libraryName(language: SupportedLanguage, library: string): string {
  const spec = library.trim();
  switch (language) {
    case "python":
      return pep503(spec.split(/[\s[<>=!~;@(]/)[0]!);
    case "javascript":
    case "typescript":
    case "go":
      return spec.startsWith("@") ? `@${spec.slice(1).split("@")[0]}` : spec.split("@")[0]!;
    default:
      return spec.split(/[@:=\s]/)[0]!;
  }
}

/** True when installing `library` would install the restricted module (pip names compare as PEP 503 says). */
export function libraryMatches(language: SupportedLanguage, library: string, restricted: string): boolean {
  const name = libraryName(language, library);
  if (language === "python") return name === pep503(restricted);
  return moduleMatches(language, name, restricted);
}

const pep503 = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");
