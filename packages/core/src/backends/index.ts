/**
 * `@llm-sandbox/core/backends`: the engine adapters, for backend authors and tests: the contract a backend
 * implements and the Docker, Podman, Kubernetes and micromamba backends with their engine clients.
 */
export type { AttachedContainer, BackendAdapter, ContainerSpec, ExecOutcome, ExecRequest, NetworkPolicy, RelaySpec } from "./backend.js";
export { DockerBackend } from "./docker.js";
export { PodmanBackend } from "./podman.js";
export { MICROMAMBA_IMAGE, MicromambaBackend } from "./micromamba.js";
export { KubernetesBackend, type KubernetesBackendOptions } from "./kubernetes.js";
export { engineClient, podmanClient, podmanHost } from "./engine-client.js";
