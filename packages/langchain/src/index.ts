export { type LangChainSandboxToolOptions, sandboxTool, toolContent } from "./tool.js";
