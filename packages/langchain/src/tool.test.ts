import { ExecutionResult, type PlotOutput } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { toolContent } from "./tool.js";

const png: PlotOutput = { format: "png", contentBase64: "iVBORw0KGgoAAAANSUhEUg==", width: 640, height: 480 };
const svg: PlotOutput = { format: "svg", contentBase64: "PHN2Zy8+" };

describe("toolContent (plots → LangChain content blocks)", () => {
  const result = new ExecutionResult({ exitCode: 0, stdout: "ok\n", plots: [png, svg] });

  it("with images on: a text block, then a standard image block per image plot", () => {
    expect(toolContent(result, true)).toEqual([
      { type: "text", text: "exit code: 0 (success)\n--- stdout ---\nok\n2 plot(s): png 640x480, svg; 1 attached as image(s); 1 not shown to you" },
      { type: "image", mimeType: "image/png", data: png.contentBase64 },
    ]);
  });

  it("with images off (the default): text only, saying the plots were kept out", () => {
    expect(toolContent(result, false)).toBe("exit code: 0 (success)\n--- stdout ---\nok\n2 plot(s): png 640x480, svg; 2 not shown to you");
    expect(toolContent(new ExecutionResult({ exitCode: 0, stdout: "x".repeat(50) }), true, { maxOutputChars: 10 })).toContain("[... 40 characters truncated ...]");
  });
});
