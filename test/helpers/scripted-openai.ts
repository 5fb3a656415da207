import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the OpenAI API (Chat Completions and Responses, non-streaming) playing a model that first
 * calls the one tool it is offered with `toolArguments`, and, once the tool's output is in the conversation, answers
 * with that output. Programs reach it unchanged through OPENAI_BASE_URL.
 */
export async function scriptedOpenAI(toolArguments: Record<string, unknown>) {
  const requests: Array<{ path: string; body: Record<string, unknown> }> = [];
  const server = createServer(async (req, res) => {
    const body = JSON.parse(await text(req)) as Record<string, unknown>;
    requests.push({ path: req.url ?? "", body });
    const reply = body.stream
      ? { status: 400, json: { error: { message: "the scripted model does not stream" } } }
      : req.url?.endsWith("/chat/completions")
        ? { status: 200, json: chatCompletion(body) }
        : req.url?.endsWith("/responses")
          ? { status: 200, json: response(body) }
          : { status: 404, json: { error: { message: `no scripted endpoint ${req.url}` } } };
    res.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.json));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  function chatCompletion(body: Record<string, unknown>) {
    const messages = body.messages as Array<{ role: string; content: unknown }>;
    const toolOutput = messages.findLast((m) => m.role === "tool")?.content;
    const tool = (body.tools as Array<{ function: { name: string } }>)[0]!.function.name;
    const message = toolOutput
      ? { role: "assistant", content: `The sandbox printed: ${JSON.stringify(toolOutput)}`, refusal: null }
      : { role: "assistant", content: null, refusal: null, tool_calls: [{ id: "call_1", type: "function", function: { name: tool, arguments: JSON.stringify(toolArguments) } }] };
    return {
      id: `chatcmpl-${requests.length}`,
      object: "chat.completion",
      created: 0,
      model: String(body.model),
      choices: [{ index: 0, message, logprobs: null, finish_reason: toolOutput ? "stop" : "tool_calls" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
  }

  function response(body: Record<string, unknown>) {
    const input = body.input as Array<{ type?: string; output?: unknown }>;
    const toolOutput = input.findLast((item) => item.type === "function_call_output")?.output;
    const tool = (body.tools as Array<{ name: string }>)[0]!.name;
    const item = toolOutput
      ? { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: `The sandbox printed: ${JSON.stringify(toolOutput)}`, annotations: [] }] }
      : { type: "function_call", id: "fc_1", call_id: "call_1", name: tool, arguments: JSON.stringify(toolArguments), status: "completed" };
    return {
      id: `resp_${requests.length}`,
      object: "response",
      created_at: 0,
      model: String(body.model),
      status: "completed",
      output: [item],
      usage: { input_tokens: 1, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 2 },
    };
  }

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
