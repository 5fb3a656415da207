import { ExecutionResult, type ExecutionResultInit } from "@llm-sandbox/core";
import {
  DEFAULT_MODEL_OUTPUT_CHARS,
  type ModelFormatOptions,
  modelContent,
  type SandboxToolOptions,
  sandboxToolDefinition,
  streamTool,
} from "@llm-sandbox/core/tool";
import { tool, type ToolResultPart } from "ai";

export interface AiSdkSandboxToolOptions extends SandboxToolOptions {
  /** Send plots to the model as image file parts. Default true; false keeps them in the tool output only. */
  images?: boolean;
}

/** A preliminary result while the program runs: the latest output (its tail, for long output). */
export interface SandboxToolProgress {
  status: "running";
  stdout: string;
  stderr: string;
}

/** The final result: the full `ExecutionResult` as JSON (untruncated output, plot bytes). */
export interface SandboxToolResult extends ExecutionResultInit {
  status: "done";
}

export type SandboxToolOutput = SandboxToolProgress | SandboxToolResult;
type ModelOutput = ToolResultPart["output"];

/**
 * The code tool for the AI SDK (`generateText`/`streamText`/`ToolLoopAgent`: `tools: { execute_code: sandboxTool() }`).
 * Output streams as preliminary results while the program runs; the final output is the full result, and the
 * model reads it as text plus one image part per plot. The call's `abortSignal` stops the program in the sandbox.
 * Failures the model can fix (bad input, time limit, failed install) become tool errors it reads.
 */
export function sandboxTool(options: AiSdkSandboxToolOptions = {}) {
  const definition = sandboxToolDefinition(options);
  const images = options.images ?? true;
  return tool({
    description: definition.description,
    inputSchema: definition.inputSchema,
    strict: true,
    async *execute(input, { abortSignal }): AsyncGenerator<SandboxToolOutput> {
      const progress: SandboxToolProgress = { status: "running", stdout: "", stderr: "" };
      yield { ...progress };
      const run = streamTool(input, definition.provider, abortSignal ? { signal: abortSignal } : {});
      for (let step = await run.next(); ; step = await run.next()) {
        if (step.done) {
          yield { status: "done", ...(step.value.toJSON() as unknown as ExecutionResultInit) };
          return;
        }
        progress[step.value.stream] = (progress[step.value.stream] + step.value.text).slice(-DEFAULT_MODEL_OUTPUT_CHARS);
        yield { ...progress };
      }
    },
    toModelOutput: ({ output }) => toModelOutput(output, images, definition.format),
  });
}

/** What the model reads: the formatted run, then each plot it can see as an image file part. */
export function toModelOutput(output: SandboxToolOutput, images: boolean, format: ModelFormatOptions = {}): ModelOutput {
  if (output.status === "running") return { type: "text", value: `still running; output so far:\n${output.stdout}${output.stderr}` };
  const { text, images: attached } = modelContent(new ExecutionResult(output), { ...format, images });
  if (!attached.length) return { type: "text", value: text };
  return {
    type: "content",
    value: [
      { type: "text", text },
      ...attached.map((image) => ({
        type: "file" as const,
        mediaType: image.mimeType,
        data: { type: "data" as const, data: image.base64 },
        ...(image.plot.filename ? { filename: image.plot.filename } : {}),
      })),
    ],
  };
}
