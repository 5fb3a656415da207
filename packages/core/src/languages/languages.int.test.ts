import { SupportedLanguage } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { sharedSession, withSession } from "../../../../test/helpers/sessions.js";

interface LanguageCase {
  readonly hello: string;
  /** A program that prints something, then fails at run time. */
  readonly failing: string;
  readonly errorText: RegExp;
  readonly errorName?: string;
}

const CASES: Record<SupportedLanguage, LanguageCase> = {
  python: {
    hello: 'print("Hello, World!")',
    failing: 'print("before")\nraise ValueError("bad value")',
    errorText: /ValueError: bad value/,
    errorName: "ValueError",
  },
  javascript: {
    hello: 'console.log("Hello, World!")',
    failing: 'console.log("before")\nthrow new RangeError("bad value")',
    errorText: /RangeError: bad value/,
    errorName: "RangeError",
  },
  typescript: {
    hello: 'const greeting: string = "Hello, World!";\nconsole.log(greeting);',
    failing: 'console.log("before");\nconst n: number = 1;\nthrow new RangeError(`bad value ${n}`);',
    errorText: /RangeError: bad value 1/,
    errorName: "RangeError",
  },
  java: {
    hello: 'public class Main { public static void main(String[] args) { System.out.println("Hello, World!"); } }',
    failing:
      'public class Main { public static void main(String[] args) { System.out.println("before"); int zero = 0; System.out.println(1 / zero); } }',
    errorText: /java\.lang\.ArithmeticException: \/ by zero/,
    errorName: "java.lang.ArithmeticException",
  },
  cpp: {
    hello: '#include <iostream>\nint main() { std::cout << "Hello, World!" << std::endl; }',
    failing:
      '#include <iostream>\n#include <stdexcept>\nint main() { std::cout << "before" << std::endl; throw std::runtime_error("bad value"); }',
    errorText: /what\(\):\s+bad value/,
    errorName: "std::runtime_error",
  },
  go: {
    hello: 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("Hello, World!") }',
    failing: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("before")\n\tvar m map[string]int\n\tm["x"] = 1\n}',
    errorText: /panic: assignment to entry in nil map/,
    errorName: "panic",
  },
  ruby: {
    hello: 'puts "Hello, World!"',
    failing: 'puts "before"\nraise ArgumentError, "bad value"',
    errorText: /bad value \(ArgumentError\)/,
    errorName: "ArgumentError",
  },
  r: {
    hello: 'cat("Hello, World!\\n")',
    failing: 'cat("before\\n")\nstop("bad value")',
    errorText: /Error: bad value/,
    errorName: "Error",
  },
  bash: {
    hello: 'echo "Hello, World!"',
    failing: 'echo before\ncat /no/such/file',
    errorText: /No such file or directory/,
  },
};

describe.each(Object.values(SupportedLanguage))("%s (real engine)", async (lang) => {
  const session = await sharedSession({ lang });
  const { hello, failing, errorText, errorName } = CASES[lang];

  it("prints Hello, World! with exit code 0", async () => {
    const result = await session.run(hello);
    expect(result.stderr).toBe("");
    expect(result).toMatchObject({ exitCode: 0, stdout: "Hello, World!\n" });
  });

  it("reports a runtime error: non-zero exit, the error in stderr, the output before it kept", async () => {
    const result = await session.run(failing);
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toBe("before\n");
    expect(result.stderr).toMatch(errorText);
    if (errorName) expect(result.error?.name).toBe(errorName);
  });

  it("leaves no code file behind", async () => {
    await session.run(hello);
    const listing = await session.executeCommand("ls -A");
    expect(listing.stdout).not.toMatch(/sandbox-[0-9a-f]{16}/);
  });
});

describe("java specifics (real engine)", async () => {
  const session = await sharedSession({ lang: "java" });

  it("runs a public class of any name", async () => {
    const result = await session.run('public class Anything { public static void main(String[] a) { System.out.println("ok"); } }');
    expect(result).toMatchObject({ exitCode: 0, stdout: "ok\n", stderr: "" });
  });

  it("runs main of the public class even when other classes come first, and code in a package", async () => {
    const code = [
      "package demo.app;",
      "import java.util.List;",
      "class Helper { static int answer() { return 42; } }",
      "interface Shape { double area(); }",
      "public class Application {",
      "  public static void main(String[] args) { System.out.println(List.of(Helper.answer())); }",
      "}",
    ].join("\n");
    const result = await session.run(code);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("[42]\n");
  });

  it("without a public class, runs the class that has main", async () => {
    const result = await session.run('class A { }\nclass B { public static void main(String[] a) { System.out.println("b"); } }');
    expect(result).toMatchObject({ exitCode: 0, stdout: "b\n" });
  });

  it("reports a compile error and runs nothing", async () => {
    const result = await session.run('public class Broken { public static void main(String[] a) { System.out.println("ran") int x = 0; } }');
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("error: ';' expected");
    expect(result.error?.name).toBe("CompileError");
  });
});

describe("cpp specifics (real engine)", async () => {
  const session = await sharedSession({ lang: "cpp" });
  const builds = async () => (await session.executeCommand("ls /tmp/.sandbox-build/cpp 2>/dev/null | wc -l")).stdout.trim();

  it("a syntax error: non-zero exit, the compiler's error in stderr, nothing ran", async () => {
    const result = await session.run('#include <cstdio>\nint main() { std::puts("ran"); int x = ; }');
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("error");
    expect(result.error).toMatchObject({ name: "CompileError", message: expect.stringContaining("expected primary-expression") });
    expect(await builds()).toBe("0");
  });

  it("compiles C++17 and keeps the build: the same program runs again without compiling", async () => {
    const code = '#include <iostream>\n#include <optional>\nint main() { std::optional<int> v = 7; if (auto x = v; x) std::cout << *x << "\\n"; }';
    expect((await session.run(code)).stdout).toBe("7\n");
    expect(await builds()).toBe("1");
    expect((await session.run(code)).stdout).toBe("7\n");
    expect(await builds()).toBe("1");
    expect((await session.run(code.replace("7", "8"))).stdout).toBe("8\n");
    expect(await builds()).toBe("2");
  });

  it("builds again when a header in the workdir changes", async () => {
    const code = '#include <cstdio>\n#include "helper.h"\nint main() { std::printf("%d\\n", VALUE); }';
    await session.executeCommand("echo '#define VALUE 1' > helper.h");
    expect((await session.run(code)).stdout).toBe("1\n");
    await session.executeCommand("echo '#define VALUE 22' > helper.h");
    expect((await session.run(code)).stdout).toBe("22\n");
  });

  it("returns the program's own exit code", async () => {
    expect((await session.run("int main() { return 3; }")).exitCode).toBe(3);
  });
});

describe("go specifics (real engine)", async () => {
  const session = await sharedSession({ lang: "go" });

  it("sets up a module in the workdir on open", async () => {
    const goMod = await session.executeCommand("cat /sandbox/go.mod");
    expect(goMod.exitCode).toBe(0);
    expect(goMod.stdout).toMatch(/^module sandbox\n/);
  });

  it("builds programs inside the module: packages in the workdir import as sandbox/<dir>, and changes are seen", async () => {
    const code = 'package main\n\nimport (\n\t"fmt"\n\n\t"sandbox/mathx"\n)\n\nfunc main() { fmt.Println(mathx.Double(21)) }';
    await session.executeCommand("mkdir -p mathx && printf 'package mathx\\n\\nfunc Double(n int) int { return 2 * n }\\n' > mathx/mathx.go");
    expect((await session.run(code)).stdout).toBe("42\n");
    await session.executeCommand("printf 'package mathx\\n\\nfunc Double(n int) int { return 3 * n }\\n' > mathx/mathx.go");
    expect((await session.run(code)).stdout).toBe("63\n");
  });

  it("returns the program's own exit code (not go run's 1)", async () => {
    const result = await session.run('package main\n\nimport "os"\n\nfunc main() { os.Exit(4) }');
    expect(result.exitCode).toBe(4);
  });

  it("reports a compile error", async () => {
    const result = await session.run('package main\n\nfunc main() { undefinedThing() }');
    expect(result.exitCode).not.toBe(0);
    expect(result.error).toMatchObject({ name: "CompileError", message: "undefined: undefinedThing" });
  });

  it("skips the go.mod set-up when environment set-up is skipped", async () => {
    await withSession({ lang: "go", skipEnvironmentSetup: true }, async (bare) => {
      expect((await bare.executeCommand("test -e /sandbox/go.mod")).exitCode).not.toBe(0);
    });
  });
});

describe("languages (real engine)", () => {
  it("python has the scientific stack importable", async () => {
    await withSession({ lang: "python" }, async (session) => {
      const result = await session.run("import numpy, pandas, matplotlib, seaborn, plotly, scipy, PIL\nprint(numpy.arange(3).sum())");
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("3\n");
    });
  });

  it("runs JavaScript, with its errors parsed", async () => {
    await withSession({ lang: "javascript" }, async (session) => {
      expect(await session.run("console.log(1+1)")).toMatchObject({ exitCode: 0, stdout: "2\n" });
      const failing = await session.run("null.x");
      expect(failing.exitCode).toBe(1);
      expect(failing.error?.name).toBe("TypeError");
    });
  });

  it("runs TypeScript, including type-only syntax and enums", async () => {
    await withSession({ lang: "typescript" }, async (session) => {
      const code = [
        "type Point = { x: number; y: number };",
        "interface Named { name: string }",
        "enum Color { Red = 'red' }",
        "const x: number = 2;",
        "const p: Point = { x, y: 3 };",
        "function greet<T extends Named>(n: T): string { return `hi ${n.name}`; }",
        "console.log(x, p.y, Color.Red, greet({ name: 'ts' }));",
      ].join("\n");
      const result = await session.run(code);
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("2 3 red hi ts\n");
    });
  });
});
