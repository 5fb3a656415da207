import { describe, expect, it } from "vitest";
import type { SupportedLanguage } from "../languages/registry.js";
import { SecurityIssueSeverity, SecurityPolicy } from "./policy.js";
import { getSecurityPolicy, type PresetName } from "./presets.js";

const { MEDIUM, HIGH } = SecurityIssueSeverity;

/**
 * The policy of the bypasses and false positives named in the issue and the fact sheet (§4.6): one restricted
 * module (or two) per language and the original's `os.system` pattern.
 */
const named = () =>
  new SecurityPolicy({
    severityThreshold: MEDIUM,
    patterns: [{ pattern: "\\bos\\.system\\s*\\(", description: "os.system", severity: HIGH, languages: ["python"] }],
    restrictedModules: [
      { name: "os", severity: HIGH, languages: ["python"] },
      { name: "fs", severity: HIGH, languages: ["javascript"] },
      { name: "child_process", severity: HIGH, languages: ["javascript"] },
      { name: "java.io", severity: HIGH, languages: ["java"] },
      { name: "java.lang.Runtime", severity: HIGH, languages: ["java"] },
      { name: "sys/socket.h", severity: HIGH, languages: ["cpp"] },
      { name: "os/exec", severity: HIGH, languages: ["go"] },
      { name: "ggplot2", severity: HIGH, languages: ["r"] },
      { name: "json", severity: HIGH, languages: ["ruby"] },
      { name: "curl", severity: HIGH, languages: ["bash"] },
    ],
  });

type Verdict = "blocked" | "allowed";

interface Case {
  readonly language: SupportedLanguage;
  readonly code: string;
  readonly policy: PresetName | "named";
  readonly verdict: Verdict;
  /** A substring of the description (or the module) of the finding that must be reported. */
  readonly finding?: string;
  readonly note?: string;
}

const c = (language: SupportedLanguage, policy: Case["policy"], verdict: Verdict, code: string, finding?: string, note?: string): Case => ({
  language,
  policy,
  verdict,
  code,
  ...(finding ? { finding } : {}),
  ...(note ? { note } : {}),
});

/** code → verdict, per language. Every bypass and false positive of the original is here. */
const CORPUS: readonly Case[] = [
  // ── Python: the original's bypasses (must be caught) ──
  c("python", "named", "blocked", "__import__('os')", "os", "__import__ with a literal"),
  c("python", "named", "blocked", "import sys, os", "os", "second name of an import list"),
  c("python", "named", "blocked", "s = '#'; import os", "os", "a # inside a string is not a comment"),
  c("python", "named", "blocked", "a = \"'''\"; import os; b = \"'''\"", "os", "triple quotes inside strings"),
  c("python", "named", "blocked", "import importlib\nm = importlib.import_module('os')", "os"),
  c("python", "named", "blocked", "exec('imp' + 'ort os')", "os", "literal code given to exec is scanned"),
  c("python", "named", "blocked", "from os import path", "os"),
  c("python", "named", "blocked", "from os.path import join", "os"),
  c("python", "named", "blocked", "import os.path as p", "os"),
  c("python", "named", "blocked", "if True: import os", "os"),
  c("python", "named", "blocked", "from os import (\n    system,\n    getcwd,\n)", "os"),
  c("python", "named", "blocked", "import sys\nsys.modules['os'].getcwd()", "os", "a loaded module reached without import"),
  c("python", "named", "blocked", "x = f\"{__import__('os').getcwd()}\"", "os", "f-string fields are code"),
  c("python", "named", "blocked", "import ｏｓ", "os", "identifiers are NFKC-normalised"),
  c("python", "named", "blocked", "import os\nos.system('ls')", "os.system"),
  c("python", "named", "blocked", "import os\nｏｓ.ｓｙｓｔｅｍ('ls')", "os.system", "patterns read NFKC-normalised identifiers"),
  // ── Python: the original's false positives (must pass) ──
  c("python", "named", "allowed", "print('import os')", undefined, "text in a string"),
  c("python", "named", "allowed", "print('call os.system() carefully')", undefined, "pattern text in a string"),
  c("python", "named", "allowed", "# import os\n# os.system('ls')\nprint(1)", undefined, "commented out"),
  c("python", "named", "allowed", '"""\nimport os\nos.system("ls")\n"""\nprint(1)', undefined, "docstring"),
  c("python", "named", "allowed", "from . import os", undefined, "relative import of a local module"),
  c("python", "named", "allowed", "import osmosis\nimport numpy.os_tools", undefined, "names that merely start like os"),
  c("python", "named", "allowed", "x = {'import': 1, 'os': 2}\nprint(x)"),
  // ── Python: presets ──
  c("python", "production", "blocked", "import subprocess\nsubprocess.run(['ls'])", "subprocess"),
  c("python", "production", "blocked", "import posix\nposix.system('ls')", "posix", "os under another name"),
  c("python", "production", "blocked", "import asyncio\nasyncio.run(asyncio.create_subprocess_shell('ls'))", "Subprocess execution (asyncio)"),
  c("python", "production", "blocked", "import base64\nexec(base64.b64decode('aW1wb3J0IG9z'))", "exec", "exec of a decoded string"),
  c("python", "production", "blocked", "m = __import__(''.join(['o', 's']))", "computed at run time", "a computed import name"),
  c("python", "production", "blocked", "[c for c in ().__class__.__base__.__subclasses__()]", "__subclasses__", "the classic escape"),
  c("python", "production", "blocked", "f = open('out.txt', 'w')", "File write"),
  c("python", "production", "blocked", "getattr(__import__('builtins'), 'ex' + 'ec')('print(1)')", "builtins", "exec reached by name"),
  c("python", "production", "blocked", "import importlib\nm = getattr(importlib, 'import_' + name)('os')", "getattr", "import_module reached by a computed name"),
  c("python", "production", "allowed", "import numpy as np\nimport pandas as pd\nprint(pd.DataFrame({'a': np.arange(3)}).sum())"),
  c("python", "production", "allowed", "with open('data.csv') as f:\n    print(f.read())", undefined, "reading a file"),
  c("python", "production", "allowed", "print('import subprocess; os.system(\"rm -rf /\")')"),
  c("python", "strict", "blocked", "g = getattr(__builtins__, 'ev' + 'al')", "__builtins__"),
  c("python", "strict", "blocked", "(lambda: 0).__globals__['__builtins__']", "__globals__"),
  c("python", "strict", "blocked", "import threading", "threading"),
  c("python", "strict", "allowed", "print(sum(i * i for i in range(10)))"),
  c("python", "minimal", "blocked", "import os\nos.system('rm -rf /tmp/x')", "Destructive system command"),
  c("python", "minimal", "allowed", "import os\nos.system('ls')"),
  c("python", "data_science", "allowed", "import requests\nprint(requests.__version__)", undefined, "LOW at a MEDIUM threshold: reported only"),
  c("python", "data_science", "blocked", "import ctypes", "ctypes"),
  c("python", "development", "blocked", "import subprocess\nsubprocess.call('rm -rf / --no-preserve-root', shell=True)", "rm -rf /", "shell command in a string"),

  // ── JavaScript / TypeScript ──
  c("javascript", "named", "blocked", "const fs = require('node:fs')", "fs", "node: prefix"),
  c("javascript", "named", "blocked", "const u = 'http://x'; require('fs')", "fs", "// inside a string is not a comment"),
  c("javascript", "named", "blocked", "const fs = await import('fs')", "fs", "dynamic import() with a literal"),
  c("javascript", "named", "blocked", "import { readFile } from 'fs/promises'", "fs", "subpath"),
  c("javascript", "named", "blocked", "import * as cp from 'node:child_process'", "child_process"),
  c("javascript", "named", "blocked", "const fs = require(`fs`)", "fs", "template literal without substitutions"),
  c("javascript", "named", "blocked", "const fs = require('f' + 's')", "fs"),
  c("javascript", "named", "blocked", "const r = /\"/; require(\"fs\"); const q = /\"/", "fs", "quotes inside regular expressions"),
  c("javascript", "named", "blocked", "const x = `${require('child_process').execSync('id')}`", "child_process", "template substitutions are code"),
  c("javascript", "named", "blocked", "export { readFile } from 'fs'", "fs"),
  c("javascript", "named", "blocked", "#!/usr/bin/env node\nrequire('fs')", "fs"),
  c("javascript", "named", "blocked", "eval(\"require('fs')\")", "fs", "literal code given to eval"),
  c("javascript", "named", "blocked", "if (x) /\"/.test(s); require(\"fs\"); /\"/.test(s)", "fs", "regex or division after ): read both ways"),
  c("javascript", "named", "blocked", "x = {} / 1; require('fs'); y = {} / 1", "fs", "division after }: read both ways"),
  c("javascript", "named", "blocked", "\\u0072equire('fs')", "fs", "identifier spelled with escapes"),
  c("javascript", "named", "allowed", "console.log(\"require('fs')\")"),
  c("javascript", "named", "allowed", "// require('fs')\n/* import fs from 'fs' */\nconsole.log(1)"),
  c("javascript", "named", "allowed", "const fsx = require('fs-extra-not-really')", undefined, "a different package"),
  c("javascript", "named", "allowed", "const a = 4 / 2; const b = a / 2; console.log('/', b)", undefined, "division, not a regex"),
  c("javascript", "production", "blocked", "const m = 'child' + '_process'; require(m)", "computed at run time"),
  c("javascript", "production", "blocked", "process.binding('spawn_sync')", "internal"),
  c("javascript", "production", "blocked", "const f = new Function('return process')", "Evaluates code"),
  c("javascript", "production", "blocked", "[].constructor.constructor('return process')()", "Function constructor"),
  c("javascript", "production", "blocked", "module['req' + 'uire']('child_process')", "computed name"),
  c("javascript", "production", "allowed", "const xs = [3, 1, 2].sort((a, b) => a - b); console.log(JSON.stringify(xs))"),
  c("typescript", "production", "blocked", "import { execSync } from 'child_process';\nconst out: string = execSync('id').toString();", "child_process"),
  c("typescript", "production", "allowed", "interface P { x: number }\nconst p: P = { x: 1 };\nconsole.log(p.x as number);"),

  // ── Java ──
  c("java", "named", "blocked", "import static java.io.File.separator;", "java.io", "import static"),
  c("java", "named", "blocked", "class A { Object f = new java.io.File(\"x\"); }", "java.io", "fully qualified, no import"),
  c("java", "named", "blocked", "class A { void f() throws Exception { Runtime.getRuntime().exec(\"id\"); } }", "java.lang.Runtime", "java.lang is implicit"),
  c("java", "named", "blocked", "import java.io.File ;", "java.io", "space before the semicolon"),
  c("java", "named", "blocked", "import java.io.*;\nclass A { File f; }", "java.io"),
  c("java", "named", "blocked", "class A { void f() throws Exception { Class.forName(\"java.lang.Runtime\"); } }", "java.lang.Runtime", "reflection with a literal"),
  c("java", "named", "blocked", "class A { void f() throws Exception {\n// \\u000a Runtime.getRuntime().exec(\"id\");\n} }", "java.lang.Runtime", "\\u000a ends a comment in Java"),
  c("java", "named", "allowed", "import java.iox;", undefined, "a different package"),
  c("java", "named", "allowed", "class A { String s = \"import java.io.File; Runtime.getRuntime()\"; }"),
  c("java", "production", "blocked", "class A { void f() throws Exception { new ProcessBuilder(\"id\").start(); } }", "ProcessBuilder"),
  c("java", "production", "blocked", "class A { void f(String n) throws Exception { Class.forName(n); } }", "computed at run time"),
  c("java", "production", "allowed", "import java.util.*;\npublic class Main { public static void main(String[] a) { List<Integer> l = new ArrayList<>(); System.out.println(l); } }"),

  // ── C / C++ ──
  c("cpp", "named", "blocked", "#include <sys/socket.h>", "sys/socket.h"),
  c("cpp", "named", "blocked", "%:include <sys/socket.h>", "sys/socket.h", "digraph for #"),
  c("cpp", "named", "blocked", "#  include   \"sys/socket.h\"", "sys/socket.h"),
  c("cpp", "named", "allowed", "// #include <sys/socket.h>\nconst char* s = \"#include <sys/socket.h>\";"),
  c("cpp", "production", "blocked", "#include <cstdlib>\nint main() { std::system(\"id\"); }", "Runs other programs"),
  c("cpp", "production", "blocked", "int main() { sys\\\ntem(\"id\"); }", "Runs other programs", "a line splice inside the identifier"),
  c("cpp", "production", "blocked", "#define RUN system\nint main() { RUN(\"id\"); }", "Runs other programs", "aliased through a macro"),
  c("cpp", "production", "blocked", "int x = 1'000; int main() { system(\"id\"); } int y = 2'000;", "Runs other programs", "digit separators are not quotes"),
  c("cpp", "production", "blocked", "#define CAT(a, b) a##b\nint main() { CAT(sys, tem)(\"id\"); }", "##"),
  c("cpp", "production", "allowed", "#include <iostream>\n// system(\"id\")\nint main() { std::cout << \"system(\\\"id\\\")\" << std::endl; }"),
  c("cpp", "production", "allowed", "#include <vector>\n#include <algorithm>\nint main() { std::vector<int> v{3,1}; std::sort(v.begin(), v.end()); }"),

  // ── Go ──
  c("go", "named", "blocked", "package main\nimport \"os/exec\"", "os/exec"),
  c("go", "named", "blocked", "package main\nimport (\n\t\"fmt\"\n\tx \"os/exec\"\n)", "os/exec", "aliased in a block"),
  c("go", "named", "blocked", "package main\nimport ( \"fmt\"; . \"os/exec\" )", "os/exec"),
  c("go", "named", "allowed", "package main\nimport \"fmt\"\nfunc main() { fmt.Println(`import \"os/exec\"`) } // os/exec"),
  c("go", "production", "blocked", "package main\nimport _ \"unsafe\"\n//go:linkname f runtime.f\nfunc f()", "linkname"),
  c("go", "production", "blocked", "package main\n// #include <stdlib.h>\nimport \"C\"\nfunc main() { C.system(nil) }", "module C"),
  c("go", "production", "allowed", "package main\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\nfunc main() { fmt.Println(strings.ToUpper(\"hi\")) }"),

  // ── R ──
  c("r", "named", "blocked", "x <- 1\nlibrary(ggplot2)", "ggplot2", "library() on any line"),
  c("r", "named", "blocked", "suppressMessages(require(\"ggplot2\"))", "ggplot2"),
  c("r", "named", "blocked", "p <- ggplot2::ggplot(df)", "ggplot2", "pkg::fn"),
  c("r", "named", "allowed", "# library(ggplot2)\nprint('library(ggplot2)')"),
  c("r", "production", "blocked", "system('id')", "Runs other programs"),
  c("r", "production", "blocked", "pkg <- 'processx'\nlibrary(pkg, character.only = TRUE)", "named at run time"),
  c("r", "production", "blocked", "eval(parse(text = \"system('id')\"))", "Runs other programs", "literal code given to parse()"),
  c("r", "production", "blocked", "do.call(\"system\", list(\"id\"))", "Runs other programs"),
  c("r", "production", "allowed", "x <- c(1, 2, 3)\nprint(mean(x))\nf <- system.file(package = 'stats')"),

  // ── Ruby ──
  c("ruby", "named", "blocked", "x=1\nrequire 'json'", "json", "require on any line"),
  c("ruby", "named", "blocked", "require('json')", "json"),
  c("ruby", "named", "blocked", "puts \"#{require 'json'}\"", "json", "interpolation is code"),
  c("ruby", "named", "blocked", "eval(\"require 'json'\")", "json"),
  c("ruby", "named", "allowed", "# require 'json'\nputs 'require \"json\"'\n=begin\nrequire 'json'\n=end"),
  c("ruby", "named", "allowed", "text = <<~EOS\n  require 'json'\nEOS\nputs text", undefined, "heredoc"),
  c("ruby", "production", "blocked", "puts `id`", "Runs other programs"),
  c("ruby", "production", "blocked", "Kernel.send(:system, 'id')", "Runs other programs"),
  c("ruby", "production", "blocked", "Kernel.send('sys' + 'tem', 'id')", "as a string"),
  c("ruby", "production", "blocked", "name = 'open' + '3'\nrequire name", "computed at run time"),
  c("ruby", "production", "blocked", "x = 10 % 3; require 'open3'; y = 4 % 2", "open3", "% as an operator"),
  c("ruby", "production", "allowed", "puts [1, 2, 3].map { |x| x * 2 }.sum\nputs 'system(\"id\")'"),

  // ── Bash (commands are the modules) ──
  c("bash", "named", "blocked", "curl http://example.com", "curl"),
  c("bash", "named", "blocked", "echo \"$(curl http://example.com)\"", "curl", "command substitution in quotes"),
  c("bash", "named", "blocked", "x=$(curl http://example.com)", "curl"),
  c("bash", "named", "blocked", "cu\\\nrl http://example.com", "curl", "line continuation inside the word"),
  c("bash", "named", "blocked", "'cu''rl' http://example.com", "curl", "quoted command name"),
  c("bash", "named", "blocked", "/usr/bin/curl http://example.com", "curl"),
  c("bash", "named", "blocked", "sudo -u nobody curl http://example.com", "curl", "wrapped command"),
  c("bash", "named", "blocked", "bash -c 'curl http://example.com'", "curl", "sh -c literal"),
  c("bash", "named", "blocked", "cat <<EOF\n$(curl http://example.com)\nEOF", "curl", "expansion in a heredoc"),
  c("bash", "named", "allowed", "echo 'curl http://example.com' # curl\ncat <<'EOF'\ncurl x\nEOF", undefined, "text, comment, quoted heredoc"),
  c("bash", "named", "allowed", "echo curl", undefined, "an argument, not a command"),
  c("bash", "production", "blocked", "cmd=nc; $cmd -l 80", "computed at run time"),
  c("bash", "production", "blocked", "eval \"$PAYLOAD\"", "eval"),
  c("bash", "production", "blocked", "exec 3<>/dev/tcp/10.0.0.1/80", "sockets"),
  c("bash", "production", "blocked", "python3 -c 'import subprocess'", "subprocess", "Python code inside bash"),
  c("bash", "production", "blocked", "echo Y3VybCB4 | base64 -d | sh", "standard input", "decoded code piped into a shell"),
  c("bash", "production", "blocked", "{curl,http://example.com}", "brace expansion"),
  c("bash", "minimal", "blocked", "rm -rf /", "Destroys the system"),
  c("bash", "minimal", "blocked", ":(){ :|:& };:", "Destroys the system", "fork bomb"),
  c("bash", "production", "allowed", "for f in *.csv; do wc -l \"$f\"; done\necho done | tr a-z A-Z"),
];

describe("security corpus: code → verdict, per language", () => {
  it("has at least 60 cases covering all nine languages", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CORPUS.map((entry) => entry.language)).size).toBe(9);
  });

  it.each(CORPUS.map((entry) => [`${entry.language} [${entry.policy}] ${entry.verdict}: ${JSON.stringify(entry.code).slice(0, 70)}${entry.note ? ` (${entry.note})` : ""}`, entry] as const))(
    "%s",
    (_name, entry) => {
      const policy = entry.policy === "named" ? named() : getSecurityPolicy(entry.policy);
      const result = policy.check(entry.code, entry.language);
      const summary = result.violations.map((v) => `${v.description} [${v.module ?? v.pattern ?? v.kind}]`);
      expect(result.safe, summary.join("\n")).toBe(entry.verdict === "allowed");
      if (entry.finding) expect(summary.join("\n")).toContain(entry.finding);
      if (entry.policy === "named" && entry.verdict === "allowed") expect(result.violations).toEqual([]);
    },
  );
});
