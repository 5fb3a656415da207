import {
  ArtifactSandboxSession,
  createPoolManager,
  InteractiveSandboxSession,
  createSession,
  PoolClosedError,
  PoolExhaustedError,
  type PoolConfig,
  type PoolManager,
  SandboxAbortError,
  ValidationError,
} from "@llm-sandbox/core";
import { describe, expect, inject, it } from "vitest";
import { POOL_BACKENDS } from "../../../../test/helpers/pool-backends.js";

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe.each(POOL_BACKENDS)("container pool on $name (real engine)", (backend) => {
  const engine = backend.options;
  const labelled = (pool: PoolManager) => backend.sandboxes(pool.id);
  const exists = (id: string) => backend.exists(id);
  /**
   * A container reset through plain execs is reused where the reset's kill step is untraceable; elsewhere
   * (Kubernetes on a node without Yama) it is replaced.
   */
  const expectPlainResetOutcome = (next: string | undefined, used: string | undefined) =>
    backend.plainResetReuses ? expect(next).toBe(used) : expect(next).not.toBe(used);
  /** A small pool without warm interpreters: these tests are about the pool's rules. */
  const smallPool = (config: PoolConfig, lang = "python") =>
    createPoolManager({ ...engine, lang, warmInterpreter: false, config });

  it("refuses bad pool and pooled-session options with clear errors", async () => {
    expect(() => createPoolManager({ ...engine, config: { minPoolSize: 5, maxPoolSize: 2 } })).toThrow(/minPoolSize \(5\) cannot be greater than maxPoolSize \(2\)/);
    expect(() => createPoolManager({ ...engine, config: { maxPoolSize: 0 } })).toThrow(ValidationError);
    expect(() => createPoolManager({ ...engine, containerId: "abc" } as never)).toThrow(/containerId: not available for pooled containers/);
    expect(() => createPoolManager({ ...engine, runtimeConfigs: { readOnly: false } })).toThrow(/root filesystem must stay read-only/);
    expect(() => createPoolManager({ ...engine, lang: "ruby", warmInterpreter: true })).toThrow(/ruby has no warm interpreter/);
    await using pool = smallPool({ maxPoolSize: 1 });
    expect(() => createSession({ pool, image: "other:latest", workdir: "/work" })).toThrow(/image, workdir: a pooled session takes these from its pool/);
    expect(() => createSession({ pool, lang: "javascript" })).toThrow(/lang \(javascript\)/);
    expect(createSession({ pool, lang: "py" }).language.name).toBe("python");
    expect(() => createSession({ pool: {} as never })).toThrow(/expected a pool made by createPoolManager/);
  });

  it("FAIL_FAST pool of 1: a second acquire fails at once with PoolExhaustedError", async () => {
    await using pool = smallPool({ maxPoolSize: 1, exhaustionStrategy: "FAIL_FAST" });
    const first = await createSession({ pool }).open();
    const started = Date.now();
    const error = await errorOf(createSession({ pool }).open());
    expect(PoolExhaustedError.isInstance(error)).toBe(true);
    expect((error as PoolExhaustedError).poolSize).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await first.run("print('still mine')")).stdout).toBe("still mine\n");
    await first.close();
  });

  it("FAIL_FAST pool of 1: open, run, close and open again at once waits for the reset instead of failing", async () => {
    await using pool = smallPool({ maxPoolSize: 1, exhaustionStrategy: "FAIL_FAST" });
    let container: string | undefined;
    for (let round = 0; round < 3; round++) {
      const session = await createSession({ pool }).open();
      expect((await session.run(`print(${round})`)).stdout).toBe(`${round}\n`);
      container ??= session.containerId;
      await session.close();
      // The container is being reset (or, where a reset cannot reuse it, replaced) in the background: not busy.
      expect(pool.getStats().stateCounts.busy).toBe(0);
    }
    // Held by a session, it is busy: FAIL_FAST fails at once, and says so truly.
    const holder = await createSession({ pool }).open();
    expectPlainResetOutcome(holder.containerId, container);
    const started = Date.now();
    const error = await errorOf(createSession({ pool }).open());
    expect(PoolExhaustedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe("All 1 containers in pool are busy");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(pool.getStats().stateCounts).toMatchObject({ busy: 1, resetting: 0, creating: 0 });
    await holder.close();
  }, 240_000);

  it("WAIT: times out after acquisitionTimeout; a release from elsewhere wakes a waiter", async () => {
    await using pool = smallPool({ maxPoolSize: 1, acquisitionTimeout: 0.1 });
    const holder = await createSession({ pool }).open();
    const started = Date.now();
    const error = await errorOf(createSession({ pool }).open());
    const waited = Date.now() - started;
    expect(PoolExhaustedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/timeout of 0.1s exceeded/);
    expect(waited).toBeGreaterThanOrEqual(90);
    expect(waited).toBeLessThan(2000);

    await using patient = smallPool({ maxPoolSize: 1, acquisitionTimeout: 60 });
    const first = await createSession({ pool: patient }).open();
    const container = first.containerId;
    const waiting = createSession({ pool: patient }).open();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(patient.getStats().waiting).toBe(1);
    await first.close();
    const second = await waiting;
    expectPlainResetOutcome(second.containerId, container);
    expect((await second.run("print(2)")).stdout).toBe("2\n");
    await second.close();
    await holder.close();
  });

  it("an aborted signal stops waiting for a container", async () => {
    await using pool = smallPool({ maxPoolSize: 1, acquisitionTimeout: null });
    const holder = await createSession({ pool }).open();
    const controller = new AbortController();
    const waiting = errorOf(createSession({ pool }).open({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 200);
    expect(SandboxAbortError.isInstance(await waiting)).toBe(true);
    expect(pool.getStats().waiting).toBe(0);
    await holder.close();
  });

  it("close(): wakes waiters with PoolClosedError, removes every container (busy ones too), is idempotent; acquire after it fails", async () => {
    const pool = smallPool({ maxPoolSize: 2, minPoolSize: 2, acquisitionTimeout: null });
    await pool.ready();
    const [a, b] = await Promise.all([createSession({ pool }).open(), createSession({ pool }).open()]);
    const waiting = errorOf(createSession({ pool }).open());
    expect((await labelled(pool)).length).toBe(2);
    await Promise.all([pool.close(), pool.close()]);
    expect(PoolClosedError.isInstance(await waiting)).toBe(true);
    expect(await labelled(pool)).toEqual([]);
    expect(await exists(a.containerId!)).toBe(false);
    await expect(a.run("print(1)")).rejects.toThrow();
    await a.close();
    await b.close();
    expect(PoolClosedError.isInstance(await errorOf(createSession({ pool }).open()))).toBe(true);
    expect(pool.getStats()).toMatchObject({ closed: true, totalSize: 0 });
  });

  it("maxContainerUses 1: the container is replaced after one use and minPoolSize is kept", async () => {
    await using pool = smallPool({ maxPoolSize: 2, minPoolSize: 1, maxContainerUses: 1 });
    await pool.ready();
    const first = await createSession({ pool }).open();
    const used = first.containerId!;
    await first.close();
    await expect.poll(() => exists(used), { timeout: 30_000 }).toBe(false);
    await pool.ready();
    expect(pool.getStats().totalSize).toBeGreaterThanOrEqual(1);
    const next = await createSession({ pool }).open();
    expect(next.containerId).not.toBe(used);
    await next.close();
  });

  it("TEMPORARY: an extra container for one use, removed afterwards; the pool never grows past its maximum", async () => {
    await using pool = smallPool({ maxPoolSize: 1, exhaustionStrategy: "TEMPORARY" });
    const regular = await createSession({ pool }).open();
    const extra = await createSession({ pool }).open();
    expect(extra.containerId).not.toBe(regular.containerId);
    expect(pool.getStats()).toMatchObject({ totalSize: 1, temporary: 1 });
    expect((await extra.run("print('temporary')")).stdout).toBe("temporary\n");
    const temporaryId = extra.containerId!;
    await extra.close();
    await expect.poll(() => exists(temporaryId), { timeout: 30_000 }).toBe(false);
    expect(pool.getStats()).toMatchObject({ totalSize: 1, temporary: 0 });
    await regular.close();
    expect((await labelled(pool)).length).toBe(1);
  });

  it("health checks remove idle containers beyond minPoolSize after idleTimeout and replace one that died", async () => {
    // With warm Python, whose reset every backend reuses, so that used containers stay to idle out.
    const config = { maxPoolSize: 3, minPoolSize: 1, healthCheckInterval: 0.5, idleTimeout: 1 };
    await using pool = createPoolManager({ ...engine, lang: "python", config });
    await pool.ready();
    const sessions = await Promise.all([createSession({ pool }).open(), createSession({ pool }).open()]);
    await Promise.all(sessions.map((session) => session.close()));
    expect(pool.getStats().totalSize).toBe(2);
    await expect.poll(() => pool.getStats().totalSize, { timeout: 20_000 }).toBe(1);
    const last = await createSession({ pool }).open();
    const survivor = last.containerId!;
    await last.close();
    await expect.poll(() => pool.getStats().stateCounts.idle, { timeout: 20_000 }).toBe(1);
    await backend.kill(survivor);
    await expect.poll(() => exists(survivor), { timeout: 20_000 }).toBe(false);
    await pool.ready();
    const replacement = await createSession({ pool }).open();
    expect(replacement.containerId).not.toBe(survivor);
    expect((await replacement.run("print('healthy')")).stdout).toBe("healthy\n");
    await replacement.close();
  });

  it("isolation (Python, warm interpreter): files, processes, IPC objects, a virtualenv and plots of session A are gone for session B", async () => {
    await using pool = createPoolManager({ ...engine, lang: "python", config: { maxPoolSize: 1 } });
    const a = await new ArtifactSandboxSession({ pool }).open();
    await a.run("open('/sandbox/a.txt', 'w').write('secret')\nopen('/tmp/a.txt', 'w').write('secret')\nopen('/dev/shm/a', 'w').write('secret')");
    const plotted = await a.run("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.savefig('/tmp/late.png')\nplt.show()");
    expect(plotted.plots).toHaveLength(1);
    await a.executeCommand("nohup sleep 1000 >/dev/null 2>&1 &");
    await a.executeCommand("ipcmk -M 4096 && python3 -m venv --without-pip --system-site-packages /sandbox/.sandbox-venv");
    // A daemon forked (not exec'd) from the run itself, in its own session, and one that drops a plot after A left.
    await a.run("import os, time\nif os.fork() == 0:\n    os.setsid()\n    null = os.open('/dev/null', os.O_WRONLY)\n    os.dup2(null, 1); os.dup2(null, 2)\n    time.sleep(1002)\n    os._exit(0)");
    await a.executeCommand("(sleep 1; cp /tmp/late.png /tmp/.llm-sandbox/plots/000009.png) >/dev/null 2>&1 &");
    const container = a.containerId;
    await a.close();

    const b = await new ArtifactSandboxSession({ pool }).open();
    expect(b.containerId).toBe(container);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the plot dropper would have struck by now
    const seen = await b.run(
      [
        "import os, sys",
        "cmd = lambda p: open('/proc/%s/cmdline' % p, 'rb').read() if os.path.exists('/proc/%s/cmdline' % p) else b''",
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]",
        "workdir = [name for name in os.listdir('/sandbox') if name != os.path.basename(__file__)]",
        "print(workdir, os.path.exists('/tmp/a.txt'), os.path.exists('/tmp/late.png'), os.listdir('/dev/shm'))",
        "print(any(b'sleep\\x00100' in cmd(p) for p in pids), sum(cmd(p) == cmd(os.getppid()) for p in pids))",
        "print(len(open('/proc/sysvipc/shm').readlines()), sys.prefix)",
      ].join("\n"),
    );
    expect(seen.stderr).toBe("");
    expect(seen.stdout).toBe("[] False False []\nFalse 2\n1 /usr\n");
    expect(seen.plots).toEqual([]);
    await b.close();
    expect(pool.getStats().counters).toMatchObject({ reused: 1, resetFailures: 0 });
  });

  it.each([
    ["with its warm runner", true],
    ["without a warm runner: the reset works the same through plain execs", false],
  ])("isolation (JavaScript, %s)", async (_what, warmInterpreter) => {
    await using pool = createPoolManager({ ...engine, lang: "javascript", warmInterpreter, config: { maxPoolSize: 1 } });
    const a = await createSession({ pool }).open();
    await a.run("require('fs').writeFileSync('/sandbox/a.txt', 'secret'); require('fs').writeFileSync('/tmp/a.txt', 'secret')");
    await a.executeCommand("nohup sleep 1000 >/dev/null 2>&1 &");
    const container = a.containerId;
    await a.close();
    const b = await createSession({ pool }).open();
    expectPlainResetOutcome(b.containerId, container);
    const listing = await b.executeCommand("ls -A /sandbox; ls -A /tmp; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done");
    expect(listing.stdout).not.toContain("a.txt");
    expect(listing.stdout).not.toContain("sleep 1000");
    await b.close();
  });

  it("libraries: the pool's are in every container, survive resets and keep runs warm; a session's own are gone after its reset", async () => {
    const { pip } = inject("packageIndexes");
    const library = "llm-sandbox-fixture==1.0.0";
    const greet = "from llm_sandbox_fixture import greet\nprint(greet('you'))";
    const probe = "import sys\nprint('numpy' in sys.modules, sys.prefix)"; // warm (pre-imported numpy)? which python?
    {
      await using pool = createPoolManager({ ...engine, lang: "python", packageIndexes: { pip }, libraries: [library], config: { maxPoolSize: 1 } });
      for (const round of ["first", "after a reset"]) {
        const session = await createSession({ pool }).open();
        expect((await session.run(greet, { libraries: [library] })).stdout, round).toBe("python fixture greets you\n");
        expect((await session.run(probe)).stdout, round).toBe("True /sandbox/.sandbox-venv\n");
        await session.close();
      }
      expect(pool.getStats().counters.reused).toBe(1);
    }
    await using pool = createPoolManager({ ...engine, lang: "python", packageIndexes: { pip }, config: { maxPoolSize: 1 } });
    const a = await createSession({ pool }).open();
    expect((await a.run(greet, { libraries: [library] })).stdout).toBe("python fixture greets you\n");
    expect((await a.run(probe)).stdout).toBe("False /sandbox/.sandbox-venv\n"); // the new virtualenv's own python, as cold
    await a.close();
    const b = await createSession({ pool }).open();
    expect((await b.run(greet)).stderr).toContain("ModuleNotFoundError: No module named 'llm_sandbox_fixture'");
    expect((await b.run(probe)).stdout).toBe("True /usr\n");
    await b.close();
  });

  it("a session that kills the warm interpreter gets a working fallback, and its container is replaced rather than reused", async () => {
    await using pool = createPoolManager({ ...engine, lang: "python", config: { maxPoolSize: 1 } });
    const a = await createSession({ pool }).open();
    const error = await errorOf(a.run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"));
    expect((error as Error).message).toMatch(/warm python interpreter ended during the run/);
    expect((await a.run("print('cold now')")).stdout).toBe("cold now\n");
    const container = a.containerId!;
    await a.close();
    const b = await createSession({ pool }).open();
    expect(b.containerId).not.toBe(container);
    expect(await exists(container)).toBe(false);
    expect((await b.run("import sys; print('numpy' in sys.modules)")).stdout).toBe("True\n");
    await b.close();
  });

  it("after close() no labelled container of the pool remains", async () => {
    const pool = createPoolManager({ ...engine, lang: "python", config: { minPoolSize: 2, maxPoolSize: 3 } });
    await pool.ready();
    const busy = await createSession({ pool }).open();
    const resetting = await createSession({ pool }).open();
    await resetting.run("print(1)");
    void resetting.close();
    const creating = createSession({ pool }).open().catch(() => undefined); // a third container is being created
    expect((await labelled(pool)).length).toBeGreaterThanOrEqual(2);
    await pool.close();
    expect(await labelled(pool)).toEqual([]);
    await busy.close();
    await (await creating)?.close();
    expect(await labelled(pool)).toEqual([]);
  });

  it("an interactive session runs on a pooled container too; its kernel and state are gone after the reset", async () => {
    await using pool = createPoolManager({ ...engine, lang: "python", warmInterpreter: false, config: { maxPoolSize: 1 } });
    const first = new InteractiveSandboxSession({ pool });
    await first.open();
    await first.run("secret = 41");
    expect((await first.run("secret + 1")).value).toBe("42");
    const container = first.containerId;
    await first.close();
    const second = new InteractiveSandboxSession({ pool });
    await second.open();
    expectPlainResetOutcome(second.containerId, container);
    expect((await second.run("'secret' in globals()")).value).toBe("False");
    const kernels = await second.executeCommand("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done | grep -c 'llm-sandbox-kerne[l]' || true");
    expect(kernels.stdout.trim()).toBe("1");
    await second.close();
  });
});
