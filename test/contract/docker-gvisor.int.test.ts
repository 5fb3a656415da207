// The session contract under gVisor (runsc) on Docker: the stronger tier keeps every promise of the default one.
import { DockerBackend, engineClient } from "@llm-sandbox/core/backends";
import { engineTarget } from "./engine-target.js";
import { sessionContract } from "./session-contract.js";

const docker = engineClient();

sessionContract(
  engineTarget({
    backend: "docker",
    docker,
    options: (overrides) => ({ backend: "docker", ...overrides, runtimeConfigs: { isolation: "gvisor", ...overrides.runtimeConfigs } }),
    adapter: () => new DockerBackend(docker),
    externalImage: "llm-sandbox/python:latest",
  }),
);
