import { PodmanBackend, podmanClient } from "@llm-sandbox/core/backends";
import { engineTarget } from "./engine-target.js";
import { sessionContract } from "./session-contract.js";

// Found as Podman's own clients find it (CONTAINER_HOST, else the default socket): `npm test` starts the service.
const podman = podmanClient();

sessionContract(
  engineTarget({
    backend: "podman",
    docker: podman,
    options: (overrides) => ({ backend: "podman", ...overrides }),
    adapter: () => new PodmanBackend(podman),
    externalImage: "llm-sandbox/python:latest",
  }),
);
