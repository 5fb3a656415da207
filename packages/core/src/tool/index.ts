/**
 * `@llm-sandbox/core/tool`: the kit the agent-framework adapters are built from: the tool's input schema and
 * description, session providers, execution with progress, and the formatting of results for a model.
 */
export { describeNetworkPolicy, describeSandboxTool } from "./description.js";
export { executeTool, streamTool, toolCallError, type ToolCallOptions, type ToolProgress } from "./execute.js";
export {
  deleteSandboxFile,
  type FileOperationOptions,
  listSandboxDirectory,
  type SandboxDirectoryEntry,
  type SandboxFileStat,
  type SandboxFileType,
  statSandboxFile,
} from "./files.js";
export {
  DEFAULT_MODEL_OUTPUT_CHARS,
  formatToolResult,
  type ModelFormatOptions,
  modelContent,
  type ModelImage,
  modelImages,
  summarizeResult,
  type ToolResultSummary,
  toolResultSummarySchema,
  truncateForModel,
} from "./format.js";
export { parseToolInput, type ToolInput, toolInputJsonSchema, toolInputSchema, type ToolInputSchema } from "./input.js";
export {
  defaultSessionFactory,
  fromSession,
  perCall,
  persistent,
  pooled,
  type PooledProviderOptions,
  type SandboxInfo,
  type SessionFactory,
  type SessionProvider,
  type SessionProviderOptions,
} from "./providers.js";
export { DEFAULT_TOOL_NAME, type SandboxToolDefinition, sandboxToolDefinition, type SandboxToolOptions } from "./options.js";
export { checkTimerSeconds } from "../internal/timers.js";
