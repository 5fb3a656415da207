import { describe, expect, it } from "vitest";
import * as errors from "./errors.js";

const classes = Object.entries(errors).filter(
  (entry): entry is [string, typeof errors.SandboxError] => typeof entry[1] === "function" && "errorName" in entry[1],
);

describe("errors", () => {
  it("every error class has its own bound isInstance (so it works unbound)", () => {
    for (const [name, cls] of classes) {
      expect(Object.hasOwn(cls, "isInstance"), `${name} must be listed in bindIsInstance(...)`).toBe(true);
      expect(cls.errorName, `${name}.errorName`).toBe(name);
    }
  });

  it("isInstance follows inheritance and works across copies (marker, not instanceof)", () => {
    const violation = new errors.SecurityViolationError("no", []);
    const isInstance = errors.SecurityError.isInstance as (error: unknown) => boolean;
    expect(isInstance(violation)).toBe(true);
    expect(errors.SandboxError.isInstance(violation)).toBe(true);
    expect(errors.ValidationError.isInstance(violation)).toBe(false);
    expect([violation, new Error("x")].filter(errors.SecurityViolationError.isInstance as (e: unknown) => boolean)).toEqual([violation]);
    const foreignCopy = Object.assign(new Error("from another copy"), { [Symbol.for("llm-sandbox.error")]: ["SandboxTimeoutError", "SandboxError"] });
    expect(errors.SandboxTimeoutError.isInstance(foreignCopy)).toBe(true);
    expect(violation.name).toBe("SecurityViolationError");
    expect(violation).toBeInstanceOf(Error);
  });
});
