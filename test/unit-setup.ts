import { existsSync } from "node:fs";
import { Socket } from "node:net";
import { basename } from "node:path";
import { afterAll, afterEach } from "vitest";

/**
 * The unit project must pass on a machine with no container engine. A unit test that reaches one passes only where
 * an engine happens to run, so here every connection to an engine is refused, and the test that tried fails even if
 * it caught the error: a test that needs an engine is an integration test (`*.int.test.ts`).
 *
 * The engine clients are Engine API clients over a socket (see backends/engine-client.ts), so the socket layer is
 * where to look: Docker's and Podman's sockets, DOCKER_HOST and CONTAINER_HOST, and the Engine API's TCP ports.
 */

const ENGINE_SOCKET_NAME = /^(docker|podman)\.sock$/;
const ENGINE_API_PORTS = new Set([2375, 2376]);

interface ConnectTarget {
  path?: string;
  host?: string;
  port?: number;
}

/** Socket.connect's forms: (options), (path), (port, host), and net.connect's normalized [options, listener]. */
function connectTarget(args: unknown[]): ConnectTarget {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === "string") return { path: first };
  if (typeof first === "number") return { port: first, host: typeof args[1] === "string" ? args[1] : undefined };
  if (first === null || typeof first !== "object") return {};
  // http passes its own request options through, so unset fields may be null rather than absent.
  const { path, host, port } = first as { path?: unknown; host?: unknown; port?: unknown };
  return {
    path: typeof path === "string" ? path : undefined,
    host: typeof host === "string" ? host : undefined,
    port: typeof port === "number" || typeof port === "string" ? Number(port) : undefined,
  };
}

const configuredHosts = () =>
  [process.env.DOCKER_HOST, process.env.CONTAINER_HOST].filter((host): host is string => !!host);

/** The engine endpoint a connection would reach, if it is one. */
function engineEndpoint({ path, host, port }: ConnectTarget): string | undefined {
  if (path !== undefined) {
    const configured = configuredHosts().some((engineHost) => engineHost.replace(/^unix:\/\//, "") === path);
    // A socket that does not exist reaches nothing: tests of the "engine unreachable" error aim clients at such paths.
    return (configured || ENGINE_SOCKET_NAME.test(basename(path))) && existsSync(path) ? `unix://${path}` : undefined;
  }
  if (port === undefined) return undefined;
  const configured = configuredHosts().some((engineHost) => {
    if (!/^(tcp|http):/.test(engineHost)) return false;
    const url = new URL(engineHost.replace(/^tcp:/, "http:"));
    return Number(url.port || 2375) === port && url.hostname === (host ?? "localhost");
  });
  return configured || ENGINE_API_PORTS.has(port) ? `tcp://${host ?? "localhost"}:${port}` : undefined;
}

// Each test file evaluates this module again; wrap the original connect, not the previous file's wrapper.
const ORIGINAL_CONNECT = Symbol.for("llm-sandbox.unit-setup.connect");
const globals = globalThis as { [ORIGINAL_CONNECT]?: Socket["connect"] };
const originalConnect = (globals[ORIGINAL_CONNECT] ??= Socket.prototype.connect);

const reached: string[] = [];

Socket.prototype.connect = function connectUnlessEngine(this: Socket, ...args: unknown[]) {
  const endpoint = engineEndpoint(connectTarget(args));
  if (endpoint === undefined) return Reflect.apply(originalConnect, this, args) as Socket;
  reached.push(endpoint);
  process.nextTick(() => this.destroy(new Error(`unit tests may not reach a container engine (${endpoint})`)));
  return this;
} as Socket["connect"];

/** The engine endpoints reached since the last call; for the guard's own test, which reaches one on purpose. */
export function takeEngineAttempts(): string[] {
  return reached.splice(0);
}

function failIfEngineReached(): void {
  const endpoints = [...new Set(takeEngineAttempts())];
  if (endpoints.length === 0) return;
  throw new Error(
    `This unit test reached a container engine (${endpoints.join(", ")}). Unit tests run with no engine: ` +
      "test the logic without one, or move the test to a *.int.test.ts file (the integration project).",
  );
}

afterEach(failIfEngineReached);
afterAll(failIfEngineReached);
