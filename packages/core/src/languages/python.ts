import { shellJoin, shellQuote } from "../internal/shell.js";
import { hiddenCodeFile, lastErrorLine, type LanguageHandler, type SandboxContext } from "./handler.js";
import type { PresetName, PresetPattern, PresetRuleSet, RuleSeverity } from "./preset-rules.js";
import type { Extractor } from "./scanning.js";
import { features, HASH_COMMENTS, IDENTIFIER, quote } from "./syntax.js";
import { dottedName, splitStatement, staticString, TokenList } from "./tokens.js";

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

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

/** Python names that only sandbox escapes reach for: they lead from any object back to modules and builtins. */
const PYTHON_ESCAPE_HATCHES = new Set(["__builtins__", "builtins", "__subclasses__", "__globals__", "__loader__", "__import__"]);

const extract: Extractor = (tokens, out) => {
  const statementStart = (i: number) => {
    const prev = tokens.at(i - 1);
    return !prev || prev.kind === "newline" || (prev.kind === "punct" && (prev.text === ";" || prev.text === ":"));
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    // globals()['__builtins__'], getattr(x, '__import__'): the same escape hatches, spelled as strings.
    if (token.kind === "string" && token.value !== undefined && PYTHON_ESCAPE_HATCHES.has(token.value)) {
      out.dynamicCode("dynamic-import", `'${token.value}' reaches modules and builtins by name`, token);
    }
    if (token.kind !== "word") continue;
    switch (token.text) {
      case "getattr": {
        const call = tokens.call(tokens.next(i));
        if (call && call.args.length >= 2 && staticString(call.args[1]!) === undefined) {
          out.dynamicCode("dynamic-import", "getattr() of an attribute named at run time", token);
        }
        break;
      }
      case "from": {
        if (!statementStart(i)) break;
        let j = i + 1;
        let relative = false;
        while (tokens.isPunct(j, ".")) {
          relative = true;
          j++;
        }
        const base = dottedName(tokens, j);
        if (base) j = base.end;
        if (!tokens.isWord(j, "import")) break;
        if (!relative && base) out.module(base.name, token);
        const names = tokens.isPunct(j + 1, "(") ? tokens.group(j + 1, ")").args : splitStatement(tokens, j + 1);
        for (const name of names) {
          const first = name[0];
          if (!relative && base && first?.kind === "word") out.module(`${base.name}.${first.text}`, token);
        }
        break;
      }
      case "import": {
        if (!statementStart(i)) break;
        for (const clause of splitStatement(tokens, i + 1)) {
          const list = new TokenList(clause);
          const name = dottedName(list, 0);
          if (name) out.module(name.name, token);
        }
        break;
      }
      case "__import__":
        if (tokens.isPunct(tokens.next(i), "(")) out.importCall(tokens, i, "__import__");
        else out.dynamicCode("dynamic-import", "__import__ passed around as a value", token);
        break;
      case "import_module":
      case "run_module":
        if (tokens.isPunct(tokens.next(i), "(")) out.importCall(tokens, i, token.text);
        break;
      case "exec":
      case "eval":
      case "compile":
        if (tokens.isPunct(tokens.next(i), "(") && (!tokens.afterDot(i) || tokens.isWord(tokens.prev(tokens.prev(i)), "builtins"))) {
          out.evalCall(tokens, i, `${token.text}()`, "python");
        }
        break;
      case "modules":
        // sys.modules['os'] reaches a module that is already loaded, without importing it.
        if (tokens.afterDot(i) && tokens.isWord(tokens.prev(tokens.prev(i)), "sys") && tokens.isPunct(tokens.next(i), "[")) {
          const key = staticString(tokens.group(tokens.next(i), "]").args[0] ?? []);
          if (key === undefined) out.dynamicCode("dynamic-import", "sys.modules indexed by a name computed at run time", token);
          else out.module(key, token);
        }
        break;
      default:
        if (PYTHON_ESCAPE_HATCHES.has(token.text)) {
          out.dynamicCode("dynamic-import", `${token.text} reaches modules and builtins by name`, token);
        }
    }
  }
};

const pep503 = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");
/** pip compares package names as PEP 503 says (`Requests[socks]>=2` is `requests`). */
const packageName = (spec: string) => pep503(spec.split(/[\s[<>=!~;@(]/)[0]!);

// ── The security presets' rules ───────────────────────────────────────────────────────────────────────────────

type Severity = RuleSeverity;
const [L, M, H] = ["low", "medium", "high"] as const;

type PythonRule = readonly [pattern: string, description: string, severity: Severity, inStrings?: "in strings"];

const OS_SYSTEM: PythonRule = ["\\bos\\.system\\s*\\(", "System command execution (os.system)", H];
const SUBPROCESS_RUN: PythonRule = ["\\bsubprocess\\.(run|call|Popen)\\s*\\(", "Subprocess execution", H];
const OS_REMOVE: PythonRule = ["\\bos\\.(remove|unlink|rmdir)\\s*\\(", "File deletion", H];
const SOCKET_CREATE = (severity: Severity): PythonRule => ["\\bsocket\\.socket\\s*\\(", "Raw socket creation", severity];
const FILE_WRITE = (severity: Severity): PythonRule => ["\\bopen\\s*\\([^)]*['\"]w['\"][^)]*\\)", "File write", severity];

interface PythonPreset {
  readonly patterns: readonly PythonRule[];
  readonly modules: readonly (readonly [name: string, severity: Severity])[];
}

/** llm-sandbox's presets for Python, pattern for pattern. */
const PRESETS: Readonly<Record<PresetName, PythonPreset>> = {
  minimal: {
    patterns: [
      ["\\bos\\.system\\s*\\([^)]*(?:rm|del|format)[^)]*\\)", "Destructive system command", H],
      ["\\bsubprocess\\.(run|call)\\s*\\([^)]*(?:rm|del|format)[^)]*\\)", "Destructive subprocess command", H],
    ],
    modules: [["ctypes", H]],
  },
  development: {
    patterns: [
      OS_SYSTEM,
      ["\\brm\\s+-rf\\s+/", "Dangerous file deletion (rm -rf /)", H, "in strings"],
      ["\\bformat\\s+[A-Za-z]:[/\\\\]", "Disk formatting", H, "in strings"],
    ],
    modules: [["ctypes", H]],
  },
  educational: {
    patterns: [
      OS_SYSTEM,
      SUBPROCESS_RUN,
      OS_REMOVE,
      ["\\bshutil\\.rmtree\\s*\\(", "Recursive directory deletion", H],
      ["\\bsocket\\.socket\\s*\\([^)]*SOCK_RAW", "Raw socket", M],
      ["\\beval\\s*\\(", "Dynamic evaluation (eval)", L],
    ],
    modules: [["os", H], ["subprocess", H], ["ctypes", M], ["socket", L]],
  },
  data_science: {
    patterns: [OS_SYSTEM, SUBPROCESS_RUN, FILE_WRITE(L), OS_REMOVE, SOCKET_CREATE(M), ["\\bpickle\\.loads?\\s*\\(", "Pickle deserialisation", L]],
    modules: [["os", H], ["subprocess", H], ["ctypes", M], ["urllib", L], ["requests", L]],
  },
  web_scraping: {
    patterns: [OS_SYSTEM, SUBPROCESS_RUN, OS_REMOVE, FILE_WRITE(L), ["\\btime\\.sleep\\s*\\(\\s*[0-9]*\\.?[0-9]+\\s*\\)", "Sleep (rate limiting)", L]],
    modules: [["os", H], ["subprocess", H], ["ctypes", H], ["urllib", L], ["requests", L], ["socket", M]],
  },
  production: {
    patterns: [
      OS_SYSTEM,
      ["\\bsubprocess\\.(run|call|Popen|check_output)\\s*\\(", "Subprocess execution", H],
      ["\\beval\\s*\\(", "Dynamic evaluation (eval)", M],
      ["\\bexec\\s*\\(", "Dynamic execution (exec)", M],
      ["\\bopen\\s*\\([^)]*['\"][wa]['\"][^)]*\\)", "File write or append", M],
      OS_REMOVE,
      ["\\bos\\.environ", "Environment variable access", L],
      SOCKET_CREATE(M),
    ],
    modules: [["os", H], ["subprocess", H], ["ctypes", H], ["socket", M], ["multiprocessing", M]],
  },
  strict: {
    patterns: [
      ["\\bos\\.\\w+\\s*\\(", "Any os function", H],
      ["\\bsubprocess\\.[\\w]+\\s*\\(", "Any subprocess function", H],
      ["\\b(eval|exec|compile)\\s*\\(", "Dynamic code (eval, exec, compile)", H],
      ["\\bopen\\s*\\(", "File access (open)", M],
      ["\\b__import__\\s*\\(", "Dynamic import (__import__)", M],
      ["\\b(getattr|setattr|delattr)\\s*\\(", "Dynamic attribute access", L],
      ["\\bsocket\\.[\\w]+\\s*\\(", "Socket operation", M],
    ],
    modules: [
      ["os", H], ["sys", H], ["subprocess", H], ["ctypes", H], ["socket", M], ["urllib", M], ["requests", M],
      ["multiprocessing", M], ["threading", L], ["pickle", L], ["marshal", L], ["shelve", L],
    ],
  },
};

/**
 * Modules that offer a restricted module's functions under another name (`posix.system` is `os.system`,
 * `asyncio.create_subprocess_shell` runs a shell): restricted with it, so the original's lists cannot be sidestepped.
 */
const PYTHON_EQUIVALENTS: Readonly<Record<string, readonly string[]>> = {
  os: ["posix", "nt", "pty"],
  subprocess: ["_posixsubprocess", "pty", "asyncio.subprocess"],
  ctypes: ["_ctypes", "cffi"],
  socket: ["_socket"],
  pickle: ["_pickle", "dill", "cloudpickle"],
  marshal: [],
  multiprocessing: ["_multiprocessing"],
  sys: [],
};

function rulesFor(name: PresetName): PresetRuleSet {
  const preset = PRESETS[name];
  const modules = preset.modules.flatMap(([name, severity]) =>
    [name, ...(PYTHON_EQUIVALENTS[name] ?? [])].map((module) => ({ name: module, severity, description: `Restricted module: ${module}${module === name ? "" : ` (equivalent of ${name})`}` })),
  );
  const patterns: PresetPattern[] = preset.patterns.map(([pattern, description, severity, inStrings]) => ({
    pattern,
    description,
    severity,
    ...(inStrings ? { inStrings: true } : {}),
  }));
  const subprocess = preset.modules.find(([name]) => name === "subprocess");
  if (subprocess) {
    patterns.push({ pattern: "\\bcreate_subprocess_(?:exec|shell)\\s*\\(", description: "Subprocess execution (asyncio)", severity: subprocess[1] });
  }
  return { patterns, modules };
}

export const python: LanguageHandler<"python"> = {
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
  scanner: {
    extract,
    modules: { separator: ".", libraryName: packageName, libraryMatches: (library, restricted) => packageName(library) === pep503(restricted) },
  },
  presetRules: { rulesFor },
  warm: { runner: "fork-server", defaultModules: ["numpy", "pandas", "matplotlib", "matplotlib.pyplot"] },
  kernel: { kind: "ipython" },
  plots: {
    assets: "python",
    // First on PYTHONPATH, our sitecustomize loads before the program (and then the image's own).
    environment: (dir) => `PYTHONPATH=${dir}\${PYTHONPATH:+:$PYTHONPATH}`,
    hint: "Python: draw with matplotlib (or seaborn, plotly) and call plt.show() or savefig; the image is returned to you.",
  },
};
