export * from "./errors.js";
export { EncodingErrors, FileType, MIME_TYPES, SandboxBackend, SupportedLanguage } from "./enums.js";
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
export {
  type BackendSessionOptions,
  MicromambaSession,
  SandboxDockerSession,
  SandboxKubernetesSession,
  SandboxPodmanSession,
} from "./session/backend-sessions.js";
export type { KubeConfigLike, RuntimeConfigs, SessionOptions } from "./session/options.js";
export type { LanguageHandler, PackageIndexes, SandboxCommand, SandboxContext } from "./languages/handler.js";
export { getLanguageHandler, registerLanguageHandler, supportedLanguages } from "./languages/registry.js";
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
export { type CleanupReport, cleanupResources } from "./host/cleanup.js";
