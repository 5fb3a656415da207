import { describe, expect, it } from "vitest";
import {
  FileNotFoundError,
  LibraryInstallationError,
  NotOpenSessionError,
  SandboxAbortError,
  SandboxTimeoutError,
  ToolCallError,
  ValidationError,
} from "../errors.js";
import { getLanguageHandler } from "../languages/registry.js";
import { ExecutionResult, type PlotOutput } from "../result.js";
import { SandboxSession } from "../session/session.js";
import { describeSandboxTool } from "./description.js";
import { executeTool, streamTool, toolCallError } from "./execute.js";
import { formatToolResult, modelImages, summarizeResult, truncateForModel } from "./format.js";
import { parseToolInput, toolInputJsonSchema } from "./input.js";
import { sandboxToolDefinition } from "./options.js";
import { perCall, type SandboxInfo, type SessionProvider } from "./providers.js";

const png: PlotOutput = { format: "png", contentBase64: "iVBORw0KGgo=", width: 640, height: 480, filename: "000001.png" };
const svg: PlotOutput = { format: "svg", contentBase64: "PHN2Zy8+" };

const info: SandboxInfo = {
  languages: [getLanguageHandler("python"), getLanguageHandler("javascript")],
  reuse: "per-call",
  network: false,
  timeoutSeconds: 60,
  workdir: "/sandbox",
  canInstall: true,
  plots: false,
};

/** A provider whose "session" is a function: the pure logic around it (validation, errors, streaming) is under test. */
function fakeProvider(run: (code: string, options: Record<string, unknown>) => Promise<ExecutionResult>): SessionProvider {
  const session = { run } as unknown as SandboxSession;
  return { info, withSession: (_language, use) => use(session), close: async () => {}, [Symbol.asyncDispose]: async () => {} };
}

describe("tool input", () => {
  it("is strict-mode JSON Schema: every property required, no extra properties, language an enum", () => {
    const schema = toolInputJsonSchema(["python", "javascript"]);
    expect(schema).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: ["code", "language", "libraries"],
      properties: {
        code: { type: "string" },
        language: { enum: ["python", "javascript"] },
        libraries: { anyOf: [{ type: "array", items: { type: "string" } }, { type: "null" }] },
      },
    });
    expect(schema).not.toHaveProperty("$schema");
  });

  it("accepts an object or JSON text", () => {
    const input = { code: "print(1)", language: "python", libraries: null };
    expect(parseToolInput(input, ["python"])).toEqual(input);
    expect(parseToolInput(JSON.stringify(input), ["python"])).toEqual(input);
  });

  it.each([
    [{ code: "print(1)", language: "cobol", libraries: null }, /language/],
    [{ language: "python", libraries: null }, /code/],
    [{ code: "x", language: "python", libraries: null, extra: 1 }, /extra/],
    [{ code: " \n ", language: "python", libraries: null }, /code must not be empty/],
    ["{not json", /not valid JSON/],
  ])("refuses %j with a ToolCallError naming the problem", (input, pattern) => {
    const error = (() => {
      try {
        parseToolInput(input, ["python"]);
      } catch (e) {
        return e;
      }
    })();
    expect(ToolCallError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Invalid input/);
    expect((error as Error).message).toMatch(pattern);
  });

  it("needs at least one language", () => {
    expect(() => toolInputJsonSchema([])).toThrow(ValidationError);
  });
});

describe("model-facing formatting", () => {
  it("keeps head and tail around a marker that says how much was cut", () => {
    const text = `${"a".repeat(100)}${"z".repeat(100)}`;
    const cut = truncateForModel(text, 50);
    expect(cut).toMatch(/^a{30}\n\[\.\.\. 150 characters truncated \.\.\.\]\nz{20}$/);
    expect(truncateForModel("short", 50)).toBe("short");
    expect(truncateForModel("short", 50, true)).toMatch(/short\n\[\.\.\. output exceeded the sandbox's limit/);
  });

  it("formats a failing run with output, parsed error and plots", () => {
    const result = new ExecutionResult({
      exitCode: 1,
      stdout: "before\n",
      stderr: "Traceback...\nZeroDivisionError: division by zero\n",
      error: { name: "ZeroDivisionError", message: "division by zero" },
      plots: [png, svg],
    });
    const text = formatToolResult(result, { imagesAttached: true });
    expect(text).toBe(
      [
        "exit code: 1",
        "--- stdout ---\nbefore",
        "--- stderr ---\nTraceback...\nZeroDivisionError: division by zero",
        "error: ZeroDivisionError: division by zero",
        "2 plot(s): png 640x480 (000001.png), svg; 1 attached as image(s); 1 not shown to you",
      ].join("\n"),
    );
    expect(formatToolResult(result)).toContain("2 plot(s): png 640x480 (000001.png), svg; 2 not shown to you");
    expect(formatToolResult(new ExecutionResult({ exitCode: 0 }))).toBe("exit code: 0 (success)\nstdout: (empty)");
  });

  it("summarises for structured output: truncation flag, plot metadata without bytes", () => {
    const result = new ExecutionResult({ exitCode: 0, stdout: "x".repeat(30), stdoutTruncated: false, plots: [png] });
    const summary = summarizeResult(result, { maxOutputChars: 10 });
    expect(summary.truncated).toBe(true);
    expect(summary.stdout).toContain("[... 20 characters truncated ...]");
    expect(summary.plots).toEqual([{ format: "png", mimeType: "image/png", width: 640, height: 480, filename: "000001.png" }]);
    expect(JSON.stringify(summary)).not.toContain(png.contentBase64);
    expect(summarizeResult(new ExecutionResult({ exitCode: 0, stderr: "e", stderrTruncated: true })).truncated).toBe(true);
  });

  it("turns only model-readable plot formats into images", () => {
    const images = modelImages(new ExecutionResult({ exitCode: 0, plots: [svg, png, { format: "jpeg", contentBase64: "/9j/" }] }));
    expect(images.map((i) => [i.mimeType, i.base64])).toEqual([
      ["image/png", png.contentBase64],
      ["image/jpeg", "/9j/"],
    ]);
  });
});

describe("tool description", () => {
  it("names languages with their preinstalled libraries, installs, network, limits and reuse", () => {
    const text = describeSandboxTool(info);
    expect(text).toContain("python (preinstalled: numpy, pandas, matplotlib");
    expect(text).toContain("javascript");
    expect(text).toContain("no network access (library installation still works)");
    expect(text).toContain("Time limit: 60 s per call");
    expect(text).toContain("fresh sandbox");
    expect(text).not.toContain("plt.show()");
  });

  it("tells how to show plots only when the sessions capture them, and describes persistence honestly", () => {
    const text = describeSandboxTool({ ...info, plots: true, network: true, reuse: "persistent", canInstall: false });
    expect(text).toContain("plt.show()");
    expect(text).toContain("can reach the network");
    expect(text).toContain("variables do not carry over");
    expect(text).toContain("Libraries cannot be installed");
  });

  it("says the sandbox runs under gVisor only when it does", () => {
    expect(describeSandboxTool(info)).not.toContain("gVisor");
    expect(describeSandboxTool({ ...info, isolation: "gvisor" })).toContain("runs under gVisor, a kernel in user space");
  });
});

describe("tool contract under a network policy", () => {
  const SECRET = "ghp_real-secret-value-1234";
  const policy = {
    allow: ["api.github.com", "*.githubusercontent.com", "db.internal:5432"],
    deny: ["uploads.github.com"],
    secrets: { GITHUB_TOKEN: { value: SECRET, hosts: ["api.github.com"] } },
    hosts: { "db.internal": "10.1.2.3" },
  };

  it("tells the model the hosts it can reach and the secrets by name, never the value", () => {
    const definition = sandboxToolDefinition({ sessions: perCall({ languages: ["python"], runtimeConfigs: { network: policy } }) });
    const { info } = definition.provider;
    expect(info).toMatchObject({
      network: true,
      allowedHosts: policy.allow,
      deniedHosts: ["uploads.github.com"],
      secrets: [{ name: "GITHUB_TOKEN", hosts: ["api.github.com"] }],
    });
    expect(definition.description).toContain("only these hosts can be reached, by name: api.github.com, *.githubusercontent.com, db.internal:5432.");
    expect(definition.description).toContain("Always refused: uploads.github.com.");
    expect(definition.description).toContain("GITHUB_TOKEN (for api.github.com)");
    expect(definition.description).toContain("holds a placeholder, not the real value");
    expect(definition.description).toContain("Library installation follows the same network rules");
    for (const shown of [definition.description, JSON.stringify(info), JSON.stringify(definition.parameters)]) expect(shown).not.toContain(SECRET);
  });

  it("a policy that allows nothing is no network (MCP's openWorldHint), and plain networks keep their wording", () => {
    const closed = perCall({ languages: ["python"], runtimeConfigs: { network: { allow: [], secrets: policy.secrets } } }).info;
    expect(closed).toMatchObject({ network: false, allowedHosts: [] });
    expect(describeSandboxTool(closed)).toContain("no network access: the network policy allows no host");
    expect(describeSandboxTool(closed)).not.toContain(SECRET);
    expect(perCall({ languages: ["python"], runtimeConfigs: { network: true } }).info).not.toHaveProperty("allowedHosts");
    expect(describeSandboxTool({ ...info, network: true })).toBe(describeSandboxTool({ ...info, network: true, secrets: [] }));
  });

  it("a policy refused at configuration names the problem, not the secret's value", () => {
    const bad = { allow: ["api.github.com"], secrets: { GITHUB_TOKEN: { value: SECRET, hosts: ["10.0.0.1"] } } };
    const error = (() => {
      try {
        perCall({ languages: ["python"], runtimeConfigs: { network: bad } });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error?.message).toContain("raw IP addresses cannot be allowed");
    expect(error?.message).not.toContain(SECRET);
  });

  it("the run's result shows each refused host once, with the reason; allowed attempts are not listed", () => {
    const entry = (host: string, port: number, allowed: boolean, reason?: string, kind: "dns" | "https" = "https") =>
      ({ at: "2025-01-01T00:00:00.000Z", host, port, kind, allowed, ...(reason ? { reason } : {}), bytesIn: 0, bytesOut: 0 }) as const;
    const result = new ExecutionResult({
      exitCode: 1,
      network: [
        entry("api.github.com", 443, true),
        entry("evil.example", 53, false, "not in the allow-list", "dns"),
        entry("uploads.github.com", 443, false, 'denied by "uploads.github.com"'),
        entry("uploads.github.com", 443, false, 'denied by "uploads.github.com"'),
        entry("evil.example", 443, false, "not in the allow-list"),
      ],
    });
    expect(formatToolResult(result).split("\n").slice(2)).toEqual([
      "network: refused the name lookup of evil.example (not in the allow-list)",
      'network: refused uploads.github.com:443 (denied by "uploads.github.com")',
    ]);
    const many = new ExecutionResult({ exitCode: 1, network: Array.from({ length: 7 }, (_, i) => entry(`h${i}.example`, 443, false, "not in the allow-list")) });
    expect(formatToolResult(many).split("\n").slice(-2)).toEqual(["network: refused h4.example:443 (not in the allow-list)", "network: 2 more host(s) refused"]);
  });
});

describe("executeTool (pure logic around the session)", () => {
  it("runs the code with the libraries, asks plot-capturing sessions for this call's plots only, passes signal and callbacks", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    const provider = fakeProvider(async (code, options) => {
      seen.push([code, options]);
      return new ExecutionResult({ exitCode: 0, stdout: "ok\n" });
    });
    const signal = new AbortController().signal;
    const result = await executeTool({ code: "print('ok')", language: "python", libraries: ["rich"] }, provider, { signal, onStdout: () => {} });
    expect(result.stdout).toBe("ok\n");
    expect(seen).toEqual([["print('ok')", { libraries: ["rich"], clearPlots: true, signal, onStdout: expect.any(Function) }]]);
  });

  it("calls back with whole lines, stdout and stderr buffered apart, the last line at the end of the run", async () => {
    const provider = fakeProvider(async (_code, options) => {
      const onStdout = options.onStdout as (t: string) => void;
      const onStderr = options.onStderr as (t: string) => void;
      onStdout("0");
      onStderr("warn");
      onStdout("\n1\n2");
      onStderr("ing\n");
      onStdout("\nend");
      return new ExecutionResult({ exitCode: 0, stdout: "0\n1\n2\nend", stderr: "warning\n" });
    });
    const calls: string[] = [];
    await executeTool({ code: "x", language: "python", libraries: null }, provider, {
      onStdout: (text) => calls.push(`out:${text}`),
      onStderr: (text) => calls.push(`err:${text}`),
    });
    expect(calls).toEqual(["out:0\n", "out:1\n", "err:warning\n", "out:2\n", "out:end"]);
  });

  it("maps failures to model-readable ToolCallErrors, keeping the cause; aborts and bugs pass through", async () => {
    const timeout = new SandboxTimeoutError("python run timed out", 5, { stdout: "step 1\n", stderr: "" });
    const failWith = (error: unknown) => executeTool({ code: "x", language: "python", libraries: null }, fakeProvider(() => Promise.reject(error))).catch((e: unknown) => e);

    const timedOut = await failWith(timeout);
    expect(ToolCallError.isInstance(timedOut)).toBe(true);
    expect((timedOut as Error).message).toBe("The program was stopped: it exceeded the time limit of 5 s.\n--- stdout so far ---\nstep 1\n");
    expect((timedOut as Error).cause).toBe(timeout);

    const install = await failWith(new LibraryInstallationError(["nope"], 1, "No matching distribution found for nope"));
    expect((install as Error).message).toMatch(/^Library installation failed, the code did not run\. Failed to install nope .*No matching distribution/s);

    const invalid = await failWith(new ValidationError("Invalid library name(s): \"-e\""));
    expect((invalid as Error).message).toBe('Invalid input: Invalid library name(s): "-e"');

    const missing = await failWith(new FileNotFoundError("/sandbox/nope.txt", "sandbox"));
    expect((missing as Error).message).toMatch(/^FileNotFoundError: .*\/sandbox\/nope\.txt/);

    const closed = await failWith(new NotOpenSessionError());
    expect((closed as Error).message).toMatch(/^The sandbox could not run the code \(NotOpenSessionError\)/);

    const abort = new SandboxAbortError();
    expect(await failWith(abort)).toBe(abort);
    const bug = new TypeError("bug");
    expect(await failWith(bug)).toBe(bug);
    expect(toolCallError("not an error")).toBe("not an error");
  });

  it("streamTool yields output lines as they come and returns the result", async () => {
    const provider = fakeProvider(async (_code, options) => {
      const onStdout = options.onStdout as (t: string) => void;
      const onStderr = options.onStderr as (t: string) => void;
      onStdout("1\n");
      await new Promise((r) => setTimeout(r, 10));
      onStderr("warn\n");
      onStdout("2\n");
      return new ExecutionResult({ exitCode: 0, stdout: "1\n2\n", stderr: "warn\n" });
    });
    const events = [];
    const run = streamTool({ code: "x", language: "python", libraries: null }, provider);
    let step = await run.next();
    while (!step.done) {
      events.push(step.value);
      step = await run.next();
    }
    expect(events).toEqual([
      { stream: "stdout", text: "1\n" },
      { stream: "stderr", text: "warn\n" },
      { stream: "stdout", text: "2\n" },
    ]);
    expect(step.value.stdout).toBe("1\n2\n");
  });

  it("streamTool rethrows the call's failure after the output it got, a last partial line included", async () => {
    const provider = fakeProvider(async (_code, options) => {
      (options.onStdout as (t: string) => void)("partial\nstep 2 of");
      throw new SandboxTimeoutError("timed out", 1, { stdout: "partial\nstep 2 of", stderr: "" });
    });
    const events: unknown[] = [];
    const failure = await (async () => {
      for await (const event of streamTool({ code: "x", language: "python", libraries: null }, provider)) events.push(event);
    })().catch((e: unknown) => e);
    expect(events).toEqual([
      { stream: "stdout", text: "partial\n" },
      { stream: "stdout", text: "step 2 of" },
    ]);
    expect(ToolCallError.isInstance(failure)).toBe(true);
  });
});

describe("session providers (configuration)", () => {
  it("validate options up front and describe what they give", () => {
    const provider = perCall({ languages: ["py", "python", "js"], executionTimeout: 30, runtimeConfigs: { network: true } });
    expect(provider.info.languages.map((l) => l.name)).toEqual(["python", "javascript"]);
    expect(provider.info).toMatchObject({ reuse: "per-call", network: true, timeoutSeconds: 30, workdir: "/sandbox", plots: true });
    // Plots are described only where sessions can capture them.
    expect(perCall({ languages: ["js"] }).info.plots).toBe(false);
    expect(perCall({ languages: ["python"], createSession: (o) => new SandboxSession(o) }).info.plots).toBe(false);
    expect(() => perCall({ languages: ["cobol"] })).toThrow(/cobol/);
    expect(() => perCall({ defaultTimeout: -1 })).toThrow(ValidationError);
  });
});
