import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LanguageNotSupportedError, ValidationError } from "../errors.js";
import { parseCppError } from "./cpp.js";
import { parseGoError } from "./go.js";
import { compileAndRun, type SandboxContext } from "./handler.js";
import { parseJavaError } from "./java.js";
import { parseRError } from "./r.js";
import { python } from "./python.js";
import { getLanguageHandler, registerLanguageHandler, SupportedLanguage, supportedLanguages } from "./registry.js";
import { parseRubyError } from "./ruby.js";

const context = (packageIndexes: SandboxContext["packageIndexes"] = {}): SandboxContext => ({ workdir: "/sandbox", packageIndexes });
const install = (lang: string, libraries: string[], indexes: SandboxContext["packageIndexes"] = {}) =>
  getLanguageHandler(lang).installCommand!(libraries, context(indexes));

describe("language registry", () => {
  it("has a handler for every supported language, each able to install libraries", () => {
    expect(supportedLanguages().sort()).toEqual(Object.values(SupportedLanguage).sort());
    for (const lang of Object.values(SupportedLanguage)) {
      const handler = getLanguageHandler(lang);
      expect(handler.name).toBe(lang);
      expect(handler.installCommand).toBeTypeOf("function");
      expect(handler.syntax.lineComments.length + handler.syntax.blockComments.length).toBeGreaterThan(0);
      expect(handler.syntax.quotes.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ["c++", "cpp"],
    ["golang", "go"],
    ["rb", "ruby"],
    ["Rscript", "r"],
    ["sh", "bash"],
    ["JAVA", "java"],
  ])("resolves the alias %s to %s", (alias, lang) => {
    expect(getLanguageHandler(alias).name).toBe(lang);
  });
});

describe("install commands", () => {
  it("installs everything as the session user, never root", () => {
    for (const lang of Object.values(SupportedLanguage)) expect(install(lang, [lang === "java" ? "g:a" : "xy"]).user).toBeUndefined();
  });

  it("java: Maven coordinates become Ivy dependencies from the configured repository", () => {
    const { script } = install("java", ["com.example:lib:1.2.3", "org.x:y"], { maven: "http://repo.test/maven" });
    expect(script).toContain('<dependency org="com.example" name="lib" rev="1.2.3" conf="default->default"/>');
    expect(script).toContain('<dependency org="org.x" name="y" rev="latest.release" conf="default->default"/>');
    expect(script).toContain('root="http://repo.test/maven/"');
    expect(install("java", ["a:b:1"]).script).toContain('root="https://repo.maven.apache.org/maven2/"');
  });

  it.each(["guava", "a:b:c:d", 'a:b"><x:1', "a b:c"])("java: refuses %j, which is no Maven coordinate", (library) => {
    expect(() => install("java", [library])).toThrow(ValidationError);
  });

  it("r: checks afterwards that every package is installed, from the configured repository", () => {
    const { script } = install("r", ["data.table", "jsonlite"], { cran: "http://cran.test" });
    expect(script).toContain('repos = "http://cran.test"');
    expect(script).toContain('wanted <- c("data.table", "jsonlite")');
    expect(script).toContain("quit(status = 1)");
  });

  it.each(["1abc", "a_b", "ggplot2>=3", "x."])("r: refuses %j, which is no R package name", (library) => {
    expect(() => install("r", [library])).toThrow(ValidationError);
  });

  it("go: go get with the configured GOPROXY (and no public checksum database for it)", () => {
    expect(install("go", ["example.com/m@v1.0.0"], { go: "http://proxy.test/go" }).script).toMatch(
      /export GOPROXY=http:\/\/proxy\.test\/go GOSUMDB=off\n.*\ngo get example\.com\/m@v1\.0\.0$/,
    );
    expect(install("go", ["example.com/m"]).script).not.toContain("GOPROXY");
  });

  it("ruby: gems into the session's GEM_HOME, from the configured source only", () => {
    const { script } = install("ruby", ["rake:13.0.0"], { rubygems: "http://gems.test/" });
    expect(script).toContain("GEM_HOME=/sandbox/.sandbox-gems");
    expect(script).toContain("--clear-sources --source http://gems.test/ rake:13.0.0");
  });

  it.each(["cpp", "bash"])("%s: apt downloads into /tmp and unpacks into the workdir, from the configured archive", (lang) => {
    const { script } = install(lang, ["libfmt-dev"], { apt: "http://mirror.test/debian" });
    expect(script).toContain("--download-only install -- libfmt-dev");
    expect(script).toContain("tar -x -C /sandbox/.sandbox-apt");
    expect(script).toContain(`printf 'deb %s %s main\\n' http://mirror.test/debian "$(. /etc/os-release && echo "$VERSION_CODENAME")"`);
    expect(install(lang, ["x"]).script).not.toContain("SourceList");
  });

  it("quotes library names and index URLs for the shell", () => {
    expect(install("cpp", ["x"], { apt: "http://m.test/$(id)" }).script).toContain("printf 'deb %s %s main\\n' 'http://m.test/$(id)' ");
    expect(install("bash", ["a;touch /tmp/x"]).script).toContain("'a;touch /tmp/x'");
    expect(install("go", ["a$(id)"]).script).toContain("'a$(id)'");
  });
});

describe("error parsers", () => {
  it("java: compile errors and uncaught exceptions", () => {
    expect(parseJavaError("Main.java:3: error: ';' expected\n  int x = 0\n         ^\n1 error\n")).toMatchObject({
      name: "CompileError",
      message: "';' expected",
    });
    expect(parseJavaError('Exception in thread "main" java.lang.IllegalStateException: nope\n\tat Main.main(Main.java:1)\n')).toMatchObject({
      name: "java.lang.IllegalStateException",
      message: "nope",
    });
    expect(parseJavaError("plain text")).toBeUndefined();
  });

  it("cpp: the first compiler error, or what an uncaught exception said", () => {
    expect(parseCppError(".sandbox-1.cpp: In function 'int main()':\n.sandbox-1.cpp:2:30: error: expected ';' before '}' token\n")).toMatchObject({
      name: "CompileError",
      message: "expected ';' before '}' token",
    });
    expect(parseCppError("terminate called after throwing an instance of 'std::out_of_range'\n  what():  vector::_M_range_check\n")).toMatchObject({
      name: "std::out_of_range",
      message: "vector::_M_range_check",
    });
    expect(parseCppError("/usr/bin/ld: cannot find -lnope: No such file or directory\ncollect2: error: ld returned 1 exit status\n")).toMatchObject({
      name: "LinkError",
      message: "cannot find -lnope: No such file or directory",
    });
  });

  it("go: compile errors and panics", () => {
    expect(parseGoError("# command-line-arguments\n./sandbox-1.go:3:15: undefined: x\n")).toMatchObject({ name: "CompileError", message: "undefined: x" });
    expect(parseGoError("panic: runtime error: index out of range [3] with length 1\n\ngoroutine 1 [running]:\n")).toMatchObject({
      name: "panic",
      message: "runtime error: index out of range [3] with length 1",
    });
  });

  it("ruby: uncaught exceptions (also namespaced) and syntax errors", () => {
    expect(parseRubyError("/sandbox/.sandbox-1.rb:1:in `/': divided by 0 (ZeroDivisionError)\n\tfrom /sandbox/.sandbox-1.rb:1:in `<main>'\n")).toMatchObject({
      name: "ZeroDivisionError",
      message: "divided by 0",
    });
    expect(parseRubyError("/sandbox/x.rb:1:in `bar': x (Foo::Err)\n")).toMatchObject({ name: "Foo::Err", message: "x" });
    expect(parseRubyError("/sandbox/x.rb:2: syntax error, unexpected end-of-input\n")).toMatchObject({ name: "SyntaxError" });
  });

  it("r: Error in call : message, Error: message, and messages on the next line", () => {
    expect(parseRError("Error in log(-1) : non-numeric argument\nCalls: f -> log\nExecution halted\n")).toMatchObject({
      name: "Error",
      message: "non-numeric argument",
    });
    expect(parseRError("Error: boom\nExecution halted\n")).toMatchObject({ message: "boom" });
    expect(parseRError("Warning message:\nx\nError in f(x) : \n  a long message\nExecution halted\n")).toMatchObject({ message: "a long message" });
    expect(parseRError("Warning message:\nsomething\n")).toBeUndefined();
  });
});

describe("compileAndRun (the shell script, run by the host's sh)", () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  /** The default "compiler" copies the source into an executable shell script and logs each call. */
  function run(source: string, cacheDir: string, build = `echo built >> ${dir}/log && { echo '#!/bin/sh'; cat "$SANDBOX_FILE"; } > "$SANDBOX_BUILD" && chmod +x "$SANDBOX_BUILD"`) {
    writeFileSync(join(dir!, "code"), source);
    const script = compileAndRun({ cache: "test", keyInputs: "echo flags", build }).replaceAll("/tmp/.sandbox-build", cacheDir);
    try {
      return { stdout: execFileSync("/bin/sh", ["-c", script], { env: { ...process.env, SANDBOX_FILE: join(dir!, "code") } }).toString(), status: 0 };
    } catch (error) {
      const failed = error as { stdout: Buffer; status: number };
      return { stdout: failed.stdout.toString(), status: failed.status };
    }
  }

  it("builds once per distinct code, runs the build, and keeps the program's exit code", () => {
    dir = mkdtempSync(join(tmpdir(), "compile-and-run-"));
    const cache = join(dir, "cache");
    expect(run("echo one; exit 3", cache)).toEqual({ stdout: "one\n", status: 3 });
    expect(run("echo one; exit 3", cache)).toEqual({ stdout: "one\n", status: 3 });
    expect(run("echo two", cache)).toEqual({ stdout: "two\n", status: 0 });
    expect(execFileSync("cat", [join(dir, "log")]).toString()).toBe("built\nbuilt\n");
    expect(readdirSync(join(cache, "test"))).toHaveLength(2);
  });

  it("a failed build ends the run with the compiler's status, runs nothing and keeps nothing", () => {
    dir = mkdtempSync(join(tmpdir(), "compile-and-run-"));
    const cache = join(dir, "cache");
    expect(run("echo ran", cache, `echo half > "$SANDBOX_BUILD"; echo 'syntax error' >&2; exit 4`)).toEqual({ stdout: "", status: 4 });
    expect(readdirSync(join(cache, "test"))).toEqual([]);
  });
});

describe("registerLanguageHandler", () => {
  afterEach(() => registerLanguageHandler(python));

  it("replacing a language drops the old handler's aliases", () => {
    const replacement = { ...python, aliases: ["snake"] };
    registerLanguageHandler(replacement);
    expect(getLanguageHandler("python")).toBe(replacement);
    expect(getLanguageHandler("snake")).toBe(replacement);
    expect(() => getLanguageHandler("py")).toThrow(LanguageNotSupportedError);
  });
});
