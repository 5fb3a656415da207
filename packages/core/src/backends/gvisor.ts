/**
 * gVisor (runsc) as the engine knows it: two runtimes `npx llm-sandbox setup --gvisor` registers, one per kind of
 * network. runsc's own network stack cannot start with a network in the root network namespace on every host, so a
 * sandbox with a network uses `--network=host`: gVisor passes socket calls through to the container's own namespace
 * (the bridge, or a relayed sandbox's loopback-only one), not the host's.
 */
export const GVISOR_RUNTIME = "llm-sandbox-gvisor";
export const GVISOR_NETWORKED_RUNTIME = "llm-sandbox-gvisor-net";

/** The runtimes to register: name → runsc arguments. */
export const GVISOR_RUNTIMES: Readonly<Record<string, readonly string[]>> = {
  [GVISOR_RUNTIME]: ["--network=none"],
  [GVISOR_NETWORKED_RUNTIME]: ["--network=host"],
};

/** The RuntimeClass a Kubernetes cluster (and the API-server fixture) runs gVisor pods with, unless told another. */
export const GVISOR_RUNTIME_CLASS = "gvisor";
