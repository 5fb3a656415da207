import type Docker from "dockerode";
import type { SandboxBackend, SessionOptions } from "@llm-sandbox/core";
import type { BackendAdapter } from "@llm-sandbox/core/backends";
import { LABELS, ownershipLabels } from "../../packages/core/src/internal/labels.js";
import type { ContractTarget } from "./target.js";

/** A contract target on a Docker-compatible engine (Docker, Podman, Micromamba on Docker). */
export function engineTarget(config: {
  readonly backend: SandboxBackend;
  readonly docker: Docker;
  readonly options: (overrides: SessionOptions) => SessionOptions;
  readonly adapter: () => BackendAdapter;
  /** Image of the container `startExternal` starts. */
  readonly externalImage: string;
}): ContractTarget {
  const { docker } = config;
  return {
    backend: config.backend,
    network: "isolated",
    options: (overrides = {}) => config.options(overrides),
    adapter: config.adapter,
    async sandboxesOf(sessionId) {
      const found = await docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${sessionId}`] } });
      return found.map((c) => c.Id);
    },
    async startExternal() {
      const container = await docker.createContainer({
        Image: config.externalImage,
        Entrypoint: ["sleep"],
        Cmd: ["infinity"],
        User: "1000:1000",
        Labels: ownershipLabels(`external-${process.pid}`),
      });
      await container.start();
      return { id: container.id, remove: () => container.remove({ force: true }) };
    },
  };
}
