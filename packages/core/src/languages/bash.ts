import { aptEnvironment, aptInstall } from "./apt.js";
import { hiddenCodeFile, type LanguageHandler } from "./handler.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import { type Collector, type Extractor } from "./scanning.js";
import { features, HASH_COMMENTS, quote } from "./syntax.js";
import { type TokenList } from "./tokens.js";

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

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
const SHELL_INTERPRETERS: Readonly<Record<string, { readonly language: string; readonly flags: readonly string[] }>> = {
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

const extract: Extractor = (tokens, out) => {
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

// ── The security presets' rules ───────────────────────────────────────────────────────────────────────────────

/** Bash's "modules" are the commands it runs. */
const presetRules: LanguagePresetRules = {
  moduleNoun: "command",
  capabilities: {
    native: { modules: ["gcc", "cc", "g++", "c++", "clang", "clang++", "tcc", "ld"], patterns: ["\\bLD_PRELOAD\\s*="] },
    escalation: {
      modules: ["sudo", "su", "doas", "pkexec", "chroot", "nsenter", "unshare", "mount", "umount", "insmod", "modprobe", "rmmod", "docker", "podman", "kubectl", "crictl", "setcap", "capsh"],
      patterns: ["\\bchmod\\s+(?:-\\S+\\s+)*(?:[ugoa]*\\+[rwx]*s|[2467][0-7]{3})\\b"],
    },
    destructive: { modules: ["shred", "wipefs"], patterns: ["\\brm\\s+(?:-\\S+\\s+)*-[a-zA-Z]*[rR]", "\\bfind\\b[^\\n;|]*\\s-delete\\b"] },
    processes: { modules: ["nohup", "setsid", "disown", "screen", "tmux", "at", "batch", "crontab", "kill", "pkill", "killall"] },
    http: { modules: ["curl", "wget", "lynx", "aria2c"] },
    sockets: { modules: ["nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp", "sftp", "ftp", "rsync"], patterns: ["/dev/(?:tcp|udp)/"] },
    env: { modules: ["env", "printenv"] },
    eval: { modules: ["eval", "source", "."] },
  },
};

/** Bash scripts; libraries are Debian packages whose programs land on PATH (e.g. `libraries: ["hello"]`). */
export const bash: LanguageHandler<"bash"> = {
  name: "bash",
  aliases: ["sh", "shell"],
  fileExtension: "sh",
  imageDir: "bash",
  preinstalledLibraries: ["jq", "bc", "gawk", "file", "curl", "zip", "unzip", "xz-utils"],
  syntax: {
    ...HASH_COMMENTS,
    quotes: [quote("'", { escapes: false, decode: false, multiline: true }), quote('"', { multiline: true, interpolation: "shell" })],
    word: /[^\s|&;()<>'"`$\\]/u,
    features: features("shell"),
  },
  codeFile: hiddenCodeFile("sh"),
  runScript: ({ workdir }) => `${aptEnvironment(workdir)}
bash "$SANDBOX_FILE"`,
  installCommand: aptInstall,
  scanner: { extract, modules: { canonical: (name) => name.split("/").at(-1)! } },
  presetRules,
};
