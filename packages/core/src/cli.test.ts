import { afterEach, describe, expect, it, vi } from "vitest";

/** Runs the `llm-sandbox` command in this process (the module runs its argv on import) and returns what it wrote. */
async function llmSandbox(...args: string[]): Promise<{ exitCode: typeof process.exitCode; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  vi.spyOn(process, "argv", "get").mockReturnValue([process.execPath, "llm-sandbox", ...args]);
  vi.resetModules();
  await import("./cli.js");
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  return { exitCode, stdout, stderr };
}

afterEach(() => vi.restoreAllMocks());

describe("the llm-sandbox command line", () => {
  it("documents what users need and not the repository's own --test-fixtures", async () => {
    const { exitCode, stdout } = await llmSandbox("--help");
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^Usage: llm-sandbox <command>/);
    expect(stdout).toContain("--podman");
    expect(stdout).toMatch(/--gvisor .*gVisor/);
    expect(stdout).not.toContain("test-fixtures");
  });

  it("still accepts --test-fixtures (npm test's set-up) and refuses unknown flags", async () => {
    expect((await llmSandbox("setup", "--test-fixtures", "--help")).exitCode).toBe(0);
    const unknown = await llmSandbox("setup", "--bogus");
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/--bogus/);
  });

  it("refuses --gvisor with --podman, saying why, before touching an engine", async () => {
    const both = await llmSandbox("setup", "--gvisor", "--podman");
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/Podman .* ignores a container's runtime/);
  });
});
