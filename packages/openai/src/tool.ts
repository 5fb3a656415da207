import { type ExecutionResult, ToolCallError } from "@llm-sandbox/core";
import { executeTool, modelContent, type SandboxToolOptions, sandboxToolDefinition, type ToolCallOptions } from "@llm-sandbox/core/tool";
import type OpenAI from "openai";
import type {
  ChatCompletion,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionToolMessageParam,
  ChatCompletionUserMessageParam,
} from "openai/resources/chat/completions";
import type {
  FunctionTool,
  Response,
  ResponseCreateParamsNonStreaming,
  ResponseFunctionCallOutputItem,
  ResponseFunctionToolCall,
  ResponseInputItem,
} from "openai/resources/responses/responses";

export interface OpenAISandboxToolOptions extends SandboxToolOptions {
  /** Show plots to the model (Responses: `input_image` parts; Chat Completions: a follow-up user message). Default true. */
  images?: boolean;
  /** `detail` of the images sent. Default "auto". */
  imageDetail?: "low" | "high" | "auto";
}

/** The outcome of one call: what the model reads, and the full result (absent when the call failed). */
export interface ExecutedCall {
  readonly text: string;
  readonly images: ReadonlyArray<{ readonly dataUrl: string }>;
  readonly result?: ExecutionResult;
}

export interface ChatCompletionsToolMessages {
  /** One tool message per call to this tool, in call order. */
  readonly toolMessages: ChatCompletionToolMessageParam[];
  /** Chat Completions tool messages are text only: plots follow in one user message, after all tool messages. */
  readonly imageMessage: ChatCompletionUserMessageParam | null;
  readonly results: ReadonlyMap<string, ExecutionResult>;
}

export interface ToolLoopOptions {
  /** Model calls at most (each followed by the tool calls it asked for). Default 10. */
  maxSteps?: number;
  signal?: AbortSignal;
}

/**
 * The code tool for OpenAI function calling, on Chat Completions and on the Responses API. `openai` is only
 * needed for its types: the definitions are plain JSON (strict JSON Schema), and the loops take your client.
 */
export function sandboxTool(options: OpenAISandboxToolOptions = {}) {
  const definition = sandboxToolDefinition(options);
  const images = options.images ?? true;
  const detail = options.imageDetail ?? "auto";
  const { name } = definition;

  /** Runs one call from its JSON arguments. Failures the model can fix come back as text; an abort rejects. */
  async function execute(args: string | object, callOptions: ToolCallOptions = {}): Promise<ExecutedCall> {
    try {
      const result = await executeTool(args, definition.provider, callOptions);
      const content = modelContent(result, { ...definition.format, images });
      return { result, text: content.text, images: content.images.map((image) => ({ dataUrl: `data:${image.mimeType};base64,${image.base64}` })) };
    } catch (error) {
      if (!ToolCallError.isInstance(error)) throw error;
      return { text: `Error: ${error.message}`, images: [] };
    }
  }

  /** Tool messages for the calls to this tool (other calls are left to you: put their tool messages before `imageMessage`). */
  async function chatCompletionsMessages(toolCalls: readonly ChatCompletionMessageToolCall[], callOptions: ToolCallOptions = {}): Promise<ChatCompletionsToolMessages> {
    const toolMessages: ChatCompletionToolMessageParam[] = [];
    const imageParts: ChatCompletionContentPart[] = [];
    const results = new Map<string, ExecutionResult>();
    for (const call of toolCalls) {
      if (call.type !== "function" || call.function.name !== name) continue;
      const executed = await execute(call.function.arguments, callOptions);
      toolMessages.push({ role: "tool", tool_call_id: call.id, content: executed.text });
      if (executed.result) results.set(call.id, executed.result);
      if (executed.images.length) {
        imageParts.push({ type: "text", text: `Plots from tool call ${call.id}:` });
        imageParts.push(...executed.images.map((image) => ({ type: "image_url" as const, image_url: { url: image.dataUrl, detail } })));
      }
    }
    return { toolMessages, imageMessage: imageParts.length ? { role: "user", content: imageParts } : null, results };
  }

  /** The `function_call_output` item for a Responses `function_call` to this tool: text, then one `input_image` per plot. */
  async function responsesOutput(call: ResponseFunctionToolCall, callOptions: ToolCallOptions = {}): Promise<ResponseInputItem.FunctionCallOutput> {
    const executed = await execute(call.arguments, callOptions);
    const output: ResponseFunctionCallOutputItem[] = [
      { type: "input_text", text: executed.text },
      ...executed.images.map((image) => ({ type: "input_image" as const, image_url: image.dataUrl, detail })),
    ];
    return { type: "function_call_output", call_id: call.call_id, output: executed.images.length ? output : executed.text };
  }

  /**
   * A whole Chat Completions tool loop: calls the model with this tool added, runs the calls it makes, repeats
   * until it answers without tool calls (or `maxSteps`). Returns the last completion and the full conversation.
   */
  async function runChatCompletions(
    client: Pick<OpenAI, "chat">,
    params: ChatCompletionCreateParamsNonStreaming,
    { maxSteps = 10, signal }: ToolLoopOptions = {},
  ): Promise<{ completion: ChatCompletion; messages: ChatCompletionMessageParam[] }> {
    const messages = [...params.messages];
    const tools = [...(params.tools ?? []), chatCompletionsTool];
    const callOptions = signal ? { signal } : {};
    for (let step = 1; ; step++) {
      const completion = await client.chat.completions.create({ ...params, messages, tools }, callOptions);
      const message = completion.choices[0]?.message;
      if (!message) return { completion, messages };
      messages.push(message);
      const calls = message.tool_calls ?? [];
      if (!calls.length || step >= maxSteps) return { completion, messages };
      const { toolMessages, imageMessage } = await chatCompletionsMessages(calls, callOptions);
      const unknown = calls.filter((call) => call.type !== "function" || call.function.name !== name);
      messages.push(...toolMessages, ...unknown.map((call) => unknownTool(call.id, call.type === "function" ? call.function.name : call.custom.name)));
      if (imageMessage) messages.push(imageMessage);
    }
  }

  /** A whole Responses tool loop (stateless: the conversation is resent as `input`). Returns the last response and the input. */
  async function runResponses(
    client: Pick<OpenAI, "responses">,
    params: ResponseCreateParamsNonStreaming,
    { maxSteps = 10, signal }: ToolLoopOptions = {},
  ): Promise<{ response: Response; input: ResponseInputItem[] }> {
    const input: ResponseInputItem[] = typeof params.input === "string" ? [{ role: "user", content: params.input }] : [...(params.input ?? [])];
    const tools = [...(params.tools ?? []), responsesTool];
    const callOptions = signal ? { signal } : {};
    for (let step = 1; ; step++) {
      const response = await client.responses.create({ ...params, input, tools }, callOptions);
      input.push(...(response.output as ResponseInputItem[]));
      const calls = response.output.filter((item): item is ResponseFunctionToolCall => item.type === "function_call");
      if (!calls.length || step >= maxSteps) return { response, input };
      for (const call of calls) {
        input.push(call.name === name ? await responsesOutput(call, callOptions) : { type: "function_call_output", call_id: call.call_id, output: `Error: unknown tool ${call.name}` });
      }
    }
  }

  const chatCompletionsTool: ChatCompletionFunctionTool = {
    type: "function",
    function: { name, description: definition.description, parameters: definition.parameters, strict: true },
  };
  const responsesTool: FunctionTool = { type: "function", name, description: definition.description, parameters: definition.parameters, strict: true };

  return { name, chatCompletionsTool, responsesTool, execute, chatCompletionsMessages, responsesOutput, runChatCompletions, runResponses };
}

function unknownTool(id: string, tool: string): ChatCompletionToolMessageParam {
  return { role: "tool", tool_call_id: id, content: `Error: unknown tool ${tool}` };
}
