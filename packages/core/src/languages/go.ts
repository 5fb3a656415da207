import { shellJoin, shellQuote } from "../internal/shell.js";
import { compileAndRun, firstErrorMatch, WORKDIR_FILES, type LanguageHandler } from "./handler.js";
import { C_COMMENTS, features, IDENTIFIER, quote } from "./syntax.js";

/** The session's module (`go.mod` in the workdir): `go get` adds libraries to it and programs build inside it. */
const MODULE_INIT = "[ -f go.mod ] || go mod init sandbox";

/** A compiler error (the first), or a panic. `log.Fatal` and `os.Exit` leave only their text and exit code. */
export const parseGoError = (stderr: string) =>
  firstErrorMatch(stderr, [
    [/^\S+\.go:\d+:\d+: (?<message>.*)$/m, "CompileError"],
    [/^panic: (?<message>.*)$/m, "panic"],
  ]);

/**
 * Go programs are built in the session's module and the binary is run (its exit code is the program's; `go run`
 * would turn it into 1). The image comes with the standard library's most used packages already compiled in its
 * build cache (GOCACHE on /tmp), and binaries are kept per code and go.mod, so runs skip most of the compiler.
 */
export const go: LanguageHandler = {
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
};
