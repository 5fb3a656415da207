import {
  ArtifactSandboxSession,
  type ConsoleOutput,
  createPoolManager,
  createSession,
  type ExecutionResult,
  SandboxAbortError,
  type SandboxSession,
  SandboxTimeoutError,
} from "@llm-sandbox/core";
import { afterAll, describe, expect, it } from "vitest";
import { POOL_BACKENDS } from "../../../../test/helpers/pool-backends.js";
import { sandboxProcesses } from "../../../../test/helpers/sessions.js";

/** Run files and run markers differ per run by design; everything else must be equal. */
const normalize = (text: string) => text.replace(/\b[0-9a-f]{16}\b/g, "RUN");
const observable = (result: ConsoleOutput) => ({
  exitCode: result.exitCode,
  stdout: normalize(result.stdout),
  stderr: normalize(result.stderr),
  ...("error" in result && (result as ExecutionResult).error ? { error: normalize(JSON.stringify((result as ExecutionResult).error)) } : {}),
});

/**
 * A session on a warm pool and a plain session of the same language, for the file's tests; `sameAsCold` adds a test
 * per [what, code] that runs the program in each and expects the same exit code, output and error. `warmProbe`
 * prints "true" only in a warm run (a test checks that the pooled session's runs are warm and the plain one's are not).
 */
async function warmAndCold(engine: (typeof POOL_BACKENDS)[number]["options"], lang: string, warmProbe: string) {
  const pool = createPoolManager({ ...engine, lang, config: { maxPoolSize: 2 } });
  afterAll(() => pool.close());
  const warm = await createSession({ pool }).open();
  const cold = await createSession({ ...engine, lang }).open();
  afterAll(() => Promise.all([warm.close(), cold.close()]));
  const sameAsCold = (cases: Array<[string, string]>) =>
    it.each(cases)("%s", async (_what, code) => {
      const [w, c] = [await warm.run(code), await cold.run(code)];
      expect(observable(w)).toEqual(observable(c));
    });
  const isWarm = async (session: SandboxSession) => (await session.run(warmProbe)).stdout === "true\n";
  it("the pooled session's runs are warm, the plain session's are not", async () => {
    expect(await isWarm(warm)).toBe(true);
    expect(await isWarm(cold)).toBe(false);
  });
  return { pool, warm, cold, sameAsCold, isWarm };
}

/**
 * A warm run must be observably identical to a cold run, except for speed: every program here runs in a pooled
 * session whose runs fork the warm interpreter, and in a plain session whose runs start `python3` in a new exec.
 */
describe.each(POOL_BACKENDS)("warm Python interpreter on $name: identical to a cold run (real engine)", async ({ options: engine }) => {
  // A warm run's interpreter imported numpy before the run.
  const { pool, warm, cold, sameAsCold, isWarm } = await warmAndCold(engine, "python", "import sys; print(str('numpy' in sys.modules).lower())");

  sameAsCold([
    ["output on both streams", "import sys\nprint('héllo ✓')\nprint('to stderr', file=sys.stderr)"],
    ["an exception: exit 1, traceback with the source line, parsed error", "x = 1\n\ndef f():\n    return x / 0\n\nprint(f())"],
    ["a chained exception", "try:\n    {}['k']\nexcept KeyError as e:\n    raise ValueError('bad') from e"],
    ["a syntax error", "print('a'\nx = ("],
    ["sys.exit(7) after output", "import sys\nprint('bye')\nsys.exit(7)"],
    ["sys.exit with a message", "import sys\nsys.exit('fatal: no input')"],
    ["sys.exit() and SystemExit(0)", "raise SystemExit(0)"],
    ["an uncaught KeyboardInterrupt", "raise KeyboardInterrupt"],
    ["os._exit", "import os\nprint('x', flush=True)\nos._exit(4)"],
    ["input() at end of file", "input()"],
    ["a warning with its source line", "import warnings\nwarnings.warn('careful')"],
    ["a non-daemon thread finishing after the main program", "import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.3), print('late'))).start()\nprint('main done')"],
    ["atexit hooks", "import atexit\natexit.register(print, 'at exit')\nprint('body')"],
    ["__main__, argv, sys.path[0], cwd and stdin", "import sys, os\nprint(__name__, sorted(k for k in globals() if k.startswith('__')), type(__loader__).__name__, __spec__, __package__, __doc__)\nprint(sys.argv == [__file__], sys.path[0], os.getcwd(), os.environ.get('PWD'), repr(sys.stdin.read()))\nprint(sys.stdout.write_through, sys.stdout.encoding, sys.flags.optimize)"],
    ["a module docstring and inspect.getsource", '"""The docstring."""\nimport inspect\ndef f():\n    return 1\nprint(__doc__)\nprint(inspect.getsource(f))'],
    // (HOSTNAME names the container, and these are two containers.)
    ["the environment", "import os\nprint(sorted((k, v) for k, v in os.environ.items() if k not in ('LLM_SANDBOX_RUN', 'HOSTNAME')))"],
    ["signal dispositions and open descriptors", "import os, signal\nprint(signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGPIPE), sorted(os.listdir('/proc/self/fd')))"],
    ["subprocesses (with a pipe that closes early)", "import subprocess\nprint(subprocess.run(['sh', '-c', 'yes | head -n 2; echo $SANDBOX_FILE'], capture_output=True, text=True).stdout)"],
    ["plt.show() in a plain session (Agg cannot show: matplotlib warns)", "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\nprint('shown')"],
  ]);

  it("streams output while the program runs", async () => {
    for (const session of [warm, cold]) {
      const chunks: Array<{ text: string; at: number }> = [];
      const started = Date.now();
      const result = await session.run("import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.4)", {
        onStdout: (text) => chunks.push({ text, at: Date.now() - started }),
      });
      expect(chunks.map((c) => c.text).join("")).toBe("0\n1\n2\n");
      expect(result.durationMs - chunks[0]!.at).toBeGreaterThan(700);
    }
  });

  it("nothing one run sets is visible to the next: variables, module attributes, imported modules' state", async () => {
    await warm.run("x = 42\nimport numpy, matplotlib.pyplot as plt\nnumpy.leaked = True\nplt.figure()\nimport json\njson.dumps = None");
    const next = await warm.run("import numpy, json, matplotlib.pyplot as plt\nprint('x' in globals(), hasattr(numpy, 'leaked'), plt.get_fignums(), json.dumps([1]))");
    expect(next.stdout).toBe("False False [] [1]\n");
  });

  it("random generators are seeded per run, as in a fresh interpreter", async () => {
    const draw = "import random, numpy\nprint(random.random(), numpy.random.rand())";
    const [first, second] = [await warm.run(draw), await warm.run(draw)];
    expect(first.stdout).not.toBe(second.stdout);
    expect(new Set(first.stdout.trim().split(" ")).size).toBe(2);
  });

  it("what a program leaves running ends with it, as in a cold run; a command's background processes stay", async () => {
    const code = [
      "import os, subprocess, time",
      "subprocess.Popen(['sleep', '1011'])",
      "subprocess.Popen(['setsid', 'sleep', '1012'])",
      "if os.fork() == 0:",
      "    os.setsid()",
      "    open('/tmp/leftover.pid', 'w').write(str(os.getpid()))",
      "    time.sleep(1013)",
      "time.sleep(0.2)",
      "print('left three behind')",
    ].join("\n");
    const forkedDaemon = `s=$(cut -d' ' -f3 /proc/$(cat /tmp/leftover.pid)/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && echo alive || echo gone`;
    for (const session of [warm, cold]) {
      expect((await session.run(code)).stdout).toBe("left three behind\n");
      expect((await sandboxProcesses(session)).filter((p) => /sleep 101[12]/.test(p))).toEqual([]);
      expect((await session.executeCommand(forkedDaemon)).stdout).toBe("gone\n");
      await session.executeCommand("sleep 1014 > /dev/null 2>&1 &");
      expect((await sandboxProcesses(session)).filter((p) => p.includes("sleep 1014"))).toHaveLength(1);
      await session.executeCommand("pkill -f 'sleep 1014'");
    }
    expect(await isWarm(warm)).toBe(true);
  });

  it("a timeout kills the program, what it started (forked daemons too), and the session stays warm", async () => {
    const code = [
      "import os, subprocess, time",
      "subprocess.Popen(['sleep', '1001'])",
      "subprocess.Popen(['setsid', 'sleep', '1002'])",
      "if os.fork() == 0:",
      "    os.setsid()",
      "    time.sleep(1003)",
      "print('spinning', flush=True)",
      "while True: pass",
    ].join("\n");
    const started = Date.now();
    const error = await warm.run(code, { timeout: 2 }).catch((e: unknown) => e);
    expect(SandboxTimeoutError.isInstance(error)).toBe(true);
    expect((error as SandboxTimeoutError).partialOutput?.stdout).toBe("spinning\n");
    expect(Date.now() - started).toBeLessThan(6000);
    const left = await warm.run("import os\nme, server = os.getpid(), os.getppid()\nsame = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (me, server) and open('/proc/%s/cmdline' % p, 'rb').read() == open('/proc/%d/cmdline' % server, 'rb').read()]\nprint(same)");
    expect(left.stdout).toBe("[]\n");
    expect((await sandboxProcesses(warm)).filter((p) => /sleep 100[0-9]/.test(p))).toEqual([]);
    expect(await isWarm(warm)).toBe(true);
  });

  it("an abort stops the program and a program that ignores SIGTERM is killed", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 800);
    const code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('stubborn', flush=True)\ntime.sleep(60)";
    const error = await warm.run(code, { signal: controller.signal }).catch((e: unknown) => e);
    expect(SandboxAbortError.isInstance(error)).toBe(true);
    expect((await warm.run("print('next')")).stdout).toBe("next\n");
  });

  it("commands go through the warm interpreter the same way: status, output, env, failures, pipes", async () => {
    const commands: Array<string | string[]> = [
      "echo $HOME; pwd; echo oops >&2; exit 3",
      ["nonexistent-command", "--flag"],
      "yes | head -n 2",
      "env | grep -v '^LLM_SANDBOX_RUN=\\|^HOSTNAME=' | sort",
      "cat; echo no-stdin",
    ];
    for (const command of commands) {
      const [w, c] = [await warm.executeCommand(command), await cold.executeCommand(command)];
      expect(observable(w)).toEqual(observable(c));
    }
    const [w, c] = [await warm.executeCommand("pwd", { workdir: "/tmp" }), await cold.executeCommand("pwd", { workdir: "/tmp" })];
    expect(w.stdout).toBe(c.stdout);
    await expect(warm.executeCommand("sleep 30", { timeout: 1 })).rejects.toSatisfy(SandboxTimeoutError.isInstance);
    expect((await sandboxProcesses(warm)).filter((p) => p.includes("sleep 30"))).toEqual([]);
  });

  it("file transfers work through it, and large inputs fall back to a plain exec", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    await warm.writeFile("big.bin", big);
    await warm.writeFile("small.txt", "small");
    expect(Buffer.from(await warm.readFile("big.bin")).equals(big)).toBe(true);
    expect(Buffer.from(await warm.readFile("small.txt")).toString()).toBe("small");
  });

  it("the server cannot be inspected by the programs it forks (non-dumpable), and they hold none of its descriptors", async () => {
    const probe = await warm.run("import os\ntry:\n    open('/proc/%d/environ' % os.getppid()).read()\n    print('readable')\nexcept PermissionError:\n    print('protected')\nprint(sorted(os.listdir('/proc/self/fd')))");
    expect(probe.stdout).toBe("protected\n['0', '1', '2', '3']\n");
  });

  it("a session virtualenv (installed libraries) makes runs use its python, as cold runs do", async () => {
    const session = await createSession({ pool }).open();
    await session.executeCommand("python3 -m venv --without-pip --system-site-packages /sandbox/.sandbox-venv");
    const result = await session.run("import sys\nprint(sys.prefix, sys.executable)");
    expect(result.stdout).toBe("/sandbox/.sandbox-venv /sandbox/.sandbox-venv/bin/python\n");
    await session.close();
  });
});

describe.each(POOL_BACKENDS)("warm plot capture on $name (real engine)", async ({ options: engine }) => {
  const pool = createPoolManager({ ...engine, lang: "python", config: { maxPoolSize: 1 } });
  afterAll(() => pool.close());
  const warm = await new ArtifactSandboxSession({ pool }).open();
  const cold = await new ArtifactSandboxSession({ ...engine, lang: "python" }).open();
  afterAll(() => Promise.all([warm.close(), cold.close()]));
  const plots = (result: ExecutionResult) => result.plots.map(({ contentBase64: _bytes, ...plot }) => plot);

  it.each([
    ["plt.show() of two figures", "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.title('squares')\nplt.show()\nplt.bar(['a', 'b'], [3, 1])\nplt.show()"],
    ["savefig (svg), a figure left open, and pandas", "import matplotlib.pyplot as plt, pandas as pd\npd.DataFrame({'v': [1, 3, 2]}).plot()\nplt.savefig('/tmp/p.svg')\nplt.figure(); plt.scatter([1, 2], [2, 1])"],
    ["plots before an exception", "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n1/0"],
  ])("%s: the same plots, chart data and output", async (_what, code) => {
    const [w, c] = [await warm.run(code, { clearPlots: true }), await cold.run(code, { clearPlots: true })];
    expect(observable(w)).toEqual(observable(c));
    expect(plots(w)).toEqual(plots(c));
    expect(w.plots.length).toBeGreaterThan(0);
  });

  it("plot numbering continues across warm runs like cold ones", async () => {
    warm.clearPlots();
    await warm.run("import matplotlib.pyplot as plt\nplt.plot([1])\nplt.show()");
    const second = await warm.run("import matplotlib.pyplot as plt\nplt.plot([2])\nplt.show()");
    expect(second.plots.map((p) => p.filename)).toEqual(["000001.png", "000002.png"]);
  });
});

/** The same for JavaScript and TypeScript, whose warm runner is a node started in advance (node cannot fork). */
describe.each(POOL_BACKENDS)("warm Node.js runner on $name: identical to a cold run (real engine)", async ({ options: engine }) => {
  // A warm run's node started before its run: its start-up environment holds another run marker than its run's.
  const { warm, cold, sameAsCold, isWarm } = await warmAndCold(
    engine,
    "javascript",
    "const own = require('fs').readFileSync('/proc/self/environ', 'utf8').split('\\0');\nconsole.log(!own.includes('LLM_SANDBOX_RUN=' + process.env.LLM_SANDBOX_RUN))",
  );

  sameAsCold([
    ["output on both streams", "console.log('héllo ✓'); console.error('to stderr')"],
    ["an exception: stack trace with the source line, parsed error", "const x = 1;\nfunction f() {\n  return null.x;\n}\nf();"],
    ["process.exit(7) after output", "console.log('bye'); process.exit(7)"],
    ["process.exitCode", "process.exitCode = 3"],
    ["an unhandled rejection", "Promise.reject(new Error('nope'))"],
    ["import syntax (a module), top-level await", "import { setTimeout as sleep } from 'node:timers/promises';\nawait sleep(10);\nconsole.log('awaited', typeof import.meta.url)"],
    ["timers after the main module, exit events", "process.on('exit', (code) => console.log('exit', code));\nsetTimeout(() => console.log('later'), 200);\nconsole.log('first')"],
    ["the main module, argv, execArgv, cwd, stdin", "console.log(require.main === module, process.argv.length, process.argv[1] === __filename, process.execArgv, process.cwd(), process.env.PWD, JSON.stringify(require('fs').readFileSync(0, 'utf8')))"],
    ["the loaded modules and /tmp", "console.log(Object.keys(require.cache), require('fs').readdirSync('/tmp'))"],
    ["the environment", "console.log(Object.entries(process.env).filter(([k]) => !['LLM_SANDBOX_RUN', 'HOSTNAME'].includes(k)).sort())"],
    ["child processes, fork() of the program itself", "const { execSync, fork } = require('child_process');\nconsole.log(execSync('yes | head -n 2; echo $SANDBOX_FILE').toString());\nif (process.argv[2] === 'child') console.log('in child', process.execArgv);\nelse fork(__filename, ['child']).on('exit', (code) => console.log('child exit', code));"],
  ]);

  it("what a program leaves running ends with it, as in a cold run", async () => {
    const code = "const { spawn } = require('child_process');\nspawn('sleep', ['1021'], { detached: true, stdio: 'ignore' }).unref();\nspawn('sleep', ['1022'], { stdio: 'ignore' }).unref();\nconsole.log('left two behind')";
    for (const session of [warm, cold]) {
      expect((await session.run(code)).stdout).toBe("left two behind\n");
      expect((await sandboxProcesses(session)).filter((p) => /sleep 102[12]/.test(p))).toEqual([]);
    }
  });

  it("nothing one run sets is visible to the next", async () => {
    await warm.run("globalThis.leak = 1; require('fs').leaked = true; process.env.LEAKED = '1'");
    expect((await warm.run("console.log(typeof leak, require('fs').leaked, process.env.LEAKED)")).stdout).toBe("undefined undefined undefined\n");
  });

  it("streams output while the program runs", async () => {
    const chunks: string[] = [];
    const result = await warm.run("let i = 0; const t = setInterval(() => { console.log(i); if (++i === 3) clearInterval(t); }, 300)", { onStdout: (text) => chunks.push(text) });
    expect(chunks).toEqual(["0\n", "1\n", "2\n"]);
    expect(result.stdout).toBe("0\n1\n2\n");
  });

  it("a timeout kills the program and what it started; the session stays warm", async () => {
    const code = "require('child_process').spawn('sleep', ['1004'], { detached: true, stdio: 'ignore' });\nconsole.log('spinning');\nwhile (true) {}";
    const error = await warm.run(code, { timeout: 2 }).catch((e: unknown) => e);
    expect(SandboxTimeoutError.isInstance(error)).toBe(true);
    expect((error as SandboxTimeoutError).partialOutput?.stdout).toBe("spinning\n");
    expect((await sandboxProcesses(warm)).filter((p) => p.includes("sleep 1004"))).toEqual([]);
    expect(await isWarm(warm)).toBe(true);
  });

  it("TypeScript runs the same way", async () => {
    await using pool = createPoolManager({ ...engine, lang: "typescript", config: { maxPoolSize: 1 } });
    const [warmTs, coldTs] = await Promise.all([createSession({ pool }).open(), createSession({ ...engine, lang: "typescript" }).open()]);
    try {
      const code = "enum Color { Red, Green }\nconst c: Color = Color.Green;\nconsole.log(c, Color[c]);\nconst n: number = 1;\nthrow new Error(`line ${n + 4}`);";
      const [w, c] = [await warmTs.run(code), await coldTs.run(code)];
      expect(observable(w)).toEqual(observable(c));
      expect(w.stdout).toBe("1 Green\n");
      expect(w.stderr).toMatch(/\.ts:5/);
    } finally {
      await Promise.all([warmTs.close(), coldTs.close()]);
    }
  });
});

