import { shellJoin, shellQuote } from "../internal/shell.js";
import { firstErrorMatch, hiddenCodeFile, type LanguageHandler } from "./handler.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import { type Extractor } from "./scanning.js";
import { features, HASH_COMMENTS, IDENTIFIER, quote } from "./syntax.js";
import { staticString, type Token, type TokenList } from "./tokens.js";

/** Gems of the session: GEM_HOME in the workdir; the image's gems stay visible through Ruby's default paths. */
export const gemHome = (workdir: string) => `${workdir}/.sandbox-gems`;

const withGems = (workdir: string) =>
  `GEM_HOME=${shellQuote(gemHome(workdir))} PATH=${shellQuote(`${gemHome(workdir)}/bin`)}:"$PATH"`;

/** An uncaught exception ("file:line:in `method': message (ErrorClass)"), or a syntax error. */
export const parseRubyError = (stderr: string) =>
  firstErrorMatch(stderr, [
    [/^\S+:\d+:in `[^']*': (?<message>.*) \((?<name>[A-Z][\w:]*)\)$/m],
    [/^\S+:\d+: (?<message>syntax error.*)$/m, "SyntaxError"],
  ]);

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

/** A required feature without its file extension (`require 'x.rb'` is `x`). */
const rubyFeature = (name: string) => name.trim().replace(/\.(?:rb|so|bundle)$/, "");

/** The arguments of a Ruby call written with or without parentheses (`require 'x'`, `require('x')`). */
function rubyArgs(tokens: TokenList, name: number): Token[][] | undefined {
  const next = name + 1;
  const token = tokens.at(next);
  if (!token || token.kind === "newline") return undefined;
  if (tokens.isPunct(next, "(") && tokens.touching(name)) return tokens.call(next)!.args;
  const args: Token[][] = [[]];
  for (let j = next; j < tokens.length; j++) {
    const part = tokens.at(j)!;
    if (part.kind === "newline" || (part.kind === "punct" && (part.text === ";" || part.text === "}")) || tokens.isWord(j, "if", "unless", "do")) break;
    if (part.kind === "punct" && part.text === ",") args.push([]);
    else args.at(-1)!.push(part);
  }
  return args[0]!.length ? args : undefined;
}

const RUBY_EVAL = new Set(["eval", "instance_eval", "class_eval", "module_eval", "class_exec", "instance_exec"]);
const RUBY_SEND = new Set(["send", "public_send", "__send__", "method", "const_get"]);

const extract: Extractor = (tokens, out) => {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    if (token.kind !== "word") continue;
    const viaKernel = tokens.afterDot(i) && tokens.isWord(tokens.prev(tokens.prev(i)), "Kernel");
    if (tokens.afterDot(i) && !viaKernel && !RUBY_EVAL.has(token.text) && !RUBY_SEND.has(token.text)) continue;
    if (tokens.isPunct(i - 1, ":") && tokens.touching(i - 1)) continue; // a :symbol
    const args = rubyArgs(tokens, i);
    if (!args) continue;
    if (token.text === "require" || token.text === "load" || token.text === "gem" || token.text === "autoload") {
      const value = staticString(args[token.text === "autoload" ? 1 : 0] ?? []);
      if (value === undefined) out.dynamicCode("dynamic-import", `${token.text} of a name computed at run time`, token);
      else out.module(rubyFeature(value), token);
    } else if (RUBY_EVAL.has(token.text)) {
      const code = staticString(args[0] ?? []);
      if (code !== undefined) out.embed("ruby", code, token);
      else if (!(args[0]?.[0]?.kind === "punct" && args[0][0].text === "{")) out.dynamicCode("dynamic-eval", `${token.text} of code built at run time`, token);
    } else if (RUBY_SEND.has(token.text)) {
      const first = args[0] ?? [];
      // A :symbol is code the patterns read; a string (even a literal one) hides the method's name from them.
      const symbol = first[0]?.kind === "punct" && first[0].text === ":" && first.length === 2;
      if (!symbol) out.dynamicCode("dynamic-eval", `${token.text} of a name given as a string or computed at run time`, token);
    }
  }
};

// ── The security presets' rules ───────────────────────────────────────────────────────────────────────────────

const presetRules: LanguagePresetRules = {
  capabilities: {
    shell: {
      modules: ["open3", "pty"],
      patterns: [
        "(?<![\\w.@$])(?:system|exec|spawn)\\b(?!\\s*[=:](?!:))",
        "\\b(?:Kernel|Process)\\s*\\.\\s*(?:system|exec|spawn)\\b",
        "`",
        "%x[^\\w\\s]",
        "\\bIO\\s*\\.\\s*popen\\b",
        "\\bopen\\s*\\(?\\s*[\"']\\|",
      ],
    },
    native: { modules: ["fiddle", "ffi"], patterns: ["(?<![\\w.])syscall\\b"] },
    destructive: {
      patterns: [
        "\\bFile\\s*\\.\\s*(?:delete|unlink)\\b",
        "\\bFileUtils\\s*\\.\\s*(?:rm|rm_r|rm_rf|rm_f|remove|remove_dir|remove_entry|remove_entry_secure|rmtree|rmdir)\\b",
        "\\bDir\\s*\\.\\s*(?:delete|rmdir|unlink)\\b",
      ],
    },
    processes: { patterns: ["(?<![\\w.])fork\\b", "\\bProcess\\s*\\.\\s*(?:fork|daemon|kill|detach)\\b"] },
    http: { modules: ["net/http", "net/https", "open-uri", "httparty", "faraday", "rest-client", "excon", "typhoeus", "httpx", "mechanize"], patterns: ["\\bURI\\s*\\.\\s*open\\b"] },
    sockets: { modules: ["socket", "net/ftp", "net/smtp", "net/telnet"], patterns: ["\\b(?:TCPSocket|UDPSocket|TCPServer|UNIXSocket|Socket)\\s*\\.\\s*(?:new|open)\\b"] },
    env: { patterns: ["\\bENV\\b"] },
    eval: { patterns: ["(?<![\\w.])(?:eval|instance_eval|class_eval|module_eval)\\b", "\\bbinding\\b"] },
    fileWrite: { patterns: ["\\bFile\\s*\\.\\s*(?:write|binwrite)\\b", "\\bFile\\s*\\.\\s*open\\s*\\(?[^)\\n]*,\\s*[\"'][wa]"] },
    serialization: { patterns: ["\\bMarshal\\s*\\.\\s*load\\b", "\\bYAML\\s*\\.\\s*unsafe_load\\b"] },
    introspection: { patterns: ["(?<![\\w.])(?:send|public_send|__send__|instance_variable_get|instance_variable_set|const_get|define_method)\\b"] },
  },
};

/** Libraries are gems: `name` or `name:version` (e.g. "rainbow:3.1.1"), from RubyGems.org or `packageIndexes.rubygems`. */
export const ruby: LanguageHandler<"ruby"> = {
  name: "ruby",
  aliases: ["rb"],
  fileExtension: "rb",
  imageDir: "ruby",
  preinstalledLibraries: ["json", "bigdecimal", "csv", "set", "date"],
  syntax: {
    ...HASH_COMMENTS,
    quotes: [
      quote('"', { multiline: true, interpolation: "hash-brace" }),
      quote("'", { multiline: true }),
      quote("`", { multiline: true, interpolation: "hash-brace" }),
    ],
    word: IDENTIFIER,
    features: features("ruby", "regex-literals"),
  },
  codeFile: hiddenCodeFile("rb"),
  runScript: ({ workdir }) => `${withGems(workdir)} ruby "$SANDBOX_FILE"`,
  installCommand: (libraries, { workdir, packageIndexes }) => ({
    script: `${withGems(workdir)} gem install --no-document --no-user-install${
      packageIndexes.rubygems ? ` --clear-sources --source ${shellQuote(packageIndexes.rubygems)}` : ""
    } ${shellJoin(libraries)}`,
  }),
  parseError: parseRubyError,
  scanner: { extract, modules: { separator: "/", canonical: rubyFeature } },
  presetRules,
};
