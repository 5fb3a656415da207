import { createPoolManager, SandboxAbortError, type SandboxSession, ToolCallError } from "@llm-sandbox/core";
import { engineClient } from "@llm-sandbox/core/backends";
import { executeTool, fromSession, perCall, persistent, pooled } from "@llm-sandbox/core/tool";
import { describe, expect, it } from "vitest";
import { PLOT } from "../../../../test/helpers/plots.js";
import { sandboxProcesses, withSession } from "../../../../test/helpers/sessions.js";

const docker = engineClient();
const exists = (id: string) => docker.getContainer(id).inspect().then(() => true, () => false);
const py = (code: string) => ({ code, language: "python", libraries: null });

describe("session providers (real engine)", () => {
  it("perCall: a fresh container per call, removed right after it", async () => {
    const provider = perCall({ languages: ["python"] });
    const seen: string[] = [];
    const remember = (session: SandboxSession) => (seen.push(session.containerId!), session.run("print('hi')"));
    expect((await provider.withSession("python", remember)).stdout).toBe("hi\n");
    await provider.withSession("python", remember);
    const [first, second] = seen;
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(first).not.toBe(second);
    expect(await exists(first!)).toBe(false);
    expect(await exists(second!)).toBe(false);
    await provider.close();
  });

  it("persistent: one session per language shared by concurrent calls; files persist; a closed session is replaced", async () => {
    await using provider = persistent({ languages: ["python", "javascript"] });
    const [a, b] = await Promise.all([
      provider.withSession("python", async (s) => s),
      provider.withSession("py", async (s) => s),
    ]);
    expect(a).toBe(b);
    await executeTool(py("open('state.txt', 'w').write('kept')"), provider);
    expect((await executeTool(py("print(open('state.txt').read())"), provider)).stdout).toBe("kept\n");
    const js = await provider.withSession("javascript", async (s) => s);
    expect(js).not.toBe(a);
    expect((await executeTool({ code: "console.log(6 * 7)", language: "javascript", libraries: null }, provider)).stdout).toBe("42\n");

    await a!.close();
    const replacement = await provider.withSession("python", async (s) => s);
    expect(replacement).not.toBe(a);
    expect(replacement.isOpen).toBe(true);

    const ids = [replacement.containerId!, js.containerId!];
    await provider.close();
    for (const id of ids) expect(await exists(id)).toBe(false);
  });

  it("fromSession: every call runs in your session, in its language only; closing the provider leaves it open", async () => {
    await withSession({ lang: "javascript", executionTimeout: 7 }, async (session) => {
      const provider = fromSession(session);
      expect(provider.info).toMatchObject({ reuse: "persistent", timeoutSeconds: 7, languages: [session.language] });
      await session.writeFile("prepared.json", '{"n": 41}');
      const result = await executeTool({ code: "console.log(require('./prepared.json').n + 1)", language: "javascript", libraries: null }, provider);
      expect(result.stdout).toBe("42\n");
      await expect(executeTool(py("print(1)"), provider)).rejects.toThrow(/Invalid input[\s\S]*language/);
      await provider.close();
      expect(session.isOpen).toBe(true);
    });
  });

  it("executeTool: stdout of a real run, a time limit the model can read, an abort that kills the program", async () => {
    await using provider = persistent({ languages: ["python"], executionTimeout: 5 });
    expect((await executeTool(py("print(sum(range(10)))"), provider)).stdout).toBe("45\n");

    const timedOut = await executeTool(py("import time\nprint('started', flush=True)\ntime.sleep(30)"), provider).catch((e: unknown) => e);
    expect(ToolCallError.isInstance(timedOut)).toBe(true);
    expect((timedOut as Error).message).toContain("time limit of 5 s");
    expect((timedOut as Error).message).toContain("started");

    const controller = new AbortController();
    const running = executeTool(py("import time\nprint('sleeping', flush=True)\ntime.sleep(30)"), provider, {
      signal: controller.signal,
      onStdout: () => controller.abort(),
    });
    await expect(running).rejects.toBeInstanceOf(SandboxAbortError);
    const processes = await provider.withSession("python", sandboxProcesses);
    expect(processes).not.toContainEqual(expect.stringContaining(".sandbox-"));
  });

  it("pooled: every call borrows a container reset to its start (nothing of earlier calls), concurrent calls share the pool, plots work", async () => {
    await using pool = createPoolManager({ lang: "python", config: { maxPoolSize: 2 } });
    const provider = pooled(pool, { executionTimeout: 20 });
    expect(provider.info).toMatchObject({ reuse: "pool", plots: true, timeoutSeconds: 20 });
    expect(provider.info.languages.map((l) => l.name)).toEqual(["python"]);
    expect((await executeTool(py("open('left.txt', 'w').write('x')\nprint('wrote')"), provider)).stdout).toBe("wrote\n");
    const checks = await Promise.all([1, 2, 3].map(() => executeTool(py("import os\nprint(os.path.exists('left.txt'))"), provider)));
    expect(checks.map((r) => r.stdout)).toEqual(["False\n", "False\n", "False\n"]);
    expect((await executeTool(py(PLOT), provider)).plots).toHaveLength(1);
    await expect(executeTool({ code: "console.log(1)", language: "javascript", libraries: null }, provider)).rejects.toThrow(/language/);
    expect(pool.getStats().counters.acquired).toBe(5);
    await provider.close();
    expect(pool.getStats().closed).toBe(false);
  });
});
