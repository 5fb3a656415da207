// What the soak measures besides latency: the host process (memory, descriptors) and the engine (containers and
// execs this process left behind).
import { readdirSync } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { docker } from "./floor.ts";

export interface HostSample {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  /** V8's heap as reserved from the system (young generation included: it grows under churn, up to a maximum). */
  readonly heapTotalMb: number;
  /** Memory outside the JavaScript heap held by its objects (Buffers, ArrayBuffers): `process.memoryUsage().external`. */
  readonly externalMb: number;
  /** Open file descriptors: the entries of /proc/self/fd (the listing's own one included, every time alike). */
  readonly fds: number;
}

/** Whether the process runs with --expose-gc (then every sample is taken after full collections). */
export const canCollect = typeof globalThis.gc === "function";

const mb = (bytes: number) => bytes / (1024 * 1024);

/**
 * Memory and descriptors now. With --expose-gc, after two full collections with a pause between them, so what
 * finalizers and closed sockets release is gone and only what is still referenced counts.
 */
export async function sampleHost(): Promise<HostSample> {
  if (canCollect) {
    globalThis.gc!();
    await sleep(200);
    globalThis.gc!();
  }
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  return { rssMb: mb(rss), heapUsedMb: mb(heapUsed), heapTotalMb: mb(heapTotal), externalMb: mb(external), fds: readdirSync("/proc/self/fd").length };
}

/** Ids and names of the containers this process owns (its pid and host in the labels), running or not. */
export async function ownedContainers(): Promise<string[]> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: ["org.llm-sandbox.managed=true", `org.llm-sandbox.owner-pid=${process.pid}`, `org.llm-sandbox.owner-host=${hostname()}`] },
  });
  return containers.map((c) => `${c.Id.slice(0, 12)} ${c.Names.join(",")} (${c.State})`);
}

export interface ExecCensus {
  readonly containers: number;
  /** Exec ids the engine lists on the containers. */
  readonly listed: number;
  /** Running execs that are a warm interpreter's server (one long-lived exec per pooled container). */
  readonly warmHelpers: number;
  /** Running execs that are anything else: an operation's process still attached after it ended. */
  readonly otherRunning: number;
  /** Listed but not running: created and never started, or ended with its output never read to the end. */
  readonly notRunning: number;
  /** Containers whose warm interpreter is not exactly one running exec. */
  readonly withoutOneHelper: number;
  /** The first few execs that are not a warm interpreter, described. */
  readonly strays: readonly string[];
}

/**
 * The execs of a pool's containers, through the Engine API. Docker keeps an exec in a container's `ExecIDs` from its
 * creation until its process has exited *and* its output streams are closed, so at a quiet moment (every container
 * idle, no session open) a pooled container with a warm interpreter must list exactly one exec, running: that
 * interpreter's server (`/bin/sh -c … warm …`). Anything more is a leak: an exec created and never started, a
 * stream never drained or destroyed, or a process that outlived its operation.
 */
export async function censusExecs(poolId: string): Promise<ExecCensus> {
  const containers = await docker.listContainers({ filters: { label: [`org.llm-sandbox.pool=${poolId}`] } });
  let listed = 0;
  let warmHelpers = 0;
  let otherRunning = 0;
  let notRunning = 0;
  let withoutOneHelper = 0;
  const strays: string[] = [];
  for (const { Id } of containers) {
    const ids: string[] = (await docker.getContainer(Id).inspect()).ExecIDs ?? [];
    listed += ids.length;
    let helpers = 0;
    for (const id of ids) {
      const exec = await docker.getExec(id).inspect().catch(() => undefined);
      if (!exec) continue; // it ended and was forgotten between the two requests
      const argv = [exec.ProcessConfig.entrypoint, ...exec.ProcessConfig.arguments];
      const isWarm = argv[0] === "/bin/sh" && argv[3] === "warm";
      if (exec.Running && isWarm) helpers++;
      else {
        if (exec.Running) otherRunning++;
        else notRunning++;
        if (strays.length < 5) strays.push(`${Id.slice(0, 12)}: ${exec.Running ? "running" : `exited (${exec.ExitCode})`} ${argv.join(" ").slice(0, 100)}`);
      }
    }
    warmHelpers += helpers;
    if (helpers !== 1) withoutOneHelper++;
  }
  return { containers: containers.length, listed, warmHelpers, otherRunning, notRunning, withoutOneHelper, strays };
}
