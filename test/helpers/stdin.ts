import type { BackendAdapter } from "@llm-sandbox/core/backends";

/**
 * Streams `lines` on stdin to a program that answers each one upper-cased, sending a line only once the answer to
 * the previous one arrived: answers provably come back while stdin is still open. `exitCode` is the program's own
 * (`sys.exit`), if given.
 */
export async function upperCaseOverStdin(
  adapter: BackendAdapter,
  containerId: string,
  lines: readonly string[],
  exitCode?: number,
): Promise<{ exitCode: number; answers: string }> {
  const answers: string[] = [];
  let answered: () => void = () => {};
  async function* stdin() {
    for (const line of lines) {
      const seen = new Promise<void>((resolve) => (answered = resolve));
      yield Buffer.from(line);
      await seen;
    }
  }
  const program = `import sys\nfor line in sys.stdin: print(line.strip().upper(), flush=True)${exitCode === undefined ? "" : `\nsys.exit(${exitCode})`}`;
  const outcome = await adapter.exec(containerId, {
    argv: ["python3", "-u", "-c", program],
    stdin: stdin(),
    onStdout: (chunk) => {
      answers.push(Buffer.from(chunk).toString());
      answered();
    },
  });
  return { exitCode: outcome.exitCode, answers: answers.join("") };
}
