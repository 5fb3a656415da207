export { experimental_toSandboxSession } from "./sandbox-session.js";
export {
  type AiSdkSandboxToolOptions,
  type SandboxToolOutput,
  type SandboxToolProgress,
  type SandboxToolResult,
  sandboxTool,
  toModelOutput,
} from "./tool.js";
