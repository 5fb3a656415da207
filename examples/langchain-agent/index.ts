// A LangChain agent with a code sandbox. With OPENAI_API_KEY set it asks an OpenAI model; without, LangChain's own
// fake model scripts the same turn (a tool call, then an answer), so the real agent loop and a real container run.
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { ChatOpenAI } from "@langchain/openai";
import { persistent } from "@llm-sandbox/core/tool";
import { sandboxTool } from "@llm-sandbox/langchain";
import { createAgent } from "langchain";

const question = "What is the sum of the squares of the first 100 prime numbers?";
const code = `primes = [n for n in range(2, 1000) if all(n % d for d in range(2, int(n ** 0.5) + 1))][:100]
print(sum(p * p for p in primes))`;

// Scripted turn: call the tool, then answer with what the sandbox printed.
const scripted = () =>
  fakeModel()
    .respondWithTools([{ name: "execute_code", args: { code, language: "python", libraries: null } }])
    .respond((messages) => {
      const result = messages.filter((m) => ToolMessage.isInstance(m)).at(-1);
      return new AIMessage(`(scripted model) The sandbox computed it:\n${result?.content}`);
    });

let lineStart = true; // for showOutput
const model = process.env.OPENAI_API_KEY ? new ChatOpenAI({ model: process.env.OPENAI_MODEL ?? "gpt-4.1-mini" }) : scripted();
const sessions = persistent({ languages: ["python", "javascript"] }); // one container per language, reused across calls
try {
  const agent = createAgent({ model, tools: [sandboxTool({ sessions })], systemPrompt: "Use execute_code for any computation." });
  const stream = await agent.stream({ messages: [{ role: "user", content: question }] }, { streamMode: ["updates", "tools"] });
  for await (const [mode, chunk] of stream) {
    if (mode === "tools" && chunk.event === "on_tool_start") console.log(`→ ${chunk.name}:\n${showCall(chunk.input)}`);
    if (mode === "tools" && chunk.event === "on_tool_event") showOutput((chunk.data as { text: string }).text);
    if (mode === "updates" && "model_request" in chunk) {
      const reply = chunk.model_request.messages?.at(-1);
      if (AIMessage.isInstance(reply) && !reply.tool_calls?.length) console.log(`\n${reply.content}`);
    }
  }
} finally {
  await sessions.close();
}

/** Streams program output as it arrives (partial lines too), marking each line. */
function showOutput(text: string): void {
  process.stdout.write(`${lineStart ? "  │ " : ""}${text}`);
  lineStart = text.endsWith("\n");
}

function showCall(input: unknown): string {
  const { code, language } = (typeof input === "string" ? JSON.parse(input) : input) as { code: string; language: string };
  return `  ${language}:\n${code.replace(/^/gm, "    ")}`;
}
