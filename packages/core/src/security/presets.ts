import type { SupportedLanguage } from "../enums.js";
import { ValidationError } from "../errors.js";
import { type RestrictedModuleInit, SecurityIssueSeverity, SecurityPolicy, type SecurityPatternInit } from "./policy.js";

const { LOW: L, MEDIUM: M, HIGH: H } = SecurityIssueSeverity;
type Severity = SecurityIssueSeverity;

// ── Python: the original's presets, pattern for pattern ───────────────────────────────────────────────────────

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

const PYTHON: Readonly<Record<PresetName, PythonPreset>> = {
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

function pythonRules(preset: PythonPreset): Rules {
  const modules = preset.modules.flatMap(([name, severity]) =>
    [name, ...(PYTHON_EQUIVALENTS[name] ?? [])].map((module) => ({ name: module, severity, description: `Restricted module: ${module}${module === name ? "" : ` (equivalent of ${name})`}` })),
  );
  const patterns: SecurityPatternInit[] = preset.patterns.map(([pattern, description, severity, inStrings]) => ({
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

// ── Every other language: capabilities, each described per language, given a severity by each preset ────────

type Capability =
  | "wipe" | "shell" | "native" | "escalation" | "destructive" | "processes" | "http" | "sockets" | "env" | "eval"
  | "fileWrite" | "serialization" | "introspection";

type OtherLanguage = Exclude<SupportedLanguage, "python" | "typescript">;

interface CapabilityRules {
  readonly modules?: readonly string[];
  readonly patterns?: readonly string[];
}

interface CapabilityDefinition {
  readonly description: string;
  /** Patterns for every language (besides Python), matched inside string literals too (shell commands in strings). */
  readonly anyLanguage?: readonly string[];
  readonly languages: Partial<Record<OtherLanguage, CapabilityRules>>;
}

/**
 * What each capability looks like in each language. TypeScript uses JavaScript's rules; Python uses the
 * original's presets above. Bash's "modules" are the commands it runs.
 */
const CAPABILITIES: Readonly<Record<Capability, CapabilityDefinition>> = {
  wipe: {
    description: "Destroys the system",
    anyLanguage: [
      "\\brm\\s+(?=(?:[^\\n;|&]*\\s)?-[a-zA-Z]*[rR])(?:-\\S+\\s+)*(?:--\\s+)?[\"']?(?:/\\*?|~/?|\\$\\{?HOME\\}?/?)(?=[\\s;|&'\")]|$)",
      "--no-preserve-root",
      "\\bmkfs(?:\\.\\w+)?\\s",
      "\\bdd\\s[^\\n]*\\bof=/dev/(?:sd|hd|nvme|xvd|vd|mmcblk)",
      "\\bformat\\s+[A-Za-z]:[/\\\\]",
      ":\\s*\\(\\s*\\)\\s*\\{\\s*:\\s*\\|\\s*:\\s*&\\s*\\}",
    ],
    languages: {},
  },
  shell: {
    description: "Runs other programs",
    languages: {
      javascript: { modules: ["child_process"] },
      java: { modules: ["java.lang.Runtime", "java.lang.ProcessBuilder", "java.lang.ProcessHandle"] },
      go: { modules: ["os/exec"], patterns: ["\\bos\\s*\\.\\s*StartProcess\\b", "\\bsyscall\\s*\\.\\s*(?:Exec|ForkExec|StartProcess)\\b"] },
      cpp: { patterns: ["\\b(?:std\\s*::\\s*)?system\\b", "\\b(?:popen|_popen|execl|execlp|execle|execv|execvp|execvpe|execve|fexecve|posix_spawnp?|wordexp)\\b"] },
      r: {
        modules: ["processx", "sys"],
        patterns: ["\\bsystem2?(?![\\w.])", "\\bshell(?:\\.exec)?\\s*\\(", "\\bpipe\\s*\\(", "\\b(?:do\\.call|get0?|match\\.fun|getFunction)\\s*\\(\\s*[\"'](?:system2?|shell|pipe)[\"']"],
      },
      ruby: {
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
    },
  },
  native: {
    description: "Loads native code or touches raw memory",
    languages: {
      javascript: { modules: ["ffi-napi", "ffi", "ref-napi", "koffi", "node-ffi"], patterns: ["\\bprocess\\s*\\.\\s*(?:binding|_linkedBinding|dlopen)\\b"] },
      java: { modules: ["java.lang.foreign", "sun.misc", "jdk.internal"], patterns: ["\\bSystem\\s*\\.\\s*(?:loadLibrary|load)\\s*\\("] },
      go: { modules: ["unsafe", "C", "plugin", "syscall", "golang.org/x/sys/unix"] },
      cpp: { modules: ["dlfcn.h"], patterns: ["\\b(?:dlopen|dlsym|mprotect|ptrace|syscall)\\s*\\(", "\\b(?:asm|__asm__|__asm)\\b"] },
      r: { modules: ["Rcpp", "inline", "cpp11"], patterns: ["\\.(?:C|Call|External2?|Fortran)\\s*\\(", "\\bdyn\\.load\\s*\\("] },
      ruby: { modules: ["fiddle", "ffi"], patterns: ["(?<![\\w.])syscall\\b"] },
      bash: { modules: ["gcc", "cc", "g++", "c++", "clang", "clang++", "tcc", "ld"], patterns: ["\\bLD_PRELOAD\\s*="] },
    },
  },
  escalation: {
    description: "Tries to gain privileges or leave the sandbox",
    languages: {
      cpp: { patterns: ["\\b(?:setuid|setgid|seteuid|setreuid|setresuid|chroot|mount|umount2?|unshare|setns|capset|pivot_root)\\s*\\("] },
      bash: {
        modules: ["sudo", "su", "doas", "pkexec", "chroot", "nsenter", "unshare", "mount", "umount", "insmod", "modprobe", "rmmod", "docker", "podman", "kubectl", "crictl", "setcap", "capsh"],
        patterns: ["\\bchmod\\s+(?:-\\S+\\s+)*(?:[ugoa]*\\+[rwx]*s|[2467][0-7]{3})\\b"],
      },
    },
  },
  destructive: {
    description: "Deletes files",
    languages: {
      javascript: { patterns: ["\\b(?:rm|rmdir|unlink)(?:Sync)?\\s*\\("] },
      java: { patterns: ["\\bFiles\\s*\\.\\s*(?:delete|deleteIfExists)\\s*\\(", "\\.\\s*delete(?:OnExit)?\\s*\\(\\s*\\)"] },
      go: { patterns: ["\\bos\\s*\\.\\s*(?:Remove|RemoveAll)\\s*\\("] },
      cpp: { patterns: ["\\b(?:unlink|unlinkat|rmdir)\\s*\\(", "\\b(?:filesystem|fs)\\s*::\\s*remove(?:_all)?\\s*\\("] },
      r: { patterns: ["\\b(?:unlink|file\\.remove)\\s*\\("] },
      ruby: {
        patterns: [
          "\\bFile\\s*\\.\\s*(?:delete|unlink)\\b",
          "\\bFileUtils\\s*\\.\\s*(?:rm|rm_r|rm_rf|rm_f|remove|remove_dir|remove_entry|remove_entry_secure|rmtree|rmdir)\\b",
          "\\bDir\\s*\\.\\s*(?:delete|rmdir|unlink)\\b",
        ],
      },
      bash: { modules: ["shred", "wipefs"], patterns: ["\\brm\\s+(?:-\\S+\\s+)*-[a-zA-Z]*[rR]", "\\bfind\\b[^\\n;|]*\\s-delete\\b"] },
    },
  },
  processes: {
    description: "Starts background processes, workers or forks",
    languages: {
      javascript: { modules: ["worker_threads", "cluster"], patterns: ["\\bprocess\\s*\\.\\s*kill\\s*\\("] },
      cpp: { patterns: ["\\b(?:fork|vfork|clone|daemon)\\s*\\("] },
      r: { modules: ["parallel", "callr", "future"] },
      ruby: { patterns: ["(?<![\\w.])fork\\b", "\\bProcess\\s*\\.\\s*(?:fork|daemon|kill|detach)\\b"] },
      bash: { modules: ["nohup", "setsid", "disown", "screen", "tmux", "at", "batch", "crontab", "kill", "pkill", "killall"] },
    },
  },
  http: {
    description: "Makes web requests",
    languages: {
      javascript: { modules: ["http", "https", "http2", "undici", "axios", "node-fetch", "got", "superagent", "request", "ws"], patterns: ["\\bfetch\\s*\\(", "\\bnew\\s+(?:WebSocket|XMLHttpRequest|EventSource)\\b"] },
      java: { modules: ["java.net.http", "java.net.URL", "java.net.URLConnection", "java.net.HttpURLConnection"] },
      go: { modules: ["net/http", "net/rpc", "net/smtp"] },
      cpp: { modules: ["curl", "cpr", "httplib", "boost/beast"] },
      r: {
        modules: ["httr", "httr2", "curl", "RCurl", "rvest", "crul"],
        patterns: ["\\b(?:url|download\\.file|curlGetHeaders)\\s*\\(", "\\b(?:read\\.\\w+|readLines|readRDS|fromJSON|source|read_csv|fread)\\s*\\(\\s*[\"'](?:https?|ftp)://"],
      },
      ruby: { modules: ["net/http", "net/https", "open-uri", "httparty", "faraday", "rest-client", "excon", "typhoeus", "httpx", "mechanize"], patterns: ["\\bURI\\s*\\.\\s*open\\b"] },
      bash: { modules: ["curl", "wget", "lynx", "aria2c"] },
    },
  },
  sockets: {
    description: "Opens network sockets",
    languages: {
      javascript: { modules: ["net", "dgram", "tls", "dns"] },
      java: {
        modules: [
          "java.net.Socket", "java.net.ServerSocket", "java.net.DatagramSocket", "java.net.MulticastSocket",
          "java.nio.channels.SocketChannel", "java.nio.channels.ServerSocketChannel", "java.nio.channels.DatagramChannel", "javax.net",
        ],
      },
      go: { patterns: ["\\bnet\\s*\\.\\s*(?:Dial|Listen)\\w*\\s*\\("] },
      cpp: { modules: ["sys/socket", "sys/un", "netinet", "arpa/inet", "netdb", "boost/asio"] },
      r: { patterns: ["\\b(?:socketConnection|make\\.socket|socketAccept|serverSocket)\\s*\\("] },
      ruby: { modules: ["socket", "net/ftp", "net/smtp", "net/telnet"], patterns: ["\\b(?:TCPSocket|UDPSocket|TCPServer|UNIXSocket|Socket)\\s*\\.\\s*(?:new|open)\\b"] },
      bash: { modules: ["nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp", "sftp", "ftp", "rsync"], patterns: ["/dev/(?:tcp|udp)/"] },
    },
  },
  env: {
    description: "Reads or changes environment variables",
    languages: {
      javascript: { patterns: ["\\bprocess\\s*\\.\\s*env\\b"] },
      java: { patterns: ["\\bSystem\\s*\\.\\s*getenv\\s*\\("] },
      go: { patterns: ["\\bos\\s*\\.\\s*(?:Getenv|LookupEnv|Environ|Setenv|Unsetenv)\\s*\\("] },
      cpp: { patterns: ["\\b(?:getenv|secure_getenv|setenv|putenv)\\s*\\(", "\\benviron\\b"] },
      r: { patterns: ["\\bSys\\s*\\.\\s*(?:getenv|setenv)\\s*\\("] },
      ruby: { patterns: ["\\bENV\\b"] },
      bash: { modules: ["env", "printenv"] },
    },
  },
  eval: {
    description: "Evaluates code from strings",
    languages: {
      javascript: { modules: ["vm", "repl"], patterns: ["(?<![\\w.$])eval\\s*\\(", "(?<![\\w.$])Function\\s*\\("] },
      java: { modules: ["javax.script", "jdk.jshell", "javax.tools"] },
      r: { patterns: ["\\b(?:eval|evalq|source|sys\\.source)\\s*\\("] },
      ruby: { patterns: ["(?<![\\w.])(?:eval|instance_eval|class_eval|module_eval)\\b", "\\bbinding\\b"] },
      bash: { modules: ["eval", "source", "."] },
    },
  },
  fileWrite: {
    description: "Writes files",
    languages: {
      javascript: { patterns: ["\\b(?:writeFile|appendFile|createWriteStream|copyFile)(?:Sync)?\\s*\\("] },
      java: {
        patterns: [
          "\\bnew\\s+(?:FileOutputStream|FileWriter|RandomAccessFile)\\b",
          "\\bFiles\\s*\\.\\s*(?:write|writeString|newOutputStream|newBufferedWriter|createFile|copy|move)\\s*\\(",
        ],
      },
      go: { patterns: ["\\bos\\s*\\.\\s*(?:Create|WriteFile|OpenFile|Rename|Symlink|Link|Chmod|Chown)\\s*\\("] },
      cpp: { patterns: ["\\b(?:std\\s*::\\s*)?ofstream\\b", "\\bfopen\\s*\\([^)]*\"[wa]", "\\bopen\\s*\\([^)]*O_(?:WRONLY|RDWR|CREAT)"] },
      r: { patterns: ["\\b(?:write\\.(?:csv2?|table)|writeLines|saveRDS|save|sink|file\\.create|file\\.copy|file\\.rename)\\s*\\("] },
      ruby: { patterns: ["\\bFile\\s*\\.\\s*(?:write|binwrite)\\b", "\\bFile\\s*\\.\\s*open\\s*\\(?[^)\\n]*,\\s*[\"'][wa]"] },
    },
  },
  serialization: {
    description: "Deserialises objects (can run code)",
    languages: {
      javascript: { modules: ["node-serialize"] },
      java: { modules: ["java.io.ObjectInputStream"] },
      r: { patterns: ["\\b(?:readRDS|unserialize|load)\\s*\\("] },
      ruby: { patterns: ["\\bMarshal\\s*\\.\\s*load\\b", "\\bYAML\\s*\\.\\s*unsafe_load\\b"] },
    },
  },
  introspection: {
    description: "Reaches objects and functions by name",
    languages: {
      javascript: { patterns: ["\\b(?:Reflect|Proxy)\\b", "\\bconstructor\\s*\\.\\s*constructor\\b", "\\bglobalThis\\s*\\[", "\\bprocess\\s*\\.\\s*mainModule\\b"] },
      java: { modules: ["java.lang.reflect", "java.lang.invoke"], patterns: ["\\.\\s*setAccessible\\s*\\("] },
      go: { modules: ["reflect"] },
      r: { patterns: ["\\b(?:get0?|match\\.fun|getFunction|getFromNamespace|getExportedValue)\\s*\\("] },
      ruby: { patterns: ["(?<![\\w.])(?:send|public_send|__send__|instance_variable_get|instance_variable_set|const_get|define_method)\\b"] },
    },
  },
};

// ── The presets ───────────────────────────────────────────────────────────────────────────────────────────────

export const SECURITY_PRESETS = ["minimal", "development", "educational", "data_science", "web_scraping", "production", "strict"] as const;
export type PresetName = (typeof SECURITY_PRESETS)[number];

interface PresetDefinition {
  readonly description: string;
  readonly threshold: Severity;
  readonly dynamicCode?: Severity;
  readonly capabilities: Partial<Record<Capability, Severity>>;
}

const CONTAINMENT = { wipe: H, shell: H, escalation: H } as const;

const PRESETS: Readonly<Record<PresetName, PresetDefinition>> = {
  minimal: { description: "Blocks only system destruction and native code", threshold: H, capabilities: { wipe: H, native: H } },
  development: { description: "Blocks shell commands, native code and system destruction", threshold: H, capabilities: { ...CONTAINMENT, native: H } },
  educational: {
    description: "For learners: blocks shell commands and deletions, reports network and eval",
    threshold: M,
    dynamicCode: L,
    capabilities: { ...CONTAINMENT, destructive: H, native: M, sockets: L, http: L, eval: L },
  },
  data_science: {
    description: "For analysis: blocks shell commands, deletions and sockets, reports web access and file writes",
    threshold: M,
    dynamicCode: L,
    capabilities: { ...CONTAINMENT, destructive: H, native: M, sockets: M, http: L, fileWrite: L, serialization: L },
  },
  web_scraping: {
    description: "For scraping: web requests allowed (reported), shell commands, deletions and raw sockets blocked",
    threshold: M,
    dynamicCode: L,
    capabilities: { ...CONTAINMENT, destructive: H, native: H, sockets: M, http: L, fileWrite: L },
  },
  production: {
    description: "Blocks everything risky: shell, deletions, native code, sockets, eval, file writes, dynamic code",
    threshold: L,
    dynamicCode: H,
    capabilities: { ...CONTAINMENT, destructive: H, native: H, eval: M, fileWrite: M, env: L, sockets: M, http: L, processes: M },
  },
  strict: {
    description: "Pure computation only",
    threshold: L,
    dynamicCode: H,
    capabilities: {
      ...CONTAINMENT, destructive: H, native: H, eval: H, fileWrite: M, env: H, sockets: M, http: M, processes: M,
      serialization: L, introspection: L,
    },
  },
};

interface Rules {
  readonly patterns: SecurityPatternInit[];
  readonly modules: RestrictedModuleInit[];
}

const OTHER_LANGUAGES: readonly OtherLanguage[] = ["javascript", "java", "cpp", "go", "r", "ruby", "bash"];

function capabilityRules(capabilities: PresetDefinition["capabilities"]): Rules {
  const patterns: SecurityPatternInit[] = [];
  const modules: RestrictedModuleInit[] = [];
  for (const [capability, severity] of Object.entries(capabilities) as [Capability, Severity][]) {
    const { description, anyLanguage, languages } = CAPABILITIES[capability];
    for (const pattern of anyLanguage ?? []) patterns.push({ pattern, description, severity, languages: OTHER_LANGUAGES, inStrings: true });
    for (const language of OTHER_LANGUAGES) {
      const rules = languages[language];
      for (const pattern of rules?.patterns ?? []) patterns.push({ pattern, description, severity, languages: [language] });
      for (const name of rules?.modules ?? []) {
        modules.push({ name, description: `${description} (${language === "bash" ? "command" : "module"} ${name})`, severity, languages: [language] });
      }
    }
  }
  return { patterns, modules };
}

/** The names of the presets `getSecurityPolicy` knows. */
export function listSecurityPresets(): PresetName[] {
  return [...SECURITY_PRESETS];
}

/** A short description of each preset (for docs and tool descriptions). */
export function describeSecurityPreset(name: PresetName): string {
  return PRESETS[name].description;
}

/**
 * A fresh policy for a preset (`minimal`, `development`, `educational`, `data_science`, `web_scraping`,
 * `production`, `strict`), covering every language. Each call returns a new object: changing it changes nothing else.
 */
export function getSecurityPolicy(name: string): SecurityPolicy {
  const key = String(name).trim().toLowerCase().replace(/-/g, "_");
  if (!(SECURITY_PRESETS as readonly string[]).includes(key)) {
    throw new ValidationError(`Unknown preset '${name}'. Available presets: ${SECURITY_PRESETS.join(", ")}`);
  }
  const preset = PRESETS[key as PresetName];
  const python = pythonRules(PYTHON[key as PresetName]);
  const others = capabilityRules(preset.capabilities);
  return new SecurityPolicy({
    severityThreshold: preset.threshold,
    ...(preset.dynamicCode !== undefined ? { dynamicCodeSeverity: preset.dynamicCode } : {}),
    patterns: [...python.patterns.map((p) => ({ ...p, languages: ["python"] })), ...others.patterns],
    restrictedModules: [...python.modules.map((m) => ({ ...m, languages: ["python"] })), ...others.modules],
  });
}
