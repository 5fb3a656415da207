// Each adapter README's "Usage" example, run exactly as written (as a .ts file with Node, against the built
// packages) — with a local stand-in for the OpenAI API where the example talks to a model.
import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { scriptedOpenAI } from "./helpers/scripted-openai.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const TWO_TO_THE_100 = "1267650600228229401496703205376";
const model = await scriptedOpenAI({ code: "print(2**100)", language: "python", libraries: null });
afterAll(() => model.close());

/** The first ```ts block under "## Usage" in a package README. */
async function usageExample(pkg: string): Promise<string> {
  const readme = await readFile(`${root}packages/${pkg}/README.md`, "utf8");
  const usage = readme.split(/^## Usage$/m)[1] ?? "";
  const block = /```ts\n([\s\S]*?)```/.exec(usage)?.[1];
  if (!block) throw new Error(`packages/${pkg}/README.md has no ts block under ## Usage`);
  return block;
}

/** Runs `code` as a TypeScript module inside the repository (so package imports resolve), returning its output. */
async function runExample(name: string, code: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const file = `${root}test/.readme-${name}-${process.pid}.ts`;
  await writeFile(file, code);
  try {
    const child = spawn(process.execPath, [file], {
      cwd: root,
      env: { ...process.env, OPENAI_API_KEY: "test", OPENAI_BASE_URL: model.baseURL },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { status, stdout, stderr };
  } finally {
    await rm(file, { force: true });
  }
}

describe("README usage examples work as written (real engine, built packages)", () => {
  it.each(["langchain", "ai-sdk", "openai", "mcp"])("@llm-sandbox/%s", async (pkg) => {
    const code = await usageExample(pkg);
    expect(code.split("\n").filter((line) => line.trim()).length).toBeLessThanOrEqual(10);
    const run = await runExample(pkg, code);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(TWO_TO_THE_100);
  });
});
