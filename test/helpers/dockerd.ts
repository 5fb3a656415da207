import { readdirSync, readFileSync } from "node:fs";
import type Docker from "dockerode";
import { describeEndpoint } from "../../packages/core/src/backends/engine-client.js";
import { DOCKERD_LOG, spawnDetached } from "../../packages/core/src/host/engine-setup.js";

/** A running dockerd: its pid and command line. */
export interface Dockerd {
  readonly pid: number;
  readonly argv: readonly string[];
}

const DEFAULT_HOST = "unix:///var/run/docker.sock";

/** The dockerd on this host that serves `docker`'s endpoint (the default socket, or the one its `-H` names). */
export function dockerdServing(docker: Docker): Dockerd {
  const endpoint = describeEndpoint(docker);
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let argv: string[];
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "dockerd") continue;
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      continue; // ended meanwhile
    }
    const hosts = argv.flatMap((arg, i) => (arg === "-H" || arg === "--host" ? [argv[i + 1] ?? ""] : /^(?:-H|--host)=(.*)$/.exec(arg)?.slice(1) ?? []));
    if ((hosts.length ? hosts : [DEFAULT_HOST]).includes(endpoint)) return { pid: Number(entry), argv };
  }
  throw new Error(`no dockerd on this host serves ${endpoint}`);
}

/** Gone, or a zombie its parent has not reaped yet. */
function exited(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

const answers = (docker: Docker) => docker.ping().then(() => true, () => false);

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Stops dockerd as a service manager would (SIGTERM: it stops its containers) and waits until it has exited. */
export async function stopDockerd(daemon: Dockerd): Promise<void> {
  process.kill(daemon.pid, "SIGTERM");
  await until(() => exited(daemon.pid), 60_000, `dockerd (pid ${daemon.pid}) did not exit`);
}

/** Starts dockerd with the same command line, detached and logging as `llm-sandbox setup` starts it; waits until it answers. */
export async function startDockerd(docker: Docker, daemon: Dockerd): Promise<void> {
  const [program, ...args] = daemon.argv;
  spawnDetached(program!, args, DOCKERD_LOG);
  await until(() => answers(docker), 60_000, `dockerd (${daemon.argv.join(" ")}) did not answer`);
}

/** Starts it again if it does not answer (a test that stopped it failed half-way). */
export async function ensureDockerd(docker: Docker, daemon: Dockerd): Promise<void> {
  if (!(await answers(docker))) await startDockerd(docker, daemon);
}
