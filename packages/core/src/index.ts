/**
 * `@llm-sandbox/core`: what a user of sessions needs (sessions, pools, results, errors, policies, languages).
 * The adapter kit is `@llm-sandbox/core/tool`, engine adapters `@llm-sandbox/core/backends`, host installers and the
 * image builder `@llm-sandbox/core/setup`: nothing imported from here installs software or starts a daemon.
 */
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
export { SandboxSession } from "./session/session.js";
export type { CommandOptions, CommandSpec, RunOptions, SandboxAccess, SessionInfo, SessionLimits, SessionProcessRequest, StreamOptions } from "./session/types.js";
export type { Executor, ProgramRequest } from "./session/executor.js";
export { createSession } from "./session/create-session.js";
export {
  type BackendSessionOptions,
  MicromambaSession,
  SandboxDockerSession,
  SandboxKubernetesSession,
  SandboxPodmanSession,
} from "./session/backend-sessions.js";
export type { KubeConfigLike, ParsedSessionOptions, RuntimeConfigs, SessionOptions } from "./session/options.js";
export { type EgressPolicy, egressPolicySchema, type ParsedEgressPolicy } from "./network/policy.js";
export type { NetworkLogEntry } from "./network/network-log.js";
export { createPoolManager, PoolManager } from "./pool/pool.js";
export type { PooledContainerState } from "./pool/pool-container.js";
export type { PoolManagerOptions, PoolStats } from "./pool/pool-options.js";
export { ExhaustionStrategy, type PoolConfig, type ResolvedPoolConfig } from "./pool/config.js";
export type { ContainerLease, ContainerSource } from "./container/source.js";
export { type ContainerProcessRequest, type PrepareSettings, SandboxContainer } from "./container/sandbox-container.js";
export type { LaunchRequest, ProcessLauncher, ProcessOutput, ProcessRequest, ProcessRunner, ProgramRun } from "./container/process.js";
export { InteractiveSandboxSession, type InteractiveSessionOptions } from "./interactive/session.js";
export { type InteractiveSettings, KernelType, type ResolvedInteractiveSettings } from "./interactive/settings.js";
export {
  type ArtifactOptions,
  type ArtifactRunOptions,
  ArtifactSandboxSession,
  type ArtifactSessionOptions,
} from "./artifacts/artifact-session.js";
export { plotLanguages } from "./artifacts/capture.js";
export {
  describeViolations,
  RestrictedModule,
  type RestrictedModuleInit,
  type SecurityCheckResult,
  SecurityIssueSeverity,
  SecurityPattern,
  type SecurityPatternInit,
  SecurityPolicy,
  type SecurityPolicyInit,
  type SeverityInput,
  severityName,
  type SeverityName,
} from "./security/policy.js";
export { describeSecurityPreset, getSecurityPolicy, listSecurityPresets, type PresetName, SECURITY_PRESETS } from "./security/presets.js";
export { type UnsafeSetting, unsafeRuntimeSettings } from "./security/runtime-config.js";
export type { KernelChoice, LanguageHandler, PackageIndexes, PlotSupport, SandboxCommand, SandboxContext, WarmInterpreter } from "./languages/handler.js";
export type { Feature as SyntaxFeature, Interpolation, Quote, Syntax } from "./languages/syntax.js";
export { getLanguageHandler, registerLanguageHandler, SupportedLanguage, supportedLanguages, unregisterLanguageHandler } from "./languages/registry.js";
export type { Logger } from "./internal/logger.js";
export { MAX_TIMER_SECONDS } from "./internal/timers.js";
