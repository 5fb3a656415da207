import {
  CommandEmptyError,
  createSession,
  LanguageNotSupportedError,
  LibraryInstallationError,
  NotOpenSessionError,
  OutputDecodingError,
  SandboxAbortError,
  SandboxError,
  SandboxTimeoutError,
  ValidationError,
} from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { sandboxProcesses, sharedSession, withSession } from "../../../../test/helpers/sessions.js";

describe("python runs (real engine)", async () => {
  const session = await sharedSession({ lang: "python" });

  it("prints Hello, World!", async () => {
    const result = await session.run("print('Hello, World!')");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("Hello, World!\n");
    expect(result.stderr).toBe("");
    expect(result.plots).toEqual([]);
    expect(result.success()).toBe(true);
  });

  it("reports an exception as data: exit 1, traceback in stderr, parsed error", async () => {
    const result = await session.run("x = 1\nprint(1/0)");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("ZeroDivisionError");
    expect(result.stderr).toContain("line 2");
    expect(result.error).toMatchObject({ name: "ZeroDivisionError", message: "division by zero" });
  });

  it.each([false, true])("keeps the exit code of sys.exit(7) (streaming: %s)", async (streaming) => {
    const chunks: string[] = [];
    const result = await session.run("import sys\nprint('bye')\nsys.exit(7)", streaming ? { onStdout: (t) => chunks.push(t) } : {});
    expect(result.exitCode).toBe(7);
    expect(result.stdout).toBe("bye\n");
    if (streaming) expect(chunks.join("")).toBe("bye\n");
  });

  it("streams output while the program runs", async () => {
    const chunks: string[] = [];
    const result = await session.run("for i in range(3): print(i, flush=True)", { onStdout: (text) => chunks.push(text) });
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.join("")).toBe(result.stdout);
    expect(result.stdout).toBe("0\n1\n2\n");
  });

  it("delivers stdout before the program ends", async () => {
    let firstChunkAt = 0;
    const started = Date.now();
    const result = await session.run("import time\nprint('early', flush=True)\ntime.sleep(1.5)\nprint('late')", {
      onStdout: () => (firstChunkAt ||= Date.now() - started),
    });
    expect(result.stdout).toBe("early\nlate\n");
    expect(firstChunkAt).toBeGreaterThan(0);
    expect(result.durationMs - firstChunkAt).toBeGreaterThan(1000);
  });

  it("kills a program that exceeds its timeout, and the session stays usable", async () => {
    const started = Date.now();
    const error = await session.run("print('spinning', flush=True)\nwhile True: pass", { timeout: 2 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(SandboxTimeoutError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxTimeoutError).timeoutDuration).toBe(2);
    expect((error as SandboxTimeoutError).partialOutput?.stdout).toBe("spinning\n");
    expect(elapsed).toBeLessThan(4500);
    expect(await sandboxProcesses(session)).not.toContainEqual(expect.stringContaining(".sandbox-"));
    const next = await session.run("print('still here')");
    expect(next.stdout).toBe("still here\n");
  });

  it("a timeout also kills children, including ones that start their own session", async () => {
    const code = [
      "import subprocess, time",
      "subprocess.Popen(['sleep', '1001'])",
      "subprocess.Popen(['setsid', 'sleep', '1002'])",
      "time.sleep(60)",
    ].join("\n");
    await expect(session.run(code, { timeout: 2 })).rejects.toSatisfy(SandboxTimeoutError.isInstance);
    const left = await sandboxProcesses(session);
    expect(left.filter((p) => /sleep 100[12]/.test(p))).toEqual([]);
  });

  it("an abort signal stops the program inside the sandbox", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1000);
    const error = await session.run("import time\ntime.sleep(30)", { signal: controller.signal }).catch((e: unknown) => e);
    expect(SandboxAbortError.isInstance(error)).toBe(true);
    expect(await sandboxProcesses(session)).not.toContainEqual(expect.stringContaining(".sandbox-"));
  });

  it("truncates output beyond the cap and flags it", async () => {
    await withSession({ lang: "python", maxOutputBytes: 1000 }, async (small) => {
      const result = await small.run("import sys\nsys.stdout.write('x' * 50000)\nsys.stderr.write('e' * 10)");
      expect(result.stdoutTruncated).toBe(true);
      expect(result.stdout).toBe("x".repeat(1000));
      expect(result.stderr).toBe("e".repeat(10));
      expect(result.stderrTruncated).toBe(false);
    });
  });

  it("decodes invalid UTF-8 according to encodingErrors", async () => {
    const code = "import sys\nsys.stdout.buffer.write(b'hello\\xff\\xfeworld \\xe2\\x82\\xac')";
    expect((await session.run(code)).stdout).toBe("hello\uFFFD\uFFFDworld €");
    await withSession({ lang: "python", encodingErrors: "backslashreplace" }, async (s) => {
      expect((await s.run(code)).stdout).toBe("hello\\xff\\xfeworld €");
    });
    await withSession({ lang: "python", encodingErrors: "ignore" }, async (s) => {
      expect((await s.run(code)).stdout).toBe("helloworld €");
    });
    await withSession({ lang: "python", encodingErrors: "strict" }, async (s) => {
      const error = await s.run(code).catch((e: unknown) => e);
      expect(OutputDecodingError.isInstance(error)).toBe(true);
      expect(Buffer.from((error as OutputDecodingError).raw.stdout).toString("latin1")).toBe("hello\xff\xfeworld \xe2\x82\xac");
      expect((error as OutputDecodingError).offset).toBe(5);
    });
  });

  it("never leaves code files in the workdir", async () => {
    await session.run("print(1)");
    await session.run("raise SystemExit(3)");
    const listing = await session.executeCommand("ls -A /sandbox");
    expect(listing.stdout.split("\n").filter((name) => name.startsWith(".sandbox-") && name !== ".sandbox-venv")).toEqual([]);
  });

  it("runs code that imports a module from the workdir", async () => {
    await session.executeCommand("echo 'VALUE = 41' > helper_mod.py");
    expect((await session.run("import helper_mod\nprint(helper_mod.VALUE + 1)")).stdout).toBe("42\n");
  });

  it("has the scientific stack importable", async () => {
    const result = await session.run("import numpy, pandas, matplotlib, seaborn, plotly, scipy, PIL\nprint(numpy.arange(3).sum())");
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("3\n");
  });

  it("reports a library that cannot be installed, naming it", async () => {
    const error = await session.run("print(1)", { libraries: ["surely-not-a-real-package-4f2a"] }).catch((e: unknown) => e);
    expect(LibraryInstallationError.isInstance(error)).toBe(true);
    expect((error as LibraryInstallationError).message).toContain("surely-not-a-real-package-4f2a");
    expect((error as LibraryInstallationError).libraries).toEqual(["surely-not-a-real-package-4f2a"]);
  });

  it("executeCommand: a string goes through the shell, an array does not", async () => {
    expect((await session.executeCommand("echo a && echo b | tr b c")).stdout).toBe("a\nc\n");
    expect((await session.executeCommand(["echo", "a && b", "$HOME"])).stdout).toBe("a && b $HOME\n");
    expect((await session.executeCommand("exit 3")).exitCode).toBe(3);
    expect((await session.executeCommand(["pwd"], { workdir: "/tmp" })).stdout).toBe("/tmp\n");
  });

  it("executeCommands stops at the first failure", async () => {
    const result = await session.executeCommands(["echo one", "sh -c 'echo two; exit 4'", "echo three"]);
    expect(result.exitCode).toBe(4);
    expect(result.stdout).toBe("two\n");
    expect((await session.executeCommands([])).exitCode).toBe(0);
    expect((await session.executeCommands([{ command: "pwd", workdir: "/tmp" }])).stdout).toBe("/tmp\n");
  });

  it("rejects empty commands and empty code with typed errors", async () => {
    await expect(session.executeCommand("  ")).rejects.toSatisfy(CommandEmptyError.isInstance);
    await expect(session.executeCommand([])).rejects.toSatisfy(CommandEmptyError.isInstance);
    await expect(session.run("")).rejects.toSatisfy(ValidationError.isInstance);
  });

  it("runs operations of one session one at a time, in call order", async () => {
    const order: string[] = [];
    await Promise.all([
      session.run("import time\ntime.sleep(0.5)\nprint('a')").then((r) => order.push(r.stdout.trim())),
      session.run("print('b')").then((r) => order.push(r.stdout.trim())),
    ]);
    expect(order).toEqual(["a", "b"]);
  });
});

describe("javascript and typescript runs (real engine)", () => {
  it("runs JavaScript", async () => {
    await withSession({ lang: "javascript" }, async (session) => {
      const result = await session.run("console.log(1+1)");
      expect(result).toMatchObject({ exitCode: 0, stdout: "2\n" });
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

describe("session lifecycle errors", () => {
  it("run before open → NotOpenSessionError", async () => {
    const session = createSession({ lang: "python" });
    await expect(session.run("print(1)")).rejects.toSatisfy(NotOpenSessionError.isInstance);
    await session.close();
  });

  it("unknown language → LanguageNotSupportedError", () => {
    expect(() => createSession({ lang: "cobol" })).toThrow(LanguageNotSupportedError);
  });

  it("bad options → one ValidationError naming each problem", () => {
    const error = (() => {
      try {
        createSession({ lang: "python", image: "a", dockerfile: "b", defaultTimeout: -1, runtimeConfigs: { memory: "lots" } } as never);
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toContain("Only one of 'image' or 'dockerfile'");
    expect(error.message).toContain("defaultTimeout");
    expect(error.message).toContain("memory");
  });

  it("unknown options are refused instead of silently ignored", () => {
    expect(() => createSession({ lang: "python", kubeNamespce: "x" } as never)).toThrow(/kubeNamespce/);
  });

  it("after close, operations fail with NotOpenSessionError and close is idempotent", async () => {
    const session = await createSession({ lang: "python" }).open();
    await session.close();
    await session.close();
    await expect(session.run("print(1)")).rejects.toSatisfy(NotOpenSessionError.isInstance);
  });

  it("closes itself when sessionTimeout elapses", async () => {
    const session = await createSession({ lang: "python", sessionTimeout: 1 }).open();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const error = await session.run("print(1)").catch((e: unknown) => e);
    expect(NotOpenSessionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("maximum lifetime of 1 seconds");
    await session.close();
  });

  it("await using closes the session", async () => {
    let id: string | undefined;
    {
      await using session = await createSession({ lang: "python" }).open();
      id = session.containerId;
      expect((await session.run("print(5)")).stdout).toBe("5\n");
    }
    const { engineClient } = await import("@llm-sandbox/core");
    await expect(engineClient().getContainer(id!).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
