import Docker from "dockerode";
import { EngineUnavailableError } from "../errors.js";

/**
 * A Docker Engine API client for a host given as DOCKER_HOST does (`unix:///path`, `tcp://host:port`, or a bare
 * socket path). Podman's compatible service is reached the same way.
 */
export function engineClient(host = process.env.DOCKER_HOST): Docker {
  if (!host) return new Docker({ socketPath: "/var/run/docker.sock" });
  if (host.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  if (host.startsWith("/")) return new Docker({ socketPath: host });
  const url = new URL(host.replace(/^tcp:/, "http:"));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
}

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
