export { LlmSandbox, type LlmSandboxCreateOptions } from "./deepagents-backend.js";
