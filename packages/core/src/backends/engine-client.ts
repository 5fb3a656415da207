import Docker from "dockerode";
import { EngineUnavailableError } from "../errors.js";

/**
 * A Docker Engine API client for a host given as DOCKER_HOST does (`unix:///path`, `tcp://host:port`, or a bare
 * socket path). Podman's compatible service is reached the same way.
 */
export function engineClient(host = process.env.DOCKER_HOST): Docker {
  if (!host) return new Docker({ socketPath: "/var/run/docker.sock" });
  if (/^(ssh|npipe):/.test(host)) {
    throw new EngineUnavailableError(`${host}: only unix:// and tcp:// engine addresses are supported (forward a remote socket with ssh -L)`);
  }
  if (host.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  if (host.startsWith("/")) return new Docker({ socketPath: host });
  const url = new URL(host.replace(/^tcp:/, "http:"));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
}

/** Rootful Podman's service socket (what `systemctl start podman.socket` and `llm-sandbox setup --podman` serve). */
export const PODMAN_ROOTFUL_SOCKET = "/run/podman/podman.sock";

/**
 * Where Podman's service is, found as Podman's own remote clients do: CONTAINER_HOST, else for root the rootful
 * socket, else the user's rootless socket under XDG_RUNTIME_DIR.
 */
export function podmanHost(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (env.CONTAINER_HOST) return env.CONTAINER_HOST;
  if (uid === 0) return `unix://${PODMAN_ROOTFUL_SOCKET}`;
  return `unix://${env.XDG_RUNTIME_DIR || `/run/user/${uid}`}/podman/podman.sock`;
}

/** A client for Podman's Docker-compatible service (see podmanHost). */
export const podmanClient = (host = podmanHost()): Docker => engineClient(host);

/** Resolves when the engine answers; otherwise a typed error that says how to get one. */
export async function pingEngine(docker: Docker, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (cause) {
    throw new EngineUnavailableError(
      `Cannot reach a container engine at ${describeEndpoint(docker)}: ${(cause as Error).message}. ` +
        "Run `npx llm-sandbox setup` (installs and starts Docker on Debian as root) or set DOCKER_HOST.",
      { cause },
    );
  } finally {
    clearTimeout(timer);
  }
}

export function describeEndpoint(docker: Docker): string {
  const opts = docker.modem as unknown as { socketPath?: string; host?: string; port?: number };
  return opts.socketPath ? `unix://${opts.socketPath}` : `tcp://${opts.host}:${opts.port}`;
}
