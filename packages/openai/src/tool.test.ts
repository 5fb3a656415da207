import { ExecutionResult, getLanguageHandler, type PlotOutput, type SandboxSession } from "@llm-sandbox/core";
import type { SessionProvider } from "@llm-sandbox/core/tool";
import { describe, expect, it } from "vitest";
import { sandboxTool } from "./tool.js";

const png: PlotOutput = { format: "png", contentBase64: "iVBORw0KGgoAAAANSUhEUg==", width: 640, height: 480 };
const pdf: PlotOutput = { format: "pdf", contentBase64: "JVBERi0=" };

/** A provider whose session returns a hand-made result: the mapping of plots to OpenAI parts is under test. */
function providerReturning(result: ExecutionResult): SessionProvider {
  const session = { run: async () => result } as unknown as SandboxSession;
  return {
    info: { languages: [getLanguageHandler("python")], reuse: "per-call", network: false, timeoutSeconds: 60, workdir: "/sandbox", canInstall: true, plots: true },
    withSession: (_language, use) => use(session),
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
}
const args = JSON.stringify({ code: "plot()", language: "python", libraries: null });
const text = "exit code: 0 (success)\nstdout: (empty)\n2 plot(s): png 640x480, pdf; 1 attached as image(s); 1 not shown to you";

describe("plots → OpenAI messages", () => {
  const tool = sandboxTool({ sessions: providerReturning(new ExecutionResult({ exitCode: 0, plots: [png, pdf] })), imageDetail: "low" });

  it("Responses: function_call_output holds input_text, then an input_image data URL per image plot", async () => {
    expect(await tool.responsesOutput({ type: "function_call", call_id: "c1", name: "execute_code", arguments: args })).toEqual({
      type: "function_call_output",
      call_id: "c1",
      output: [
        { type: "input_text", text },
        { type: "input_image", image_url: `data:image/png;base64,${png.contentBase64}`, detail: "low" },
      ],
    });
  });

  it("Chat Completions: text-only tool messages, then one user message with the images of all calls", async () => {
    const call = (id: string) => ({ id, type: "function" as const, function: { name: "execute_code", arguments: args } });
    const other = { id: "w", type: "function" as const, function: { name: "weather", arguments: "{}" } };
    const { toolMessages, imageMessage, results } = await tool.chatCompletionsMessages([call("a"), other, call("b")]);
    expect(toolMessages).toEqual([
      { role: "tool", tool_call_id: "a", content: text },
      { role: "tool", tool_call_id: "b", content: text },
    ]);
    const image = { type: "image_url", image_url: { url: `data:image/png;base64,${png.contentBase64}`, detail: "low" } };
    expect(imageMessage).toEqual({
      role: "user",
      content: [{ type: "text", text: "Plots from tool call a:" }, image, { type: "text", text: "Plots from tool call b:" }, image],
    });
    expect([...results.keys()]).toEqual(["a", "b"]);
  });

  it("with images off, plots are only mentioned and outputs stay plain text", async () => {
    const quiet = sandboxTool({ sessions: providerReturning(new ExecutionResult({ exitCode: 0, plots: [png] })), images: false });
    const output = await quiet.responsesOutput({ type: "function_call", call_id: "c", name: "execute_code", arguments: args });
    expect(output.output).toBe("exit code: 0 (success)\nstdout: (empty)\n1 plot(s): png 640x480; 1 not shown to you");
    expect((await quiet.chatCompletionsMessages([{ id: "a", type: "function", function: { name: "execute_code", arguments: args } }])).imageMessage).toBeNull();
  });
});
