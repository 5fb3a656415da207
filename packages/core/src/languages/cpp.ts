import { aptEnvironment, aptInstall, aptPackagesFile } from "./apt.js";
import { compileAndRun, firstErrorMatch, WORKDIR_FILES, hiddenCodeFile, type LanguageHandler } from "./handler.js";
import { C_COMMENTS, features, IDENTIFIER, quote } from "./syntax.js";

/** The first compiler (or linker) error, or an uncaught exception's type and `what()`. */
export const parseCppError = (stderr: string) =>
  firstErrorMatch(stderr, [
    [/^[^\n]*?:\d+(?::\d+)?: (?:fatal )?error: (?<message>.*)$/m, "CompileError"],
    [/^(?:\S*\/)?ld: (?<message>.*)$/m, "LinkError"],
    [/terminate called after throwing an instance of '(?<name>[^']+)'(?:\s*\n\s*what\(\):\s*(?<message>.*))?/],
  ]);

/**
 * g++ in C++17, optimised; `$CXXFLAGS`, `$LDFLAGS` and `$LDLIBS` from the session's environment are added. Libraries
 * are Debian packages (e.g. libfmt-dev): their headers are on the include path and their shared libraries are
 * linked when the program uses them, so no `-l` is needed.
 */
export const cpp: LanguageHandler = {
  name: "cpp",
  aliases: ["c++", "cxx"],
  fileExtension: "cpp",
  imageDir: "cpp",
  preinstalledLibraries: [],
  syntax: {
    ...C_COMMENTS,
    quotes: [quote('"'), quote("'")],
    word: IDENTIFIER,
    features: features("cpp-raw-strings", "digit-separators", "line-splices", "digraphs"),
  },
  codeFile: hiddenCodeFile("cpp"),
  runScript: ({ workdir }) =>
    `${aptEnvironment(workdir)}
${compileAndRun({
  cache: "cpp",
  keyInputs: `echo "$CXXFLAGS|$LDFLAGS|$LDLIBS|$SANDBOX_APT_LDFLAGS"; cat ${aptPackagesFile(workdir)} 2>/dev/null; ${WORKDIR_FILES}`,
  build: `g++ -std=c++17 -O2 -pipe $CXXFLAGS -o "$SANDBOX_BUILD" -x c++ "$SANDBOX_FILE" -x none $LDFLAGS $SANDBOX_APT_LDFLAGS $LDLIBS`,
})}`,
  installCommand: aptInstall,
  parseError: parseCppError,
};
