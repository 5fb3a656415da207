import { describe, expect, it } from "vitest";
import type { SupportedLanguage } from "../../languages/registry.js";
import { libraryName, moduleMatches } from "./modules.js";
import { scanCode } from "./scan.js";

/** The code as the scanner sees it: comments and literal contents shown as `·`. */
function code(source: string, language: SupportedLanguage): string {
  const scan = scanCode(source, language);
  return [...scan.view].map((ch, i) => (ch === "\n" || scan.isCode(i) ? ch : "·")).join("");
}

const modules = (source: string, language: SupportedLanguage) => scanCode(source, language).modules.map((m) => m.module);
const dynamic = (source: string, language: SupportedLanguage) => scanCode(source, language).dynamic.map((d) => d.kind);

describe("lexer: code vs comments vs literals", () => {
  it("python: prefixes, triple quotes, f-string fields, # inside strings", () => {
    expect(code("s = '#'; x = 1 # note", "python")).toBe("s = '·'; x = 1 ······");
    expect(code('a = """x\n#y"""; b = rb"\\"" + f"v={v!r}"', "python")).toBe('a = """·\n··"""; b = rb"··" + f"··{v!r}"');
    expect(code("t = '''it's'''", "python")).toBe("t = '''····'''");
  });

  it("javascript: templates with nested code, regular expressions, hashbang", () => {
    expect(code("#!/usr/bin/env node\nconst a = `x${f(`y${z}`)}w` // c", "javascript")).toBe("···················\nconst a = `·${f(`·${z}`)}·` ····");
    expect(code("const r = /'/g; const s = '/'", "javascript")).toBe("const r = /·/g; const s = '·'");
    expect(code("x = a / b / c", "javascript")).toBe("x = a / b / c");
    // After `)` the lexer cannot tell (`if (x) /re/` vs `(a) / b`): it reads both ways and hides neither.
    expect(code("if (x) /'/.test(s); f('/')", "javascript")).toBe("if (x) /'/.test(s); f('/')");
  });

  it("java text blocks, go raw strings, C++ raw strings and digit separators", () => {
    expect(code('String s = """\n  "x" // no\n  """;', "java")).toBe('String s = """\n···········\n··""";');
    expect(code("s := `a\\`; t := 1 // c", "go")).toBe("s := `··`; t := 1 ····");
    expect(code('auto s = R"d(x)" )d"; int n = 1\'000;', "cpp")).toBe('auto s = R"d(····)d"; int n = 1\'000;');
  });

  it("r: raw strings, backtick names, multi-line strings", () => {
    expect(code('x <- r"(a"b)"; `my var` <- 1 # c', "r")).toBe('x <- r"(···)"; `my var` <- 1 ···');
    expect(code("s <- 'a\nb'", "r")).toBe("s <- '·\n·'");
  });

  it("ruby: interpolation, %-literals, heredocs, =begin, ?c, __END__", () => {
    expect(code('s = "a#{b}c"; w = %w[x y]; q = %q(a(b)c)', "ruby")).toBe('s = "·#{b}·"; w = %w[···]; q = %q(·····)');
    expect(code("t = <<~EOS\n  hi #{x}\n  EOS\nc = ?'\n=begin\nno\n=end\n__END__\ndata", "ruby")).toBe(
      "t = <<~EOS\n·····#{x}\n  EOS\nc = ?·\n······\n··\n····\n·······\n····",
    );
  });

  it("bash: # only at a word's start, quotes, $'…', substitutions in double quotes, heredocs", () => {
    expect(code("echo a#b ${#x} # c", "bash")).toBe("echo a#b ${#x} ···");
    expect(code(`echo 'a"b' "c$(d 'e')f" $'g\\'h'`, "bash")).toBe(`echo '···' "·$(d '·')·" $'····'`);
    expect(code("cat <<EOF\nx $(y)\nEOF\ncat <<'E'\n$(z)\nE", "bash")).toBe("cat <<EOF\n··$(y)\nEOF\ncat <<'E'\n····\nE");
  });

  it("c/c++: a splice continues a // comment and joins identifiers", () => {
    const scan = scanCode("// a \\\nhidden();\nsys\\\ntem();", "cpp");
    expect(scan.view).toBe("              \nsystem();");
    expect(scan.lineOf(scan.view.indexOf("system"))).toBe(3);
  });
});

describe("import extraction", () => {
  it.each([
    ["python", "import a.b as c, d\nfrom e.f import (g, h as i)\nfrom .j import k\nfrom l import *", ["a.b", "d", "e.f", "e.f.g", "e.f.h", "l"]],
    ["python", "__import__('x')\nimportlib.import_module('y')\nrunpy.run_module('z')\nsys.modules['w']", ["x", "y", "z", "w"]],
    ["javascript", "import a from 'a'\nimport 'b'\nimport {c} from \"c\"\nimport * as d from 'd'\nexport * from 'e'\nconst f = require('f')\nawait import('g')\nmodule.require('h')", ["a", "b", "c", "d", "e", "f", "g", "h"]],
    ["typescript", "import type { A } from 'a'\nimport b = require('b')", ["a", "b"]],
    ["java", "import a.b.C;\nimport static d.e.F.g;\nimport h.i.*;\nclass X {}", ["a.b.C", "d.e.F.g", "h.i"]],
    ["cpp", "#include <a/b.h>\n#include \"c.hpp\"\n  #  include <d>", ["a/b.h", "c.hpp", "d"]],
    ["go", "import \"a\"\nimport b \"c/d\"\nimport (\n  \"e\"\n  f \"g\"; _ \"h\"\n)", ["a", "c/d", "e", "g", "h"]],
    ["r", "library(a)\nrequire('b')\nrequireNamespace(\"c\")\nd::f()\ne:::g\npacman::p_load(h, i)", ["a", "b", "c", "d", "e", "pacman", "h", "i"]],
    ["ruby", "require 'a'\nrequire('b')\nload 'c.rb'\nKernel.require 'd'\nautoload :E, 'e'\ngem 'f'", ["a", "b", "c", "d", "e", "f"]],
    ["bash", "a x | b y && c; d\n(e) & f\nif g; then h; fi\nX=1 i\nsource j\nexec k\ntimeout 5 l\nfind . -exec m {} \\;", ["a", "b", "c", "d", "e", "f", "g", "h", "i", "source", "j", "exec", "k", "timeout", "l", "find", "m"]],
  ] as const)("%s: %j", (language, source, expected) => {
    expect([...new Set(modules(source, language as SupportedLanguage))].filter((m) => !/^java\.lang\./.test(m))).toEqual(expected);
  });

  it("java resolves simple names through java.lang and wildcard imports, and fully qualified names", () => {
    const found = modules("import java.net.*;\nclass A { void f() { new Socket(); Runtime.getRuntime(); java.io.File f; } }", "java");
    expect(found).toEqual(expect.arrayContaining(["java.net.Socket", "java.lang.Runtime", "java.io.File"]));
    expect(found).not.toContain("java.lang.A");
  });

  it("finds imports interpolated into strings", () => {
    expect(modules("x = f'{__import__(\"a\")}'", "python")).toEqual(["a"]);
    expect(modules("s = \"#{require 'a'}\"", "ruby")).toEqual(["a"]);
    expect(modules("x = `${require('a')}`", "javascript")).toEqual(["a"]);
  });
});

describe("dynamic code and embedded code", () => {
  it.each([
    ["python", "__import__(name)", "dynamic-import"],
    ["python", "exec(code)", "dynamic-eval"],
    ["python", "f = __import__", "dynamic-import"],
    ["python", "importlib.import_module(f'{a}.b')", "dynamic-import"],
    ["javascript", "require(name)", "dynamic-import"],
    ["javascript", "import(`./${x}`)", "dynamic-import"],
    ["javascript", "const r = require; r('fs')", "dynamic-import"],
    ["javascript", "eval(code)", "dynamic-eval"],
    ["javascript", "require('module').createRequire(x)", "dynamic-import"],
    ["java", "Class.forName(name)", "dynamic-import"],
    ["cpp", "#include MACRO", "dynamic-import"],
    ["r", "library(p, character.only = TRUE)", "dynamic-import"],
    ["r", "get(fn)(1)", "dynamic-eval"],
    ["ruby", "require name", "dynamic-import"],
    ["ruby", "obj.send(m, 1)", "dynamic-eval"],
    ["bash", "$CMD x", "dynamic-eval"],
    ["bash", "eval \"$X\"", "dynamic-eval"],
    ["bash", "source \"$F\"", "dynamic-import"],
  ] as const)("%s: %s → %s", (language, source, kind) => {
    expect(dynamic(source, language)).toContain(kind);
  });

  it.each([
    ["python", "import os\nprint(os.getcwd())"],
    ["javascript", "const x = require('fs'); console.log(typeof require.resolve)"],
    ["ruby", "obj.send(:name)\n[1].instance_eval { size }"],
    ["r", "do.call(rbind, xs)\neval(quote(x + 1))"],
    ["bash", "x=$(date); echo \"$x\""],
  ] as const)("%s: nothing dynamic in %j", (language, source) => {
    expect(dynamic(source, language)).toEqual([]);
  });

  it("scans literal code given to evaluators in its own language", () => {
    const scan = scanCode("python3 -c 'import a' && node -e \"require('b')\" && eval 'c x'", "bash");
    expect(scan.embedded.map((e) => [e.scan.language, e.scan.modules.map((m) => m.module)])).toEqual([
      ["python", ["a"]],
      ["javascript", ["b"]],
      ["bash", ["c"]],
    ]);
  });

  it("follows evaluated code inside evaluated code only so deep", () => {
    let source = "import os";
    for (let i = 0; i < 6; i++) source = `exec(${JSON.stringify(source)})`;
    let scan = scanCode(source, "python");
    let depth = 0;
    while (scan.embedded[0]) {
      scan = scan.embedded[0].scan;
      depth++;
    }
    expect(depth).toBe(4);
    expect(scan.dynamic.map((d) => d.description)).toContain("code evaluated inside evaluated code, nested too deep to follow");
  });
});

describe("module names", () => {
  it.each([
    ["python", "os.path", "os", true],
    ["python", "osx", "os", false],
    ["javascript", "node:fs/promises", "fs", true],
    ["javascript", "fs", "node:fs", true],
    ["javascript", "fs-extra", "fs", false],
    ["java", "java.io.File", "java.io", true],
    ["java", "java.iox", "java.io", false],
    ["go", "os/exec", "os", true],
    ["go", "os", "os/exec", false],
    ["cpp", "cstdlib", "stdlib.h", true],
    ["cpp", "sys/socket.h", "sys/socket", true],
    ["cpp", "netinet/in.h", "netinet", true],
    ["ruby", "net/http", "net", true],
    ["r", "ggplot2", "ggplot", false],
    ["bash", "/usr/bin/curl", "curl", true],
  ] as const)("%s: %s in %s → %s", (language, used, restricted, expected) => {
    expect(moduleMatches(language, used, restricted)).toBe(expected);
  });

  it("reads package names out of installer arguments", () => {
    expect(libraryName("python", "Requests[socks]>=2; python_version>'3'")).toBe("requests");
    expect(libraryName("javascript", "@scope/pkg@^1.2")).toBe("@scope/pkg");
    expect(libraryName("go", "github.com/a/b@v1.2.3")).toBe("github.com/a/b");
    expect(libraryName("ruby", "nokogiri:1.15")).toBe("nokogiri");
  });
});
