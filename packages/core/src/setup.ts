/**
 * `@llm-sandbox/core/setup`: what prepares a host, kept apart from the session API because it installs software
 * and starts daemons (ensureEngine, ensurePodman, ensureGvisor), builds images, and sweeps leaked sandboxes. The CLI is built on it.
 */
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
export { ensureGvisor, type GvisorRuntimeCheck, type GvisorSetupReport } from "./host/gvisor-setup.js";
export { type CleanupOptions, type CleanupReport, cleanupPods, cleanupResources, type SweptResource } from "./host/cleanup.js";
export type { KubeConnectOptions } from "./backends/kube-client.js";
