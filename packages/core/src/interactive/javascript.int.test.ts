import { InteractiveSandboxSession, KernelDiedError, SandboxAbortError, SandboxTimeoutError } from "@llm-sandbox/core";
import { afterAll, describe, expect, it } from "vitest";

async function openSession(lang: string): Promise<InteractiveSandboxSession> {
  const session = new InteractiveSandboxSession({ lang });
  afterAll(() => session.close());
  return session.open();
}

describe("interactive JavaScript sessions (real engine)", async () => {
  const session = await openSession("javascript");

  it("keeps variables and functions between cells; the last expression is the value", async () => {
    expect((await session.run("let n = 41")).value).toBeUndefined();
    expect((await session.run("n + 1")).value).toBe("42");
    await session.run("function twice(v) { return 2 * v }\nclass Box { constructor(v) { this.v = v } }");
    expect((await session.run("twice(new Box(4).v)")).value).toBe("8");
    expect((await session.run("({ a: [1, 'b'] })")).value).toBe("{ a: [ 1, 'b' ] }");
    expect((await session.run("{ a: 1 }")).value).toBe("{ a: 1 }"); // an object, as in the node REPL
  });

  it("supports top-level await; declarations made with await persist too", async () => {
    expect((await session.run("await Promise.resolve(5)")).value).toBe("5");
    expect((await session.run("const later = await new Promise((r) => setTimeout(() => r('done'), 50)); later")).value).toBe("'done'");
    expect((await session.run("later")).value).toBe("'done'");
  });

  it("lets a later cell declare the same let/const/class again, as a notebook re-run does", async () => {
    await session.run("const k = 1; class K {}");
    const again = await session.run("const k = 2; class K { two() { return 2 } }\nk + new K().two()");
    expect(again.stderr).toBe("");
    expect(again.value).toBe("4");
    const reset = await session.run("let unset = 1");
    expect(reset.exitCode).toBe(0);
    expect((await session.run("let unset; unset")).value).toBeUndefined();
  });

  it("reports a thrown error as data (exit 1, parsed error, stack) and keeps the state", async () => {
    await session.run("var survivor = 'yes'");
    const failed = await session.run("null.prop");
    expect(failed.exitCode).toBe(1);
    expect(failed.error).toMatchObject({ name: "TypeError", message: expect.stringContaining("Cannot read properties of null") });
    expect(failed.stderr).toContain("TypeError");
    expect(failed.stderr).toContain("cell-");
    expect(failed.stderr).not.toContain("kernel.mjs");
    const syntax = await session.run("for (");
    expect(syntax.error?.name).toBe("SyntaxError");
    expect((await session.run("survivor")).value).toBe("'yes'");
  });

  it("streams console output while the cell runs", async () => {
    const arrivals: { text: string; at: number }[] = [];
    const started = Date.now();
    const result = await session.run(
      "for (const i of [0, 1, 2]) { console.log(`line ${i}`); await new Promise((r) => setTimeout(r, 500)) }\nconsole.error('done')",
      { onStdout: (text) => arrivals.push({ text, at: Date.now() - started }) },
    );
    const ended = Date.now() - started;
    expect(arrivals.map((a) => a.text)).toEqual(["line 0\n", "line 1\n", "line 2\n"]);
    expect(result.stdout).toBe("line 0\nline 1\nline 2\n");
    expect(result.stderr).toBe("done\n");
    expect(ended - arrivals[0]!.at).toBeGreaterThan(1000);
  });

  it("child processes write beside the channel, even through inherited stdio and in large amounts", async () => {
    const result = await session.run(
      "const { execSync } = require('node:child_process')\nexecSync(\"head -c 300000 /dev/zero | tr '\\\\0' x; echo; echo to-stderr >&2\", { stdio: 'inherit' }); 'ok'",
      { timeout: 20 },
    );
    expect(result.value).toBe("'ok'");
    expect(result.stdout).toBe(`${"x".repeat(300000)}\n`);
    expect(result.stderr).toBe("to-stderr\n");
  });

  it("interrupts a busy loop over its timeout and keeps the state", async () => {
    await session.run("var kept = 'still here'");
    const started = Date.now();
    const error = await session.run("while (true) {}", { timeout: 1 }).catch((e: unknown) => e);
    expect(SandboxTimeoutError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/kernel keeps its state/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await session.run("kept")).value).toBe("'still here'");
  });

  it("interrupts a pending await, by timeout or abort signal", async () => {
    const error = await session.run("await new Promise(() => {})", { timeout: 1 }).catch((e: unknown) => e);
    expect(SandboxTimeoutError.isInstance(error)).toBe(true);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const aborted = await session.run("await new Promise(() => {})", { signal: controller.signal }).catch((e: unknown) => e);
    expect(SandboxAbortError.isInstance(aborted)).toBe(true);
    expect((await session.run("1 + 1")).value).toBe("2");
  });

  it("requires libraries installed while the kernel runs", async () => {
    const result = await session.run("require('is-number')(5)", { libraries: ["is-number@7.0.0"] });
    expect(result.stderr).toBe("");
    expect(result.value).toBe("true");
  });

  it("reports a kernel that exits (process.exit) until restart()", async () => {
    const error = await session.run("process.exit(3)").catch((e: unknown) => e);
    expect(KernelDiedError.isInstance(error)).toBe(true);
    expect((error as KernelDiedError).exitCode).toBe(3);
    expect(KernelDiedError.isInstance(await session.run("1").catch((e: unknown) => e))).toBe(true);
    await session.restart();
    expect((await session.run("typeof n")).value).toBe("'undefined'");
  });
});

describe("interactive TypeScript sessions (real engine)", async () => {
  const session = await openSession("typescript");

  it("strips types, keeps state, and runs enums and top-level await", async () => {
    await session.run("interface Point { x: number; y: number }\nconst p: Point = { x: 1, y: 2 }");
    expect((await session.run("const sum = (a: Point): number => a.x + a.y;\nsum(p)")).value).toBe("3");
    expect((await session.run("enum Color { Red, Green }\nColor.Green")).value).toBe("1");
    expect((await session.run("const v: string = await Promise.resolve('ts'); v")).value).toBe("'ts'");
    const bad = await session.run("const broken: = 1");
    expect(bad.exitCode).toBe(1);
    expect(bad.error?.name).toBe("SyntaxError");
  });
});
