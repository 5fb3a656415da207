import { createPoolManager, InteractiveSandboxSession, SandboxTimeoutError, type SessionOptions, ToolCallError } from "@llm-sandbox/core";
import { describeSandboxTool, executeTool, perCall, persistent, pooled, type SessionProvider } from "@llm-sandbox/core/tool";
import { describe, expect, it } from "vitest";

/** A Python call that outlives the limit below and says so if it is not stopped. */
const SLOW = { code: "import time\ntime.sleep(6)\nprint('not stopped')", language: "python", libraries: null };
const LIMIT = 2;

/** What the model is told about the time limit, and what a slow call then meets. */
async function limitOf(provider: SessionProvider): Promise<{ told: string; stoppedAfter: number | undefined }> {
  const told = /Time limit: (\d+) s per call/.exec(describeSandboxTool(provider.info))?.[1] ?? "missing";
  const error = await executeTool(SLOW, provider).catch((caught: unknown) => caught);
  expect(ToolCallError.isInstance(error)).toBe(true);
  const cause = (error as ToolCallError).cause;
  return { told, stoppedAfter: SandboxTimeoutError.isInstance(cause) ? cause.timeoutDuration : undefined };
}

describe("one execution limit for every kind of session (real engine)", () => {
  it("a session, a pooled session and an interactive session given the same options report and enforce the same limit", async () => {
    const options = { executionTimeout: LIMIT };
    await using plain = perCall({ ...options, languages: ["python"] });
    await using pool = createPoolManager({ lang: "python", config: { maxPoolSize: 1 } });
    await using fromPool = pooled(pool, options);
    await using interactive = persistent({ ...options, languages: ["python"], createSession: (o: SessionOptions) => new InteractiveSandboxSession(o) });
    const results = [await limitOf(plain), await limitOf(fromPool), await limitOf(interactive)];
    expect(results).toEqual([
      { told: String(LIMIT), stoppedAfter: LIMIT },
      { told: String(LIMIT), stoppedAfter: LIMIT },
      { told: String(LIMIT), stoppedAfter: LIMIT },
    ]);
  });

  it("the tool tells the model the limit the session enforces, however the session got it (interactive settings)", async () => {
    const cells = (o: SessionOptions) => new InteractiveSandboxSession({ ...o, interactiveSettings: { timeout: LIMIT } });
    await using provider = persistent({ languages: ["python"], createSession: cells });
    expect(await limitOf(provider)).toEqual({ told: String(LIMIT), stoppedAfter: LIMIT });
  });

  it("with no options, every kind tells the model the same default limit", () => {
    const told = (provider: SessionProvider) => provider.info.timeoutSeconds;
    const pool = createPoolManager({ lang: "python", config: { enablePrewarming: false } });
    try {
      const interactive = perCall({ languages: ["python"], createSession: (o: SessionOptions) => new InteractiveSandboxSession(o) });
      expect([told(perCall({ languages: ["python"] })), told(pooled(pool)), told(interactive)]).toEqual([60, 60, 60]);
    } finally {
      void pool.close();
    }
  });
});
