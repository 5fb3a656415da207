import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import { LABELS, ownerId } from "../internal/labels.js";
import { describeEndpoint } from "./engine-client.js";
import { REAPER_PROGRAM } from "./reaper-program.js";

/** Seconds the reaper waits after the library's connection dropped before it removes the owner's resources. */
export const REAPER_GRACE_SECONDS = 10;
/** Seconds the reaper waits for the library's first connection (the library died while starting it). */
export const REAPER_STARTUP_SECONDS = 60;
/** The last argument of a holder process (see reaper-program.ts). */
const HOLD_MARKER = "llm-sandbox-reaper-hold";
/** The image the reaper prefers: ours, with Perl; else the image of the sandbox that asked for it. */
const REAPER_IMAGE = "llm-sandbox/base:latest";
const SOCKET_IN_REAPER = "/run/llm-sandbox-engine.sock";
const RETRY_AFTER_MS = 60_000;

/** Off with LLM_SANDBOX_REAPER=false (then only the exit handlers and `llm-sandbox cleanup` remove leftovers). */
export const reaperEnabled = (env: NodeJS.ProcessEnv = process.env): boolean => env.LLM_SANDBOX_REAPER?.trim().toLowerCase() !== "false";

/** One reaper per engine endpoint for the whole process (shared across copies of this module, as the owner id is). */
const REAPERS = Symbol.for("org.llm-sandbox.reapers");
const reapers: Map<string, Promise<void>> = ((globalThis as { [REAPERS]?: Map<string, Promise<void>> })[REAPERS] ??= new Map());

/**
 * The owner label of what this process creates through `docker`'s endpoint: the process's owner id and the endpoint.
 * A reaper removes only what was made through the endpoint it is held over, so one whose endpoint went away (a
 * proxy, a second socket to the same engine) never touches what the process still reaches another way.
 */
export function reaperOwner(docker: Docker): string {
  return `${ownerId()}-${createHash("sha256").update(describeEndpoint(docker)).digest("hex").slice(0, 8)}`;
}

/**
 * Makes sure a reaper watches this process on the engine: a small labelled container that removes everything
 * labelled with its owner (reaperOwner) once the process is gone, however it ended (testcontainers' Ryuk pattern;
 * reaper-program.ts says how). Started on the first call per endpoint, then shared. Never rejects: without a reaper,
 * sessions still work and leftovers still go on exit or with `llm-sandbox cleanup`; the cause is warned (at most
 * once a minute).
 */
export function ensureReaper(docker: Docker, fallbackImage: string): Promise<void> {
  if (!reaperEnabled()) return Promise.resolve();
  const endpoint = describeEndpoint(docker);
  let reaper = reapers.get(endpoint);
  if (!reaper) {
    reaper = startReaper(docker, fallbackImage, () => reapers.delete(endpoint)).catch((error: unknown) => {
      process.emitWarning(
        `llm-sandbox: no reaper on ${endpoint} (${(error as Error).message}); leftovers of a killed process need ` +
          "`npx llm-sandbox cleanup`. Set LLM_SANDBOX_REAPER=false to go without one.",
      );
      // Try again later (the image may be built by then), not on every session meanwhile.
      setTimeout(() => reapers.delete(endpoint), RETRY_AFTER_MS).unref();
    });
    reapers.set(endpoint, reaper);
  }
  return reaper;
}

async function startReaper(docker: Docker, fallbackImage: string, onLost: () => void): Promise<void> {
  const owner = reaperOwner(docker);
  await removeUnstartedReapers(docker);
  const image = (await docker.getImage(REAPER_IMAGE).inspect().then(() => true, () => false)) ? REAPER_IMAGE : fallbackImage;
  const filter = encodeURIComponent(JSON.stringify({ label: [`${LABELS.owner}=${owner}`] }));
  const name = `llm-sandbox-reaper-${owner}`;
  const container = await docker.createContainer({
    name,
    Image: image,
    Entrypoint: ["perl", "-e", REAPER_PROGRAM],
    Cmd: [],
    // Root to use the engine socket; no capabilities, no network, nothing writable: it only talks to the engine.
    User: "0",
    Env: [
      `REAPER_FILTER=${filter}`,
      `REAPER_HOLD=${HOLD_MARKER}`,
      `REAPER_GRACE=${REAPER_GRACE_SECONDS}`,
      `REAPER_STARTUP=${REAPER_STARTUP_SECONDS}`,
      `REAPER_SOCKET=${SOCKET_IN_REAPER}`,
    ],
    Labels: {
      [LABELS.managed]: "true",
      [LABELS.reaper]: owner,
      [LABELS.ownerPid]: String(process.pid),
      [LABELS.ownerHost]: hostname(),
    },
    HostConfig: {
      Binds: [`${engineSocketOnHost(docker)}:${SOCKET_IN_REAPER}`],
      AutoRemove: true,
      NetworkMode: "none",
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      Memory: 64 * 1024 * 1024,
      PidsLimit: 32,
    },
  }).catch((error: unknown) => {
    // Ours is still there (only the connection that held it was lost): hold it again.
    if ((error as { statusCode?: number }).statusCode === 409) return undefined;
    throw error;
  });
  if (!container) return hold(docker.getContainer(name), onLost);
  try {
    await container.start();
    await hold(container, onLost);
  } catch (error) {
    await container.remove({ force: true }).catch(() => {});
    throw error;
  }
}

/**
 * Removes reapers that were created and never started: their owner died in between (a live one starts its reaper at
 * once), and a container that never ran is not removed by the engine (AutoRemove) nor by any reaper.
 */
async function removeUnstartedReapers(docker: Docker): Promise<void> {
  const stale = Date.now() / 1000 - REAPER_STARTUP_SECONDS;
  const unstarted = await docker.listContainers({ all: true, filters: { label: [LABELS.reaper], status: ["created"] } });
  await Promise.all(unstarted.filter((c) => c.Created < stale).map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}

/**
 * Starts the holder: an exec whose stdin stays open as long as this process's connection to the engine does. The
 * connection does not keep the process alive. If it ends while we live (the reaper was removed, the engine
 * restarted), the next session starts a new reaper.
 */
async function hold(container: Docker.Container, onLost: () => void): Promise<void> {
  const exec = await container.exec({
    Cmd: ["perl", "-e", "1 while sysread STDIN, my $buffer, 65536", HOLD_MARKER],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  (stream as Partial<Socket>).unref?.();
  stream.resume();
  stream.once("close", onLost);
  stream.once("error", onLost);
}

/**
 * The engine's socket as the engine's host names it, to mount into the reaper. A unix endpoint is that path; a TCP
 * one is usually a remote engine whose own socket sits at the default path (LLM_SANDBOX_REAPER_SOCKET overrides).
 */
function engineSocketOnHost(docker: Docker): string {
  const override = process.env.LLM_SANDBOX_REAPER_SOCKET?.trim();
  if (override) return override;
  return (docker.modem as unknown as { socketPath?: string }).socketPath ?? "/var/run/docker.sock";
}
