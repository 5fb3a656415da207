import { shellJoin, shellQuote } from "../internal/shell.js";
import { hiddenCodeFile, lastErrorLine, type LanguageHandler, type SandboxCommand, type SandboxContext } from "./handler.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import { atVersionedName, type Extractor, type LanguageScanner } from "./scanning.js";
import { C_COMMENTS, DOLLAR_IDENTIFIER, features, quote, type Syntax } from "./syntax.js";
import type { Token, TokenList } from "./tokens.js";

/** Also TypeScript's: type syntax adds no comment or literal forms. */
export const javascriptSyntax: Syntax = {
  ...C_COMMENTS,
  quotes: [quote("'"), quote('"'), quote("`", { multiline: true, interpolation: "dollar-brace" })],
  word: DOLLAR_IDENTIFIER,
  features: features("hashbang", "regex-literals", "identifier-escapes"),
};

/** npm installs into the workdir's node_modules, which Node resolves from the code file's directory. */
export function npmInstall(libraries: readonly string[], { packageIndexes }: SandboxContext): SandboxCommand {
  const registry = packageIndexes.npm ? ` --registry ${shellQuote(packageIndexes.npm)}` : "";
  return {
    script: `npm install --no-audit --no-fund --no-package-lock --no-update-notifier --loglevel=error${registry} -- ${shellJoin(libraries)}`,
  };
}

/**
 * npm install writes a package.json without "type" into the workdir; Node then warns about every program using
 * import syntax (which it runs as a module all the same).
 */
export const NO_TYPELESS_WARNING = "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON";

/** `node` flags of a JavaScript run (a pooled container's warm runner starts node with the same). */
export const JAVASCRIPT_NODE_FLAGS: readonly string[] = [NO_TYPELESS_WARNING];

export const parseNodeError = (stderr: string) =>
  lastErrorLine(stderr, /^(?:Uncaught\s+)?([A-Z][\w$]*(?:Error|Exception))(?::\s?(.*))?$/);

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

/** Words allowed between `import`/`export` and the module specifier. */
function specifierAfterClause(tokens: TokenList, from: number, needFrom: boolean): Token | undefined {
  let sawFrom = false;
  for (let j = from; j < tokens.length && j < from + 400; j++) {
    const token = tokens.at(j)!;
    if (token.kind === "string") return !needFrom || sawFrom ? token : undefined;
    if (token.kind === "newline") continue;
    if (token.kind === "word") {
      sawFrom = token.text === "from";
      continue;
    }
    if (token.kind === "punct" && "{},*".includes(token.text)) continue;
    return undefined;
  }
  return undefined;
}

/** Objects whose members lead to modules or code: looked up by a computed name, they hide what is used. */
const JS_GATEWAYS = new Set(["module", "process", "globalThis", "global", "require", "mainModule", "Reflect"]);

const extract: Extractor = (tokens, out) => {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    if (token.kind !== "word") continue;
    const next = tokens.next(i);
    if (token.escaped) out.dynamicCode("dynamic-eval", `identifier ${token.text} spelled with escapes`, token);
    if (JS_GATEWAYS.has(token.text) && tokens.isPunct(next, "[") && tokens.touching(i)) {
      out.dynamicCode("dynamic-import", `${token.text}[…] looks up a member by computed name`, token);
    }
    switch (token.text) {
      case "constructor":
        // (…).constructor.constructor is Function: code from a string without naming eval or Function.
        if (tokens.afterDot(i) && (tokens.isPunct(next, "(") || (tokens.isPunct(next, ".") && tokens.isWord(tokens.next(next), "constructor")))) {
          out.dynamicCode("dynamic-eval", ".constructor reaches the Function constructor", token);
        }
        break;
      case "require":
        if (tokens.isPunct(next, "(")) out.importCall(tokens, i, "require()");
        else if (!tokens.afterDot(i) && !tokens.isPunct(next, ".") && !tokens.isPunct(next, ":")) {
          out.dynamicCode("dynamic-import", "require passed around as a value", token);
        }
        break;
      case "_load":
        if (tokens.afterDot(i) && tokens.isPunct(next, "(")) out.importCall(tokens, i, "Module._load()");
        break;
      case "createRequire":
        out.dynamicCode("dynamic-import", "createRequire() builds a require function", token);
        break;
      case "binding":
      case "_linkedBinding":
        if (tokens.afterDot(i) && tokens.isWord(tokens.prev(tokens.prev(i)), "process")) {
          out.dynamicCode("dynamic-import", `process.${token.text}() reaches Node's internal modules`, token);
        }
        break;
      case "import": {
        if (tokens.afterDot(i)) break;
        if (tokens.isPunct(next, "(")) out.importCall(tokens, i, "import()");
        else if (!tokens.isPunct(next, ".")) {
          const specifier = specifierAfterClause(tokens, i + 1, false);
          if (specifier?.value !== undefined) out.module(specifier.value, token);
        }
        break;
      }
      case "export": {
        const specifier = specifierAfterClause(tokens, i + 1, true);
        if (specifier?.value !== undefined) out.module(specifier.value, token);
        break;
      }
      case "eval":
        if (tokens.isPunct(next, "(") && !tokens.afterDot(i)) out.evalCall(tokens, i, "eval()", "javascript");
        break;
      case "Function": {
        const call = tokens.call(next);
        if (!call || tokens.afterDot(i)) break;
        // new Function(arg1, …, body): the body is the last argument.
        out.evalCall(tokens, i, "Function()", "javascript", Math.max(0, call.args.length - 1));
        break;
      }
    }
  }
};

/** Also TypeScript's: the same imports and evaluators. */
export const javascriptScanner: LanguageScanner = {
  extract,
  modules: { separator: "/", canonical: (name) => name.replace(/^node:/, ""), libraryName: atVersionedName },
};

// ── The security presets' rules (TypeScript's too) ────────────────────────────────────────────────────────────

const presetRules: LanguagePresetRules = {
  capabilities: {
    shell: { modules: ["child_process"] },
    native: { modules: ["ffi-napi", "ffi", "ref-napi", "koffi", "node-ffi"], patterns: ["\\bprocess\\s*\\.\\s*(?:binding|_linkedBinding|dlopen)\\b"] },
    destructive: { patterns: ["\\b(?:rm|rmdir|unlink)(?:Sync)?\\s*\\("] },
    processes: { modules: ["worker_threads", "cluster"], patterns: ["\\bprocess\\s*\\.\\s*kill\\s*\\("] },
    http: { modules: ["http", "https", "http2", "undici", "axios", "node-fetch", "got", "superagent", "request", "ws"], patterns: ["\\bfetch\\s*\\(", "\\bnew\\s+(?:WebSocket|XMLHttpRequest|EventSource)\\b"] },
    sockets: { modules: ["net", "dgram", "tls", "dns"] },
    env: { patterns: ["\\bprocess\\s*\\.\\s*env\\b"] },
    eval: { modules: ["vm", "repl"], patterns: ["(?<![\\w.$])eval\\s*\\(", "(?<![\\w.$])Function\\s*\\("] },
    fileWrite: { patterns: ["\\b(?:writeFile|appendFile|createWriteStream|copyFile)(?:Sync)?\\s*\\("] },
    serialization: { modules: ["node-serialize"] },
    introspection: { patterns: ["\\b(?:Reflect|Proxy)\\b", "\\bconstructor\\s*\\.\\s*constructor\\b", "\\bglobalThis\\s*\\[", "\\bprocess\\s*\\.\\s*mainModule\\b"] },
  },
};

export const javascript: LanguageHandler<"javascript"> = {
  name: "javascript",
  aliases: ["js", "node", "nodejs"],
  fileExtension: "js",
  imageDir: "node",
  preinstalledLibraries: [],
  syntax: javascriptSyntax,
  codeFile: hiddenCodeFile("js"),
  runScript: () => `node ${JAVASCRIPT_NODE_FLAGS.join(" ")} "$SANDBOX_FILE"`,
  installCommand: npmInstall,
  parseError: parseNodeError,
  scanner: javascriptScanner,
  presetRules,
  warm: { runner: "node-spare", defaultModules: [], flags: JAVASCRIPT_NODE_FLAGS },
  kernel: { kind: "node" },
};
