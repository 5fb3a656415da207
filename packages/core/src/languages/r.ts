import { ValidationError } from "../errors.js";
import { shellQuote } from "../internal/shell.js";
import { hiddenCodeFile, type LanguageHandler } from "./handler.js";
import { features, HASH_COMMENTS, quote } from "./syntax.js";

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

export const r: LanguageHandler = {
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
};
