import {
  FileAccessError,
  FileNotFoundError,
  LanguageNotSupportedError,
  LibraryInstallationError,
  PathTraversalError,
  SandboxAbortError,
  SandboxError,
  SandboxTimeoutError,
  ToolCallError,
  ValidationError,
} from "../errors.js";
import type { ExecutionResult } from "../result.js";
import type { RunOptions } from "../session/types.js";
import { DEFAULT_MODEL_OUTPUT_CHARS, truncateForModel } from "./format.js";
import { parseToolInput } from "./input.js";
import { lineBuffer } from "./lines.js";
import type { SessionProvider } from "./providers.js";

export interface ToolCallOptions {
  /** Aborting stops the program inside the sandbox; the call then rejects with `SandboxAbortError`. */
  signal?: AbortSignal;
  /** Called once per line of output ("\n" included); a last line without one comes when the run ends. */
  onStdout?: (text: string) => void;
  /** As `onStdout`, for stderr (buffered apart from stdout). */
  onStderr?: (text: string) => void;
}

/** Output of a running call, one whole line at a time (the last one may lack its "\n"). */
export interface ToolProgress {
  readonly stream: "stdout" | "stderr";
  readonly text: string;
}

/**
 * One tool call: validates the raw input (object or JSON text), borrows a session for its language, runs the
 * code. A failing program is a result. Everything the model can act on — bad input, the time limit, a failed
 * install, an unavailable sandbox — rejects with `ToolCallError`, whose message is written for the model. An abort
 * rejects with `SandboxAbortError`; anything else is a bug and propagates as is.
 */
export async function executeTool(input: unknown, provider: SessionProvider, options: ToolCallOptions = {}): Promise<ExecutionResult> {
  const { code, language, libraries } = parseToolInput(input, provider.info.languages.map((l) => l.name));
  const stdout = options.onStdout && lineBuffer(options.onStdout);
  const stderr = options.onStderr && lineBuffer(options.onStderr);
  const runOptions: RunOptions & { clearPlots: boolean } = {
    libraries: libraries ?? [],
    // Plot-capturing sessions keep plots across runs; each tool call reports only its own.
    clearPlots: true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(stdout ? { onStdout: stdout.push } : {}),
    ...(stderr ? { onStderr: stderr.push } : {}),
  };
  try {
    return await provider.withSession(language, (session) => session.run(code, runOptions), options.signal ? { signal: options.signal } : {});
  } catch (error) {
    throw toolCallError(error);
  } finally {
    // A failed or stopped run's last words are progress too.
    stdout?.flush();
    stderr?.flush();
  }
}

/** `executeTool` as an async generator: yields output while the program runs, returns the result. */
export async function* streamTool(
  input: unknown,
  provider: SessionProvider,
  options: Pick<ToolCallOptions, "signal"> = {},
): AsyncGenerator<ToolProgress, ExecutionResult> {
  const pending: ToolProgress[] = [];
  let wake: (() => void) | undefined;
  const push = (stream: ToolProgress["stream"]) => (text: string) => {
    pending.push({ stream, text });
    wake?.();
  };
  let settled = false;
  const run = executeTool(input, provider, { ...options, onStdout: push("stdout"), onStderr: push("stderr") }).finally(() => {
    settled = true;
    wake?.();
  });
  run.catch(() => {}); // observed below; avoids an unhandled rejection while the consumer is between pulls
  while (!settled || pending.length) {
    if (!pending.length) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      continue;
    }
    yield pending.shift()!;
  }
  return await run;
}

/** The model-facing form of a failure; aborts and non-sandbox errors pass through unchanged. */
export function toolCallError(error: unknown): unknown {
  if (!SandboxError.isInstance(error) || SandboxAbortError.isInstance(error) || ToolCallError.isInstance(error)) return error;
  return new ToolCallError(modelMessage(error), { cause: error });
}

function modelMessage(error: SandboxError): string {
  // Read before the type guards below: they narrow structurally identical classes away.
  const { name, message } = error;
  if (SandboxTimeoutError.isInstance(error)) {
    const partial = error.partialOutput;
    const lines = [`The program was stopped: it exceeded the time limit of ${error.timeoutDuration ?? "?"} s.`];
    if (partial?.stdout) lines.push(`--- stdout so far ---\n${truncateForModel(partial.stdout, DEFAULT_MODEL_OUTPUT_CHARS / 2)}`);
    if (partial?.stderr) lines.push(`--- stderr so far ---\n${truncateForModel(partial.stderr, DEFAULT_MODEL_OUTPUT_CHARS / 2)}`);
    return lines.join("\n");
  }
  if (LibraryInstallationError.isInstance(error)) return `Library installation failed, the code did not run. ${message}`;
  if (ValidationError.isInstance(error)) return `Invalid input: ${message}`;
  // A path or language the caller named that is wrong: the error's name says how, so the model can fix the call.
  if ([FileNotFoundError, FileAccessError, PathTraversalError, LanguageNotSupportedError].some((type) => type.isInstance(error))) return `${name}: ${message}`;
  return `The sandbox could not run the code (${name}): ${message}`;
}
