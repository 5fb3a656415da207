import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import type Docker from "dockerode";
import { describeEndpoint, engineClient, pingEngine } from "../backends/engine-client.js";
import { EngineUnavailableError } from "../errors.js";
import type { Logger } from "../internal/logger.js";
import { processAlive } from "./cleanup.js";
import { aptInstall, findProgram, isDebianLike, isRoot, runHostCommand } from "./host-command.js";

const DEFAULT_SOCKET = "unix:///var/run/docker.sock";
export const DOCKERD_LOG = "/var/log/llm-sandbox-dockerd.log";
const START_TIMEOUT_MS = 60_000;

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
  const canInstall = isDebianLike() && findProgram("apt-get") !== undefined;
  if (!isRoot() || (!findProgram("dockerd") && !canInstall)) {
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

const answers = (docker: Docker, timeoutMs = 2000) =>
  pingEngine(docker, timeoutMs).then(
    () => true,
    () => false,
  );

/** How the engine was brought up, for waiting on it and for saying where to look when it does not answer. */
type Start =
  | { readonly how: "running"; readonly pid: number }
  | { readonly how: "systemd" }
  | { readonly how: "spawned"; readonly exited: () => boolean };

async function startDockerd(logger: Logger): Promise<Start> {
  const pid = runningDockerdPid();
  if (pid) {
    logger.info(`dockerd (pid ${pid}) is running but not answering yet; waiting for it`);
    return { how: "running", pid };
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
  const log = openSync(DOCKERD_LOG, "a");
  try {
    // detached: its own session and process group, so a Ctrl-C of setup does not reach it and it outlives setup.
    const child = spawn(dockerd, [], { detached: true, stdio: ["ignore", log, log] });
    let exited = false;
    child.on("exit", () => (exited = true));
    child.on("error", () => (exited = true));
    child.unref();
    return { how: "spawned", exited: () => exited };
  } finally {
    closeSync(log);
  }
}

/** The pid in /var/run/docker.pid if that process is alive. */
function runningDockerdPid(): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync("/var/run/docker.pid", "utf8").trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}

async function waitForEngine(docker: Docker, start: Start): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const exited = () => start.how === "spawned" && start.exited();
  while (Date.now() < deadline && !exited()) {
    if (await answers(docker)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  const what = exited() ? "dockerd exited" : `${describeEndpoint(docker)} did not answer within ${START_TIMEOUT_MS / 1000} s`;
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
    tail = readFileSync(DOCKERD_LOG, "utf8").trimEnd().split("\n").slice(-15).join("\n");
  } catch {
    // no log
  }
  throw new EngineUnavailableError(`${what}; see ${DOCKERD_LOG}${tail ? `:\n${tail}` : ""}`);
}
