export * from "./errors.js";
export { EncodingErrors, FileType, MIME_TYPES, SandboxBackend } from "./enums.js";
export {
  type ChartData,
  type ChartSeries,
  ConsoleOutput,
  type ConsoleOutputInit,
  type ExecutionErrorInfo,
  ExecutionResult,
  type ExecutionResultInit,
  type PlotOutput,
  plotMimeType,
} from "./result.js";
export { SandboxSession, type CommandOptions, type CommandSpec, type RunOptions, type StreamOptions } from "./session/session.js";
export { createSession } from "./session/create-session.js";
export { createPoolManager, PoolManager, type PooledContainerState, type PoolManagerOptions, type PoolStats } from "./pool/pool.js";
export { ExhaustionStrategy, type PoolConfig, type ResolvedPoolConfig } from "./pool/config.js";
export type { ContainerLease, ContainerSource } from "./session/container-source.js";
export { InteractiveSandboxSession, type InteractiveSessionOptions } from "./interactive/session.js";
export { type InteractiveSettings, KernelType, type ResolvedInteractiveSettings } from "./interactive/settings.js";
export * from "./security/index.js";
export {
  type BackendSessionOptions,
  MicromambaSession,
  SandboxDockerSession,
  SandboxKubernetesSession,
  SandboxPodmanSession,
} from "./session/backend-sessions.js";
export type { KubeConfigLike, RuntimeConfigs, SessionOptions } from "./session/options.js";
export type { LanguageHandler, PackageIndexes, SandboxCommand, SandboxContext } from "./languages/handler.js";
export type { Feature as SyntaxFeature, Interpolation, Quote, Syntax } from "./languages/syntax.js";
export { getLanguageHandler, registerLanguageHandler, SupportedLanguage, supportedLanguages } from "./languages/registry.js";
export type { AttachedContainer, BackendAdapter, ContainerSpec, ExecOutcome, ExecRequest, NetworkPolicy } from "./backends/backend.js";
export { DockerBackend } from "./backends/docker.js";
export { PodmanBackend } from "./backends/podman.js";
export { MICROMAMBA_IMAGE, MicromambaBackend } from "./backends/micromamba.js";
export { KubernetesBackend, type KubernetesBackendOptions } from "./backends/kubernetes.js";
export { engineClient, podmanClient, podmanHost } from "./backends/engine-client.js";
export type { Logger } from "./internal/logger.js";
export {
  buildDockerfile,
  type EnsuredImage,
  type EnsureImagesOptions,
  ensureImages,
  type ImageBuildOptions,
  type ImageProgressEvent,
  type ImageProgressListener,
  managedImageDirs,
  managedImageName,
  prepareImage,
} from "./images/builder.js";
export { ensureEngine, ensurePodman } from "./host/engine-setup.js";
export { type CleanupReport, cleanupPods, cleanupResources } from "./host/cleanup.js";
export {
  type ArtifactOptions,
  type ArtifactRunOptions,
  ArtifactSandboxSession,
  type ArtifactSessionOptions,
} from "./artifacts/artifact-session.js";
export { plotLanguages } from "./artifacts/capture.js";
export type { SandboxAccess, SessionProcessRequest } from "./session/session.js";
export { describeSandboxTool } from "./tool/description.js";
export { executeTool, streamTool, toolCallError, type ToolCallOptions, type ToolProgress } from "./tool/execute.js";
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
} from "./tool/format.js";
export { parseToolInput, type ToolInput, toolInputJsonSchema, toolInputSchema, type ToolInputSchema } from "./tool/input.js";
export {
  fromSession,
  defaultSessionFactory,
  perCall,
  persistent,
  pooled,
  type PooledProviderOptions,
  type SandboxInfo,
  type SessionFactory,
  type SessionProvider,
  type SessionProviderOptions,
} from "./tool/providers.js";
export { DEFAULT_TOOL_NAME, type SandboxToolDefinition, sandboxToolDefinition, type SandboxToolOptions } from "./tool/options.js";
