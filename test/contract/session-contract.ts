/**
 * The session contract: what every backend must do, written once. Each backend's test file calls
 * `sessionContract(target)`; a backend is done when all of it passes there.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommandEmptyError,
  createSession,
  InteractiveSandboxSession,
  FileNotFoundError,
  LibraryInstallationError,
  NotOpenSessionError,
  OutputDecodingError,
  SandboxAbortError,
  SandboxError,
  SandboxTimeoutError,
  SecurityError,
  type SandboxSession,
  type SessionOptions,
  ValidationError,
} from "@llm-sandbox/core";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { sandboxProcesses, sharedSession, withSession } from "../helpers/sessions.js";
import { upperCaseOverStdin } from "../helpers/stdin.js";
import type { ContractTarget } from "./target.js";

export function sessionContract(target: ContractTarget): void {
  const open = (overrides: SessionOptions = {}) => createSession(target.options(overrides)).open();
  const shared = (overrides: SessionOptions = {}) => sharedSession(target.options(overrides));
  const using = <T>(overrides: SessionOptions, use: (session: SandboxSession) => Promise<T>) => withSession(target.options(overrides), use);

  describe(`${target.backend}: runs`, async () => {
    const session = await shared({ lang: "python" });

    it("prints Hello, World!", async () => {
      const result = await session.run("print('Hello, World!')");
      expect(result).toMatchObject({ exitCode: 0, stdout: "Hello, World!\n", stderr: "" });
      expect(result.success()).toBe(true);
    });

    it("reports an exception as data: exit 1, traceback in stderr, parsed error", async () => {
      const result = await session.run("x = 1\nprint(1/0)");
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("ZeroDivisionError");
      expect(result.error).toMatchObject({ name: "ZeroDivisionError", message: "division by zero" });
    });

    it.each([false, true])("keeps the exit code of sys.exit(7) (streaming: %s)", async (streaming) => {
      const chunks: string[] = [];
      const result = await session.run("import sys\nprint('bye')\nsys.exit(7)", streaming ? { onStdout: (t) => chunks.push(t) } : {});
      expect(result.exitCode).toBe(7);
      expect(result.stdout).toBe("bye\n");
      if (streaming) expect(chunks.join("")).toBe("bye\n");
    });

    it("streams stdout and stderr while the program runs", async () => {
      const out: string[] = [];
      const err: string[] = [];
      let firstAt = 0;
      const started = Date.now();
      const result = await session.run(
        "import sys, time\nfor i in range(3): print(i, flush=True)\nprint('warn', file=sys.stderr, flush=True)\ntime.sleep(1.5)\nprint('late')",
        { onStdout: (t) => (out.push(t), (firstAt ||= Date.now() - started)), onStderr: (t) => err.push(t) },
      );
      expect(out.length).toBeGreaterThanOrEqual(4);
      expect(out.join("")).toBe("0\n1\n2\nlate\n");
      expect(err.join("")).toBe("warn\n");
      expect(result.stdout).toBe("0\n1\n2\nlate\n");
      // The first lines arrived well before the program ended.
      expect(result.durationMs - firstAt).toBeGreaterThan(1000);
    });

    it("kills a program that exceeds its timeout, and the session stays usable", async () => {
      const started = Date.now();
      const error = await session.run("print('spinning', flush=True)\nwhile True: pass", { timeout: 2 }).catch((e: unknown) => e);
      expect(SandboxTimeoutError.isInstance(error)).toBe(true);
      expect(error).toBeInstanceOf(SandboxError);
      expect((error as SandboxTimeoutError).timeoutDuration).toBe(2);
      expect((error as SandboxTimeoutError).partialOutput?.stdout).toBe("spinning\n");
      expect(Date.now() - started).toBeLessThan(6000);
      expect(await sandboxProcesses(session)).not.toContainEqual(expect.stringContaining(".sandbox-"));
      expect((await session.run("print('still here')")).stdout).toBe("still here\n");
    });

    it("a timeout also kills children, including ones that start their own session", async () => {
      const code = [
        "import subprocess, time",
        "subprocess.Popen(['sleep', '1001'])",
        "subprocess.Popen(['setsid', 'sleep', '1002'])",
        "time.sleep(60)",
      ].join("\n");
      await expect(session.run(code, { timeout: 2 })).rejects.toSatisfy(SandboxTimeoutError.isInstance);
      expect((await sandboxProcesses(session)).filter((p) => /sleep 100[12]/.test(p))).toEqual([]);
    });

    it("an abort signal stops the program inside the sandbox", async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 1000);
      const error = await session.run("import time\ntime.sleep(30)", { signal: controller.signal }).catch((e: unknown) => e);
      expect(SandboxAbortError.isInstance(error)).toBe(true);
      expect(await sandboxProcesses(session)).not.toContainEqual(expect.stringContaining(".sandbox-"));
    });

    it("decodes invalid UTF-8 with replacement characters by default", async () => {
      const result = await session.run("import sys\nsys.stdout.buffer.write(b'hello\\xff\\xfeworld \\xe2\\x82\\xac')");
      expect(result.stdout).toBe("hello\uFFFD\uFFFDworld €");
    });

    it("never leaves code files in the workdir; code imports modules from the workdir", async () => {
      await session.executeCommand("echo 'VALUE = 41' > helper_mod.py");
      expect((await session.run("import helper_mod\nprint(helper_mod.VALUE + 1)")).stdout).toBe("42\n");
      await session.run("raise SystemExit(3)");
      const listing = await session.executeCommand("ls -A /sandbox");
      expect(listing.stdout.split("\n").filter((name) => name.startsWith(".sandbox-") && name !== ".sandbox-venv")).toEqual([]);
    });

    it("executeCommand: a string goes through the shell, an array does not", async () => {
      expect((await session.executeCommand("echo a && echo b | tr b c")).stdout).toBe("a\nc\n");
      expect((await session.executeCommand(["echo", "a && b", "$HOME", "it's"])).stdout).toBe("a && b $HOME it's\n");
      expect((await session.executeCommand("exit 3")).exitCode).toBe(3);
      expect((await session.executeCommand(["pwd"], { workdir: "/tmp" })).stdout).toBe("/tmp\n");
      expect((await session.executeCommand(["pwd"])).stdout).toBe("/sandbox\n");
      const env = await session.executeCommand(["sh", "-c", 'printf "%s|" "$A" "$B"'], { env: { A: "x y", B: "'q' \"$z\"\nline" } });
      expect(env.stdout).toBe("x y|'q' \"$z\"\nline|");
    });

    it("a program that cannot start is exit code 127 with the reason on stderr", async () => {
      const result = await session.executeCommand(["surely-no-such-program-7c1"]);
      expect(result.exitCode).toBe(127);
      // The same words on every engine, as bash says it.
      expect(result.stderr).toBe("surely-no-such-program-7c1: command not found\n");
      expect(result.stdout).toBe("");
      const path = await session.executeCommand(["/no/such/program"]);
      expect(path).toMatchObject({ exitCode: 127, stdout: "", stderr: "/no/such/program: No such file or directory\n" });
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

  describe(`${target.backend}: output limits and encodings`, () => {
    it("truncates output beyond the cap and flags it", async () => {
      await using({ lang: "python", maxOutputBytes: 1000 }, async (small) => {
        const result = await small.run("import sys\nsys.stdout.write('x' * 50000)\nsys.stderr.write('e' * 10)");
        expect(result).toMatchObject({ stdoutTruncated: true, stderr: "e".repeat(10), stderrTruncated: false });
        expect(result.stdout).toBe("x".repeat(1000));
      });
    });

    it("with encodingErrors strict, invalid UTF-8 is a typed error that keeps the raw bytes", async () => {
      await using({ lang: "python", encodingErrors: "strict" }, async (strict) => {
        const error = await strict.run("import sys\nsys.stdout.buffer.write(b'hello\\xff\\xfeworld')").catch((e: unknown) => e);
        expect(OutputDecodingError.isInstance(error)).toBe(true);
        expect(Buffer.from((error as OutputDecodingError).raw.stdout).toString("latin1")).toBe("hello\xff\xfeworld");
        expect((error as OutputDecodingError).offset).toBe(5);
      });
    });
  });

  describe(`${target.backend}: files`, async () => {
    const session = await shared({ lang: "python" });
    const scratch = await mkdtemp(join(tmpdir(), `llm-sandbox-${target.backend}-files-`));
    afterAll(() => rm(scratch, { recursive: true, force: true }));

    it("round-trips a file byte-identically", async () => {
      const source = join(scratch, "blob.bin");
      await writeFile(source, randomBytes(300_000));
      await session.copyToRuntime(source, "in/blob.bin");
      expect((await session.run("import os\nprint(os.path.getsize('in/blob.bin'))")).stdout).toBe("300000\n");
      const back = join(scratch, "back", "blob.bin");
      await session.copyFromRuntime("/sandbox/in/blob.bin", back);
      expect(Buffer.compare(await readFile(back), await readFile(source))).toBe(0);
    });

    it("round-trips a directory tree byte-identically", async () => {
      const source = join(scratch, "tree");
      await mkdir(join(source, "a/b"), { recursive: true });
      await mkdir(join(source, "empty"));
      await writeFile(join(source, "top.txt"), "héllo\n");
      await writeFile(join(source, "a/b/data.bin"), randomBytes(70_000));
      await writeFile(join(source, "a/zero"), "");
      await session.copyToRuntime(source, "tree");
      const listing = await session.executeCommand("cd tree && find . | sort");
      expect(listing.stdout.split("\n")).toEqual(expect.arrayContaining(["./a/b/data.bin", "./empty", "./top.txt"]));
      const back = join(scratch, "tree-back");
      await session.copyFromRuntime("tree", back);
      expect(await snapshot(back)).toEqual(await snapshot(source));
    });

    it("copies files that programs wrote, empty ones too", async () => {
      await session.run("open('made.txt', 'w').write('made in sandbox')\nopen('empty.txt', 'w')");
      await session.copyFromRuntime("made.txt", join(scratch, "made.txt"));
      expect(await readFile(join(scratch, "made.txt"), "utf8")).toBe("made in sandbox");
      await session.copyFromRuntime("empty.txt", join(scratch, "empty.txt"));
      expect(await readFile(join(scratch, "empty.txt"), "utf8")).toBe("");
    });

    it("refuses '..' in sandbox paths and names missing files on either side", async () => {
      const source = join(scratch, "blob.bin");
      await expect(session.copyToRuntime(source, "/sandbox/../etc/x")).rejects.toSatisfy(SecurityError.isInstance);
      await expect(session.copyFromRuntime("../etc/passwd", join(scratch, "p"))).rejects.toSatisfy(SecurityError.isInstance);
      await expect(session.copyToRuntime(join(scratch, "nope"), "x")).rejects.toSatisfy(FileNotFoundError.isInstance);
      await expect(session.copyFromRuntime("/sandbox/nope.txt", join(scratch, "n"))).rejects.toSatisfy(FileNotFoundError.isInstance);
    });

    it("a hostile archive from a compromised sandbox writes nothing outside the destination", async () => {
      const hostile = join(scratch, "hostile.tar");
      await writeFile(hostile, await hostileArchive());
      // A root sandbox with a writable root filesystem can replace `tar` itself: the worst case.
      await using({ lang: "python", runtimeConfigs: { user: "0", readOnly: false } }, async (root) => {
        await root.copyToRuntime(hostile, "/sandbox/hostile.tar");
        await root.executeCommand(`printf '#!/bin/sh\\ncat /sandbox/hostile.tar\\n' > "$(command -v tar)"`);
        const dest = join(scratch, "victim", "dest");
        await root.copyFromRuntime("out", dest);
        expect(await readFile(join(dest, "ok.txt"), "utf8")).toBe("fine");
        expect(await readdir(dest)).toEqual(["ok.txt"]);
        expect(await readdir(join(scratch, "victim"))).toEqual(["dest"]);
        expect(existsSync("/tmp/llm-sandbox-evil-absolute")).toBe(false);
        expect(existsSync("/etc/evil-through-link")).toBe(false);
      });
    });
  });

  describe(`${target.backend}: secure defaults`, async () => {
    const session = await shared({ lang: "python" });

    it("runs as a non-root user", async () => {
      expect((await session.executeCommand("id -u")).stdout.trim()).toBe("1000");
    });

    it("keeps the root filesystem read-only while the workdir and /tmp are writable", async () => {
      const result = await session.executeCommand("touch /usr/x 2>&1; echo rc=$?; touch /sandbox/w /tmp/t && echo writable; awk '$2 == \"/\" { print \"root:\" $4 }' /proc/mounts");
      // The kernel says why first: runc's "Read-only file system"; gVisor's checks permissions before that.
      expect(result.stdout).toMatch(/Read-only file system|Permission denied/);
      expect(result.stdout).toContain("rc=1");
      expect(result.stdout).toMatch(/^root:ro,/m);
      expect(result.stdout).toContain("writable");
    });

    it("limits the workdir size", async () => {
      await using({ lang: "python", runtimeConfigs: { workdirSize: "8m" } }, async (small) => {
        const result = await small.executeCommand("head -c 20000000 /dev/zero > big; echo rc=$?");
        expect(result.stderr).toMatch(/No space left on device/);
        expect(result.stdout).toBe("rc=1\n");
      });
    });

    if (target.network === "isolated") {
      it("gives user code no network by default", async () => {
        const interfaces = await session.executeCommand("cat /proc/net/dev");
        expect(interfaces.stdout).not.toMatch(/eth0/);
        const result = await session.run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=3)");
        expect(result.exitCode).not.toBe(0);
        expect(result.stderr).toMatch(/Network is unreachable|OSError/);
      });

      it("with network enabled, user code reaches a server on the host as host.docker.internal", async () => {
        const server = createServer((_, res) => res.end("hello from the host"));
        const port = await new Promise<number>((resolve) => server.listen(0, "0.0.0.0", () => resolve((server.address() as AddressInfo).port)));
        try {
          await using({ lang: "python", runtimeConfigs: { network: true } }, async (networked) => {
            const result = await networked.run(
              `import urllib.request\nprint(urllib.request.urlopen('http://host.docker.internal:${port}', timeout=5).read().decode())`,
            );
            expect(result.stderr).toBe("");
            expect(result.stdout).toBe("hello from the host\n");
          });
        } finally {
          await new Promise((resolve) => server.close(resolve));
        }
      });
    } else {
      it("refuses network options: the pod's network is the cluster's (NetworkPolicy)", () => {
        expect(() => createSession(target.options({ runtimeConfigs: { network: true } }))).toThrow(/NetworkPolicy/);
      });
    }
  });

  describe(`${target.backend}: libraries`, () => {
    it("installs libraries, then the code uses them", async () => {
      await using({ lang: "javascript" }, async (session) => {
        const result = await session.run("console.log(require('is-number')(5))", { libraries: ["is-number@7.0.0"] });
        expect(result.stderr).toBe("");
        expect(result.stdout).toBe("true\n");
        if (target.network === "isolated") {
          // The install network was attached only while npm ran.
          expect((await session.executeCommand("cat /proc/net/dev")).stdout).not.toMatch(/eth0/);
        }
        const error = await session.install(["surely-not-a-real-package-4f2a"]).catch((e: unknown) => e);
        expect(LibraryInstallationError.isInstance(error)).toBe(true);
        expect((error as LibraryInstallationError).libraries).toEqual(["surely-not-a-real-package-4f2a"]);
      });
    });
  });

  describe(`${target.backend}: lifecycle`, () => {
    it("close removes the sandbox; after close, operations fail with NotOpenSessionError; close is idempotent", async () => {
      const session = await open({ lang: "python" });
      expect(await target.sandboxesOf(session.id)).toEqual([session.containerId]);
      await session.close();
      await session.close();
      expect(await target.sandboxesOf(session.id)).toEqual([]);
      await expect(session.run("print(1)")).rejects.toSatisfy(NotOpenSessionError.isInstance);
    });

    it("run before open → NotOpenSessionError", async () => {
      const session = createSession(target.options({ lang: "python" }));
      await expect(session.run("print(1)")).rejects.toSatisfy(NotOpenSessionError.isInstance);
      await session.close();
    });

    it("close while open() is still starting removes what open() creates", async () => {
      const session = createSession(target.options({ lang: "python" }));
      const opening = session.open();
      await session.close();
      await expect(opening).rejects.toSatisfy(NotOpenSessionError.isInstance);
      expect(await target.sandboxesOf(session.id)).toEqual([]);
    });

    it("closes itself when sessionTimeout elapses", async () => {
      const session = await open({ lang: "python", sessionTimeout: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const error = await session.run("print(1)").catch((e: unknown) => e);
      expect(NotOpenSessionError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain("maximum lifetime of 1 seconds");
      await session.close();
      expect(await target.sandboxesOf(session.id)).toEqual([]);
    });

    it("5 sessions opened in parallel all work, and all are gone after close", async () => {
      const sessions = await Promise.all(Array.from({ length: 5 }, () => open({ lang: "python" })));
      try {
        const outputs = await Promise.all(sessions.map((s, i) => s.run(`print(${i} * 2)`)));
        expect(outputs.map((o) => o.stdout)).toEqual(["0\n", "2\n", "4\n", "6\n", "8\n"]);
        expect(new Set(sessions.map((s) => s.containerId)).size).toBe(5);
      } finally {
        await Promise.all(sessions.map((s) => s.close()));
      }
      for (const session of sessions) expect(await target.sandboxesOf(session.id)).toEqual([]);
    });

    it("attaches to an existing sandbox (containerId) and never removes it", async () => {
      const external = await target.startExternal();
      try {
        const session = await open({ lang: "python", containerId: external.id });
        expect((await session.run("print('attached')")).stdout).toBe("attached\n");
        await session.close();
        const again = await open({ lang: "python", containerId: external.id });
        expect((await again.executeCommand("echo still")).stdout).toBe("still\n");
        await again.close();
      } finally {
        await external.remove();
      }
    });
  });

  describe(`${target.backend}: interactive sessions`, () => {
    it.each([
      ["python", "x = 41", "import time\ntime.sleep(60)"],
      ["javascript", "let x = 41", "while (true) {}"],
    ])("%s: state lives on between cells, the last value comes back, a timeout interrupts the cell and keeps the state", async (lang, define, spin) => {
      const session = await new InteractiveSandboxSession(target.options({ lang })).open();
      try {
        await session.run(define);
        expect((await session.run("x + 1")).value).toBe("42");
        const chunks: string[] = [];
        const printed = await session.run(lang === "python" ? "print('a', flush=True)\nprint('b')" : "console.log('a'); console.log('b')", {
          onStdout: (text) => chunks.push(text),
        });
        expect(printed.stdout).toBe("a\nb\n");
        expect(chunks.join("")).toBe("a\nb\n");
        const error = await session.run(spin, { timeout: 1 }).catch((e: unknown) => e);
        expect(SandboxTimeoutError.isInstance(error)).toBe(true);
        expect((await session.run("x")).value).toBe("41");
      } finally {
        await session.close();
      }
      expect(await target.sandboxesOf(session.id)).toEqual([]);
    });
  });

  describe(`${target.backend}: adapter exec`, async () => {
    const session = await shared({ lang: "python" });

    it("streams stdin to a long-lived program and its answers back before stdin ends", async () => {
      const adapter = target.adapter();
      await adapter.attach(session.containerId!);
      expect(await upperCaseOverStdin(adapter, session.containerId!, ["one\n", "two\n"], 3)).toEqual({ exitCode: 3, answers: "ONE\nTWO\n" });
    });

    it("passes stdin bytes through unchanged and returns the exit code", async () => {
      const adapter = target.adapter();
      await adapter.attach(session.containerId!);
      const input = randomBytes(600_000);
      const chunks: Buffer[] = [];
      const { exitCode } = await adapter.exec(session.containerId!, {
        argv: ["sh", "-c", "cat; exit 5"],
        stdin: input,
        onStdout: (chunk) => chunks.push(Buffer.from(chunk)),
      });
      expect(exitCode).toBe(5);
      expect(Buffer.compare(Buffer.concat(chunks), input)).toBe(0);
    });
  });
}

/** Relative path → content of every file under `dir`, plus empty directories. */
async function snapshot(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      const inner = await snapshot(join(dir, entry.name), `${rel}/`);
      Object.assign(out, Object.keys(inner).length ? inner : { [`${rel}/`]: "<dir>" });
    } else out[rel] = (await readFile(join(dir, entry.name))).toString("base64");
  }
  return out;
}

/** A tar that tries every escape: absolute names, `..`, and writing through a symlink. */
async function hostileArchive(): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: "/tmp/llm-sandbox-evil-absolute" }, "x");
  pack.entry({ name: "../llm-sandbox-evil-up" }, "x");
  pack.entry({ name: "out/../../llm-sandbox-evil-nested" }, "x");
  pack.entry({ name: "out/link", type: "symlink", linkname: "/etc" });
  pack.entry({ name: "out/link/evil-through-link" }, "x");
  pack.entry({ name: "out/ok.txt" }, "fine");
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
