import { CommandEmptyError, ValidationError } from "../errors.js";
import type { ProcessRequest } from "../container/process.js";
import type { StreamOptions } from "./types.js";

/** What the session's operations take from their callers, checked and shaped for the container. */

/** `run()`'s code must be a non-empty string. */
export function requireCode(code: unknown): asserts code is string {
  if (typeof code !== "string" || code.trim() === "") throw new ValidationError("code must be a non-empty string");
}

export function commandArgv(command: string | readonly string[]): readonly string[] {
  if (typeof command === "string") {
    if (!command.trim()) throw new CommandEmptyError();
    return ["/bin/sh", "-c", command];
  }
  if (!Array.isArray(command) || command.length === 0 || !command[0]) throw new CommandEmptyError();
  return command;
}

export function streamOf(options: StreamOptions): Pick<ProcessRequest, "onStdout" | "onStderr" | "signal"> {
  return {
    ...(options.onStdout ? { onStdout: options.onStdout } : {}),
    ...(options.onStderr ? { onStderr: options.onStderr } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** The image a committed container is written to: the one named, or a dated name of the language's. */
export function commitReference(commitContainer: string | boolean | undefined, language: string, sessionId: string): string {
  if (typeof commitContainer === "string") return commitContainer;
  return `llm-sandbox-commit/${language}:${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}-${sessionId.slice(0, 6)}`;
}
