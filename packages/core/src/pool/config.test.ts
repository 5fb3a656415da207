import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { parsePoolConfig } from "./config.js";

const failure = (config: unknown) => {
  try {
    parsePoolConfig(config as never);
  } catch (error) {
    expect(ValidationError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected a ValidationError");
};

describe("pool config", () => {
  it("has llm-sandbox's defaults", () => {
    expect(parsePoolConfig(undefined)).toEqual({
      maxPoolSize: 10,
      minPoolSize: 0,
      idleTimeout: 300,
      acquisitionTimeout: 30,
      healthCheckInterval: 60,
      maxContainerLifetime: 3600,
      exhaustionStrategy: "WAIT",
      enablePrewarming: true,
    });
  });

  it("refuses minPoolSize above maxPoolSize, naming both", () => {
    expect(failure({ minPoolSize: 5, maxPoolSize: 2 })).toMatch(/minPoolSize \(5\) cannot be greater than maxPoolSize \(2\)/);
  });

  it("refuses maxPoolSize 0, negative sizes, fractions and zero or negative times", () => {
    expect(failure({ maxPoolSize: 0 })).toMatch(/maxPoolSize must be at least 1/);
    expect(failure({ minPoolSize: -1 })).toMatch(/minPoolSize must be at least 0/);
    expect(failure({ maxPoolSize: 2.5 })).toMatch(/maxPoolSize must be an integer/);
    expect(failure({ maxContainerUses: 0 })).toMatch(/maxContainerUses must be at least 1/);
    expect(failure({ acquisitionTimeout: 0 })).toMatch(/acquisitionTimeout/);
    expect(failure({ healthCheckInterval: -5 })).toMatch(/healthCheckInterval/);
  });

  it("takes the strategy in any case, refuses unknown ones and unknown keys", () => {
    expect(parsePoolConfig({ exhaustionStrategy: "fail_fast" }).exhaustionStrategy).toBe("FAIL_FAST");
    expect(failure({ exhaustionStrategy: "RETRY" })).toMatch(/unknown exhaustion strategy "RETRY" \(expected FAIL_FAST, WAIT, TEMPORARY\)/);
    expect(failure({ maxPoolsize: 3 })).toMatch(/maxPoolsize/);
  });

  it("null turns a time limit off (llm-sandbox's None)", () => {
    const config = parsePoolConfig({ idleTimeout: null, acquisitionTimeout: null, maxContainerLifetime: null, maxContainerUses: null });
    expect(config).toMatchObject({ idleTimeout: null, acquisitionTimeout: null, maxContainerLifetime: null, maxContainerUses: null });
  });
});
