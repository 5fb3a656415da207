import type Docker from "dockerode";
import { SandboxBackend } from "../enums.js";
import { CapabilityUnavailableError } from "../errors.js";
import type { ContainerSpec } from "./backend.js";
import { DockerBackend } from "./docker.js";
import { podmanClient } from "./engine-client.js";

/**
 * Podman through its Docker-compatible service: the Docker adapter, with what Podman's compatible API does
 * differently handled here (found against Podman 4.3, Debian bookworm's).
 */
export class PodmanBackend extends DockerBackend {
  constructor(docker: Docker = podmanClient()) {
    super(docker, SandboxBackend.PODMAN);
  }

  protected override engineName(): string {
    return "Podman's service";
  }

  protected override startHint(): string {
    return (
      "Run `npx llm-sandbox setup --podman` (as root: installs podman on Debian/Ubuntu and starts its service), " +
      "`systemctl --user start podman.socket` (rootless) or `systemctl start podman.socket`; or set CONTAINER_HOST."
    );
  }

  /** Podman 4 writes "host-gateway" literally into /etc/hosts: name the network's gateway (the host) instead. */
  protected override async hostAddress(network: string): Promise<string> {
    const info = (await this.docker.getNetwork(network).inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string }> } };
    return info.IPAM?.Config?.find((config) => config.Gateway)?.Gateway ?? "host-gateway";
  }

  /**
   * Podman 4.3 ignores `Dns` on a container with network "none" (the image's resolv.conf stays): a relay is created
   * on the install network, which gives it a resolv.conf naming 127.0.0.1, and disconnected once it started, before
   * the sandbox starts (disconnected before, its loopback would stay down: it has no capability to raise it).
   */
  protected override relayNetwork(): Promise<string> {
    return this.ensureInstallNetwork();
  }

  /** Podman's Docker-compatible API ignores HostConfig.Runtime (found on 4.3): a sandbox would silently get runc. */
  override async create(spec: ContainerSpec): Promise<string> {
    if (spec.isolation === "gvisor" || spec.runtime) {
      throw new CapabilityUnavailableError(
        spec.runtime ? `The runtime "${spec.runtime}"` : "gVisor isolation",
        "Podman's Docker-compatible API ignores the runtime a container asks for, so the sandbox would run under runc",
        "Use the docker backend (npx llm-sandbox setup --gvisor registers gVisor there), or isolation: \"container\".",
      );
    }
    return super.create(spec);
  }

  /** Podman's tmpfs takes no uid/gid: `U` chowns it to the container's user. */
  protected override tmpfsOptions(bytes: number): string {
    return `rw,exec,nosuid,nodev,size=${bytes},U`;
  }

  /** Podman copies the image's files into a tmpfs itself (its default "tmpcopyup"): nothing to seed. */
  protected override async imageSeeds(): Promise<Array<readonly [string, Buffer | undefined]>> {
    return [];
  }
}
