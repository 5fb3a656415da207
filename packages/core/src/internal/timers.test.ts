import { afterEach, describe, expect, it, vi } from "vitest";
import type { BackendAdapter, ExecRequest } from "../backends/backend.js";
import { ValidationError } from "../errors.js";
import { InteractiveSandboxSession } from "../interactive/session.js";
import { parsePoolConfig } from "../pool/config.js";
import { createSession } from "../session/create-session.js";
import { runProcess } from "../container/process.js";
import { MAX_TIMER_SECONDS, startTimer } from "./timers.js";

// Node's timers fire at once for delays over 2^31−1 ms; every limit a timer waits for must stay below that.
const THIRTY_DAYS = 30 * 24 * 3600;

/** `make` throws a ValidationError whose message names `key` and the maximum. */
function expectRefused(make: () => unknown, key: string): void {
  expect(make).toThrow(ValidationError);
  expect(make).toThrow(new RegExp(`^(?=[\\s\\S]*\\b${key}\\b)[\\s\\S]*at most ${MAX_TIMER_SECONDS} seconds`));
}

afterEach(() => vi.useRealTimers());

describe("time limits beyond what a timer can wait for", () => {
  it("MAX_TIMER_SECONDS is the longest delay Node's timers keep", () => {
    expect(MAX_TIMER_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect((MAX_TIMER_SECONDS + 1) * 1000).toBeGreaterThan(2 ** 31 - 1);
  });

  it.each(["defaultTimeout", "executionTimeout", "installTimeout", "sessionTimeout"])("session option %s: refused, naming the maximum", (key) => {
    expectRefused(() => createSession({ [key]: THIRTY_DAYS }), key);
    expect(createSession({ [key]: MAX_TIMER_SECONDS }).options).toMatchObject({ [key]: MAX_TIMER_SECONDS });
  });

  it("session option podStartTimeout (kubernetes): refused, naming the maximum", () => {
    expectRefused(() => createSession({ backend: "kubernetes", podStartTimeout: THIRTY_DAYS }), "podStartTimeout");
  });

  it.each(["acquisitionTimeout", "idleTimeout", "healthCheckInterval", "maxContainerLifetime"])("pool config %s: refused, naming the maximum", (key) => {
    expectRefused(() => parsePoolConfig({ [key]: THIRTY_DAYS }), key);
    expect(parsePoolConfig({ [key]: MAX_TIMER_SECONDS })).toMatchObject({ [key]: MAX_TIMER_SECONDS });
  });

  it("interactive settings timeout: refused, naming the maximum", () => {
    expectRefused(() => new InteractiveSandboxSession({ interactiveSettings: { timeout: THIRTY_DAYS } }), "timeout");
  });

  it("a per-call timeout of 30 days is a ValidationError before anything runs, not a timeout that fires at once", async () => {
    const started: ExecRequest[] = [];
    const backend = {
      exec: async (_id: string, request: ExecRequest) => {
        started.push(request);
        return { exitCode: 0 };
      },
    } as unknown as BackendAdapter;
    const request = { argv: ["true"], maxOutputBytes: 1024, encodingErrors: "replace" as const, description: "command" };
    const error = await runProcess(backend, "container", { ...request, timeout: THIRTY_DAYS }).catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^timeout must be at most ${MAX_TIMER_SECONDS} seconds`));
    expect(started).toEqual([]);
    for (const timeout of [0, -1, Number.NaN]) {
      expect(ValidationError.isInstance(await runProcess(backend, "container", { ...request, timeout }).catch((e: unknown) => e))).toBe(true);
    }
    expect(started).toEqual([]);
  });

  it("startTimer waits the full limit up to the maximum and refuses anything longer", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    startTimer(MAX_TIMER_SECONDS, "timeout", fired);
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_SECONDS * 1000);
    expect(fired).toHaveBeenCalledOnce();
    expectRefused(() => startTimer(THIRTY_DAYS, "timeout", fired), "timeout");
  });
});
