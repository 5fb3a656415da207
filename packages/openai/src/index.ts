export {
  type ChatCompletionsToolMessages,
  type ExecutedCall,
  type OpenAISandboxToolOptions,
  sandboxTool,
  type ToolLoopOptions,
} from "./tool.js";
