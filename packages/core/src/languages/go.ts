import { shellJoin, shellQuote } from "../internal/shell.js";
import { compileAndRun, firstErrorMatch, WORKDIR_FILES, type LanguageHandler } from "./handler.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import { atVersionedName, type Extractor } from "./scanning.js";
import { C_COMMENTS, features, IDENTIFIER, quote } from "./syntax.js";
import { splitStatement, type Token } from "./tokens.js";

/** The session's module (`go.mod` in the workdir): `go get` adds libraries to it and programs build inside it. */
const MODULE_INIT = "[ -f go.mod ] || go mod init sandbox";

/** A compiler error (the first), or a panic. `log.Fatal` and `os.Exit` leave only their text and exit code. */
export const parseGoError = (stderr: string) =>
  firstErrorMatch(stderr, [
    [/^\S+\.go:\d+:\d+: (?<message>.*)$/m, "CompileError"],
    [/^panic: (?<message>.*)$/m, "panic"],
  ]);

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

const extract: Extractor = (tokens, out, lexed) => {
  const importSpec = (clause: readonly Token[], at: Token) => {
    const path = clause.find((token) => token.kind === "string");
    if (path?.value !== undefined) out.module(path.value, at);
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    if (!tokens.isWord(i, "import") || tokens.afterDot(i)) continue;
    const next = tokens.next(i);
    if (tokens.isPunct(next, "(")) {
      let clause: Token[] = [];
      let j = next + 1;
      for (; j < tokens.length && !tokens.isPunct(j, ")"); j++) {
        const part = tokens.at(j)!;
        if (part.kind === "newline" || (part.kind === "punct" && part.text === ";")) {
          importSpec(clause, token);
          clause = [];
        } else clause.push(part);
      }
      importSpec(clause, token);
      i = j;
    } else {
      importSpec(splitStatement(tokens, i + 1)[0] ?? [], token);
    }
  }
  for (const token of lexed.tokens) {
    if (token.kind === "comment" && /^\/\/go:linkname\b/.test(token.text)) out.dynamicCode("dynamic-import", "//go:linkname reaches a symbol by name", token);
  }
};

// ── The security presets' rules ───────────────────────────────────────────────────────────────────────────────

const presetRules: LanguagePresetRules = {
  capabilities: {
    shell: { modules: ["os/exec"], patterns: ["\\bos\\s*\\.\\s*StartProcess\\b", "\\bsyscall\\s*\\.\\s*(?:Exec|ForkExec|StartProcess)\\b"] },
    native: { modules: ["unsafe", "C", "plugin", "syscall", "golang.org/x/sys/unix"] },
    destructive: { patterns: ["\\bos\\s*\\.\\s*(?:Remove|RemoveAll)\\s*\\("] },
    http: { modules: ["net/http", "net/rpc", "net/smtp"] },
    sockets: { patterns: ["\\bnet\\s*\\.\\s*(?:Dial|Listen)\\w*\\s*\\("] },
    env: { patterns: ["\\bos\\s*\\.\\s*(?:Getenv|LookupEnv|Environ|Setenv|Unsetenv)\\s*\\("] },
    fileWrite: { patterns: ["\\bos\\s*\\.\\s*(?:Create|WriteFile|OpenFile|Rename|Symlink|Link|Chmod|Chown)\\s*\\("] },
    introspection: { modules: ["reflect"] },
  },
};

/**
 * Go programs are built in the session's module and the binary is run (its exit code is the program's; `go run`
 * would turn it into 1). The image comes with the standard library's most used packages already compiled in its
 * build cache (GOCACHE on /tmp), and binaries are kept per code and go.mod, so runs skip most of the compiler.
 */
export const go: LanguageHandler<"go"> = {
  name: "go",
  aliases: ["golang"],
  fileExtension: "go",
  imageDir: "go",
  preinstalledLibraries: [],
  syntax: {
    ...C_COMMENTS,
    quotes: [quote('"'), quote("'"), quote("`", { escapes: false, decode: false, multiline: true })],
    word: IDENTIFIER,
    features: features(),
  },
  // Not hidden: the go tool ignores files whose names start with "." even when named on its command line.
  codeFile: (runId) => `sandbox-${runId}.go`,
  setupScripts: () => [{ script: MODULE_INIT }],
  runScript: ({ workdir }) =>
    compileAndRun({
      cache: "go",
      keyInputs: `cat ${shellQuote(`${workdir}/go.mod`)} ${shellQuote(`${workdir}/go.sum`)} 2>/dev/null; ${WORKDIR_FILES}`,
      build: `go build -o "$SANDBOX_BUILD" "$SANDBOX_FILE"`,
    }),
  installCommand: (libraries, { packageIndexes }) => ({
    // A custom proxy is trusted as it is: the public checksum database knows nothing of private modules.
    script: `set -e
${packageIndexes.go ? `export GOPROXY=${shellQuote(packageIndexes.go)} GOSUMDB=off\n` : ""}${MODULE_INIT}
go get ${shellJoin(libraries)}`,
  }),
  parseError: parseGoError,
  scanner: { extract, modules: { separator: "/", libraryName: atVersionedName } },
  presetRules,
};
