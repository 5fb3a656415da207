import type Docker from "dockerode";
import { SandboxBackend } from "../enums.js";
import { EXEC_PROGRAM, type ExecOutcome, type ExecRequest } from "./backend.js";
import { DockerBackend } from "./docker.js";

/** The image MicromambaSession runs when none is given. */
export const MICROMAMBA_IMAGE = "mambaorg/micromamba:latest";

/**
 * Docker, with every command run inside a micromamba environment: `micromamba run -n ENV sh -c 'exec "$@"' <argv>`.
 * The argv stays an argv (the shell only execs it, or says it is missing as every backend does), and the exit code
 * and output streams are the program's own, as micromamba run passes them through (the original reported exit code
 * 0 for every command here).
 */
export class MicromambaBackend extends DockerBackend {
  readonly defaultImage = MICROMAMBA_IMAGE;

  constructor(
    docker: Docker,
    readonly environment = "base",
  ) {
    super(docker, SandboxBackend.MICROMAMBA);
  }

  override exec(id: string, request: ExecRequest): Promise<ExecOutcome> {
    // Through a shell inside the environment, so a missing program is reported as on every other backend.
    return super.exec(id, { ...request, argv: ["micromamba", "run", "-n", this.environment, "/bin/sh", "-c", EXEC_PROGRAM, "sh", ...request.argv] });
  }
}
