import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectPrototypeUntouched, hostileObject, hostileValue, sandboxErrorOf } from "../../../../test/helpers/fuzz.js";
import { MAX_TIMER_SECONDS } from "../internal/timers.js";
import { ExhaustionStrategy, parsePoolConfig, type ResolvedPoolConfig } from "./config.js";
import { type ParsedPoolOptions, parsePoolOptions } from "./pool-options.js";

const CONFIG_KEYS = [
  "maxPoolSize",
  "minPoolSize",
  "idleTimeout",
  "acquisitionTimeout",
  "healthCheckInterval",
  "maxContainerLifetime",
  "maxContainerUses",
  "exhaustionStrategy",
  "enablePrewarming",
];
const POOL_KEYS = ["config", "warmInterpreter", "lang", "backend", "libraries", "runtimeConfigs", "pool", "containerId", "commitContainer", "sessionTimeout", "image"];

const smallInt = fc.integer({ min: -2, max: 12 });
const config = hostileObject(CONFIG_KEYS, fc.oneof(hostileValue, smallInt, smallInt, fc.constant(null)));
const warm = fc.oneof(hostileValue, hostileObject(["modules"], fc.oneof(hostileValue, fc.array(fc.constantFrom("numpy", "os.path", "1x", "a b", "__proto__")))));
const poolOptions = hostileObject(POOL_KEYS, fc.oneof(hostileValue, config, warm));

const isSeconds = (value: unknown) => typeof value === "number" && value > 0 && value <= MAX_TIMER_SECONDS;
const isInt = (value: unknown, min: number) => Number.isSafeInteger(value) && (value as number) >= min;

/** What a pool relies on: sizes are integers in order, every timer can be armed, the strategy is one it knows. */
function expectSaneConfig(resolved: ResolvedPoolConfig): void {
  expect(isInt(resolved.maxPoolSize, 1)).toBe(true);
  expect(isInt(resolved.minPoolSize, 0) && resolved.minPoolSize <= resolved.maxPoolSize).toBe(true);
  for (const seconds of [resolved.idleTimeout, resolved.acquisitionTimeout, resolved.maxContainerLifetime]) {
    expect(seconds === null || isSeconds(seconds)).toBe(true);
  }
  expect(isSeconds(resolved.healthCheckInterval)).toBe(true);
  expect(resolved.maxContainerUses == null || isInt(resolved.maxContainerUses, 1)).toBe(true);
  expect(Object.values(ExhaustionStrategy)).toContain(resolved.exhaustionStrategy);
  expect(typeof resolved.enablePrewarming).toBe("boolean");
}

describe("pool options from an untyped caller (property)", () => {
  it("parsePoolConfig gives a config a pool can run on, or a ValidationError", () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: config }, hostileValue), (raw) => {
        let resolved: ResolvedPoolConfig | undefined;
        const error = sandboxErrorOf(() => (resolved = parsePoolConfig(raw as never)));
        expectPrototypeUntouched();
        if (error) expect(error.name).toBe("ValidationError");
        else expectSaneConfig(resolved!);
      }),
      { numRuns: 500 },
    );
  });

  it("parsePoolOptions gives options a pool can run on, or a SandboxError; a non-object is refused", () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: poolOptions }, hostileValue), (raw) => {
        let parsed: ParsedPoolOptions | undefined;
        const error = sandboxErrorOf(() => (parsed = parsePoolOptions(raw as never)));
        expectPrototypeUntouched();
        if (raw !== undefined && raw !== null && (typeof raw !== "object" || Array.isArray(raw))) expect(error).toBeDefined();
        if (error) return;
        const { config: resolved, containers, language, warmModules, sessionDefaults } = parsed!;
        expectSaneConfig(resolved);
        expect(containers.runtimeConfigs.readOnly).not.toBe(false);
        expect(sessionDefaults.lang).toBe(language.name);
        // Refused and pool-only options never reach the sessions (an explicit undefined is the same as absent).
        for (const key of ["pool", "containerId", "commitContainer", "sessionTimeout", "libraries"] as const) expect(sessionDefaults[key]).toBeUndefined();
        for (const module of warmModules ?? []) expect(module).toMatch(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/);
      }),
      { numRuns: 500, examples: [[42], ["python"], [[]], [true]] },
    );
  });
});
