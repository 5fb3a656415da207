import type { BackendAdapter } from "../backends/backend.js";
import { DockerBackend } from "../backends/docker.js";
import { engineClient, podmanClient } from "../backends/engine-client.js";
import { KubernetesBackend } from "../backends/kubernetes.js";
import { MicromambaBackend } from "../backends/micromamba.js";
import { PodmanBackend } from "../backends/podman.js";
import type { ParsedSessionOptions } from "./options.js";

/** The adapter for `options.backend`. Optional packages (Kubernetes' client) are loaded only when first used. */
export function createBackend(options: ParsedSessionOptions): BackendAdapter {
  switch (options.backend) {
    case "docker":
      return new DockerBackend(options.client ?? engineClient());
    case "podman":
      return new PodmanBackend(options.client ?? podmanClient());
    case "micromamba":
      return new MicromambaBackend(options.client ?? engineClient(), options.environment);
    case "kubernetes":
      return new KubernetesBackend({
        ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
        ...(options.kubeContext ? { kubeContext: options.kubeContext } : {}),
        ...(options.kubeNamespace ? { namespace: options.kubeNamespace } : {}),
        ...(options.podManifest ? { podManifest: options.podManifest } : {}),
        ...(options.envVars ? { envVars: options.envVars } : {}),
        ...(options.podStartTimeout ? { podStartTimeout: options.podStartTimeout } : {}),
        ...(options.ownerLeaseSeconds ? { ownerLeaseSeconds: options.ownerLeaseSeconds } : {}),
      });
  }
}
