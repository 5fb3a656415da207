// Every public entry of the five packages, imported as a user's project does: test/packed/check.sh type-checks this
// file against the packed tarballs with skipLibCheck false, so every declaration file they ship is checked too.
import { experimental_toSandboxSession, sandboxTool as aiSdkTool } from "@llm-sandbox/ai-sdk";
import { createSession, type ExecutionResult } from "@llm-sandbox/core";
import { DockerBackend } from "@llm-sandbox/core/backends";
import { ensureImages } from "@llm-sandbox/core/setup";
import { perCall, streamTool } from "@llm-sandbox/core/tool";
import { sandboxTool as langchainTool } from "@llm-sandbox/langchain";
import { LlmSandbox } from "@llm-sandbox/langchain/deepagents";
import { createSandboxMcpServer } from "@llm-sandbox/mcp";
import { sandboxTool as openaiTool } from "@llm-sandbox/openai";

export const entries = [
  createSession,
  DockerBackend,
  ensureImages,
  perCall,
  streamTool,
  aiSdkTool,
  experimental_toSandboxSession,
  langchainTool,
  LlmSandbox,
  createSandboxMcpServer,
  openaiTool,
];
export const exitCode = (result: ExecutionResult): number => result.exitCode;
