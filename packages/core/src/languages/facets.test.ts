import { afterEach, describe, expect, it } from "vitest";
import { plotCaptureFor, plotLanguages } from "../artifacts/capture.js";
import { LanguageNotSupportPlotError } from "../errors.js";
import { interactiveLanguages, kernelFor } from "../interactive/kernels.js";
import { defaultWarmModules, warmLanguages } from "../pool/warm.js";
import { describeSandboxTool } from "../tool/description.js";
import type { LanguageHandler } from "./handler.js";
import { javascript } from "./javascript.js";
import { getLanguageHandler, registerLanguageHandler, unregisterLanguageHandler } from "./registry.js";

// Registrations stay for the rest of this file only (vitest gives each test file its own modules).

const settings = { start: 0, maxPlotsPerRun: 5, maxPlotBytes: 100, plotlyJs: "cdn" } as const;

describe("a language's facets are found from its handler", () => {
  // The registry is shared by the unit project's test files: languages registered here leave with their test.
  afterEach(() => ["deno", "bun"].forEach(unregisterLanguageHandler));

  it("the built-in languages offer what they offered before", () => {
    expect(warmLanguages()).toEqual(["python", "javascript", "typescript"]);
    expect(defaultWarmModules("python")).toEqual(["numpy", "pandas", "matplotlib", "matplotlib.pyplot"]);
    expect(defaultWarmModules("ts")).toEqual([]);
    expect(defaultWarmModules("ruby")).toBeUndefined();
    expect(interactiveLanguages()).toEqual(["python", "javascript", "typescript"]);
    expect(kernelFor("python")?.kernelType).toBe("ipython");
    expect(kernelFor("go")).toBeUndefined();
    expect(plotLanguages()).toEqual(["python", "r"]);
    expect(plotCaptureFor("python").prelude(settings)).toBe(
      "export LLM_SANDBOX_PLOTS_DIR=/tmp/.llm-sandbox/plots LLM_SANDBOX_PLOT_START=0 LLM_SANDBOX_PLOT_MAX_COUNT=5 LLM_SANDBOX_PLOT_MAX_BYTES=100 " +
        "LLM_SANDBOX_PLOTLY_JS=cdn PYTHONPATH=/tmp/.llm-sandbox/capture/python${PYTHONPATH:+:$PYTHONPATH}\n",
    );
    expect(() => plotCaptureFor("java")).toThrow(LanguageNotSupportPlotError);
  });

  it("a handler registered at run time brings its warm runner, kernel, plot capture and hint", () => {
    const deno: LanguageHandler = {
      ...javascript,
      name: "deno",
      aliases: ["dn"],
      warm: { runner: "node-spare", defaultModules: ["lodash"] },
      kernel: { kind: "node", config: { typescript: true } },
      plots: { assets: "python", environment: (dir) => `DENO_PRELOAD=${dir}/plots.ts`, hint: "Deno: call show()." },
    };
    registerLanguageHandler(deno);
    expect(warmLanguages()).toContain("deno");
    expect(defaultWarmModules("dn")).toEqual(["lodash"]);
    expect(interactiveLanguages()).toContain("deno");
    const argv = kernelFor("deno")!.argv({ dir: "/tmp/k", workdir: "/sandbox", historySize: 1, maxValueChars: 1, maxDisplayBytes: 1 });
    expect(JSON.parse(argv.at(-1)!)).toMatchObject({ dir: "/tmp/k", typescript: true });
    expect(plotLanguages()).toContain("deno");
    expect(plotCaptureFor("deno").prelude(settings)).toMatch(/ DENO_PRELOAD=\/tmp\/\.llm-sandbox\/capture\/python\/plots\.ts\n$/);
    const info = { reuse: "per-call", network: false, timeoutSeconds: 1, workdir: "/sandbox", canInstall: false, plots: true } as const;
    expect(describeSandboxTool({ ...info, languages: [getLanguageHandler("deno"), getLanguageHandler("python")] })).toContain(
      "Deno: call show().\nPython: draw with matplotlib",
    );
  });

  it("a facet naming machinery that does not exist offers nothing", () => {
    registerLanguageHandler({ ...javascript, name: "bun", aliases: [], warm: { runner: "bun-spare", defaultModules: [] }, kernel: { kind: "bun" } });
    expect(warmLanguages()).not.toContain("bun");
    expect(defaultWarmModules("bun")).toBeUndefined();
    expect(kernelFor("bun")).toBeUndefined();
    expect(interactiveLanguages()).not.toContain("bun");
  });
});
