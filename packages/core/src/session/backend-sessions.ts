import { SandboxBackend } from "../enums.js";
import type { SessionOptions } from "./options.js";
import { SandboxSession } from "./session.js";

/** Session options for a class that fixes the backend. */
export type BackendSessionOptions = Omit<SessionOptions, "backend">;

/** A session on Docker (DOCKER_HOST or /var/run/docker.sock, or `client`). */
export class SandboxDockerSession extends SandboxSession {
  constructor(options: BackendSessionOptions = {}) {
    super({ ...options, backend: SandboxBackend.DOCKER });
  }
}

/** A session on Podman's Docker-compatible service (CONTAINER_HOST, or Podman's default sockets, or `client`). */
export class SandboxPodmanSession extends SandboxSession {
  constructor(options: BackendSessionOptions = {}) {
    super({ ...options, backend: SandboxBackend.PODMAN });
  }
}

/** A session in a Kubernetes pod (kubeConfig, kubeNamespace, podManifest, envVars, podStartTimeout). */
export class SandboxKubernetesSession extends SandboxSession {
  constructor(options: BackendSessionOptions = {}) {
    super({ ...options, backend: SandboxBackend.KUBERNETES });
  }
}

/** A session on Docker whose every command runs in a micromamba environment (`environment`, default "base"). */
export class MicromambaSession extends SandboxSession {
  constructor(options: BackendSessionOptions = {}) {
    super({ ...options, backend: SandboxBackend.MICROMAMBA });
  }
}

/** The session class of each backend. */
export const backendSessions = {
  [SandboxBackend.DOCKER]: SandboxDockerSession,
  [SandboxBackend.PODMAN]: SandboxPodmanSession,
  [SandboxBackend.KUBERNETES]: SandboxKubernetesSession,
  [SandboxBackend.MICROMAMBA]: MicromambaSession,
} as const satisfies Record<SandboxBackend, new (options?: BackendSessionOptions) => SandboxSession>;
