import { aptEnvironment, aptInstall, aptPackagesFile } from "./apt.js";
import { compileAndRun, firstErrorMatch, WORKDIR_FILES, hiddenCodeFile, type LanguageHandler } from "./handler.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import { type Extractor } from "./scanning.js";
import { C_COMMENTS, features, IDENTIFIER, quote } from "./syntax.js";

/** The first compiler (or linker) error, or an uncaught exception's type and `what()`. */
export const parseCppError = (stderr: string) =>
  firstErrorMatch(stderr, [
    [/^[^\n]*?:\d+(?::\d+)?: (?:fatal )?error: (?<message>.*)$/m, "CompileError"],
    [/^(?:\S*\/)?ld: (?<message>.*)$/m, "LinkError"],
    [/terminate called after throwing an instance of '(?<name>[^']+)'(?:\s*\n\s*what\(\):\s*(?<message>.*))?/],
  ]);

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

/** C headers that C++ also offers as `<cname>` (`<cstdlib>` is `<stdlib.h>`). */
const C_HEADERS = new Set([
  "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "iso646", "limits", "locale", "math", "setjmp",
  "signal", "stdalign", "stdarg", "stdbool", "stddef", "stdint", "stdio", "stdlib", "string", "tgmath", "time", "uchar",
  "wchar", "wctype",
]);

/** A header as one name: `<cstdlib>` and `<stdlib.h>` are `stdlib`, `<sys/socket.h>` is `sys/socket`. */
function canonicalHeader(name: string): string {
  const header = name.replace(/\.(?:h|hpp|hh|hxx)$/, "");
  return /^c[a-z]+$/.test(header) && C_HEADERS.has(header.slice(1)) ? header.slice(1) : header;
}

const extract: Extractor = (tokens, out, { source }) => {
  for (let i = 0; i < tokens.length; i++) {
    if (!tokens.isPunct(i, "#")) continue;
    const prev = tokens.at(i - 1);
    const directive = tokens.at(i + 1);
    if (prev && prev.kind !== "newline") {
      // `##` pastes tokens into new identifiers: a called function's name may never be spelled out.
      if (tokens.isPunct(i - 1, "#") && tokens.touching(i - 1)) out.dynamicCode("dynamic-eval", "## builds identifiers with the preprocessor", prev);
      continue;
    }
    if (!directive || directive.kind !== "word" || !["include", "include_next", "import"].includes(directive.text)) continue;
    const target = tokens.at(i + 2);
    if (target?.kind === "string" && target.value !== undefined) out.module(target.value, directive);
    else if (target?.kind === "punct" && target.text === "<") {
      const end = source.indexOf(">", target.end);
      const line = source.indexOf("\n", target.end);
      if (end > 0 && (line < 0 || end < line)) out.module(source.slice(target.end, end).trim(), directive);
    } else {
      out.dynamicCode("dynamic-import", "#include of a header named by a macro", directive);
    }
  }
};

// ── The security presets' rules ───────────────────────────────────────────────────────────────────────────────

const presetRules: LanguagePresetRules = {
  capabilities: {
    shell: { patterns: ["\\b(?:std\\s*::\\s*)?system\\b", "\\b(?:popen|_popen|execl|execlp|execle|execv|execvp|execvpe|execve|fexecve|posix_spawnp?|wordexp)\\b"] },
    native: { modules: ["dlfcn.h"], patterns: ["\\b(?:dlopen|dlsym|mprotect|ptrace|syscall)\\s*\\(", "\\b(?:asm|__asm__|__asm)\\b"] },
    escalation: { patterns: ["\\b(?:setuid|setgid|seteuid|setreuid|setresuid|chroot|mount|umount2?|unshare|setns|capset|pivot_root)\\s*\\("] },
    destructive: { patterns: ["\\b(?:unlink|unlinkat|rmdir)\\s*\\(", "\\b(?:filesystem|fs)\\s*::\\s*remove(?:_all)?\\s*\\("] },
    processes: { patterns: ["\\b(?:fork|vfork|clone|daemon)\\s*\\("] },
    http: { modules: ["curl", "cpr", "httplib", "boost/beast"] },
    sockets: { modules: ["sys/socket", "sys/un", "netinet", "arpa/inet", "netdb", "boost/asio"] },
    env: { patterns: ["\\b(?:getenv|secure_getenv|setenv|putenv)\\s*\\(", "\\benviron\\b"] },
    fileWrite: { patterns: ["\\b(?:std\\s*::\\s*)?ofstream\\b", "\\bfopen\\s*\\([^)]*\"[wa]", "\\bopen\\s*\\([^)]*O_(?:WRONLY|RDWR|CREAT)"] },
  },
};

/**
 * g++ in C++17, optimised; `$CXXFLAGS`, `$LDFLAGS` and `$LDLIBS` from the session's environment are added. Libraries
 * are Debian packages (e.g. libfmt-dev): their headers are on the include path and their shared libraries are
 * linked when the program uses them, so no `-l` is needed.
 */
export const cpp: LanguageHandler<"cpp"> = {
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
  scanner: { extract, modules: { separator: "/", canonical: canonicalHeader } },
  presetRules,
};
