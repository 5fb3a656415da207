import { SandboxSession } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { experimental_toSandboxSession } from "./sandbox-session.js";

describe("experimental_toSandboxSession's description (no engine: the session is never opened)", () => {
  it("under a network policy names the reachable hosts and the secrets by name, never a secret's value", () => {
    const network = { allow: ["api.github.com"], secrets: { GITHUB_TOKEN: { value: "ghp_never-shown", hosts: ["api.github.com"] } } };
    const { description } = experimental_toSandboxSession(new SandboxSession({ lang: "python", runtimeConfigs: { network } }));
    expect(description).toContain("only these hosts can be reached, by name: api.github.com.");
    expect(description).toContain("GITHUB_TOKEN (for api.github.com)");
    expect(description).not.toContain("ghp_never-shown");
    expect(experimental_toSandboxSession(new SandboxSession({ lang: "python" })).description).toContain("There is no network access.");
  });
});
