// AI SDK end to end: generateText/streamText's own tool loop with MockLanguageModelV4 calls the tool, the code runs
// in a real container, and the model's next prompt holds the real output.
import { persistent } from "@llm-sandbox/core/tool";
import { sandboxTool } from "@llm-sandbox/ai-sdk";
import { generateText, isStepCount, streamText } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { afterAll, describe, expect, it } from "vitest";
import { containerProcesses, processesAfter } from "./helpers/processes.js";
import { openAiStrictParameters } from "./helpers/strict-schema.js";
import { isPng, PLOT } from "./helpers/plots.js";

type GenerateResult = Extract<NonNullable<ConstructorParameters<typeof MockLanguageModelV4>[0]>["doGenerate"], unknown[]>[number];

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
const callTool = (input: unknown, toolCallId = "call_1"): GenerateResult => ({
  content: [{ type: "tool-call", toolCallId, toolName: "execute_code", input: JSON.stringify(input) }],
  finishReason: { unified: "tool-calls", raw: undefined },
  usage,
  warnings: [],
});
const answer = (text: string): GenerateResult => ({ content: [{ type: "text", text }], finishReason: { unified: "stop", raw: undefined }, usage, warnings: [] });

const sessions = persistent({ languages: ["python", "javascript"] });
afterAll(() => sessions.close());
const tools = { execute_code: sandboxTool({ sessions }) };

/** The tool-result part the model received in its second call. */
async function toolResultSeenByModel(input: unknown) {
  const model = new MockLanguageModelV4({ doGenerate: [callTool(input), answer("done")] });
  const result = await generateText({ model, prompt: "Run it.", tools, stopWhen: isStepCount(3) });
  expect(result.text).toBe("done");
  expect(model.doGenerateCalls).toHaveLength(2);
  const toolMessage = model.doGenerateCalls[1]!.prompt.find((m) => m.role === "tool");
  const part = toolMessage?.content.find((p) => p.type === "tool-result");
  expect(part).toMatchObject({ toolCallId: "call_1", toolName: "execute_code" });
  return { part: part as Extract<typeof part, { type: "tool-result" }>, result, model };
}

describe("AI SDK generateText + sandboxTool (real engine)", () => {
  it("the model's next prompt holds the real stdout; the step's tool result is the full result", async () => {
    const { part, result } = await toolResultSeenByModel({ code: "print(6 * 7)", language: "python", libraries: null });
    expect(part.output).toEqual({ type: "text", value: "exit code: 0 (success)\n--- stdout ---\n42" });
    expect(result.steps[0]!.toolResults[0]!.output).toMatchObject({ status: "done", exitCode: 0, stdout: "42\n", stderr: "", plots: [] });
  });

  it("a matplotlib plot reaches the model as an image file part with PNG bytes", async () => {
    const { part } = await toolResultSeenByModel({ code: PLOT, language: "python", libraries: null });
    expect(part.output.type).toBe("content");
    const parts = (part.output as { value: Array<{ type: string; mediaType?: string; data?: { type: string; data: string } }> }).value;
    const file = parts.find((p) => p.type === "file")!;
    expect(file.mediaType).toBe("image/png");
    expect(isPng(file.data!.data)).toBe(true);
    expect(parts[0]).toMatchObject({ type: "text" });
  });

  it("sends a strict, OpenAI-valid JSON schema to the model", async () => {
    const { model } = await toolResultSeenByModel({ code: "console.log('js')", language: "javascript", libraries: null });
    const [declared] = model.doGenerateCalls[0]!.tools ?? [];
    expect(declared).toMatchObject({ type: "function", name: "execute_code", strict: true });
    if (declared?.type !== "function") throw new Error("expected a function tool");
    const { $schema: _dialect, ...schema } = declared.inputSchema as Record<string, unknown>;
    expect(openAiStrictParameters(schema)).toEqual(schema);
  });

  it.each([
    [{ code: "print(1)", language: "cobol", libraries: null }, /Invalid input for tool execute_code/],
    [{ code: "", language: "python", libraries: null }, /Invalid input for tool execute_code[\s\S]*code must not be empty/],
    [{ code: "print(1)", language: "python", libraries: ["-e ."] }, /^ToolCallError: Invalid input: Invalid library name/],
  ])("bad input %j reaches the model as a tool error it can read", async (input, message) => {
    const { part } = await toolResultSeenByModel(input);
    expect(part.output.type).toBe("error-text");
    expect((part.output as { value: string }).value).toMatch(message);
  });

  it("streams stdout as preliminary results, and aborting stops the program inside the sandbox", async () => {
    const containerId = await sessions.withSession("python", async (session) => session.containerId!);
    const code = "import time\nfor i in range(3): print(i, flush=True)\nprint('sleeping', flush=True)\ntime.sleep(60)";
    const controller = new AbortController();
    const stream = streamText({
      model: new MockLanguageModelV4({
        doStream: async () => ({
          stream: new ReadableStream({
            start(c) {
              c.enqueue({ type: "tool-call", toolCallId: "call_sleep", toolName: "execute_code", input: JSON.stringify({ code, language: "python", libraries: null }) });
              c.enqueue({ type: "finish", finishReason: { unified: "tool-calls", raw: undefined }, usage });
              c.close();
            },
          }),
        }),
      }),
      prompt: "sleep",
      tools,
      abortSignal: controller.signal,
    });
    const preliminary: string[] = [];
    let runningAtAbort: string[] = [];
    for await (const part of stream.stream) {
      if (part.type === "tool-result" && part.preliminary) {
        const output = part.output as { status: string; stdout: string };
        preliminary.push(output.stdout);
        if (output.stdout.includes("sleeping\n") && !controller.signal.aborted) {
          runningAtAbort = await containerProcesses(containerId);
          controller.abort();
        }
      }
    }
    expect(preliminary[0]).toBe("");
    expect(preliminary).toContain("0\n1\n2\n");
    expect(preliminary.at(-1)).toBe("0\n1\n2\nsleeping\n");
    expect(runningAtAbort).toContainEqual(expect.stringMatching(/python.*\.sandbox-/));
    expect(await processesAfter(containerId, /python.*\.sandbox-/)).toEqual([]);
  });
});
