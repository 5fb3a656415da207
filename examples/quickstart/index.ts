// Runs LLM-style Python code in a sandbox and prints what it printed, as it prints it.
import { createSession } from "@llm-sandbox/core";

const code = `
import platform, statistics
data = [3, 1, 4, 1, 5, 9, 2, 6]
print(f"Python {platform.python_version()} in a sandbox")
print("mean:", statistics.mean(data), "median:", statistics.median(data))
`;

// `await using session = …` does the same where the runtime or compiler supports it (TypeScript ≥ 5.2, Node ≥ 24).
const session = await createSession({ lang: "python" }).open();
try {
  const result = await session.run(code, { onStdout: (text) => process.stdout.write(text) });
  console.log(`exit code ${result.exitCode} in ${result.durationMs} ms`);
} finally {
  await session.close();
}
