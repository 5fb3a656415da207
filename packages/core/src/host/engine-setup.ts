import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import type Docker from "dockerode";
import { describeEndpoint, engineClient, PODMAN_ROOTFUL_SOCKET, pingEngine, podmanClient, podmanHost } from "../backends/engine-client.js";
import { EngineUnavailableError } from "../errors.js";
import type { Logger } from "../internal/logger.js";
import { processAlive } from "./cleanup.js";
import { aptInstall, findProgram, isDebianLike, isRoot, runHostCommand } from "./host-command.js";

const DEFAULT_SOCKET = "unix:///var/run/docker.sock";
export const DOCKERD_LOG = "/var/log/llm-sandbox-dockerd.log";
const START_TIMEOUT_MS = 60_000;
const DOCKERD_PID_FILE = "/var/run/docker.pid";
const DOCKERD_CONTAINERD_PID_FILE = "/var/run/docker/containerd/containerd.pid";

/**
 * A client for a container engine that answers. The one DOCKER_HOST names (or /var/run/docker.sock) is used if it
 * answers. Otherwise, as root with the default socket: Debian's docker.io is installed if dockerd is missing (on
 * Debian/Ubuntu), and dockerd is started (by systemd when it runs the machine, else detached in its own session, logging
 * to /var/log/llm-sandbox-dockerd.log, so it outlives this process and a Ctrl-C of it). Anything else throws
 * EngineUnavailableError saying what to do.
 */
export async function ensureEngine({ logger }: { logger: Logger }): Promise<Docker> {
  const docker = engineClient();
  const endpoint = describeEndpoint(docker);
  let unavailable: EngineUnavailableError;
  try {
    await pingEngine(docker, 3000);
    logger.info(`container engine at ${endpoint} answers`);
    return docker;
  } catch (error) {
    unavailable = error as EngineUnavailableError;
  }
  const code = (unavailable.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES") {
    throw new EngineUnavailableError(
      `Permission denied on ${endpoint}: run as root, or add your user to the docker group ` +
        "(sudo usermod -aG docker $USER, then log in again).",
      { cause: unavailable },
    );
  }
  const reason = (unavailable.cause as Error | undefined)?.message ?? unavailable.message;
  if (endpoint !== DEFAULT_SOCKET) {
    throw new EngineUnavailableError(
      `No container engine answers at ${endpoint} (${reason}), which DOCKER_HOST names: start that engine, or ` +
        "unset DOCKER_HOST to use the local Docker (which setup installs and starts on Debian/Ubuntu as root).",
      { cause: unavailable },
    );
  }
  if (!isRoot() || (!findProgram("dockerd") && !canAptInstall())) {
    throw new EngineUnavailableError(
      `No container engine answers at ${endpoint} (${reason}). Install and start Docker (https://docs.docker.com/engine/install/) ` +
        "or Podman's Docker-compatible service (`systemctl --user start podman.socket`, then " +
        "DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock); or run `npx llm-sandbox setup` as root " +
        "(it starts an installed dockerd, and on Debian/Ubuntu installs Debian's docker.io first).",
      { cause: unavailable },
    );
  }

  logger.info(`no container engine answers at ${endpoint}`);
  if (!findProgram("dockerd")) {
    logger.info("installing Debian's docker.io with apt-get (apt-get update && apt-get install -y docker.io)");
    await aptInstall(["docker.io"], (line) => logger.debug(line), { recommends: true });
    if (await answers(docker)) {
      logger.info(`the docker.io package started the engine; ${endpoint} answers`);
      return docker;
    }
  }
  await waitForEngine(docker, await startDockerd(logger));
  logger.info(`container engine at ${endpoint} answers`);
  return docker;
}

/** Whether a missing engine can be installed here: Debian's packages, with apt-get. */
const canAptInstall = () => isDebianLike() && findProgram("apt-get") !== undefined;

const answers = (docker: Docker, timeoutMs = 2000) =>
  pingEngine(docker, timeoutMs).then(
    () => true,
    () => false,
  );

/** How the engine was brought up, for waiting on it and for saying where to look when it does not answer. */
type Start =
  | { readonly how: "running"; readonly pid: number }
  | { readonly how: "systemd" }
  | { readonly how: "spawned"; readonly program: string; readonly log: string; readonly exited: () => boolean };

async function startDockerd(logger: Logger): Promise<Start> {
  const pid = runningDaemonPid(DOCKERD_PID_FILE, "dockerd");
  if (pid) {
    logger.info(`dockerd (pid ${pid}) is running but not answering yet; waiting for it`);
    return { how: "running", pid };
  }
  // dockerd refuses to start over a pid file whose pid is alive, and takes the pid in its containerd's pid file for a
  // running containerd (and would signal it): stale ones, whose pids may now belong to anything, must go first.
  for (const [file, program] of [
    [DOCKERD_PID_FILE, "dockerd"],
    [DOCKERD_CONTAINERD_PID_FILE, "containerd"],
  ] as const) {
    if (existsSync(file) && !runningDaemonPid(file, program)) {
      logger.info(`removing ${file}, left by a ${program} that no longer runs`);
      rmSync(file, { force: true });
    }
  }
  if (existsSync("/run/systemd/system") && findProgram("systemctl")) {
    logger.info("starting Docker with systemd (systemctl start docker)");
    try {
      await runHostCommand("systemctl", ["start", "docker"], { onLine: (line) => logger.debug(line) });
      return { how: "systemd" };
    } catch (error) {
      logger.warn(`systemctl start docker failed (${(error as Error).message.split("\n")[0]}); starting dockerd directly`);
    }
  }
  const dockerd = findProgram("dockerd") ?? "dockerd";
  logger.info(`starting ${dockerd} in the background (log: ${DOCKERD_LOG})`);
  return spawnDetached(dockerd, [], DOCKERD_LOG);
}

/**
 * Starts a daemon in its own session (a Ctrl-C of setup does not reach it; it outlives setup), logging to `log`, in
 * `/`: it must not hold, or depend on, the directory setup ran in (Podman's conmon fails once that is deleted).
 */
export function spawnDetached(program: string, args: readonly string[], log: string, env: NodeJS.ProcessEnv = process.env): Start {
  const fd = openSync(log, "a");
  try {
    const child = spawn(program, args, { detached: true, cwd: "/", stdio: ["ignore", fd, fd], env });
    let exited = false;
    child.on("exit", () => (exited = true));
    child.on("error", () => (exited = true));
    child.unref();
    return { how: "spawned", program: basename(program), log, exited: () => exited };
  } finally {
    closeSync(fd);
  }
}

/**
 * The pid in `pidFile` if that process is alive and is `program`. A pid file can outlive its daemon (a machine image
 * taken while dockerd ran, /run on disk), and its pid can since belong to anything else.
 */
export function runningDaemonPid(pidFile: string, program: string): number | undefined {
  let pid: number;
  let name: string;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return undefined;
    name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
  return name === program ? pid : undefined;
}

/** The local dockerd's pid: the one in its pid file, else the only dockerd process running (none or several: undefined). */
export function dockerdPid(): number | undefined {
  const fromFile = runningDaemonPid(DOCKERD_PID_FILE, "dockerd");
  if (fromFile) return fromFile;
  const comm = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const pids = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry) && comm(entry) === "dockerd");
  return pids.length === 1 ? Number(pids[0]) : undefined;
}

/**
 * Stops the local dockerd and starts it again as ensureEngine does. Only a repair of a daemon that answers but can no
 * longer start containers: every running container stops with it.
 */
export async function restartDockerd(docker: Docker, logger: Logger): Promise<void> {
  const pid = dockerdPid();
  if (pid) {
    logger.warn(`restarting dockerd (pid ${pid}): its running containers stop`);
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    if (processAlive(pid)) {
      throw new EngineUnavailableError(`dockerd (pid ${pid}) did not stop within ${START_TIMEOUT_MS / 1000} s of SIGTERM: stop it, then run setup again.`);
    }
  }
  await waitForEngine(docker, await startDockerd(logger));
}

async function waitForEngine(docker: Docker, start: Start): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const exited = () => start.how === "spawned" && start.exited();
  while (Date.now() < deadline && !exited()) {
    if (await answers(docker)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  const what = exited() ? `${start.how === "spawned" ? start.program : "the engine"} exited` : `${describeEndpoint(docker)} did not answer within ${START_TIMEOUT_MS / 1000} s`;
  if (start.how === "running") {
    throw new EngineUnavailableError(
      `${what}, although dockerd (pid ${start.pid}) runs: look at its log, or stop it and run setup again.`,
    );
  }
  if (start.how === "systemd") {
    throw new EngineUnavailableError(`${what} after systemctl start docker: see journalctl -u docker.`);
  }
  let tail = "";
  try {
    tail = readFileSync(start.log, "utf8").trimEnd().split("\n").slice(-15).join("\n");
  } catch {
    // no log
  }
  throw new EngineUnavailableError(`${what}; see ${start.log}${tail ? `:\n${tail}` : ""}`);
}

export const PODMAN_LOG = "/var/log/llm-sandbox-podman.log";
/**
 * containers.conf of the Podman service setup starts: no default ulimits, since raising the open-files limit to
 * Podman's default needs CAP_SYS_RESOURCE, which containers and some VMs (like CI runners) do not have.
 */
export const PODMAN_CONTAINERS_CONF = "/etc/llm-sandbox/podman-containers.conf";

/**
 * A client for Podman's Docker-compatible service. The one found as Podman's clients find it (CONTAINER_HOST, the
 * rootful or rootless socket) is used if it answers. Otherwise, as root with the rootful socket: Debian's podman is
 * installed if missing (on Debian/Ubuntu), and `podman system service --time=0` is started detached on
 * /run/podman/podman.sock with PODMAN_CONTAINERS_CONF, logging to /var/log/llm-sandbox-podman.log.
 */
export async function ensurePodman({ logger }: { logger: Logger }): Promise<Docker> {
  const host = podmanHost();
  const podman = podmanClient(host);
  if (await answers(podman, 3000)) {
    logger.info(`Podman's service at ${host} answers`);
    return podman;
  }
  const rootful = `unix://${PODMAN_ROOTFUL_SOCKET}`;
  if (host !== rootful || !isRoot() || (!findProgram("podman") && !canAptInstall())) {
    throw new EngineUnavailableError(
      `No Podman service answers at ${host}. Start one: \`systemctl --user start podman.socket\` (rootless), ` +
        "`systemctl start podman.socket` (rootful), or `podman system service --time=0 unix://PATH` with CONTAINER_HOST=unix://PATH; " +
        "or run `npx llm-sandbox setup --podman` as root (on Debian/Ubuntu it installs podman first).",
    );
  }
  if (!findProgram("podman")) {
    logger.info("installing Debian's podman with apt-get (apt-get update && apt-get install -y podman)");
    await aptInstall(["podman"], (line) => logger.debug(line), { recommends: true });
  }
  mkdirSync(dirname(PODMAN_CONTAINERS_CONF), { recursive: true });
  writeFileSync(PODMAN_CONTAINERS_CONF, "[containers]\ndefault_ulimits = []\n");
  mkdirSync(dirname(PODMAN_ROOTFUL_SOCKET), { recursive: true });
  // A socket file left by a service that is gone would make the new one fail to listen.
  rmSync(PODMAN_ROOTFUL_SOCKET, { force: true });
  const podmanPath = findProgram("podman") ?? "podman";
  logger.info(`starting ${podmanPath} system service on ${rootful} (log: ${PODMAN_LOG})`);
  const start = spawnDetached(podmanPath, ["system", "service", "--time=0", rootful], PODMAN_LOG, {
    ...process.env,
    CONTAINERS_CONF: PODMAN_CONTAINERS_CONF,
  });
  await waitForEngine(podman, start);
  logger.info(`Podman's service at ${rootful} answers`);
  return podman;
}
