import { randomUUID } from "node:crypto";
import { createSession, InteractiveSandboxSession, SandboxTimeoutError, type SandboxSession, ValidationError } from "@llm-sandbox/core";
import { engineClient } from "@llm-sandbox/core/backends";
import { afterAll, describe, expect, it } from "vitest";
import { sandboxProcesses, withSession } from "../../../../test/helpers/sessions.js";

/** Forks until the pids limit refuses, then fails. */
const NAIVE_BOMB = "import os\nwhile True:\n    os.fork()";
/** Forks until the pids limit refuses, then keeps every slot: each process retries whenever one comes free. */
const HOLDING_BOMB = "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.05)";

/**
 * Attacks on a sandbox with the default settings (and the odd explicit limit), each contained: the program fails
 * with a clear error, the session keeps working, the host and its engine are untouched.
 */
describe("attacks on the sandbox (real engine)", async () => {
  const docker = engineClient();
  // A secret in the host's environment: nothing in the sandbox may see it.
  const secret = `host-secret-${randomUUID()}`;
  process.env.LLM_SANDBOX_ATTACK_TEST_SECRET = secret;
  const sessions: SandboxSession[] = [];
  const open = async (options: Parameters<typeof createSession>[0] = {}) => {
    const session = await createSession({ lang: "python", ...options }).open();
    sessions.push(session);
    return session;
  };
  const session = await open();

  afterAll(async () => {
    delete process.env.LLM_SANDBOX_ATTACK_TEST_SECRET;
    await Promise.all(sessions.map((s) => s.close()));
    // No container of these sessions is left behind.
    for (const s of sessions) {
      expect(await docker.listContainers({ all: true, filters: { label: [`org.llm-sandbox.session=${s.id}`] } })).toEqual([]);
    }
  });

  /** The host's engine answers and the sandbox still runs code. */
  async function expectStillFine(target: SandboxSession = session): Promise<void> {
    await docker.ping();
    expect((await target.run("print('still here')")).stdout).toBe("still here\n");
  }

  /**
   * The container's processes besides its first process (the keep-alive shell) and that one's sleeping child, as the
   * host sees them (works even when the sandbox cannot fork).
   */
  async function leftoverProcesses(target: SandboxSession = session): Promise<string[]> {
    const { Processes } = (await docker.getContainer(target.containerId!).top({ ps_args: "-o pid,ppid,args" })) as { Processes: string[][] };
    const rows = Processes.map(([pid, ppid, command]) => ({ pid, ppid, command: command ?? "" }));
    const keepAlive = rows.find((row) => row.command.endsWith(" llm-sandbox-keep-alive"))?.pid;
    return rows
      .filter((row) => row.pid !== keepAlive && !(row.ppid === keepAlive && row.command === "sleep 86400"))
      .map((row) => row.command);
  }

  describe("fork bomb (pids limit 256)", () => {
    it("a naive fork bomb fails on the pids limit", async () => {
      expect((await docker.getContainer(session.containerId!).inspect()).HostConfig.PidsLimit).toBe(256);
      const result = await session.run(NAIVE_BOMB, { timeout: 60 });
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/BlockingIOError|Resource temporarily unavailable/);
      expect(await leftoverProcesses()).toEqual([]);
      await expectStillFine();
    });

    it("a fork bomb that holds every process slot is killed at the timeout", async () => {
      const started = Date.now();
      const error = await session.run(HOLDING_BOMB, { timeout: 5 }).catch((caught: unknown) => caught);
      expect(SandboxTimeoutError.isInstance(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(40_000);
      expect(await leftoverProcesses()).toEqual([]);
      await expectStillFine();
    });

    it("the naive bomb, then the holding one, twice in one session: it is never wedged", async () => {
      // The kill step cannot start an exec while every slot is held; the container's first process frees them.
      const fresh = await open();
      for (let round = 0; round < 2; round++) {
        expect((await fresh.run(NAIVE_BOMB, { timeout: 60 })).stderr).toMatch(/BlockingIOError|Resource temporarily unavailable/);
        const started = Date.now();
        const error = await fresh.run(HOLDING_BOMB, { timeout: 5 }).catch((caught: unknown) => caught);
        expect(SandboxTimeoutError.isInstance(error)).toBe(true);
        expect(Date.now() - started).toBeLessThan(30_000);
        expect(await leftoverProcesses(fresh)).toEqual([]);
        await expectStillFine(fresh);
      }
    });

    it("a holding fork bomb started by a command is killed at its timeout; the interactive kernel beside it lives on", async () => {
      const interactive = new InteractiveSandboxSession({ lang: "python" });
      sessions.push(await interactive.open());
      await interactive.run("x = 41");
      const error = await interactive.executeCommand(["python3", "-c", HOLDING_BOMB], { timeout: 5 }).catch((caught: unknown) => caught);
      expect(SandboxTimeoutError.isInstance(error)).toBe(true);
      expect((await interactive.run("print(x + 1)")).stdout).toBe("42\n");
      expect((await interactive.executeCommand("echo can fork")).stdout).toBe("can fork\n");
    });

    it("a shell fork bomb started from a run ends with the run", async () => {
      const result = await session.run("import os\nos.system('f() { f | f & }; f')\nprint('bomb started')", { timeout: 60 });
      expect(result.stdout).toBe("bomb started\n");
      expect(await leftoverProcesses()).toEqual([]);
      await expectStillFine();
    });
  });

  describe("memory bomb (memory limit 1 GiB, no swap)", () => {
    it("is killed and reported as out of memory; the session survives", async () => {
      const result = await session.run("x = b'x' * (3 * 1024 ** 3)\nprint('allocated')");
      expect(result.exitCode).toBe(137);
      expect(result.stdout).toBe("");
      expect(result.error).toMatchObject({ name: "OutOfMemoryError", message: expect.stringContaining("memory limit of 1 GiB") });
      await expectStillFine();
    });

    it("a program killed by another SIGKILL is not called out of memory", async () => {
      const result = await session.run("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)");
      expect(result.exitCode).toBe(137);
      expect(result.error?.name).not.toBe("OutOfMemoryError");
    });
  });

  describe("disk fill (in-memory workdir and /tmp are size-limited)", () => {
    it.each(["/sandbox", "/tmp"])("filling %s ends in 'No space left on device', and the session keeps working", async (dir) => {
      const result = await session.run(
        `import os\nchunk = b'x' * (1 << 20)\nwith open('${dir}/fill', 'wb') as f:\n    while True:\n        f.write(chunk)\n        f.flush()`,
        { timeout: 120 },
      );
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("No space left on device");
      const size = await session.executeCommand(`du -m ${dir}/fill | cut -f1`);
      expect(Number(size.stdout.trim())).toBeLessThanOrEqual(dir === "/tmp" ? 256 : 512);
      await expectStillFine();
      await session.executeCommand(`rm -f ${dir}/fill`);
    });

    it("the rest of the filesystem is read-only", async () => {
      const result = await session.run(
        "for path in ['/etc/passwd', '/usr/bin/evil', '/home/sandbox/.bashrc', '/var/tmp/x']:\n    try:\n        open(path, 'a').write('x')\n        print(path, 'WRITTEN')\n    except OSError as e:\n        print(path, e.strerror)",
      );
      expect(result.stdout).not.toContain("WRITTEN");
      expect(result.stdout).toContain("/etc/passwd Permission denied");
      // Even the user's own home directory in the image cannot be written: the root filesystem is read-only.
      expect(result.stdout).toContain("/home/sandbox/.bashrc Read-only file system");
    });
  });

  describe("output flood", () => {
    it("is capped at maxOutputBytes and flagged", async () => {
      const capped = await open({ maxOutputBytes: 1024 * 1024 });
      const result = await capped.run("import sys\nfor _ in range(64):\n    sys.stdout.write('x' * (1 << 20))\nsys.stderr.write('e' * (8 << 20))");
      expect(result.exitCode).toBe(0);
      expect(result.stdoutTruncated).toBe(true);
      expect(result.stderrTruncated).toBe(true);
      expect(result.stdout.length).toBe(1024 * 1024);
      expect(result.stderr.length).toBe(1024 * 1024);
    });

    it("an endless flood stops at the timeout with the capped output so far", async () => {
      const capped = sessions.at(-1)!;
      const error = (await capped.run("while True:\n    print('x' * 1000)", { timeout: 3 }).catch((caught: unknown) => caught)) as SandboxTimeoutError;
      expect(SandboxTimeoutError.isInstance(error)).toBe(true);
      expect(error.partialOutput!.stdout.length).toBeLessThanOrEqual(1024 * 1024);
      expect(error.partialOutput!.stdout.length).toBeGreaterThan(0);
      await expectStillFine(capped);
    });
  });

  describe("network (off for user code)", () => {
    it("no address, name or engine port can be reached", async () => {
      const result = await session.run(
        [
          "import socket",
          "for host, port in [('1.1.1.1', 53), ('172.17.0.1', 2375), ('172.17.0.1', 2376), ('169.254.169.254', 80)]:",
          "    try:",
          "        socket.create_connection((host, port), timeout=3)",
          "        print(host, 'CONNECTED')",
          "    except OSError as e:",
          "        print(host, type(e).__name__, e.strerror)",
          "try:",
          "    socket.getaddrinfo('example.com', 443)",
          "    print('RESOLVED')",
          "except OSError as e:",
          "    print('dns', type(e).__name__)",
        ].join("\n"),
      );
      expect(result.stdout).not.toMatch(/CONNECTED|RESOLVED/);
      expect(result.stdout).toContain("1.1.1.1 OSError Network is unreachable");
      expect(result.stdout).toContain("dns gaierror");
      const interfaces = await session.executeCommand("cat /proc/net/dev");
      expect(interfaces.stdout).not.toMatch(/eth\d|ens|enp/);
    });
  });

  describe("the host's engine and environment", () => {
    it("no engine socket is reachable and the host's environment is not visible", async () => {
      const result = await session.executeCommand(
        "ls -la /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock 2>&1; " +
          "find / -xdev -type s 2>/dev/null; grep -c docker.sock /proc/mounts; " +
          "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; env",
      );
      expect(result.stdout).toMatch(/'\/var\/run\/docker\.sock': No such file or directory/);
      expect(result.stdout).toMatch(/'\/run\/docker\.sock': No such file or directory/);
      expect(result.stdout).not.toMatch(/\.sock\n/);
      expect(result.stdout).not.toContain(secret);
      expect(result.stdout).not.toContain("LLM_SANDBOX_ATTACK_TEST_SECRET");
      // The host's processes are not visible either (own PID namespace).
      const processes = await sandboxProcesses(session);
      expect(processes.some((line) => /dockerd|containerd|vitest/.test(line))).toBe(false);
    });
  });

  describe("privilege escalation as the non-root user", () => {
    it("no capabilities, no new privileges: setuid binaries, sudo, su, mount and user namespaces get nothing", async () => {
      const result = await session.executeCommand(
        [
          "id -u",
          "grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs)' /proc/self/status",
          "ls -l /usr/bin/su /usr/bin/mount",
          "sudo id 2>&1; echo sudo=$?",
          "su root -c 'id -u' < /dev/null 2>&1; echo su=$?",
          "mount -t tmpfs none /mnt 2>&1; echo mount=$?",
          "unshare -r id -u 2>&1; echo unshare=$?",
          "echo evil > /proc/sys/kernel/hostname 2>&1; echo proc=$?",
          "echo 1 > /sys/fs/cgroup/pids/pids.max 2>&1 || echo 1 > /sys/fs/cgroup/pids.max 2>&1; echo cgroup=$?",
          "python3 -c 'import os; os.setuid(0)' 2>&1 | tail -1",
        ].join("; "),
      );
      const out = result.stdout;
      expect(out.split("\n")[0]).toBe("1000");
      expect(out).toMatch(/CapEff:\s+0000000000000000/);
      expect(out).toMatch(/CapBnd:\s+0000000000000000/);
      expect(out).toMatch(/NoNewPrivs:\s+1/);
      expect(out).toMatch(/^-rwsr-xr-x .* \/usr\/bin\/su$/m); // setuid root binaries exist, yet:
      expect(out).toMatch(/sudo=127/);
      expect(out).toMatch(/su=[1-9]/);
      expect(out).toMatch(/mount=[1-9]/);
      expect(out).toMatch(/unshare=[1-9]/);
      expect(out).toMatch(/proc=[1-9]/);
      expect(out).toMatch(/cgroup=[1-9]/);
      expect(out).toContain("PermissionError: [Errno 1] Operation not permitted");
      expect(out).not.toMatch(/^0$/m); // no command ever ran as uid 0
      await expectStillFine();
    });
  });

  describe("runtime settings that would weaken the sandbox", () => {
    it.each([
      ["privileged", { passthrough: { HostConfig: { Privileged: true } } }],
      ["host network", { network: "host" }],
      ["host network (passthrough)", { passthrough: { HostConfig: { NetworkMode: "host" } } }],
      ["host PID namespace", { passthrough: { HostConfig: { PidMode: "host" } } }],
      ["the engine socket mounted", { passthrough: { HostConfig: { Binds: ["/var/run/docker.sock:/var/run/docker.sock"] } } }],
      ["the host's root mounted", { passthrough: { HostConfig: { Mounts: [{ Type: "bind", Source: "/", Target: "/host" }] } } }],
    ])("%s is refused before any container exists", async (_name, runtimeConfigs) => {
      const mine = { all: true, filters: { label: [`org.llm-sandbox.owner-pid=${process.pid}`] } };
      const before = (await docker.listContainers(mine)).length;
      let error: unknown;
      try {
        await createSession({ lang: "python", runtimeConfigs }).open();
      } catch (caught) {
        error = caught;
      }
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/allowUnsafe/);
      expect((await docker.listContainers(mine)).length).toBe(before);
    });

    it("with allowUnsafe the setting reaches the engine (here a harmless added capability)", async () => {
      await withSession({ lang: "python", runtimeConfigs: { allowUnsafe: true, passthrough: { HostConfig: { CapAdd: ["CHOWN"] } } } }, async (unsafe) => {
        const info = await docker.getContainer(unsafe.containerId!).inspect();
        expect(info.HostConfig.CapAdd).toEqual(["CHOWN"]);
        expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
      });
    });
  });
});
