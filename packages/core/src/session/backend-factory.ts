import type { BackendAdapter } from "../backends/backend.js";
import { DockerBackend } from "../backends/docker.js";
import { engineClient } from "../backends/engine-client.js";
import { UnsupportedBackendError } from "../errors.js";
import type { ParsedSessionOptions } from "./options.js";

/** The adapter for `options.backend`. Optional engines are loaded only when asked for. */
export function createBackend(options: Pick<ParsedSessionOptions, "backend" | "client">): BackendAdapter {
  switch (options.backend) {
    case "docker":
      return new DockerBackend(options.client ?? engineClient());
    default:
      throw new UnsupportedBackendError(options.backend);
  }
}
