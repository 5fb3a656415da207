// An AI SDK agent loop with a code sandbox. With OPENAI_API_KEY set it asks an OpenAI model; without, the AI SDK's
// own MockLanguageModelV4 scripts the same turn (a tool call, then an answer), so streamText's real tool loop and a
// real container run. Program output streams as preliminary tool results.
import { openai } from "@ai-sdk/openai";
import { sandboxTool } from "@llm-sandbox/ai-sdk";
import { persistent } from "@llm-sandbox/core/tool";
import { isStepCount, type LanguageModel, streamText } from "ai";
import { MockLanguageModelV4, simulateReadableStream } from "ai/test";

const question = "Simulate 100,000 rolls of two dice: how often is the sum 7?";
const code = `const rolls = 100_000;
let sevens = 0;
for (let i = 0; i < rolls; i++) if (Math.ceil(Math.random() * 6) + Math.ceil(Math.random() * 6) === 7) sevens++;
console.log(\`\${sevens} of \${rolls} rolls: \${(sevens / rolls).toFixed(4)} (exact: \${(1 / 6).toFixed(4)})\`);`;

/** Scripted turn: call the tool, then answer with what the tool returned (read from the prompt the SDK built). */
function scriptedModel(): LanguageModel {
  const usage = { inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 0, text: 0, reasoning: 0 } };
  const turns = [
    () => [{ type: "tool-call" as const, toolCallId: "call_1", toolName: "execute_code", input: JSON.stringify({ code, language: "javascript", libraries: null }) }],
    (toolOutput: string) => [
      { type: "text-start" as const, id: "t" },
      { type: "text-delta" as const, id: "t", delta: `(scripted model) The sandbox says:\n${toolOutput}` },
      { type: "text-end" as const, id: "t" },
    ],
  ];
  return new MockLanguageModelV4({
    doStream: async ({ prompt }) => {
      const result = prompt.flatMap((m) => (m.role === "tool" ? m.content : [])).at(-1);
      const output = result?.type === "tool-result" && result.output.type === "text" ? result.output.value : "";
      const parts = turns.shift()!(output);
      const finish = { type: "finish" as const, finishReason: { unified: parts[0]!.type === "tool-call" ? ("tool-calls" as const) : ("stop" as const), raw: undefined }, usage };
      return { stream: simulateReadableStream({ chunks: [...parts, finish] }) };
    },
  });
}

const model = process.env.OPENAI_API_KEY ? openai(process.env.OPENAI_MODEL ?? "gpt-4.1-mini") : scriptedModel();
const sessions = persistent({ languages: ["python", "javascript"] });
try {
  const result = streamText({
    model,
    instructions: "Use execute_code for any computation.",
    prompt: question,
    tools: { execute_code: sandboxTool({ sessions }) },
    stopWhen: isStepCount(5),
  });
  for await (const part of result.stream) {
    if (part.type === "tool-call") console.log(`→ ${part.toolName} (${(part.input as { language: string }).language})`);
    if (part.type === "tool-result" && !part.preliminary) console.log(`  ← exit code ${(part.output as { exitCode: number }).exitCode}`);
    if (part.type === "text-delta") process.stdout.write(part.text);
  }
  console.log();
} finally {
  await sessions.close();
}
