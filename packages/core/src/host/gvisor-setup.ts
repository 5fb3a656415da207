import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type Docker from "dockerode";
import { describeEndpoint } from "../backends/engine-client.js";
import { GVISOR_NETWORKED_RUNTIME, GVISOR_RUNTIMES } from "../backends/gvisor.js";
import { ContainerError, EngineUnavailableError, ImageNotFoundError, MissingDependencyError } from "../errors.js";
import { ownershipLabels } from "../internal/labels.js";
import type { Logger } from "../internal/logger.js";
import { mergeDaemonRuntimes, runscRuntimes } from "./daemon-json.js";
import { dockerdPid, restartDockerd } from "./engine-setup.js";
import { aptInstall, findProgram, isDebianLike, isRoot } from "./host-command.js";

export const GVISOR_INSTALL_DOCS = "https://gvisor.dev/docs/user_guide/install/";
const LOCAL_SOCKET = "unix:///var/run/docker.sock";
const DEFAULT_DAEMON_JSON = "/etc/docker/daemon.json";
const RELOAD_TIMEOUT_MS = 30_000;
/** What runsc's kernel prints at boot: proof that a container runs under gVisor, not the host kernel. */
const GVISOR_BOOT = /gVisor/;

export interface GvisorRuntimeCheck {
  readonly runtime: string;
  /** The first line of /proc/version in a container of that runtime (gVisor's own, e.g. "Linux version 4.4.0 …"). */
  readonly kernel: string;
}

export interface GvisorSetupReport {
  /** The daemon.json written (undefined: untouched). */
  readonly configWritten?: string;
  /** Whether dockerd was sent SIGHUP to load its configuration again. */
  readonly reloaded: boolean;
  /** Whether dockerd had to be restarted because containers on the default bridge no longer started after the reload. */
  readonly restarted: boolean;
  readonly runtimes: readonly GvisorRuntimeCheck[];
}

/**
 * Makes the Docker engine `docker` run gVisor: the runtimes of GVISOR_RUNTIMES are registered (nothing changes when
 * it lists them already). On the local socket, as root: runsc is installed if missing (Debian/Ubuntu), the runtimes
 * merged into dockerd's daemon.json and dockerd reloaded with SIGHUP (no restart), then a container on the default
 * bridge must still start (a restart of dockerd repairs a lost docker0). Elsewhere a missing runtime is a
 * MissingDependencyError saying what to register. Finally a container of each runtime must boot gVisor's kernel.
 */
export async function ensureGvisor(
  docker: Docker,
  { logger, image }: { logger: Logger; /** An image the checks' containers run (with sh, true, cat, dmesg): llm-sandbox/base. */ image: string },
): Promise<GvisorSetupReport> {
  await docker.getImage(image).inspect().catch(() => {
    throw new ImageNotFoundError(image, "It runs the checks: run `npx llm-sandbox setup` first.");
  });
  let configWritten: string | undefined;
  let reloaded = false;
  let restarted = false;
  if (await listsRuntimes(docker)) {
    logger.info(`the engine lists the gVisor runtimes ${Object.keys(GVISOR_RUNTIMES).join(", ")}`);
  } else {
    const pid = describeEndpoint(docker) === LOCAL_SOCKET ? dockerdPid() : undefined;
    if (pid === undefined) throw notRegistered(docker);
    if (!isRoot()) throw new MissingDependencyError(`Registering gVisor's runtimes with dockerd needs root: run \`npx llm-sandbox setup --gvisor\` as root.`);
    const runsc = await ensureRunsc(logger);
    const file = daemonConfigFile(pid);
    const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    const after = mergeDaemonRuntimes(before, runscRuntimes(runsc, GVISOR_RUNTIMES), file);
    if (after !== undefined) {
      logger.info(`registering the gVisor runtimes in ${file}`);
      writeAtomically(file, after);
      configWritten = file;
    }
    try {
      await reloadDockerd(docker, pid, logger);
    } catch (error) {
      // dockerd kept its old configuration: so must the file, or its next start would fail or differ.
      if (after !== undefined) before === undefined ? rmSync(file, { force: true }) : writeAtomically(file, before);
      throw error;
    }
    reloaded = true;
    restarted = await ensureBridgeWorks(docker, image, logger);
  }
  const runtimes: GvisorRuntimeCheck[] = [];
  for (const runtime of Object.keys(GVISOR_RUNTIMES)) runtimes.push(await checkRuntime(docker, image, runtime));
  for (const r of runtimes) logger.info(`${r.runtime} runs gVisor: ${r.kernel}`);
  return { configWritten, reloaded, restarted, runtimes };
}

/** Whether the engine's /info lists every runtime of GVISOR_RUNTIMES with its arguments (wherever its runsc is). */
async function listsRuntimes(docker: Docker): Promise<boolean> {
  const info = (await docker.info()) as { Runtimes?: Record<string, { runtimeArgs?: unknown }> };
  return Object.entries(GVISOR_RUNTIMES).every(([name, args]) => {
    const actual = info.Runtimes?.[name]?.runtimeArgs;
    return Array.isArray(actual) && actual.length === args.length && actual.every((a, i) => a === args[i]);
  });
}

function notRegistered(docker: Docker): MissingDependencyError {
  const snippet = JSON.stringify({ runtimes: runscRuntimes("/usr/bin/runsc", GVISOR_RUNTIMES) }, null, 2);
  return new MissingDependencyError(
    `The engine at ${describeEndpoint(docker)} does not list the gVisor runtimes ${Object.keys(GVISOR_RUNTIMES).join(", ")}, ` +
      `and setup registers them only with a dockerd on this host's ${LOCAL_SOCKET}. On the engine's host: install gVisor's ` +
      `runsc (Debian/Ubuntu: the package runsc; else ${GVISOR_INSTALL_DOCS}), merge this into /etc/docker/daemon.json ` +
      `(the path where runsc is), then reload dockerd (kill -HUP its pid):\n${snippet}`,
  );
}

/** runsc's path; installed with apt-get (Debian's package runsc) if missing and possible. */
async function ensureRunsc(logger: Logger): Promise<string> {
  const found = findProgram("runsc");
  if (found) return found;
  if (!isDebianLike() || !findProgram("apt-get")) {
    throw new MissingDependencyError(`gVisor's runsc is not installed: install it as ${GVISOR_INSTALL_DOCS} describes (Debian/Ubuntu: the package runsc).`);
  }
  logger.info("installing gVisor with apt-get (apt-get install -y runsc)");
  try {
    await aptInstall(["runsc"], (line) => logger.debug(line));
  } catch (error) {
    throw new MissingDependencyError(
      `apt-get could not install runsc (${(error as Error).message.split("\n")[0]}): install gVisor as ${GVISOR_INSTALL_DOCS} describes, then run setup --gvisor again.`,
      { cause: error },
    );
  }
  const installed = findProgram("runsc");
  if (!installed) throw new MissingDependencyError(`the package runsc installed no runsc program: install gVisor as ${GVISOR_INSTALL_DOCS} describes.`);
  return installed;
}

/** The daemon.json dockerd reads: its --config-file, else the default. */
function daemonConfigFile(pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  for (const [i, arg] of args.entries()) {
    if (arg === "--config-file" && args[i + 1]) return args[i + 1] as string;
    if (arg.startsWith("--config-file=")) return arg.slice("--config-file=".length);
  }
  return DEFAULT_DAEMON_JSON;
}

/** Replaces `file` in one rename, so dockerd (or a crash) never sees half of it; its mode is kept. */
function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o644;
  const temporary = `${file}.llm-sandbox-${process.pid}`;
  writeFileSync(temporary, text, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}

/** SIGHUP makes dockerd read daemon.json again without stopping containers; it then lists the runtimes, or logs why not. */
async function reloadDockerd(docker: Docker, pid: number, logger: Logger): Promise<void> {
  logger.info(`reloading dockerd's configuration (SIGHUP to pid ${pid})`);
  process.kill(pid, "SIGHUP");
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  while (!(await listsRuntimes(docker))) {
    if (Date.now() > deadline) {
      throw new EngineUnavailableError(
        `dockerd (pid ${pid}) did not list the gVisor runtimes within ${RELOAD_TIMEOUT_MS / 1000} s of reloading its ` +
          "configuration: its log says why (journalctl -u docker, or /var/log/llm-sandbox-dockerd.log); the file was put back.",
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const LOST_BRIDGE = /docker0/;

/**
 * After a reload, a container on the default bridge must still start: once here docker0 was gone after one, and every
 * new container failed with "could not find bridge docker0". Only then is dockerd restarted (which recreates docker0).
 * Returns whether it was.
 */
async function ensureBridgeWorks(docker: Docker, image: string, logger: Logger): Promise<boolean> {
  const failure = await runOnce(docker, image, ["true"], { NetworkMode: "bridge" }).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  if (!failure) return false;
  if (!LOST_BRIDGE.test(failure.message)) {
    throw new EngineUnavailableError(`After reloading dockerd, a container on the default bridge no longer starts: ${failure.message}`, { cause: failure });
  }
  logger.warn(`after the reload dockerd lost its default bridge (${failure.message.trim()}): restarting it to recreate docker0`);
  await restartDockerd(docker, logger);
  await runOnce(docker, image, ["true"], { NetworkMode: "bridge" }).catch((error: unknown) => {
    throw new EngineUnavailableError(
      `dockerd still cannot start a container on its default bridge after a restart (${(error as Error).message.trim()}): ` +
        "check docker0 (ip link show docker0) and dockerd's log, then restart dockerd.",
      { cause: error },
    );
  });
  return true;
}

/** Runs a container of `runtime` (networked like a session of that runtime) and requires gVisor's boot message. */
async function checkRuntime(docker: Docker, image: string, runtime: string): Promise<GvisorRuntimeCheck> {
  const network = runtime === GVISOR_NETWORKED_RUNTIME ? "bridge" : "none";
  const output = await runOnce(docker, image, ["sh", "-c", "cat /proc/version; dmesg 2>&1 | head -n 5"], { Runtime: runtime, NetworkMode: network }).catch(
    (error: unknown) => {
      throw new ContainerError(`A container of the runtime ${runtime} (network ${network}) does not run: ${(error as Error).message.trim()}`, { cause: error });
    },
  );
  if (!GVISOR_BOOT.test(output)) {
    throw new ContainerError(`A container of the runtime ${runtime} does not run under gVisor; its /proc/version and dmesg:\n${output.trim()}`);
  }
  return { runtime, kernel: output.split("\n")[0]?.trim() ?? "" };
}

/** Runs `cmd` in a short-lived labelled container to its end and returns its output; the container is removed. */
async function runOnce(docker: Docker, image: string, cmd: string[], hostConfig: Docker.HostConfig): Promise<string> {
  // A TTY: the output comes unframed, stdout and stderr as one.
  const container = await docker.createContainer({ Image: image, Cmd: cmd, Tty: true, Labels: ownershipLabels("setup-gvisor"), HostConfig: hostConfig });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString("utf8");
    if (StatusCode !== 0) throw new Error(`${cmd.join(" ")} exited with code ${StatusCode}: ${output.trim()}`);
    return output;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
