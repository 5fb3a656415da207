import { afterAll } from "vitest";
import { createSession, type SandboxSession, type SessionOptions } from "@llm-sandbox/core";
import { LIST_PROCESSES } from "./processes.js";

/** Opens a session for the current test file and closes it after the file's tests. */
export async function sharedSession(options: SessionOptions = {}): Promise<SandboxSession> {
  const session = createSession(options);
  afterAll(() => session.close());
  return session.open();
}

/** Opens a session for one test and closes it however the test ends. */
export async function withSession<T>(options: SessionOptions, use: (session: SandboxSession) => Promise<T>): Promise<T> {
  const session = await createSession(options).open();
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

/** Command lines of the processes running in the sandbox (argv joined by spaces). */
export async function sandboxProcesses(session: SandboxSession): Promise<string[]> {
  const result = await session.executeCommand(LIST_PROCESSES);
  return result.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
}
