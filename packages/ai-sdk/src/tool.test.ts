import { ExecutionResult, type PlotOutput } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { type SandboxToolResult, toModelOutput } from "./tool.js";

const png: PlotOutput = { format: "png", contentBase64: "iVBORw0KGgoAAAANSUhEUg==", width: 640, height: 480, filename: "000001.png" };
const html: PlotOutput = { format: "html", contentBase64: "PGh0bWw+" };
const done = (init: ConstructorParameters<typeof ExecutionResult>[0]): SandboxToolResult => ({
  ...(new ExecutionResult(init).toJSON() as unknown as Omit<SandboxToolResult, "status">),
  status: "done",
});

describe("toModelOutput (plots → AI SDK parts)", () => {
  it("sends the text, then each image plot as a file part with its media type and bytes", () => {
    const output = toModelOutput(done({ exitCode: 0, stdout: "plotted\n", plots: [png, html] }), true);
    expect(output).toEqual({
      type: "content",
      value: [
        { type: "text", text: "exit code: 0 (success)\n--- stdout ---\nplotted\n2 plot(s): png 640x480 (000001.png), html; 1 attached as image(s); 1 not shown to you" },
        { type: "file", mediaType: "image/png", data: { type: "data", data: png.contentBase64 }, filename: "000001.png" },
      ],
    });
  });

  it("sends text only when images are off or there is nothing to show", () => {
    expect(toModelOutput(done({ exitCode: 0, plots: [png] }), false)).toEqual({
      type: "text",
      value: "exit code: 0 (success)\nstdout: (empty)\n1 plot(s): png 640x480 (000001.png); 1 not shown to you",
    });
    expect(toModelOutput(done({ exitCode: 2, stderr: "boom" }), true)).toEqual({ type: "text", value: "exit code: 2\nstdout: (empty)\n--- stderr ---\nboom" });
  });

  it("truncates long output for the model with a marker", () => {
    const output = toModelOutput(done({ exitCode: 0, stdout: "x".repeat(100) }), true, { maxOutputChars: 10 });
    expect(output).toEqual({ type: "text", value: expect.stringContaining("[... 90 characters truncated ...]") });
  });

  it("describes a preliminary result as output so far", () => {
    expect(toModelOutput({ status: "running", stdout: "1\n", stderr: "" }, true)).toEqual({ type: "text", value: "still running; output so far:\n1\n" });
  });
});
