import type { SupportedLanguage } from "../../enums.js";
import type { Token } from "./lexer.js";
import { canonicalModule } from "./modules.js";
import { staticString, TokenList } from "./tokens.js";

/** A module (package, header, class, command) the code uses, as the language names it. */
export interface ModuleUse {
  readonly module: string;
  readonly start: number;
  readonly end: number;
}

export type DynamicKind = "dynamic-import" | "dynamic-eval";

/** Something the scanner cannot resolve statically: an import or evaluation of a name or code built at run time. */
export interface DynamicCode {
  readonly kind: DynamicKind;
  readonly description: string;
  readonly start: number;
  readonly end: number;
}

/** Code given as a string literal to an evaluator (`exec("…")`, `eval '…'`, `bash -c '…'`): scanned as code too. */
export interface EmbeddedCode {
  readonly language: SupportedLanguage;
  readonly code: string;
  readonly start: number;
  readonly end: number;
}

export interface Extraction {
  readonly modules: ModuleUse[];
  readonly dynamic: DynamicCode[];
  readonly embedded: EmbeddedCode[];
}

/** `lexed`: the reading's full token list (comments included) and the text its offsets index. */
type Extractor = (tokens: TokenList, out: Collector, lexed: { readonly tokens: readonly Token[]; readonly source: string }) => void;

class Collector implements Extraction {
  readonly modules: ModuleUse[] = [];
  readonly dynamic: DynamicCode[] = [];
  readonly embedded: EmbeddedCode[] = [];

  module(module: string, at: { start: number; end: number }): void {
    if (module) this.modules.push({ module, start: at.start, end: at.end });
  }

  dynamicCode(kind: DynamicKind, description: string, at: { start: number; end: number }): void {
    this.dynamic.push({ kind, description, start: at.start, end: at.end });
  }

  embed(language: SupportedLanguage, code: string, at: { start: number; end: number }): void {
    this.embedded.push({ language, code, start: at.start, end: at.end });
  }

  /**
   * An import-like call: a static first argument is a module; anything else cannot be resolved statically.
   * Returns the argument's value when static.
   */
  importCall(tokens: TokenList, name: number, what: string, argument = 0): string | undefined {
    const call = tokens.call(tokens.next(name));
    const at = tokens.at(name)!;
    if (!call) {
      this.dynamicCode("dynamic-import", `${what} used without a literal module name`, at);
      return undefined;
    }
    const value = staticString(call.args[argument] ?? []);
    if (value === undefined) this.dynamicCode("dynamic-import", `${what} with a module name computed at run time`, at);
    else this.module(value, at);
    return value;
  }

  /** An evaluator call: static code is scanned as `language`; anything else cannot be checked. */
  evalCall(tokens: TokenList, name: number, what: string, language: SupportedLanguage, argument = 0): void {
    const call = tokens.call(tokens.next(name));
    const at = tokens.at(name)!;
    const code = call ? staticString(call.args[argument] ?? []) : undefined;
    if (code === undefined) this.dynamicCode("dynamic-eval", `${what} of code built at run time`, at);
    else this.embed(language, code, at);
  }
}

/** Reads a dotted name (`a.b.c`) starting at word `i`; returns it and the index after it. */
function dottedName(tokens: TokenList, i: number, separator = "."): { name: string; end: number } | undefined {
  if (!tokens.isWord(i)) return undefined;
  let name = tokens.at(i)!.text;
  let j = i + 1;
  while (tokens.isPunct(j, separator) && tokens.isWord(j + 1)) {
    name += separator + tokens.at(j + 1)!.text;
    j += 2;
  }
  return { name, end: j };
}

// ── Python ────────────────────────────────────────────────────────────────────────────────────────────────────

/** Python names that only sandbox escapes reach for: they lead from any object back to modules and builtins. */
const PYTHON_ESCAPE_HATCHES = new Set(["__builtins__", "builtins", "__subclasses__", "__globals__", "__loader__", "__import__"]);

const python: Extractor = (tokens, out) => {
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

/** The comma-separated clauses of the rest of a statement (to the end of the line or `;`). */
function splitStatement(tokens: TokenList, from: number): Token[][] {
  const clauses: Token[][] = [[]];
  for (let j = from; j < tokens.length; j++) {
    const token = tokens.at(j)!;
    if (token.kind === "newline" || (token.kind === "punct" && token.text === ";")) break;
    if (token.kind === "punct" && token.text === ",") clauses.push([]);
    else clauses.at(-1)!.push(token);
  }
  return clauses;
}

// ── JavaScript / TypeScript ───────────────────────────────────────────────────────────────────────────────────

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

const javascript: Extractor = (tokens, out) => {
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

// ── Java ──────────────────────────────────────────────────────────────────────────────────────────────────────

const java: Extractor = (tokens, out) => {
  const wildcardPackages = ["java.lang"];
  const singleImports = new Set<string>();
  const declared = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    if (token.kind !== "word") continue;
    if (token.text === "import" && !tokens.afterDot(i)) {
      let j = tokens.next(i);
      if (tokens.isWord(j, "static")) j = tokens.next(j);
      const name = dottedName(tokens, j);
      if (!name) continue;
      out.module(name.name, token);
      if (tokens.isPunct(name.end, ".") && tokens.isPunct(name.end + 1, "*")) wildcardPackages.push(name.name);
      else singleImports.add(name.name.split(".").at(-1)!);
      i = name.end;
    } else if (["class", "interface", "enum", "record"].includes(token.text) && tokens.isWord(tokens.next(i))) {
      declared.add(tokens.at(tokens.next(i))!.text);
    } else if (["forName", "loadClass", "findClass", "findSystemClass"].includes(token.text) && tokens.isPunct(tokens.next(i), "(")) {
      out.importCall(tokens, i, `${token.text}()`);
    }
  }
  // Fully qualified uses (`java.lang.Runtime.getRuntime()`) and simple names resolved through `java.lang` and `.*` imports.
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    if (token.kind !== "word" || tokens.afterDot(i)) continue;
    if (tokens.isPunct(i + 1, ".") && tokens.isWord(i + 2) && /^[a-z]/.test(token.text)) {
      out.module(dottedName(tokens, i)!.name, token);
    } else if (/^[A-Z]/.test(token.text) && !singleImports.has(token.text) && !declared.has(token.text)) {
      for (const pkg of wildcardPackages) out.module(`${pkg}.${token.text}`, token);
    }
  }
};

// ── C / C++ ───────────────────────────────────────────────────────────────────────────────────────────────────

const cpp: Extractor = (tokens, out, { source }) => {
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

// ── Go ────────────────────────────────────────────────────────────────────────────────────────────────────────

const go: Extractor = (tokens, out, lexed) => {
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

// ── R ─────────────────────────────────────────────────────────────────────────────────────────────────────────

const R_ATTACH = new Set(["library", "require", "requireNamespace", "loadNamespace", "attachNamespace", "asNamespace", "getNamespace"]);
const R_BY_NAME = new Set(["get", "get0", "match.fun", "getFunction"]);

const r: Extractor = (tokens, out) => {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    // pkg::fn and pkg:::fn (a string may name the package too)
    if ((token.kind === "word" || token.kind === "string") && tokens.isPunct(i + 1, ":") && tokens.isPunct(i + 2, ":") && tokens.touching(i) && tokens.touching(i + 1)) {
      const name = token.kind === "word" ? token.text : token.value;
      if (name) out.module(name, token);
      continue;
    }
    if (token.kind !== "word") continue;
    const call = tokens.call(tokens.next(i));
    if (!call) continue;
    if (R_ATTACH.has(token.text) || token.text === "p_load") {
      const characterOnly = call.args.some((arg) => arg[0]?.text === "character.only" && !["FALSE", "F"].includes(arg[2]?.text ?? ""));
      const names = token.text === "p_load" ? call.args : call.args.slice(0, 1);
      for (const arg of names) {
        const bare = arg.length === 1 && arg[0]!.kind === "word" && !characterOnly ? arg[0]!.text : undefined;
        const name = bare ?? staticString(arg);
        if (name === undefined) out.dynamicCode("dynamic-import", `${token.text}() of a package named at run time`, token);
        else out.module(name, token);
      }
    } else if (token.text === "getExportedValue" || token.text === "getFromNamespace") {
      const pkg = staticString(call.args[token.text === "getExportedValue" ? 0 : 1] ?? []);
      if (pkg === undefined) out.dynamicCode("dynamic-import", `${token.text}() of a package named at run time`, token);
      else out.module(pkg, token);
    } else if (token.text === "parse" || token.text === "str2lang" || token.text === "str2expression") {
      const text = token.text === "parse" ? call.args.find((arg) => arg[0]?.text === "text" && arg[1]?.text === "=")?.slice(2) : call.args[0];
      if (token.text === "parse" && !text) continue;
      const code = staticString(text ?? []);
      if (code === undefined) out.dynamicCode("dynamic-eval", `${token.text}() of code built at run time`, token);
      else out.embed("r", code, token);
    } else if (token.text === "eval" || token.text === "evalq") {
      const first = call.args[0]?.[0];
      if (!first || !(first.kind === "word" && ["parse", "quote", "bquote", "expression", "str2lang", "str2expression"].includes(first.text))) {
        out.dynamicCode("dynamic-eval", `${token.text}() of an expression built at run time`, token);
      }
    } else if (R_BY_NAME.has(token.text) && staticString(call.args[0] ?? []) === undefined) {
      out.dynamicCode("dynamic-eval", `${token.text}() of a function named at run time`, token);
    }
  }
};

// ── Ruby ──────────────────────────────────────────────────────────────────────────────────────────────────────

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

const ruby: Extractor = (tokens, out) => {
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
      else out.module(canonicalModule("ruby", value), token);
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

// ── Bash ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** A shell word: adjacent tokens; static when made only of plain text and literals. */
interface ShellWord {
  readonly value: string | undefined;
  readonly start: number;
  readonly end: number;
  /** Index of the token after the word. */
  readonly next: number;
}

const SHELL_SEPARATORS = new Set([";", "&", "|", "(", ")", "`"]);
const SHELL_KEYWORDS_BEFORE_COMMAND = new Set(["if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "coproc"]);
const SHELL_KEYWORDS_NO_COMMAND = new Set(["for", "case", "select", "function", "in", "fi", "done", "esac", "}"]);
/** Commands that run their arguments as another command: their options that take a value, and positional arguments before the command. */
const SHELL_PREFIX_COMMANDS: Readonly<Record<string, { readonly options?: readonly string[]; readonly positional?: number }>> = {
  sudo: { options: ["-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U"] },
  doas: { options: ["-u", "-C"] },
  env: { options: ["-u", "-C", "-S"] },
  nohup: {},
  exec: { options: ["-a"] },
  command: {},
  builtin: {},
  nice: { options: ["-n"] },
  ionice: { options: ["-c", "-n"] },
  timeout: { options: ["-s", "-k"], positional: 1 },
  xargs: { options: ["-I", "-n", "-P", "-L", "-d", "-s", "-a", "-E"] },
  setsid: {},
  stdbuf: { options: ["-i", "-o", "-e"] },
  chroot: { positional: 1 },
  strace: { options: ["-o", "-e", "-p", "-s"] },
  ltrace: { options: ["-o", "-e"] },
  time: {},
  watch: { options: ["-n"] },
  busybox: {},
  unbuffer: {},
  flock: { positional: 1 },
  chrt: { positional: 1 },
  taskset: { positional: 1 },
  runuser: { options: ["-u", "-g"] },
};
/** Interpreters whose code argument is scanned as that language. */
const SHELL_INTERPRETERS: Readonly<Record<string, { readonly language: SupportedLanguage; readonly flags: readonly string[] }>> = {
  bash: { language: "bash", flags: ["-c"] },
  sh: { language: "bash", flags: ["-c"] },
  dash: { language: "bash", flags: ["-c"] },
  su: { language: "bash", flags: ["-c"] },
  zsh: { language: "bash", flags: ["-c"] },
  python: { language: "python", flags: ["-c"] },
  python3: { language: "python", flags: ["-c"] },
  node: { language: "javascript", flags: ["-e", "--eval", "-p", "--print"] },
  ruby: { language: "ruby", flags: ["-e"] },
  Rscript: { language: "r", flags: ["-e"] },
};

function shellWord(tokens: TokenList, i: number): ShellWord | undefined {
  const first = tokens.at(i);
  if (!first || first.kind === "newline" || (first.kind === "punct" && first.text !== "$")) return undefined;
  let value: string | undefined = "";
  let j = i;
  for (; j < tokens.length; j++) {
    const token = tokens.at(j)!;
    if (j > i && token.start !== tokens.at(j - 1)!.end) break;
    if (token.kind === "newline") break;
    if (token.kind === "punct") {
      // `$name`, `${…}` make the word dynamic; `$(…)` ends it here (its command is read as a command of its own).
      if (token.text !== "$" || tokens.isPunct(j + 1, "(")) {
        if (token.text === "$") value = undefined;
        break;
      }
      value = undefined;
    } else if (token.kind === "word") value = value === undefined ? undefined : value + token.text;
    else if (token.kind === "string") value = value === undefined || token.value === undefined ? undefined : value + token.value;
  }
  if (j === i) return undefined;
  return { value, start: first.start, end: tokens.at(j - 1)!.end, next: j };
}

/** A token inside the previous one: code interpolated into a string (`"$(curl …)"`) starts a command of its own. */
function nested(tokens: TokenList, i: number): boolean {
  const token = tokens.at(i);
  return i > 0 && token !== undefined && token.start < tokens.at(i - 1)!.end;
}

const bash: Extractor = (tokens, out) => {
  let expectCommand = true;
  for (let i = 0; i < tokens.length; ) {
    const token = tokens.at(i)!;
    if (nested(tokens, i)) expectCommand = true;
    if (token.kind === "newline" || (token.kind === "punct" && SHELL_SEPARATORS.has(token.text))) {
      expectCommand = true;
      i++;
      continue;
    }
    if (token.kind === "punct" && (token.text === "<" || token.text === ">")) {
      // A redirection's target is a file, not a command or an argument.
      while (tokens.isPunct(i, "<") || tokens.isPunct(i, ">") || tokens.isPunct(i, "&")) i++;
      i = shellWord(tokens, i)?.next ?? i + 1;
      continue;
    }
    const word = shellWord(tokens, i);
    if (!word) {
      i++;
      continue;
    }
    if (!expectCommand) {
      i = word.next;
      continue;
    }
    if (token.kind === "word" && /^[A-Za-z_]\w*\+?=/.test(token.text)) {
      i = word.next; // an assignment before the command
      continue;
    }
    if (word.value !== undefined && SHELL_KEYWORDS_BEFORE_COMMAND.has(word.value)) {
      i = word.next;
      continue;
    }
    if (word.value !== undefined && SHELL_KEYWORDS_NO_COMMAND.has(word.value)) {
      expectCommand = false;
      i = word.next;
      continue;
    }
    i = command(tokens, word, out);
    expectCommand = false;
  }
};

/** One simple command at `word`: records what it runs; returns the index after the words it consumed. */
function command(tokens: TokenList, word: ShellWord, out: Collector): number {
  if (word.value === undefined || /[*?]|\{[^}]*,[^}]*\}/.test(word.value)) {
    out.dynamicCode("dynamic-eval", "runs a command whose name is computed at run time (variable, substitution, glob or brace expansion)", word);
    return word.next;
  }
  const name = word.value.split("/").at(-1)!;
  out.module(name, word);
  const args: ShellWord[] = [];
  for (let j = word.next; !nested(tokens, j); ) {
    const arg = shellWord(tokens, j);
    if (!arg) break;
    args.push(arg);
    j = arg.next;
  }
  const after = args.at(-1)?.next ?? word.next;
  if (name === "eval") {
    const code = args.every((arg) => arg.value !== undefined) ? args.map((arg) => arg.value).join(" ") : undefined;
    if (code === undefined) out.dynamicCode("dynamic-eval", "eval of code built at run time", word);
    else out.embed("bash", code, word);
  } else if (name === "source" || name === ".") {
    if (args[0]?.value === undefined) out.dynamicCode("dynamic-import", `${name} of a file named at run time`, word);
    else out.module(args[0].value, word);
  }
  const interpreter = Object.hasOwn(SHELL_INTERPRETERS, name) ? SHELL_INTERPRETERS[name] : undefined;
  const flag = interpreter ? args.findIndex((arg) => arg.value !== undefined && interpreter.flags.includes(arg.value)) : -1;
  if (interpreter && flag >= 0) {
    const code = args[flag + 1];
    if (code?.value === undefined) out.dynamicCode("dynamic-eval", `${name} ${args[flag]!.value} of code built at run time`, word);
    else out.embed(interpreter.language, code.value, code);
  } else if (interpreter && name !== "su" && !args.some((arg) => arg.value === undefined || !arg.value.startsWith("-"))) {
    // `… | sh`, `bash <<< "$x"`: the code comes from standard input, where the scanner cannot see it.
    out.dynamicCode("dynamic-eval", `${name} runs code read from its standard input`, word);
  }
  const wrapped = wrappedCommand(name, args);
  if (wrapped) command(tokens, wrapped, out);
  return after;
}

/** The command that `sudo …`, `timeout 5 …`, `find … -exec …` and the like run. */
function wrappedCommand(name: string, args: readonly ShellWord[]): ShellWord | undefined {
  if (name === "find") {
    const exec = args.findIndex((arg) => arg.value === "-exec" || arg.value === "-execdir" || arg.value === "-ok");
    return exec >= 0 ? args[exec + 1] : undefined;
  }
  const prefix = Object.hasOwn(SHELL_PREFIX_COMMANDS, name) ? SHELL_PREFIX_COMMANDS[name]! : undefined;
  if (!prefix) return undefined;
  let positional = prefix.positional ?? 0;
  for (let k = 0; k < args.length; k++) {
    const value = args[k]!.value;
    if (value === undefined) return args[k];
    if (value === "--") continue;
    if (value.startsWith("-")) {
      if (prefix.options?.includes(value)) k++;
      continue;
    }
    if (name === "env" && /^[A-Za-z_]\w*=/.test(value)) continue;
    if (positional-- > 0) continue;
    return args[k];
  }
  return undefined;
}

const EXTRACTORS: Readonly<Record<SupportedLanguage, Extractor>> = { python, javascript, typescript: javascript, java, cpp, go, r, ruby, bash };

/** The import and evaluation forms of each language, read from one reading's tokens. */
export function extract(language: SupportedLanguage, tokens: readonly Token[], source: string): Extraction {
  const out = new Collector();
  EXTRACTORS[language](new TokenList(tokens), out, { tokens, source });
  return out;
}
