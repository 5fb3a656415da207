import { shellJoin, shellQuote } from "../internal/shell.js";
import { hiddenCodeFile, lastErrorLine, type LanguageHandler, type SandboxContext } from "./handler.js";
import { features, HASH_COMMENTS, IDENTIFIER, quote } from "./syntax.js";

/** The session's virtualenv lives in the workdir: created lazily on first install, wiped with the workdir. */
export const pythonVenv = (workdir: string) => `${workdir}/.sandbox-venv`;

/** The image's python3 (or python), as a command substitution. */
const IMAGE_PYTHON = "$(command -v python3 || command -v python)";

/** The venv's python when it exists (libraries were installed), else the image's. */
export const selectPython = (workdir: string) => `py=${shellQuote(`${pythonVenv(workdir)}/bin/python`)}; [ -x "$py" ] || py=${IMAGE_PYTHON}`;

function indexArgs(url: string | undefined): string {
  if (!url) return "";
  const { protocol, hostname } = new URL(url);
  return ` --index-url ${shellQuote(url)}${protocol === "http:" ? ` --trusted-host ${shellQuote(hostname)}` : ""}`;
}

export const python: LanguageHandler = {
  name: "python",
  aliases: ["py", "python3"],
  fileExtension: "py",
  imageDir: "python",
  preinstalledLibraries: ["numpy", "pandas", "matplotlib", "seaborn", "plotly", "scipy", "pillow", "ipython"],
  syntax: {
    ...HASH_COMMENTS,
    quotes: [quote("'''", { multiline: true }), quote('"""', { multiline: true }), quote("'"), quote('"')],
    word: IDENTIFIER,
    features: features("python-prefixes", "nfkc-identifiers"),
  },
  codeFile: hiddenCodeFile("py"),
  runScript: ({ workdir }) => `${selectPython(workdir)}; "$py" "$SANDBOX_FILE"`,
  installCommand(libraries, { workdir, packageIndexes }: SandboxContext) {
    const venv = shellQuote(pythonVenv(workdir));
    // --system-site-packages keeps the image's libraries importable; --without-pip reuses the image's pip (fast).
    return {
      script:
        `[ -x ${venv}/bin/python ] || { p=${IMAGE_PYTHON} && "$p" -m venv --system-site-packages --without-pip ${venv}; } && ` +
        `${venv}/bin/python -m pip install --disable-pip-version-check --no-input --no-cache-dir${indexArgs(packageIndexes.pip)} -- ${shellJoin(libraries)}`,
    };
  },
  parseError: (stderr) => lastErrorLine(stderr, /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))(?::\s?(.*))?$/),
};
