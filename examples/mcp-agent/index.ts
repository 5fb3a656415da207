// An MCP host: starts the llm-sandbox MCP server over stdio (as Claude Desktop, Cursor or any MCP client would), gives
// its tools to a model and runs the tool loop. With OPENAI_API_KEY set the model is OpenAI (Chat Completions);
// without, a scripted model makes the same tool call and then answers, so the MCP session and a real container run.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import OpenAI from "openai";
import type { ChatCompletionMessage, ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";

const question = "Which weekday was 1 January 2000? Check with code.";
const code = `import datetime
print(datetime.date(2000, 1, 1).strftime("%A"))`;

/** Plays the model: first a call to execute_code, then an answer quoting the tool's reply. */
async function scriptedModel(messages: ChatCompletionMessageParam[]): Promise<ChatCompletionMessage> {
  const toolReply = messages.findLast((m) => m.role === "tool");
  if (toolReply) return { role: "assistant", content: `(scripted model) The sandbox says:\n${toolReply.content}`, refusal: null };
  const args = JSON.stringify({ code, language: "python", libraries: null });
  return { role: "assistant", content: null, refusal: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "execute_code", arguments: args } }] };
}

const openai = process.env.OPENAI_API_KEY ? new OpenAI() : undefined;
const askModel = async (messages: ChatCompletionMessageParam[], tools: ChatCompletionTool[]) =>
  openai ? (await openai.chat.completions.create({ model: process.env.OPENAI_MODEL ?? "gpt-4.1-mini", messages, tools })).choices[0]!.message : scriptedModel(messages);

// The server is the package's bin, exactly what `npx @llm-sandbox/mcp` starts; flags and environment configure it.
const bin = join(dirname(fileURLToPath(import.meta.resolve("@llm-sandbox/mcp/package.json"))), "bin", "llm-sandbox-mcp.js");
const client = new Client({ name: "example-host", version: "0.0.0" });
await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, "--languages", "python,javascript", "--timeout", "30"] }));
try {
  const { tools } = await client.listTools();
  console.log(`MCP tools: ${tools.map((t) => t.name).join(", ")}`);
  const functions: ChatCompletionTool[] = tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description ?? "", parameters: t.inputSchema } }));
  const messages: ChatCompletionMessageParam[] = [{ role: "user", content: question }];
  for (let step = 0; step < 5; step++) {
    const reply = await askModel(messages, functions);
    messages.push(reply);
    if (!reply.tool_calls?.length) {
      console.log(reply.content);
      break;
    }
    for (const call of reply.tool_calls) {
      if (call.type !== "function") continue;
      console.log(`→ ${call.function.name}`);
      const result = (await client.callTool({ name: call.function.name, arguments: JSON.parse(call.function.arguments) })) as CallToolResult;
      const text = result.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("\n");
      messages.push({ role: "tool", tool_call_id: call.id, content: result.isError ? `Error: ${text}` : text });
    }
  }
} finally {
  await client.close();
}
