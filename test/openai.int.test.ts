// OpenAI end to end: the real OpenAI SDK client with a scripted fetch (the "model"); our tool loop runs the calls
// in a real container, and the next request the SDK sends holds the real output.
import { persistent, toolInputSchema } from "@llm-sandbox/core/tool";
import { sandboxTool } from "@llm-sandbox/openai";
import OpenAI from "openai";
import { zodFunction, zodResponsesFunction } from "openai/helpers/zod";
import { afterAll, describe, expect, it } from "vitest";
import { processesAfter, processesAppearing } from "./helpers/processes.js";
import { openAiStrictParameters } from "./helpers/strict-schema.js";
import { isPng, PLOT } from "./helpers/plots.js";

const sessions = persistent({ languages: ["python", "javascript"] });
afterAll(() => sessions.close());
const executeCode = sandboxTool({ sessions });

/** An OpenAI client whose HTTP layer replays `replies` in order and records every request body. */
function scriptedClient(replies: unknown[]) {
  const requests: Array<{ url: string; body: Record<string, unknown> }> = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), body: JSON.parse(String(init?.body)) });
    const reply = replies.shift();
    if (!reply) throw new Error("the scripted model has no more replies");
    return new Response(JSON.stringify(reply), { status: 200, headers: { "content-type": "application/json" } });
  };
  return { client: new OpenAI({ apiKey: "test", baseURL: "http://scripted.invalid/v1", fetch, maxRetries: 0 }), requests };
}

const completion = (message: Record<string, unknown>, finish = "stop") => ({
  id: `chatcmpl-${Math.random()}`,
  object: "chat.completion",
  created: 0,
  model: "scripted",
  choices: [{ index: 0, finish_reason: finish, logprobs: null, message: { role: "assistant", content: null, refusal: null, ...message } }],
});
const callWith = (args: unknown, id = "call_1") =>
  completion({ tool_calls: [{ id, type: "function", function: { name: "execute_code", arguments: typeof args === "string" ? args : JSON.stringify(args) } }] }, "tool_calls");

const response = (output: unknown[]) => ({ id: `resp_${Math.random()}`, object: "response", created_at: 0, model: "scripted", status: "completed", output });

describe("OpenAI SDK + sandboxTool (real engine)", () => {
  it("Chat Completions: the next request carries the tool message with the real stdout", async () => {
    const { client, requests } = scriptedClient([
      callWith({ code: "print(6 * 7)", language: "python", libraries: null }),
      completion({ content: "The answer is 42." }),
    ]);
    const { completion: last, messages } = await executeCode.runChatCompletions(client, { model: "scripted", messages: [{ role: "user", content: "6*7?" }] });
    expect(last.choices[0]!.message.content).toBe("The answer is 42.");
    expect(requests).toHaveLength(2);
    expect(requests[0]!.url).toBe("http://scripted.invalid/v1/chat/completions");
    expect(requests[0]!.body.tools).toEqual([executeCode.chatCompletionsTool]);
    expect((requests[1]!.body.messages as unknown[]).at(-1)).toEqual({
      role: "tool",
      tool_call_id: "call_1",
      content: "exit code: 0 (success)\n--- stdout ---\n42",
    });
    expect(messages).toHaveLength(4);
  });

  it("Responses: the next request carries the function_call_output with the real stdout", async () => {
    const { client, requests } = scriptedClient([
      response([{ type: "function_call", id: "fc_1", call_id: "call_js", name: "execute_code", arguments: JSON.stringify({ code: "console.log([1,2,3].map((n) => n * 2).join(','))", language: "javascript", libraries: null }), status: "completed" }]),
      response([{ type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "2,4,6", annotations: [] }] }]),
    ]);
    const { response: last } = await executeCode.runResponses(client, { model: "scripted", input: "double them" });
    expect(last.output_text).toBe("2,4,6");
    expect(requests[0]!.url).toBe("http://scripted.invalid/v1/responses");
    expect(requests[0]!.body.tools).toEqual([executeCode.responsesTool]);
    const input = requests[1]!.body.input as unknown[];
    expect(input.at(-1)).toEqual({ type: "function_call_output", call_id: "call_js", output: "exit code: 0 (success)\n--- stdout ---\n2,4,6" });
    expect(input.at(-2)).toMatchObject({ type: "function_call", call_id: "call_js" });
  });

  it("Responses: a plot comes back as an input_image data URL with PNG bytes in function_call_output", async () => {
    const { client, requests } = scriptedClient([
      response([{ type: "function_call", id: "fc_p", call_id: "call_plot", name: "execute_code", arguments: JSON.stringify({ code: PLOT, language: "python", libraries: null }), status: "completed" }]),
      response([{ type: "message", id: "msg_p", role: "assistant", status: "completed", content: [{ type: "output_text", text: "zigzag", annotations: [] }] }]),
    ]);
    await executeCode.runResponses(client, { model: "scripted", input: "plot it" });
    const output = ((requests[1]!.body.input as unknown[]).at(-1) as { output: Array<{ type: string; image_url?: string }> }).output;
    expect(output.map((part) => part.type)).toEqual(["input_text", "input_image"]);
    const [prefix, data] = output[1]!.image_url!.split(",");
    expect(prefix).toBe("data:image/png;base64");
    expect(isPng(data!)).toBe(true);
  });

  it("Chat Completions: a plot comes back as a follow-up user message with an image_url part", async () => {
    const { client, requests } = scriptedClient([callWith({ code: PLOT, language: "python", libraries: null }), completion({ content: "zigzag" })]);
    await executeCode.runChatCompletions(client, { model: "scripted", messages: [{ role: "user", content: "plot it" }] });
    const messages = requests[1]!.body.messages as Array<{ role: string; content: unknown }>;
    expect(messages.at(-2)).toMatchObject({ role: "tool", tool_call_id: "call_1" });
    const last = messages.at(-1) as { role: string; content: Array<{ type: string; image_url?: { url: string } }> };
    expect(last.role).toBe("user");
    const image = last.content.find((part) => part.type === "image_url")!;
    const [prefix, data] = image.image_url!.url.split(",");
    expect(prefix).toBe("data:image/png;base64");
    expect(isPng(data!)).toBe(true);
  });

  it.each([
    [{ code: "print(1)", language: "cobol", libraries: null }, /^Error: Invalid input:\n✖ Invalid option: expected one of "python"\|"javascript"\n  → at language$/],
    ['{"code": "print(1)", "language": ', /^Error: Invalid input: the arguments are not valid JSON/],
    [{ code: "print(1)", language: "python" }, /^Error: Invalid input:[\s\S]*at libraries/],
    [{ code: "", language: "python", libraries: null }, /^Error: Invalid input:\n✖ code must not be empty\n  → at code$/],
  ])("bad arguments %j come back to the model as an error it can read", async (args, message) => {
    const { client, requests } = scriptedClient([callWith(args), completion({ content: "sorry" })]);
    await executeCode.runChatCompletions(client, { model: "scripted", messages: [{ role: "user", content: "go" }] });
    const toolMessage = (requests[1]!.body.messages as Array<{ role: string; content: string }>).at(-1)!;
    expect(toolMessage.role).toBe("tool");
    expect(toolMessage.content).toMatch(message);
  });

  it("calls for other tools get an error reply; maxSteps bounds the loop", async () => {
    const { client, requests } = scriptedClient([
      completion({ tool_calls: [{ id: "x", type: "function", function: { name: "weather", arguments: "{}" } }] }, "tool_calls"),
      callWith({ code: "print(1)", language: "python", libraries: null }),
    ]);
    const { completion: last } = await executeCode.runChatCompletions(client, { model: "scripted", messages: [{ role: "user", content: "go" }] }, { maxSteps: 2 });
    expect((requests[1]!.body.messages as unknown[]).at(-1)).toEqual({ role: "tool", tool_call_id: "x", content: "Error: unknown tool weather" });
    expect(last.choices[0]!.finish_reason).toBe("tool_calls");
    expect(requests).toHaveLength(2);
  });

  it("aborting the loop while the tool runs stops the program inside the sandbox", async () => {
    const containerId = await sessions.withSession("python", async (session) => session.containerId!);
    const { client } = scriptedClient([callWith({ code: "import time\ntime.sleep(60)", language: "python", libraries: null }), completion({ content: "never" })]);
    const controller = new AbortController();
    const loop = executeCode.runChatCompletions(client, { model: "scripted", messages: [{ role: "user", content: "sleep" }] }, { signal: controller.signal });
    const running = await processesAppearing(containerId, /python.*\.sandbox-/);
    expect(running).toHaveLength(1);
    controller.abort();
    await expect(loop).rejects.toMatchObject({ name: "SandboxAbortError" });
    expect(await processesAfter(containerId, /python.*\.sandbox-/)).toEqual([]);
  });

  it("the function definitions are valid for OpenAI strict mode, as the OpenAI SDK itself builds them", () => {
    const parameters = executeCode.chatCompletionsTool.function.parameters!;
    expect(openAiStrictParameters(parameters)).toEqual(parameters);
    const languages = ["python", "javascript"];
    // The SDK's own zod route gives the same schema (it also names the draft-07 dialect, which we leave out).
    const withoutDialect = ({ $schema: _dialect, ...schema }: Record<string, unknown>) => schema;
    expect(withoutDialect(zodFunction({ name: "execute_code", parameters: toolInputSchema(languages) }).function.parameters!)).toEqual(parameters);
    expect(withoutDialect(zodResponsesFunction({ name: "execute_code", parameters: toolInputSchema(languages) }).parameters!)).toEqual(executeCode.responsesTool.parameters);
    expect(executeCode.responsesTool).toMatchObject({ type: "function", name: "execute_code", strict: true });
    expect(executeCode.chatCompletionsTool.function.strict).toBe(true);
  });
});
