import {
  getLanguageHandler,
  InteractiveSandboxSession,
  KernelType,
  LanguageNotSupportedError,
  registerLanguageHandler,
  SandboxSession,
  ValidationError,
} from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";

// The constructor validates everything and touches no container, so these need no engine.
const settingsError = (options: ConstructorParameters<typeof InteractiveSandboxSession>[0]) => {
  try {
    new InteractiveSandboxSession(options);
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the constructor to throw");
};

describe("InteractiveSandboxSession settings", () => {
  it("fills llm-sandbox's defaults and picks the language's kernel", () => {
    const python = new InteractiveSandboxSession();
    expect(python.interactiveSettings).toEqual({ kernelType: "ipython", maxMemory: "1GB", historySize: 1000, timeout: 60, pollInterval: 0.1 });
    expect(python.options.runtimeConfigs.memory).toBe("1GB");
    expect(new InteractiveSandboxSession({ lang: "js" }).interactiveSettings.kernelType).toBe(KernelType.NODE);
    expect(new InteractiveSandboxSession({ lang: "ts", interactiveSettings: { kernelType: "NODE" } }).interactiveSettings.kernelType).toBe("node");
  });

  it("applies maxMemory to the container unless runtimeConfigs sets memory", () => {
    expect(new InteractiveSandboxSession({ interactiveSettings: { maxMemory: "256m" } }).options.runtimeConfigs.memory).toBe("256m");
    const explicit = new InteractiveSandboxSession({ interactiveSettings: { maxMemory: "256m" }, runtimeConfigs: { memory: "2g", cpus: 2 } });
    expect(explicit.options.runtimeConfigs).toMatchObject({ memory: "2g", cpus: 2 });
  });

  it("takes the cell timeout from the settings, else the execution limit every session has (executionTimeout, else defaultTimeout)", () => {
    const fromSettings = new InteractiveSandboxSession({ interactiveSettings: { timeout: 5 }, executionTimeout: 9 });
    expect(fromSettings.interactiveSettings.timeout).toBe(5);
    expect(fromSettings.limits.executionTimeout).toBe(5);
    expect(new InteractiveSandboxSession({ executionTimeout: 9 }).interactiveSettings.timeout).toBe(9);
    // The same options give an interactive session and a plain one the same limit.
    for (const options of [{}, { defaultTimeout: 7 }, { executionTimeout: 11 }]) {
      expect(new InteractiveSandboxSession(options).limits.executionTimeout).toBe(new SandboxSession(options).limits.executionTimeout);
    }
    expect(new InteractiveSandboxSession().limits.executionTimeout).toBe(60);
  });

  it.each([
    [{ historySize: -1 }, /historySize must be non-negative/],
    [{ historySize: 1.5 }, /historySize must be an integer/],
    [{ pollInterval: 0 }, /pollInterval must be positive/],
    [{ pollInterval: -0.1 }, /pollInterval must be positive/],
    [{ kernelType: "jupyter" }, /unknown kernel type "jupyter" \(supported: ipython, node\)/],
    [{ maxMemory: "lots" }, /maxMemory/],
    [{ timeout: 0 }, /timeout/],
    [{ pollingInterval: 1 }, /pollingInterval/],
  ])("refuses %j with a clear ValidationError", (settings, message) => {
    const error = settingsError({ interactiveSettings: settings as never });
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/Invalid interactive settings/);
    expect(error.message).toMatch(message);
  });

  it("refuses a kernel type that cannot run the language", () => {
    const error = settingsError({ lang: "python", interactiveSettings: { kernelType: "node" } });
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toBe('kernelType "node" cannot run python; its kernel is "ipython"');
  });

  it("refuses languages without a kernel: LanguageNotSupportedError", () => {
    // A registered language that plain sessions run, but that has no kernel.
    const ruby = getLanguageHandler("ruby");
    // A handler names its kernel: this one has none.
    const { kernel: _kernel, ...noKernel } = getLanguageHandler("python");
    registerLanguageHandler({ ...noKernel, name: "ruby", aliases: ["rb"] });
    try {
      const error = settingsError({ lang: "ruby" });
      expect(LanguageNotSupportedError.isInstance(error)).toBe(true);
      expect(error.message).toBe("Language ruby is not supported: interactive sessions support python, javascript, typescript");
      expect(LanguageNotSupportedError.isInstance(settingsError({ lang: "cobol" }))).toBe(true);
    } finally {
      // The registry is shared by the test files of a worker (the unit project does not isolate them).
      registerLanguageHandler(ruby);
    }
  });

  it("still validates the session options themselves", () => {
    expect(ValidationError.isInstance(settingsError({ workdir: "relative" }))).toBe(true);
    expect(ValidationError.isInstance(settingsError({ runtimeConfigs: { memory: "huge" } }))).toBe(true);
  });
});
