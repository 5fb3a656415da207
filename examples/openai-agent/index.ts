// An OpenAI Responses API tool loop with a code sandbox. With OPENAI_API_KEY set it asks OpenAI; without, the real
// OpenAI client talks to a scripted stand-in for the API (through its `fetch` option) that makes the same tool call
// and then answers, so the SDK, the tool loop and a real container all run.
import { persistent } from "@llm-sandbox/core/tool";
import { sandboxTool } from "@llm-sandbox/openai";
import OpenAI from "openai";

const question = "Fit a straight line to (1, 2.1), (2, 3.9), (3, 6.2), (4, 7.8) and report slope and intercept.";
const code = `import numpy as np
x = np.array([1, 2, 3, 4]); y = np.array([2.1, 3.9, 6.2, 7.8])
slope, intercept = np.polyfit(x, y, 1)
print(f"slope={slope:.3f} intercept={intercept:.3f}")`;

/** Plays the Responses API: first a function call, then a message quoting the function's output. */
async function scriptedApi(_url: string | URL | Request, init?: RequestInit): Promise<Response> {
  const { input } = JSON.parse(String(init?.body)) as { input: Array<{ type?: string; output?: unknown }> };
  const output = input.filter((item) => item.type === "function_call_output").at(-1)?.output;
  const item = output
    ? { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: `(scripted model) The sandbox says:\n${output}`, annotations: [] }] }
    : { type: "function_call", id: "fc_1", call_id: "call_1", name: "execute_code", status: "completed", arguments: JSON.stringify({ code, language: "python", libraries: null }) };
  const body = { id: `resp_${Date.now()}`, object: "response", created_at: 0, model: "scripted", status: "completed", output: [item] };
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}

const client = process.env.OPENAI_API_KEY ? new OpenAI() : new OpenAI({ apiKey: "scripted", fetch: scriptedApi });
const sessions = persistent({ languages: ["python", "javascript"] });
try {
  const executeCode = sandboxTool({ sessions });
  const { response, input } = await executeCode.runResponses(client, {
    model: process.env.OPENAI_MODEL ?? "gpt-4.1-mini",
    instructions: "Use execute_code for any computation.",
    input: question,
  });
  for (const item of input) if (item.type === "function_call") console.log(`→ ${item.name}: ${JSON.parse(item.arguments).language}`);
  console.log(response.output_text);
} finally {
  await sessions.close();
}
