import { describe, expect, it } from "vitest";
import { SecurityViolationError, ValidationError } from "../errors.js";
import type { Logger } from "../internal/logger.js";
import { SandboxSession } from "../session/session.js";
import { SecurityIssueSeverity, SecurityPolicy } from "./policy.js";
import { getSecurityPolicy } from "./presets.js";

// A session that is never opened: whatever these tests see happens before anything could reach a container.

describe("session options for security", () => {
  it("accept a preset name or a SecurityPolicy, and refuse anything else", () => {
    expect(new SandboxSession({ securityPolicy: "production" }).securityPolicy).toBeInstanceOf(SecurityPolicy);
    const policy = new SecurityPolicy({ severityThreshold: SecurityIssueSeverity.LOW });
    expect(new SandboxSession({ securityPolicy: policy }).securityPolicy).toBe(policy);
    expect(() => new SandboxSession({ securityPolicy: "paranoid" as never })).toThrow(ValidationError);
    expect(() => new SandboxSession({ securityPolicy: { severityThreshold: 1 } as never })).toThrow(/securityPolicy/);
    expect(() => new SandboxSession({ securityMode: "lenient" as never })).toThrow(/securityMode/);
  });

  it("isSafe works without opening, and without a policy everything is safe", () => {
    const session = new SandboxSession({ securityPolicy: "production" });
    expect(session.isSafe("import subprocess")).toMatchObject({ safe: false, violations: [{ module: "subprocess" }] });
    expect(session.isSafe("print(1)")).toEqual({ safe: true, violations: [] });
    expect(new SandboxSession().isSafe("import subprocess")).toEqual({ safe: true, violations: [] });
    expect(new SandboxSession({ lang: "javascript", securityPolicy: "production" }).isSafe("require('child_process')").safe).toBe(false);
  });

  it("run() refuses blocked code with the violations before it touches the session (not even open)", async () => {
    const session = new SandboxSession({ securityPolicy: "production" });
    const error = await session.run("import subprocess\nsubprocess.run(['id'])").catch((caught: unknown) => caught);
    expect(SecurityViolationError.isInstance(error)).toBe(true);
    const violation = error as SecurityViolationError;
    expect(violation.violations).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "module", module: "subprocess", line: 1, severity: 3 })]));
    expect(violation.message).toContain("line 1: Restricted module: subprocess [HIGH]: import subprocess");
    expect(session.isOpen).toBe(false);
  });

  it("refuses restricted libraries in run(), install() and the libraries option", async () => {
    const policy = new SecurityPolicy({ severityThreshold: "medium", restrictedModules: [{ name: "requests", severity: "high" }] });
    const session = new SandboxSession({ securityPolicy: policy });
    await expect(session.run("print(1)", { libraries: ["Requests==2.31"] })).rejects.toThrow(SecurityViolationError);
    await expect(session.install(["requests"])).rejects.toThrow(/Restricted module: requests \(library requests\)/);
    expect(() => new SandboxSession({ securityPolicy: policy, libraries: ["requests"] })).toThrow(SecurityViolationError);
  });

  it("advisory mode lets the code through and logs what it would have refused", async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (message: string) => warnings.push(message), error() {} };
    const session = new SandboxSession({ securityPolicy: getSecurityPolicy("production"), securityMode: "advisory", logger });
    // Not refused: it gets as far as needing an open session.
    await expect(session.run("import subprocess")).rejects.toThrow(/not open/i);
    expect(warnings.join("\n")).toMatch(/\[advisory\] Refused by the security policy[\s\S]*subprocess/);
  });
});
