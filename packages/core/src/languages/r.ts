import { ValidationError } from "../errors.js";
import { shellQuote } from "../internal/shell.js";
import { hiddenCodeFile, type LanguageHandler } from "./handler.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import { type Extractor } from "./scanning.js";
import { features, HASH_COMMENTS, quote } from "./syntax.js";
import { staticString } from "./tokens.js";

/** The session's R library (R_LIBS_USER): packages installed by the session, searched before the image's. */
export const rLibrary = (workdir: string) => `${workdir}/.sandbox-R/library`;

const CRAN = "https://cloud.r-project.org";
/** CRAN's rule for package names. */
const PACKAGE_NAME = /^[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]$/;

/** Rscript's "Error in call : message" or "Error: message" (the message may continue on the next lines). */
export function parseRError(stderr: string) {
  const start = stderr.search(/^Error\b/m);
  if (start < 0) return undefined;
  const report = stderr.slice(start).split(/\n(?:Calls: |Execution halted)/)[0]!;
  const message = report.replace(/^Error(?: in [\s\S]*? :|:)\s*/, "").trim();
  return { name: "Error", message, traceback: stderr.trimEnd() };
}

/**
 * `install.packages` only warns when a package cannot be installed (and exits 0), so the script checks afterwards
 * that every package is there and fails naming the missing ones. Packages the image already has are not installed
 * again (as pip does with requirements already satisfied).
 */
function installScript(packages: readonly string[], library: string, repository: string): string {
  const r = (text: string) => JSON.stringify(text);
  return [
    `lib <- ${r(library)}`,
    `wanted <- c(${packages.map(r).join(", ")})`,
    "todo <- setdiff(wanted, rownames(installed.packages()))",
    `if (length(todo)) install.packages(todo, lib = lib, repos = ${r(repository)}, Ncpus = max(1L, parallel::detectCores()))`,
    "missing <- setdiff(wanted, rownames(installed.packages()))",
    'if (length(missing)) { message("Failed to install R package(s): ", paste(missing, collapse = ", ")); quit(status = 1) }',
  ].join("\n");
}

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

const R_ATTACH = new Set(["library", "require", "requireNamespace", "loadNamespace", "attachNamespace", "asNamespace", "getNamespace"]);
const R_BY_NAME = new Set(["get", "get0", "match.fun", "getFunction"]);

const extract: Extractor = (tokens, out) => {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    // pkg::fn and pkg:::fn (a string may name the package too)
    if ((token.kind === "word" || token.kind === "string") && tokens.isPunct(i + 1, ":") && tokens.isPunct(i + 2, ":") && tokens.touching(i) && tokens.touching(i + 1)) {
      const name = token.kind === "word" ? token.text : token.value;
      if (name) out.module(name, token);
      continue;
    }
    if (token.kind !== "word") continue;
    const call = tokens.call(tokens.next(i));
    if (!call) continue;
    if (R_ATTACH.has(token.text) || token.text === "p_load") {
      const characterOnly = call.args.some((arg) => arg[0]?.text === "character.only" && !["FALSE", "F"].includes(arg[2]?.text ?? ""));
      const names = token.text === "p_load" ? call.args : call.args.slice(0, 1);
      for (const arg of names) {
        const bare = arg.length === 1 && arg[0]!.kind === "word" && !characterOnly ? arg[0]!.text : undefined;
        const name = bare ?? staticString(arg);
        if (name === undefined) out.dynamicCode("dynamic-import", `${token.text}() of a package named at run time`, token);
        else out.module(name, token);
      }
    } else if (token.text === "getExportedValue" || token.text === "getFromNamespace") {
      const pkg = staticString(call.args[token.text === "getExportedValue" ? 0 : 1] ?? []);
      if (pkg === undefined) out.dynamicCode("dynamic-import", `${token.text}() of a package named at run time`, token);
      else out.module(pkg, token);
    } else if (token.text === "parse" || token.text === "str2lang" || token.text === "str2expression") {
      const text = token.text === "parse" ? call.args.find((arg) => arg[0]?.text === "text" && arg[1]?.text === "=")?.slice(2) : call.args[0];
      if (token.text === "parse" && !text) continue;
      const code = staticString(text ?? []);
      if (code === undefined) out.dynamicCode("dynamic-eval", `${token.text}() of code built at run time`, token);
      else out.embed("r", code, token);
    } else if (token.text === "eval" || token.text === "evalq") {
      const first = call.args[0]?.[0];
      if (!first || !(first.kind === "word" && ["parse", "quote", "bquote", "expression", "str2lang", "str2expression"].includes(first.text))) {
        out.dynamicCode("dynamic-eval", `${token.text}() of an expression built at run time`, token);
      }
    } else if (R_BY_NAME.has(token.text) && staticString(call.args[0] ?? []) === undefined) {
      out.dynamicCode("dynamic-eval", `${token.text}() of a function named at run time`, token);
    }
  }
};

// ── The security presets' rules ───────────────────────────────────────────────────────────────────────────────

const presetRules: LanguagePresetRules = {
  capabilities: {
    shell: {
      modules: ["processx", "sys"],
      patterns: ["\\bsystem2?(?![\\w.])", "\\bshell(?:\\.exec)?\\s*\\(", "\\bpipe\\s*\\(", "\\b(?:do\\.call|get0?|match\\.fun|getFunction)\\s*\\(\\s*[\"'](?:system2?|shell|pipe)[\"']"],
    },
    native: { modules: ["Rcpp", "inline", "cpp11"], patterns: ["\\.(?:C|Call|External2?|Fortran)\\s*\\(", "\\bdyn\\.load\\s*\\("] },
    destructive: { patterns: ["\\b(?:unlink|file\\.remove)\\s*\\("] },
    processes: { modules: ["parallel", "callr", "future"] },
    http: {
      modules: ["httr", "httr2", "curl", "RCurl", "rvest", "crul"],
      patterns: ["\\b(?:url|download\\.file|curlGetHeaders)\\s*\\(", "\\b(?:read\\.\\w+|readLines|readRDS|fromJSON|source|read_csv|fread)\\s*\\(\\s*[\"'](?:https?|ftp)://"],
    },
    sockets: { patterns: ["\\b(?:socketConnection|make\\.socket|socketAccept|serverSocket)\\s*\\("] },
    env: { patterns: ["\\bSys\\s*\\.\\s*(?:getenv|setenv)\\s*\\("] },
    eval: { patterns: ["\\b(?:eval|evalq|source|sys\\.source)\\s*\\("] },
    fileWrite: { patterns: ["\\b(?:write\\.(?:csv2?|table)|writeLines|saveRDS|save|sink|file\\.create|file\\.copy|file\\.rename)\\s*\\("] },
    serialization: { patterns: ["\\b(?:readRDS|unserialize|load)\\s*\\("] },
    introspection: { patterns: ["\\b(?:get0?|match\\.fun|getFunction|getFromNamespace|getExportedValue)\\s*\\("] },
  },
};

export const r: LanguageHandler<"r"> = {
  name: "r",
  aliases: ["rscript"],
  fileExtension: "R",
  imageDir: "r",
  preinstalledLibraries: ["ggplot2", "plotly", "lattice"],
  syntax: {
    ...HASH_COMMENTS,
    quotes: [quote('"', { multiline: true }), quote("'", { multiline: true })],
    word: /[\p{ID_Continue}.]/u,
    features: features("r-raw-strings", "backtick-names"),
  },
  codeFile: hiddenCodeFile("R"),
  runScript: ({ workdir }) => `R_LIBS_USER=${shellQuote(rLibrary(workdir))} Rscript "$SANDBOX_FILE"`,
  installCommand(libraries, { workdir, packageIndexes }) {
    const bad = libraries.filter((name) => !PACKAGE_NAME.test(name));
    if (bad.length) throw new ValidationError(`Not R package names: ${bad.map((b) => JSON.stringify(b)).join(", ")}`);
    const library = rLibrary(workdir);
    return {
      script: `mkdir -p ${shellQuote(library)} && R_LIBS_USER=${shellQuote(library)} Rscript -e ${shellQuote(installScript(libraries, library, packageIndexes.cran ?? CRAN))}`,
    };
  },
  parseError: parseRError,
  scanner: { extract },
  presetRules,
  plots: {
    assets: "r",
    // R reads R_PROFILE_USER at start-up; ours then runs the user's own profile.
    environment: (dir) => `R_PROFILE_USER_ORIGINAL="\${R_PROFILE_USER:-$HOME/.Rprofile}" R_PROFILE_USER=${dir}/Rprofile.R`,
    hint: "R: draw with base graphics, ggplot2 or lattice; the image is returned to you.",
  },
};
