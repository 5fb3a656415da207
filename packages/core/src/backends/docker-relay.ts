/**
 * The relay sidecar of a "relayed" sandbox on Docker and Podman. The sidecar holds a network namespace with only
 * loopback, which the sandbox joins (NetworkMode `container:<relay>`): the sandbox has no route anywhere, and the
 * relay program the library execs in the sidecar is its only way out. The sidecar shares the sandbox's loopback but
 * not its processes (each container keeps its own PID namespace), so sandbox code cannot see or signal the relay.
 */
import { spawnSync } from "node:child_process";
import type Docker from "dockerode";
import { LABELS } from "../internal/labels.js";
import type { ContainerSpec, RelaySpec } from "./backend.js";

/** Enough for a relay and its connections; it cannot grow into the host's memory or process table. */
const RELAY_MEMORY_BYTES = 128 * 1024 ** 2;
const RELAY_PIDS = 64;

/** The sandbox's labels that tell whose the relay is: a leftover relay is found and swept like a leftover sandbox. */
const OWNERSHIP = [LABELS.managed, LABELS.session, LABELS.ownerPid, LABELS.ownerHost] as const;

/**
 * The relay's create request: the sandbox's keep-alive as first process, root with only the capability to bind low
 * ports (53, 80, 443), nothing writable, small limits. `owner` is the reaper's owner label, as the sandbox has it.
 */
export function relayCreateOptions(spec: ContainerSpec, relay: RelaySpec, owner: string, networkMode: string): Docker.ContainerCreateOptions {
  const ownership = Object.fromEntries(OWNERSHIP.filter((key) => spec.labels[key] !== undefined).map((key) => [key, spec.labels[key]!]));
  return {
    Image: relay.image,
    Entrypoint: spec.init.slice(0, 1),
    Cmd: spec.init.slice(1),
    User: "0",
    Labels: { ...ownership, ...relay.labels, [LABELS.relay]: "true", [LABELS.owner]: owner },
    HostConfig: {
      Init: false,
      NetworkMode: networkMode,
      // The namespace's name server is the relay itself; a sandbox joining the namespace shares this resolv.conf.
      Dns: ["127.0.0.1"],
      // Docker lets anyone bind low ports in a namespace of its own (0); in this one only the relay may (it has the
      // capability), so sandbox code cannot take the relay's ports.
      Sysctls: { "net.ipv4.ip_unprivileged_port_start": "1024" },
      CapDrop: ["ALL"],
      CapAdd: ["NET_BIND_SERVICE"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      Memory: RELAY_MEMORY_BYTES,
      MemorySwap: RELAY_MEMORY_BYTES,
      PidsLimit: RELAY_PIDS,
    },
  };
}

/** The relay a sandbox's labels name (network mode "relayed"), or undefined. */
export const relayLabel = (labels: Readonly<Record<string, string>> | undefined): string | undefined => labels?.[LABELS.relay];

/**
 * Starts a stopped relay (a running one is left as it is). On a relay created on a network (`network` is not
 * "none"), as create does: connected while it starts, so that its loopback comes up, and disconnected right after.
 */
export async function startRelay(docker: Docker, id: string, network: string): Promise<void> {
  const relay = docker.getContainer(id);
  if ((await relay.inspect()).State.Running) return;
  if (network !== "none") await docker.getNetwork(network).connect({ Container: id });
  await relay.start();
  if (network !== "none") await docker.getNetwork(network).disconnect({ Container: id });
}

/**
 * At process exit, when no event loop is left: removes the containers one after the other (a sandbox before the
 * relay whose namespace it uses: Podman refuses to remove a container others depend on) from a child process.
 */
export function removeContainersSync(docker: Docker, ids: readonly string[]): void {
  const modem = docker.modem as unknown as { socketPath?: string; host?: string; port?: number };
  spawnSync(process.execPath, ["--input-type=module", "-e", REMOVE_SCRIPT], {
    input: JSON.stringify({ socketPath: modem.socketPath, host: modem.host, port: modem.port, ids }),
    timeout: 10_000,
    stdio: ["pipe", "ignore", "ignore"],
  });
}

/** Executed by a child process at exit: one DELETE per container through the engine socket, in order. */
const REMOVE_SCRIPT = `
import http from "node:http";
let input = ""; for await (const chunk of process.stdin) input += chunk;
const { socketPath, host, port, ids } = JSON.parse(input);
for (const id of ids) {
  await new Promise((resolve) => {
    const req = http.request({ socketPath, host, port, method: "DELETE", path: "/containers/" + id + "?force=1&v=1" }, (res) => { res.resume(); res.on("end", resolve); });
    req.on("error", resolve); req.end();
  });
}`;
