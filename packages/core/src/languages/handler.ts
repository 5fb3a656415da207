import type { ExecutionErrorInfo } from "../result.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import type { LanguageScanner } from "./scanning.js";
import type { Syntax } from "./syntax.js";

/** Package sources a session installs libraries from (each optional; the tool's default when absent). */
export interface PackageIndexes {
  /** pip index URL (PEP 503 simple index). */
  readonly pip?: string;
  /** npm registry URL. */
  readonly npm?: string;
  /** GOPROXY value. */
  readonly go?: string;
  /** RubyGems source URL. */
  readonly rubygems?: string;
  /** CRAN-style repository URL. */
  readonly cran?: string;
  /** Maven repository URL. */
  readonly maven?: string;
  /** Debian archive URL for apt (C/C++ libraries). */
  readonly apt?: string;
}

/** What a handler knows about the sandbox when it plans a command. All paths are inside the sandbox. */
export interface SandboxContext {
  readonly workdir: string;
  readonly packageIndexes: PackageIndexes;
}

/** A shell command to run inside the sandbox (POSIX sh), and as whom. */
export interface SandboxCommand {
  readonly script: string;
  /** "root" for installers that need it (it has no capabilities either); default: the session's user. */
  readonly user?: "root";
}

/** A pooled container's warm interpreter: the runner (in `pool/warm.ts`) that keeps it, and what it prepares. */
export interface WarmInterpreter {
  /** `"fork-server"` (a Python fork server) or `"node-spare"` (a spare Node process). */
  readonly runner: string;
  /** Modules prepared by default (those the image lacks are skipped). */
  readonly defaultModules: readonly string[];
  /** Interpreter flags, the same a cold run uses. */
  readonly flags?: readonly string[];
}

/** The kernel of interactive sessions: its kind (in `interactive/kernels.ts`) and what else its start config says. */
export interface KernelChoice {
  /** `"ipython"` or `"node"`. */
  readonly kind: string;
  readonly config?: Readonly<Record<string, unknown>>;
}

/** Plot capture without code changes (run by `artifacts/`): scripts the interpreter loads at start-up. */
export interface PlotSupport {
  /** Directory under `assets/artifacts/` holding the capture scripts, uploaded once per session. */
  readonly assets: string;
  /** Shell assignments that make the interpreter load the capture scripts, uploaded to `dir`, before the program. */
  environment(dir: string): string;
  /** How the model makes a plot come back (for the tool description). */
  readonly hint: string;
}

/**
 * One language, as data and pure functions: no I/O here. The session writes the code to `codeFile`, runs
 * `runScript` in the workdir (with the code path in `$SANDBOX_FILE`) and deletes the file afterwards. The optional
 * facets say what else the language offers; the machinery that uses them is found by the kind they name.
 */
export interface LanguageHandler<Name extends string = string> {
  /** Canonical name (the built-in ones are listed in `SupportedLanguage`). */
  readonly name: Name;
  /** Other names accepted for `lang` ("py", "js", "ts", …). */
  readonly aliases: readonly string[];
  readonly fileExtension: string;
  /** Directory under `packages/core/images/` whose image runs this language by default. */
  readonly imageDir: string;
  /** Libraries the default image already has (shown to models and in docs). */
  readonly preinstalledLibraries: readonly string[];
  /** Comments and literals, for the security scanner (which must not mistake commented-out code or text for code). */
  readonly syntax: Syntax;
  /** Path of the code file for one run, relative to the workdir. */
  codeFile(runId: string): string;
  /** Shell script that runs (compiling first, where needed) the file named by `$SANDBOX_FILE`. */
  runScript(context: SandboxContext): string;
  /** Commands run once when a session opens with environment set-up (e.g. `go mod init`). */
  setupScripts?(context: SandboxContext): readonly SandboxCommand[];
  /** The command installing these libraries; absent when the language cannot install libraries. */
  installCommand?(libraries: readonly string[], context: SandboxContext): SandboxCommand;
  /** Reads a failing program's stderr into structured error data. */
  parseError?(stderr: string): ExecutionErrorInfo | undefined;
  /** A dialect of another language: security rules scoped to that language cover this one too (TypeScript of JavaScript). */
  readonly dialectOf?: string;
  /** How the security scanner finds imports and evaluated code; absent: it tells code from comments and literals only. */
  readonly scanner?: LanguageScanner;
  /** The language's part in the security presets; absent: the presets have no rules for it. */
  readonly presetRules?: LanguagePresetRules;
  /** Absent: pooled containers keep no warm interpreter. */
  readonly warm?: WarmInterpreter;
  /** Absent: no interactive sessions. */
  readonly kernel?: KernelChoice;
  /** Absent: no plot capture. */
  readonly plots?: PlotSupport;
}

/** `.sandbox-<run id>.<ext>` in the workdir: the program sees the workdir as its own directory (relative imports work). */
export const hiddenCodeFile = (extension: string) => (runId: string) => `.sandbox-${runId}.${extension}`;

/**
 * The first of `patterns` that matches stderr, as error data: the match's `message` group, and its `name` group or
 * the fixed name given with the pattern. For reports whose kinds each have one recognisable line.
 */
export function firstErrorMatch(stderr: string, patterns: ReadonlyArray<readonly [RegExp, string?]>): ExecutionErrorInfo | undefined {
  for (const [pattern, fixedName] of patterns) {
    const groups = pattern.exec(stderr)?.groups;
    if (groups) return { name: fixedName ?? groups.name ?? "Error", message: (groups.message ?? "").trim(), traceback: stderr.trimEnd() };
  }
  return undefined;
}

/** Finds the last "Name: message" line, the shape of Python, Node and Ruby error reports. */
export function lastErrorLine(stderr: string, pattern: RegExp): ExecutionErrorInfo | undefined {
  const lines = stderr.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = pattern.exec(lines[i]!.trim());
    if (match?.[1]) return { name: match[1], message: (match[2] ?? "").trim(), traceback: stderr.trimEnd() };
  }
  return undefined;
}

/** Where compiled programs are kept between runs of a session (on the in-memory /tmp, one directory per language). */
const BUILD_CACHE = "/tmp/.sandbox-build";
/** Builds kept per language; older ones are dropped. */
const BUILDS_KEPT = 16;

export interface CompiledRun {
  /** Directory name under the build cache (the language). */
  readonly cache: string;
  /**
   * Shell commands printing what, besides the code, decides the build (flags, installed libraries, go.mod): the
   * cache key is the hash of the code and this output.
   */
  readonly keyInputs: string;
  /**
   * Shell commands compiling `$SANDBOX_FILE` to the path in `$SANDBOX_BUILD` (a file or a directory); their failure
   * is the run's failure.
   */
  readonly build: string;
  /** Shell command running the build at `$SANDBOX_BUILD` (default: executing it). */
  readonly run?: string;
}

/**
 * For `keyInputs`: the workdir's files (name, size, time), other than the code and the session's hidden
 * directories, for compilers that read them (C++ headers, Go packages of the session's module).
 */
export const WORKDIR_FILES = `find . -name '.sandbox-*' -prune -o -type f ! -path "./\${SANDBOX_FILE##*/}" -printf '%p %s %T@\\n' | sort | head -n 10000`;

/**
 * The run script of a compiled language: compile, then run, and keep the build so the same program (with the same
 * inputs) runs again without the compiler. A compile error ends the run with the compiler's output and status;
 * nothing runs. A build lands under a temporary name first, so an interrupted compile never leaves a half-written
 * one. (A subshell, so its `exit`s leave the session's wrapper, which removes the code file, alone.)
 */
export function compileAndRun({ cache, keyInputs, build, run = '"$SANDBOX_BUILD"' }: CompiledRun): string {
  const dir = `${BUILD_CACHE}/${cache}`;
  return `(
mkdir -p ${dir} || exit 125
SANDBOX_BUILD=${dir}/$({ cat "$SANDBOX_FILE"; ${keyInputs}; } | sha256sum | cut -c1-32)
if [ -e "$SANDBOX_BUILD" ]; then touch "$SANDBOX_BUILD"; else
  final=$SANDBOX_BUILD; SANDBOX_BUILD=$final.partial.$$
  ( ${build}
  ) || { rc=$?; rm -rf "$SANDBOX_BUILD"; exit $rc; }
  mv -f "$SANDBOX_BUILD" "$final" && SANDBOX_BUILD=$final
  ls -t ${dir} | tail -n +${BUILDS_KEPT + 1} | while read -r old; do rm -rf "${dir}/$old"; done
fi
exec ${run}
)`;
}
