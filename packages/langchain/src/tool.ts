import { tool } from "@langchain/core/tools";
import type { ExecutionResult } from "@llm-sandbox/core";
import {
  modelContent,
  type ModelFormatOptions,
  type SandboxToolOptions,
  sandboxToolDefinition,
  streamTool,
  type ToolProgress,
} from "@llm-sandbox/core/tool";

export interface LangChainSandboxToolOptions extends SandboxToolOptions {
  /**
   * Send plot images to the model as standard image content blocks (`{ type: "image", mimeType, data }`), for
   * chat models that accept images in tool results (e.g. Anthropic). Default false: the model reads a text
   * summary and the plot bytes stay in the ToolMessage's artifact.
   */
  images?: boolean;
}

type ContentBlock = { type: "text"; text: string } | { type: "image"; mimeType: string; data: string };

/**
 * The code tool for LangChain agents (`createAgent({ tools: [sandboxTool()] })`, LangGraph's ToolNode, …).
 * Returns `[content, artifact]`: the model reads the text (and images, if enabled); `ToolMessage.artifact` is the
 * full `ExecutionResult` with untruncated output and plot bytes. Output lines stream as tool events while the
 * program runs (LangGraph `streamMode: "tools"`), and the run's abort signal stops the program in the sandbox.
 * Failures the model can fix (bad input, time limit, failed install) are thrown as `ToolCallError`, which agents
 * turn into an error ToolMessage.
 */
export function sandboxTool(options: LangChainSandboxToolOptions = {}) {
  const definition = sandboxToolDefinition(options);
  return tool(
    async function* (input, config): AsyncGenerator<ToolProgress, [string | ContentBlock[], ExecutionResult]> {
      const result = yield* streamTool(input, definition.provider, config.signal ? { signal: config.signal } : {});
      return [toolContent(result, options.images ?? false, definition.format), result];
    },
    {
      name: definition.name,
      description: definition.description,
      schema: definition.inputSchema,
      responseFormat: "content_and_artifact",
    },
  );
}

/** What the model reads: text alone, or text followed by one standard image block per plot it can see. */
export function toolContent(result: ExecutionResult, images: boolean, format: ModelFormatOptions = {}): string | ContentBlock[] {
  const content = modelContent(result, { ...format, images });
  if (!content.images.length) return content.text;
  return [{ type: "text", text: content.text }, ...content.images.map((image) => ({ type: "image" as const, mimeType: image.mimeType, data: image.base64 }))];
}
