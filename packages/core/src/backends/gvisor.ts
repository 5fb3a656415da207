import { MissingDependencyError } from "../errors.js";
import type { ContainerSpec } from "./backend.js";

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

/** The OCI runtime a Docker sandbox runs with on `networkMode`: the one named, gVisor's for its network, or the default. */
export function engineRuntime(spec: Pick<ContainerSpec, "isolation" | "runtime">, networkMode: string): string | undefined {
  if (spec.runtime) return spec.runtime;
  if (spec.isolation !== "gvisor") return undefined;
  return networkMode === "none" ? GVISOR_RUNTIME : GVISOR_NETWORKED_RUNTIME;
}

/** The engine's refusal of a runtime it does not know, as what to install; undefined for any other error. */
export function missingRuntime(error: unknown, runtime: string | undefined): MissingDependencyError | undefined {
  if (!runtime || !/unknown runtime/i.test((error as Error | undefined)?.message ?? "")) return undefined;
  if (runtime in GVISOR_RUNTIMES) {
    return new MissingDependencyError(
      `gVisor is not registered with this engine (no runtime "${runtime}"): run \`npx llm-sandbox setup --gvisor\` as root ` +
        "(installs Debian's runsc and registers it with Docker), or see https://gvisor.dev/docs/user_guide/install/",
      { cause: error },
    );
  }
  return new MissingDependencyError(`The engine knows no runtime "${runtime}": register it (Docker: "runtimes" in /etc/docker/daemon.json)`, { cause: error });
}
