import { describe, expect, it } from "vitest";
import { InvalidRegexPatternError, LanguageNotSupportedError, ValidationError } from "../errors.js";
import { SupportedLanguage } from "../languages/registry.js";
import { RestrictedModule, SecurityIssueSeverity, SecurityPattern, SecurityPolicy } from "./policy.js";
import { getSecurityPolicy, listSecurityPresets } from "./presets.js";

const { SAFE, LOW, MEDIUM, HIGH } = SecurityIssueSeverity;

describe("severities", () => {
  it("are ordered SAFE < LOW < MEDIUM < HIGH", () => {
    expect([SAFE, LOW, MEDIUM, HIGH]).toEqual([0, 1, 2, 3]);
  });

  it("accept names for policies written as data, and refuse anything else", () => {
    expect(new SecurityPolicy({ severityThreshold: "medium" }).severityThreshold).toBe(MEDIUM);
    expect(new RestrictedModule({ name: "os", severity: "HIGH" }).severity).toBe(HIGH);
    expect(() => new SecurityPolicy({ severityThreshold: 7 as never })).toThrow(ValidationError);
    expect(() => new RestrictedModule({ name: "os", severity: "urgent" as never })).toThrow(/expected a severity/);
  });
});

describe("is_safe semantics of the original", () => {
  // The original's own test: urllib (LOW) + socket (MEDIUM) + eval (MEDIUM).
  const code = "import urllib.request\nimport socket\neval('1 + 1')";
  const policy = (threshold: SecurityIssueSeverity) =>
    new SecurityPolicy({
      severityThreshold: threshold,
      patterns: [{ pattern: "\\beval\\s*\\(", description: "eval", severity: MEDIUM }],
      restrictedModules: [
        { name: "urllib", description: "urllib", severity: LOW },
        { name: "socket", description: "socket", severity: MEDIUM },
      ],
    });

  it("threshold SAFE never blocks but reports every finding", () => {
    const result = policy(SAFE).check(code, "python");
    expect(result.safe).toBe(true);
    expect(result.violations.map((v) => v.description).sort()).toEqual(["eval", "socket", "urllib"]);
  });

  it("a finding blocks when its severity reaches the threshold", () => {
    expect(policy(LOW).check(code, "python").safe).toBe(false);
    expect(policy(MEDIUM).check(code, "python").safe).toBe(false);
    const high = policy(HIGH).check(code, "python");
    expect(high.safe).toBe(true);
    expect(high.violations).toHaveLength(3);
  });

  it("a finding of severity SAFE never blocks", () => {
    const result = new SecurityPolicy({ severityThreshold: LOW, restrictedModules: [{ name: "json", severity: SAFE }] }).check("import json", "python");
    expect(result).toMatchObject({ safe: true, violations: [{ module: "json", severity: SAFE }] });
  });

  it("os.system HIGH and module os HIGH at MEDIUM: blocks the code, passes it commented out", () => {
    const p = new SecurityPolicy({
      severityThreshold: MEDIUM,
      patterns: [new SecurityPattern({ pattern: "\\bos\\.system\\s*\\(", description: "System command execution", severity: HIGH })],
      restrictedModules: [new RestrictedModule({ name: "os", description: "Operating system interface", severity: HIGH })],
    });
    const blocked = p.check("import os\nos.system('ls')", "python");
    expect(blocked.safe).toBe(false);
    expect(blocked.violations).toEqual([
      { kind: "module", description: "Operating system interface", severity: HIGH, module: "os", line: 1, snippet: "import os" },
      { kind: "pattern", description: "System command execution", severity: HIGH, pattern: "\\bos\\.system\\s*\\(", line: 2, snippet: "os.system('ls')" },
    ]);
    expect(p.check("# import os\n# os.system('ls')", "python")).toEqual({ safe: true, violations: [] });
  });

  it("without patterns or modules everything is safe", () => {
    expect(new SecurityPolicy().check("import os; os.system('rm -rf /')", "python")).toEqual({ safe: true, violations: [] });
  });
});

describe("checking never mutates the policy", () => {
  it("repeated checks leave patterns and modules as they were and give the same answer", () => {
    const policy = getSecurityPolicy("production");
    const before = { patterns: [...policy.patterns], modules: [...policy.restrictedModules], threshold: policy.severityThreshold };
    const first = policy.check("import os\nimport subprocess", "python");
    for (let i = 0; i < 5; i++) expect(policy.check("import os\nimport subprocess", "python")).toEqual(first);
    policy.check("require('child_process')", "javascript");
    expect(policy.patterns).toEqual(before.patterns);
    expect(policy.restrictedModules).toEqual(before.modules);
    expect(policy.severityThreshold).toBe(before.threshold);
    expect(Object.isFrozen(policy.patterns[0])).toBe(true);
  });
});

describe("SecurityPattern", () => {
  it("rejects an invalid or empty regex when created", () => {
    expect(() => new SecurityPattern({ pattern: "(unclosed", description: "x", severity: LOW })).toThrow(InvalidRegexPatternError);
    expect(() => new SecurityPattern({ pattern: "(unclosed", description: "x", severity: LOW })).toThrow(/Invalid regex pattern: \(unclosed/);
    expect(() => new SecurityPattern({ pattern: "", description: "x", severity: LOW })).toThrow(InvalidRegexPatternError);
    expect(() => new SecurityPolicy().addPattern({ pattern: "[", description: "x", severity: LOW })).toThrow(InvalidRegexPatternError);
  });

  it("accepts Python regex syntax (named groups, leading inline flags) and RegExp objects", () => {
    const named = new SecurityPattern({ pattern: "(?P<fn>system)\\((?P=fn)?", description: "x", severity: LOW });
    const insensitive = new SecurityPattern({ pattern: "(?i)DROP\\s+TABLE", description: "x", severity: LOW, inStrings: true });
    const regexp = new SecurityPattern({ pattern: /\bfoo\(/, description: "x", severity: LOW });
    const policy = new SecurityPolicy({ severityThreshold: LOW, patterns: [named, insensitive, regexp] });
    expect(policy.check("system()", "python").safe).toBe(false);
    expect(policy.check("q = 'drop table users'", "python").safe).toBe(false);
    expect(policy.check("foo(1)", "python").safe).toBe(false);
    expect(regexp.pattern).toBe("\\bfoo\\(");
  });

  it("matches where the match begins in code; inStrings also inside literals; comments never", () => {
    const code = new SecurityPolicy({ severityThreshold: LOW, patterns: [{ pattern: "rm -rf", description: "x", severity: LOW }] });
    const strings = new SecurityPolicy({ severityThreshold: LOW, patterns: [{ pattern: "rm -rf", description: "x", severity: LOW, inStrings: true }] });
    const program = "import subprocess\nsubprocess.run('rm -rf /tmp/x', shell=True)";
    expect(code.check(program, "python").safe).toBe(true);
    expect(strings.check(program, "python").violations).toMatchObject([{ line: 2 }]);
    expect(strings.check("# rm -rf /", "python").safe).toBe(true);
  });

  it("reads on from code into literals (open(path, 'w'))", () => {
    const policy = getSecurityPolicy("production");
    expect(policy.check("open('out.txt', 'w')", "python").violations.map((v) => v.description)).toContain("File write or append");
    expect(policy.check("print(\"open('out.txt', 'w')\")", "python").safe).toBe(true);
  });

  it("applies to the languages it names; javascript covers typescript", () => {
    const policy = new SecurityPolicy({
      severityThreshold: LOW,
      patterns: [{ pattern: "\\beval\\s*\\(", description: "eval", severity: LOW, languages: ["js"] }],
      restrictedModules: [{ name: "os", severity: LOW, languages: ["python"] }],
    });
    expect(policy.check("eval('1')", "javascript").safe).toBe(false);
    expect(policy.check("eval('1')", "ts").safe).toBe(false);
    expect(policy.check("eval('1')", "python").safe).toBe(true);
    expect(policy.check("import os", "python").safe).toBe(false);
    expect(policy.check("package main\nimport \"os\"", "go").safe).toBe(true);
    expect(() => new SecurityPattern({ pattern: "x", description: "x", severity: LOW, languages: ["cobol"] })).toThrow(LanguageNotSupportedError);
    expect(() => policy.check("x", "cobol")).toThrow(LanguageNotSupportedError);
  });
});

describe("violations", () => {
  it("name the line and snippet, also inside literal code given to an evaluator", () => {
    const policy = new SecurityPolicy({ severityThreshold: LOW, restrictedModules: [{ name: "os", severity: HIGH }] });
    const result = policy.check("x = 1\n\nexec('import os')", "python");
    expect(result.violations).toEqual([
      { kind: "module", description: "Restricted module: os", severity: HIGH, module: "os", line: 3, snippet: "exec('import os')" },
    ]);
  });

  it("report line numbers of the input in C/C++ even across line splices", () => {
    const policy = new SecurityPolicy({ severityThreshold: LOW, patterns: [{ pattern: "\\bsystem\\s*\\(", description: "system", severity: HIGH }] });
    const [violation] = policy.check('int a = 1; \\\n int b;\n\nint main() { sys\\\ntem("id"); }', "cpp").violations;
    expect(violation).toMatchObject({ line: 4 });
  });

  it("report dynamic code only when the policy gives it a severity", () => {
    const code = "name = input()\n__import__(name)";
    expect(new SecurityPolicy({ severityThreshold: LOW }).check(code, "python").violations).toEqual([]);
    const reported = new SecurityPolicy({ severityThreshold: LOW, dynamicCodeSeverity: MEDIUM }).check(code, "python");
    expect(reported.safe).toBe(false);
    expect(reported.violations).toEqual([
      { kind: "dynamic-import", description: "Dynamic code: __import__ with a module name computed at run time", severity: MEDIUM, line: 2, snippet: "__import__(name)" },
    ]);
  });
});

describe("restricted libraries", () => {
  it("refuses installer arguments naming a blocking restricted module, whatever the version syntax", () => {
    const policy = new SecurityPolicy({
      severityThreshold: MEDIUM,
      restrictedModules: [
        { name: "requests", severity: HIGH, languages: ["python"] },
        { name: "python_jose", severity: HIGH, languages: ["python"] },
        { name: "child_process", severity: HIGH, languages: ["javascript"] },
        { name: "@evil/pkg", severity: HIGH, languages: ["javascript"] },
        { name: "httpx", severity: LOW, languages: ["python"] },
      ],
    });
    expect(policy.refusedLibraries(["Requests[socks]>=2.0", "python-jose==3", "numpy", "httpx"], "python").map((v) => v.snippet)).toEqual([
      "Requests[socks]>=2.0",
      "python-jose==3",
    ]);
    expect(policy.refusedLibraries(["@evil/pkg@1.2.3", "child_process@1.0.0", "lodash@4"], "javascript").map((v) => v.module)).toEqual([
      "@evil/pkg",
      "child_process",
    ]);
  });
});

describe("presets", () => {
  it("unknown names are refused with the list of presets", () => {
    expect(() => getSecurityPolicy("paranoid")).toThrow(ValidationError);
    expect(() => getSecurityPolicy("paranoid")).toThrow(
      "Unknown preset 'paranoid'. Available presets: minimal, development, educational, data_science, web_scraping, production, strict",
    );
    expect(listSecurityPresets()).toEqual(["minimal", "development", "educational", "data_science", "web_scraping", "production", "strict"]);
  });

  it("every call returns a fresh policy", () => {
    const a = getSecurityPolicy("production");
    a.addRestrictedModule({ name: "json", severity: HIGH });
    expect(getSecurityPolicy("production").check("import json", "python").safe).toBe(true);
    expect(a.check("import json", "python").safe).toBe(false);
  });

  it("keep the original's thresholds and Python patterns", () => {
    const thresholds = Object.fromEntries(listSecurityPresets().map((name) => [name, getSecurityPolicy(name).severityThreshold]));
    expect(thresholds).toEqual({ minimal: HIGH, development: HIGH, educational: MEDIUM, data_science: MEDIUM, web_scraping: MEDIUM, production: LOW, strict: LOW });
    const production = getSecurityPolicy("production").patterns.filter((p) => p.appliesTo("python")).map((p) => [p.pattern, p.severity]);
    expect(production).toEqual(
      expect.arrayContaining([
        ["\\bos\\.system\\s*\\(", HIGH],
        ["\\bsubprocess\\.(run|call|Popen|check_output)\\s*\\(", HIGH],
        ["\\beval\\s*\\(", MEDIUM],
        ["\\bexec\\s*\\(", MEDIUM],
        ["\\bopen\\s*\\([^)]*['\"][wa]['\"][^)]*\\)", MEDIUM],
        ["\\bos\\.(remove|unlink|rmdir)\\s*\\(", HIGH],
        ["\\bos\\.environ", LOW],
        ["\\bsocket\\.socket\\s*\\(", MEDIUM],
      ]),
    );
    const modules = getSecurityPolicy("strict").restrictedModules.filter((m) => m.appliesTo("python")).map((m) => m.name);
    expect(modules).toEqual(expect.arrayContaining(["os", "sys", "subprocess", "ctypes", "socket", "urllib", "requests", "multiprocessing", "threading", "pickle", "marshal", "shelve"]));
  });

  const HELLO: Readonly<Record<SupportedLanguage, string>> = {
    python: "print('hello')",
    javascript: "console.log('hello')",
    typescript: "const s: string = 'hello'; console.log(s)",
    java: 'public class Main { public static void main(String[] args) { System.out.println("hello"); } }',
    cpp: '#include <iostream>\nint main() { std::cout << "hello" << std::endl; return 0; }',
    go: 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }',
    r: "cat('hello\\n')",
    ruby: "puts 'hello'",
    bash: "echo hello",
  };
  const SHELL_OUT: Readonly<Record<SupportedLanguage, string>> = {
    python: "import subprocess\nsubprocess.run(['id'])",
    javascript: "require('child_process').execSync('id')",
    typescript: "import { execSync } from 'node:child_process'; execSync('id')",
    java: 'class Main { public static void main(String[] a) throws Exception { new ProcessBuilder("id").start(); } }',
    cpp: '#include <cstdlib>\nint main() { return system("id"); }',
    go: 'package main\nimport "os/exec"\nfunc main() { exec.Command("id").Run() }',
    r: "system('id')",
    ruby: "system('id')",
    bash: "sudo id",
  };

  it.each(listSecurityPresets())("%s covers every language: hello world passes", (name) => {
    const policy = getSecurityPolicy(name);
    for (const language of Object.values(SupportedLanguage)) {
      expect(policy.patterns.some((p) => p.appliesTo(language)) || policy.restrictedModules.some((m) => m.appliesTo(language)), `${name} has rules for ${language}`).toBe(true);
      const result = policy.check(HELLO[language], language);
      expect(result.violations, `${name}/${language}`).toEqual([]);
    }
  });

  it.each(["development", "educational", "data_science", "web_scraping", "production", "strict"])("%s blocks running other programs in every language", (name) => {
    const policy = getSecurityPolicy(name);
    for (const language of Object.values(SupportedLanguage)) {
      if (name === "development" && language === "python") continue; // the original's development preset allows subprocess
      expect(policy.check(SHELL_OUT[language], language).safe, `${name}/${language}`).toBe(false);
    }
  });
});
