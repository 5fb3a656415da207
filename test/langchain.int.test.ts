// LangChain end to end: createAgent's own loop with a scripted model calls the tool, the code runs in a real
// container, and the model's next input holds the real output.
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";
import { ExecutionResult } from "@llm-sandbox/core";
import { persistent } from "@llm-sandbox/core/tool";
import { sandboxTool } from "@llm-sandbox/langchain";
import { createAgent } from "langchain";
import { afterAll, describe, expect, it } from "vitest";
import { containerProcesses, processesAfter } from "./helpers/processes.js";
import { openAiStrictParameters } from "./helpers/strict-schema.js";
import { isPng, PLOT } from "./helpers/plots.js";

const sessions = persistent({ languages: ["python", "javascript"], executionTimeout: 60 });
afterAll(() => sessions.close());
const executeCode = sandboxTool({ sessions });
const SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(60)";
const SLEEPER_PROCESS = /python.*\.sandbox-/;

/** Runs one agent turn in which the scripted model calls the tool with `args`, then answers. */
async function agentTurn(args: Record<string, unknown>) {
  const model = fakeModel()
    .respondWithTools([{ name: "execute_code", args, id: "call_1" }])
    .respond(new AIMessage("done"));
  const agent = createAgent({ model, tools: [executeCode] });
  const state = await agent.invoke({ messages: [{ role: "user", content: "Run it." }] });
  expect(model.callCount).toBe(2);
  const nextInput = model.calls[1]!.messages;
  const toolMessage = nextInput.find((m): m is ToolMessage => ToolMessage.isInstance(m));
  expect(toolMessage?.tool_call_id).toBe("call_1");
  return { state, toolMessage: toolMessage! };
}

describe("LangChain createAgent + sandboxTool (real engine)", () => {
  it("the model's next input holds the program's real stdout; the artifact holds the full result", async () => {
    const { state, toolMessage } = await agentTurn({ code: "import sys\nprint(6 * 7)\nprint(sys.version_info[0])", language: "python", libraries: null });
    expect(toolMessage.status).toBe("success");
    expect(toolMessage.content).toBe("exit code: 0 (success)\n--- stdout ---\n42\n3");
    expect(toolMessage.artifact).toBeInstanceOf(ExecutionResult);
    expect((toolMessage.artifact as ExecutionResult).stdout).toBe("42\n3\n");
    expect(state.messages.at(-1)?.content).toBe("done");
  });

  it("a failing program is a result the model reads: exit code, stderr, parsed error", async () => {
    const { toolMessage } = await agentTurn({ code: "console.log('before'); null.x", language: "javascript", libraries: null });
    expect(toolMessage.status).toBe("success");
    expect(toolMessage.content).toMatch(/^exit code: 1\n--- stdout ---\nbefore\n--- stderr ---\n[\s\S]*TypeError[\s\S]*\nerror: TypeError: /);
  });

  it.each([
    [{ code: "print(1)", language: "cobol", libraries: null }, /did not match expected schema[\s\S]*language/],
    [{ language: "python", libraries: null }, /did not match expected schema[\s\S]*code/],
    [{ code: "   ", language: "python", libraries: null }, /did not match expected schema[\s\S]*code must not be empty/],
    [{ code: "print(1)", language: "python", libraries: ["--index-url=http://evil"] }, /ToolCallError: Invalid input: Invalid library name/],
  ])("bad input %j becomes an error ToolMessage the model reads, not a crash", async (args, message) => {
    const { toolMessage } = await agentTurn(args);
    expect(toolMessage.status).toBe("error");
    expect(String(toolMessage.content)).toMatch(message);
  });

  it("a matplotlib plot reaches the model as a standard image block with PNG bytes (images on)", async () => {
    const model = fakeModel()
      .respondWithTools([{ name: "execute_code", args: { code: PLOT, language: "python", libraries: null }, id: "plot_1" }])
      .respond(new AIMessage("done"));
    await createAgent({ model, tools: [sandboxTool({ sessions, images: true })] }).invoke({ messages: [{ role: "user", content: "plot" }] });
    const toolMessage = model.calls[1]!.messages.find((m): m is ToolMessage => ToolMessage.isInstance(m))!;
    const blocks = toolMessage.content as Array<{ type: string; mimeType?: string; data?: string }>;
    const image = blocks.find((b) => b.type === "image")!;
    expect(image.mimeType).toBe("image/png");
    expect(isPng(image.data!)).toBe(true);
    expect((toolMessage.artifact as ExecutionResult).plots).toHaveLength(1);
    expect((toolMessage.artifact as ExecutionResult).plots[0]!.chart).toMatchObject({ type: "line", title: "zigzag" });
  });

  it("streams output lines as tool events, and aborting the run stops the program inside the sandbox", async () => {
    const containerId = await sessions.withSession("python", async (session) => session.containerId!);
    const model = fakeModel()
      .respondWithTools([{ name: "execute_code", args: { code: SLEEPER, language: "python", libraries: null }, id: "call_sleep" }])
      .respond(new AIMessage("never reached"));
    const agent = createAgent({ model, tools: [executeCode] });
    const controller = new AbortController();
    const events: Array<{ event: string; data?: unknown }> = [];
    let runningAtAbort: string[] = [];
    const outcome = await (async () => {
      for await (const chunk of await agent.stream({ messages: [{ role: "user", content: "sleep" }] }, { streamMode: "tools", signal: controller.signal })) {
        events.push(chunk as { event: string; data?: unknown });
        if ((chunk as { event: string }).event === "on_tool_event" && !controller.signal.aborted) {
          runningAtAbort = await containerProcesses(containerId);
          controller.abort();
        }
      }
    })().catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(Error);
    expect(events.map((e) => e.event)).toContain("on_tool_start");
    // Tool events carry whole lines, however the engine split the program's writes.
    expect(events.find((e) => e.event === "on_tool_event")?.data).toEqual({ stream: "stdout", text: "started\n" });
    expect(runningAtAbort).toContainEqual(expect.stringMatching(SLEEPER_PROCESS));
    expect(await processesAfter(containerId, SLEEPER_PROCESS)).toEqual([]);
    expect(model.callCount).toBe(1);
  });

  it("the tool schema passes LangChain's OpenAI strict conversion and OpenAI's own strict check", () => {
    const converted = convertToOpenAITool(executeCode, { strict: true });
    expect(converted).toMatchObject({ type: "function", function: { name: "execute_code", strict: true } });
    expect(openAiStrictParameters(converted.function.parameters as Record<string, unknown>)).toEqual(converted.function.parameters);
    expect(converted.function.description).toContain("python (preinstalled: numpy");
  });
});
