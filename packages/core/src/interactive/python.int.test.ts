import {
  createSession,
  InteractiveSandboxSession,
  type InteractiveSessionOptions,
  KernelDiedError,
  NotOpenSessionError,
  SandboxAbortError,
  SandboxTimeoutError,
  SecurityViolationError,
  ValidationError,
} from "@llm-sandbox/core";
import { engineClient } from "@llm-sandbox/core/backends";
import { execFile } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { sandboxProcesses } from "../../../../test/helpers/sessions.js";

async function openSession(options: InteractiveSessionOptions = {}): Promise<InteractiveSandboxSession> {
  return new InteractiveSandboxSession({ lang: "python", ...options }).open();
}

async function withInteractive<T>(options: InteractiveSessionOptions, use: (session: InteractiveSandboxSession) => Promise<T>): Promise<T> {
  const session = await openSession(options);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

describe("interactive Python sessions (real engine)", async () => {
  const session = await openSession();
  afterAll(() => session.close());

  it("keeps state between cells; %who lists it", async () => {
    const assign = await session.run("value = 21 * 2");
    expect(assign.exitCode).toBe(0);
    expect(assign.stdout).toBe("");
    const printed = await session.run("print(value)");
    expect(printed.stdout).toBe("42\n");
    const who = await session.run("%who");
    expect(who.stdout.split(/\s+/)).toContain("value");
  });

  it("an exception is data (exit 1, traceback on stderr, parsed error) and the state survives it", async () => {
    await session.run("x = 10");
    const failed = await session.run("y = x / 0");
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain("ZeroDivisionError");
    expect(failed.stderr).toContain("----> 1 y = x / 0");
    expect(failed.error).toMatchObject({ name: "ZeroDivisionError", message: "division by zero" });
    expect(failed.error?.traceback).toContain("ZeroDivisionError");
    expect((await session.run("print(x)")).stdout).toBe("10\n");
    const syntax = await session.run("def broken(:");
    expect(syntax.exitCode).toBe(1);
    expect(syntax.error?.name).toBe("SyntaxError");
  });

  it("returns the last expression's value as text, not as an Out[n] print", async () => {
    const result = await session.run("a = [1, 2]\na + [3]");
    expect(result.value).toBe("[1, 2, 3]");
    expect(result.stdout).toBe("");
    expect((await session.run("None")).value).toBeUndefined();
    expect((await session.run("'text'")).value).toBe("'text'");
    expect((await session.run("_")).value).toBe("'text'"); // IPython's output history works
  });

  it("runs IPython magics: %pwd, !cmd, %%timeit, %reset -f", async () => {
    expect((await session.run("%pwd")).value).toBe("'/sandbox'");
    await session.executeCommand("echo hi > /sandbox/listed.txt");
    const shell = await session.run("!ls /sandbox; ls /nonexistent");
    expect(shell.stdout).toContain("listed.txt\n");
    expect(shell.stdout).not.toContain("\r");
    expect(shell.stderr).toContain("No such file or directory");
    const timeit = await session.run("%%timeit -n 3 -r 2\nsum(range(100))");
    expect(timeit.exitCode).toBe(0);
    expect(timeit.stdout).toMatch(/per loop/);
    await session.run("doomed = 1");
    await session.run("%reset -f");
    const gone = await session.run("doomed");
    expect(gone.exitCode).toBe(1);
    expect(gone.error?.name).toBe("NameError");
  });

  it("streams output while the cell runs, line by line", async () => {
    const arrivals: { text: string; at: number }[] = [];
    const started = Date.now();
    const result = await session.run("import time\nfor i in range(3):\n    print(f'line {i}')\n    time.sleep(0.5)", {
      onStdout: (text) => arrivals.push({ text, at: Date.now() - started }),
    });
    const ended = Date.now() - started;
    expect(arrivals.map((a) => a.text)).toEqual(["line 0\n", "line 1\n", "line 2\n"]);
    expect(result.stdout).toBe("line 0\nline 1\nline 2\n");
    expect(ended - arrivals[0]!.at).toBeGreaterThan(1000);
    expect(ended - arrivals[1]!.at).toBeGreaterThan(400);
  });

  it("interrupts a cell over its timeout (KeyboardInterrupt) and keeps the state", async () => {
    await session.run("kept = 'still here'");
    const started = Date.now();
    const error = await session.run("import time; time.sleep(5)", { timeout: 1 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(SandboxTimeoutError.isInstance(error)).toBe(true);
    expect((error as SandboxTimeoutError).timeoutDuration).toBe(1);
    expect((error as SandboxTimeoutError).message).toMatch(/interrupted; the kernel keeps its state/);
    expect((error as SandboxTimeoutError).partialOutput?.stderr).toContain("KeyboardInterrupt");
    expect(elapsed).toBeLessThan(3000);
    expect((await session.run("print(kept)")).stdout).toBe("still here\n");
  });

  it("applies the interactive settings: cell timeout when run() gives none, output history size", async () => {
    await withInteractive({ interactiveSettings: { timeout: 1, historySize: 3 } }, async (short) => {
      const error = await short.run("import time; time.sleep(5)").catch((e: unknown) => e);
      expect(SandboxTimeoutError.isInstance(error)).toBe(true);
      expect((error as SandboxTimeoutError).timeoutDuration).toBe(1);
      for (let i = 0; i < 6; i++) await short.run(String(i));
      expect(Number((await short.run("len(Out)")).value)).toBeLessThanOrEqual(3);
    });
  });

  it("an abort signal interrupts the cell: SandboxAbortError with partial output, state kept", async () => {
    await session.run("counter = 7");
    const controller = new AbortController();
    const run = session.run("import time\nprint('started', flush=True)\ntime.sleep(10)", {
      signal: controller.signal,
      onStdout: () => controller.abort(new Error("user cancelled")),
    });
    const error = await run.catch((e: unknown) => e);
    expect(SandboxAbortError.isInstance(error)).toBe(true);
    expect((error as SandboxAbortError).partialOutput?.stdout).toBe("started\n");
    expect((await session.run("counter")).value).toBe("7");
  });

  it("returns matplotlib figures as PNG plots with size and resolution, no GUI", async () => {
    const result = await session.run(
      "import matplotlib.pyplot as plt\nfor n in (1, 2):\n    plt.figure(figsize=(4, 3), dpi=100)\n    plt.plot([1, 2, n])\n    plt.show()\nplt.figure()\nplt.bar([1], [2])",
    );
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe("");
    // Two from plt.show(), one left open at the end of the cell.
    expect(result.plots).toHaveLength(3);
    for (const plot of result.plots) {
      expect(plot).toMatchObject({ format: "png", dpi: 100, library: "matplotlib" });
      expect(Buffer.from(plot.contentBase64, "base64").subarray(1, 4).toString()).toBe("PNG");
      expect(plot.width).toBeGreaterThan(200);
      expect(plot.height).toBeGreaterThan(150);
    }
    expect(result.plots[0]!.width).toBeLessThan(result.plots[2]!.width!); // 4x3 in vs the default 6.4x4.8 in
    expect((await session.run("print(len(plt.get_fignums()))")).stdout).toBe("0\n");
  });

  it("returns display()ed images, and a figure as the last expression, as plots", async () => {
    const shown = await session.run(
      "from IPython.display import display, SVG\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([3, 1])\ndisplay(fig)\ndisplay(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"/>'))\ndisplay('plain text')",
    );
    expect(shown.plots.map((p) => p.format)).toEqual(["png", "svg"]);
    expect(Buffer.from(shown.plots[1]!.contentBase64, "base64").toString()).toContain("<svg");
    expect(shown.stdout).toBe("'plain text'\n");
    const value = await session.run("fig");
    expect(value.plots).toHaveLength(1);
    expect(value.value).toBeUndefined();
  });

  it("keeps the kernel's channel apart from anything user code or its children write", async () => {
    // Bytes shaped like a frame, raw writes to fd 1/2, and a child process: all plain output.
    const forged = "R\\x00\\x00\\x00\\x02{}";
    const result = await session.run(
      `import os, subprocess\nos.write(1, b"${forged}\\n")\nos.write(2, b"to fd 2\\n")\nsubprocess.run(["sh", "-c", "echo child out; echo child err >&2"])`,
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`R\u0000\u0000\u0000\u0002{}\n`);
    expect(result.stdout).toContain("child out\n");
    expect(result.stderr).toContain("to fd 2\n");
    expect(result.stderr).toContain("child err\n");
    // stdin is /dev/null: input() fails at once instead of reading the kernel's commands.
    const read = await session.run("input()");
    expect(read.error?.name).toBe("EOFError");
    expect((await session.run("1 + 1")).value).toBe("2");
  });

  it("decodes and caps output like a plain run", async () => {
    await withInteractive({ maxOutputBytes: 1000 }, async (small) => {
      const flood = await small.run("print('x' * 5000)\nimport os\nos.write(2, b'\\xff\\xfe bad\\n')");
      expect(flood.stdout).toHaveLength(1000);
      expect(flood.stdoutTruncated).toBe(true);
      expect(flood.stderr).toBe("\uFFFD\uFFFD bad\n");
      const value = await small.run("'y' * 5000");
      expect(value.value!.length).toBeLessThan(1100);
      expect(value.value).toMatch(/\[truncated\]$/);
    });
  });

  it("delivers output written between cells (background threads) with the next cell", async () => {
    await session.run("import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.3), print('from the background'))).start()");
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await session.run("print('next')")).stdout).toBe("from the background\nnext\n");
  });

  it("validates input before anything runs", async () => {
    for (const code of ["", "   ", 42 as unknown as string]) {
      expect(ValidationError.isInstance(await session.run(code).catch((e: unknown) => e))).toBe(true);
    }
    expect(ValidationError.isInstance(await session.run("1", { libraries: ["--index-url=evil"] }).catch((e: unknown) => e))).toBe(true);
  });

  it("imports libraries installed while the kernel runs", async () => {
    // A local wheel (PyPI is unreachable here) goes through the session's installer into its virtualenv.
    const wheel = "/tmp/llmsbx_demo-1.0-py3-none-any.whl";
    const build = await session.executeCommand([
      "python3",
      "-c",
      `import zipfile
with zipfile.ZipFile("${wheel}", "w") as z:
    z.writestr("llmsbx_demo/__init__.py", "ANSWER = 42\\n")
    z.writestr("llmsbx_demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: llmsbx-demo\\nVersion: 1.0\\n")
    z.writestr("llmsbx_demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr("llmsbx_demo-1.0.dist-info/RECORD", "")`,
    ]);
    expect(build.stderr).toBe("");
    expect((await session.run("import llmsbx_demo")).error?.name).toBe("ModuleNotFoundError");
    const result = await session.run("import llmsbx_demo\nllmsbx_demo.ANSWER", { libraries: [wheel] });
    expect(result.stderr).toBe("");
    expect(result.value).toBe("42");
  });

  it("executeCommand and the kernel share the sandbox", async () => {
    await session.run("open('/sandbox/from_kernel.txt', 'w').write('k')");
    expect((await session.executeCommand("cat /sandbox/from_kernel.txt")).stdout).toBe("k");
    expect(session.kernelInfo).toMatchObject({ language: "python", version: expect.stringContaining("IPython") });
    expect(await sandboxProcesses(session)).toContainEqual(expect.stringContaining("llm-sandbox-kernel.py"));
  });
});

describe("interactive Python: security policy (real engine)", () => {
  it("refuses blocked code before it reaches the kernel; allowed cells still run", async () => {
    await withInteractive({ securityPolicy: "production" }, async (guarded) => {
      const error = await guarded.run("import subprocess\nsubprocess.run(['id'])").catch((e: unknown) => e);
      expect(SecurityViolationError.isInstance(error)).toBe(true);
      expect((await guarded.run("21 * 2")).value).toBe("42");
      expect((await guarded.run("'subprocess' in dir()")).value).toBe("False");
    });
  });
});

describe("interactive Python: kernel failures (real engine)", () => {
  it("a cell that ignores the interrupt costs the kernel: it is restarted, the timeout says so", async () => {
    await withInteractive({}, async (session) => {
      await session.run("before = 1");
      const stubborn = "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        pass";
      const error = await session.run(stubborn, { timeout: 1 }).catch((e: unknown) => e);
      expect(SandboxTimeoutError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/kernel was restarted and its state is lost/);
      const after = await session.run("before");
      expect(after.error?.name).toBe("NameError");
      expect(await sandboxProcesses(session)).not.toContainEqual(expect.stringContaining("time.sleep"));
    });
  });

  it("a kernel killed for memory is reported on that cell and the next; restart() gives a fresh one", async () => {
    await withInteractive({ interactiveSettings: { maxMemory: "256m" } }, async (session) => {
      await session.run("x = 1");
      const error = await session.run("import time\nprint('allocating', flush=True)\ntime.sleep(0.5)\nblob = b'x' * (1024 * 1024 * 1024)").catch((e: unknown) => e);
      expect(KernelDiedError.isInstance(error)).toBe(true);
      expect((error as KernelDiedError).exitCode).toBe(137);
      expect((error as KernelDiedError).message).toMatch(/out of memory: the sandbox's limit is 256m/);
      expect((error as KernelDiedError).partialOutput?.stdout).toBe("allocating\n");
      const next = await session.run("print(x)").catch((e: unknown) => e);
      expect(KernelDiedError.isInstance(next)).toBe(true);
      expect((next as Error).message).toMatch(/died earlier.*call restart\(\)/s);
      expect(session.kernelInfo).toBeUndefined();
      await session.restart();
      expect((await session.run("'x' in globals()")).value).toBe("False");
      expect((await session.run("print('fresh')")).stdout).toBe("fresh\n");
    });
  });

  it("in a container it only attached to, close() stops the kernel and leaves the container running", async () => {
    const docker = engineClient();
    const container = await docker.createContainer({
      Image: "llm-sandbox/python:latest",
      Labels: { "org.llm-sandbox.managed": "true", "org.llm-sandbox.owner-pid": String(process.pid) },
    });
    try {
      await withInteractive({ containerId: container.id }, async (session) => {
        expect((await session.run("21 * 2")).value).toBe("42");
      });
      expect((await container.inspect()).State.Running).toBe(true);
      const observer = await createSession({ lang: "python", containerId: container.id }).open();
      try {
        expect(await sandboxProcesses(observer)).not.toContainEqual(expect.stringContaining("llm-sandbox-kernel"));
      } finally {
        await observer.close();
      }
    } finally {
      await container.remove({ force: true });
    }
  });

  it("a program that forgets close() still ends, and its container is removed (built package)", async () => {
    const dist = pathToFileURL(fileURLToPath(new URL("../../dist/index.js", import.meta.url))).href;
    const script = `import { InteractiveSandboxSession } from ${JSON.stringify(dist)};
const session = await new InteractiveSandboxSession().open();
console.log(session.containerId);
console.log((await session.run("21 * 2")).value);`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { timeout: 60_000 });
    const [id, value] = stdout.trim().split("\n");
    expect(value).toBe("42");
    await expect(engineClient().getContainer(id!).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("closing during a cell stops it: NotOpenSessionError, nothing left behind", async () => {
    const session = await openSession();
    const running = session.run("import time; time.sleep(30)").catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await session.close();
    expect(NotOpenSessionError.isInstance(await running)).toBe(true);
    expect(NotOpenSessionError.isInstance(await session.run("1").catch((e: unknown) => e))).toBe(true);
  });
});
