/**
 * Restarts the Docker daemon the tests use (SIGTERM, then started again the way `llm-sandbox setup` starts it), so
 * it runs alone, after every other integration test: its own vitest project ("integration-last", vitest.config.ts).
 * Against another daemon: DOCKER_HOST names its socket, and it is restarted with its own command line.
 */
import { ContainerError, createPoolManager, createSession, SandboxError, type SandboxSession } from "@llm-sandbox/core";
import { engineClient } from "@llm-sandbox/core/backends";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LABELS } from "../../packages/core/src/internal/labels.js";
import { type Dockerd, dockerdServing, ensureDockerd, startDockerd, stopDockerd } from "../helpers/dockerd.js";

const docker = engineClient();
let daemon: Dockerd;

beforeAll(() => {
  daemon = dockerdServing(docker);
});
// The daemon answers when this file ends, whatever happened in it.
afterAll(() => daemon && ensureDockerd(docker, daemon));

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

/** Seconds the interrupted runs may take: the typed error must come well within. */
const RUN_TIMEOUT = 30;

/** Starts a long run; resolves once the program is running, with the run's outcome to come: its error and duration. */
async function longRun(session: SandboxSession): Promise<{ outcome: Promise<{ error: Error | undefined; ms: number }> }> {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const from = Date.now();
  const run = session.run("import time\nprint('started', flush=True)\ntime.sleep(120)", { timeout: RUN_TIMEOUT, onStdout: () => started() });
  const outcome = errorOf(run).then((error) => ({ error, ms: Date.now() - from }));
  await running;
  return { outcome };
}

it("a daemon restart during runs: typed errors within the runs' timeout; a new session and the pool work once the engine is back", async () => {
  const pool = createPoolManager({ lang: "python", config: { minPoolSize: 1, maxPoolSize: 2 } });
  const sessions: SandboxSession[] = [];
  const open = async (session: SandboxSession) => (sessions.push(session), session.open());
  try {
    await pool.ready();
    const plain = await open(createSession({ lang: "python" }));
    const pooled = await open(createSession({ pool }));
    const runs = [await longRun(plain), await longRun(pooled)];
    await stopDockerd(daemon);
    await startDockerd(docker, daemon);
    for (const { error, ms } of await Promise.all(runs.map((run) => run.outcome))) {
      expect(SandboxError.isInstance(error), String(error)).toBe(true);
      expect(ms).toBeLessThan(RUN_TIMEOUT * 1000);
    }

    // The containers stopped with the daemon: a session that had one finds out and closes itself.
    expect(ContainerError.isInstance(await errorOf(plain.run("print('again')")))).toBe(true);
    expect(plain.isOpen).toBe(false);
    const fresh = await open(createSession({ lang: "python" }));
    expect((await fresh.run("print('fresh')")).stdout).toBe("fresh\n");
    // The pool's containers stopped with the daemon: it notices by itself, and its next session gets a running one.
    const next = await open(createSession({ pool }));
    expect((await next.run("print('pooled')")).stdout).toBe("pooled\n");
  } finally {
    for (const session of sessions) await session.close().catch(() => {});
    await pool.close();
  }
  // What stopped with the daemon was removed once it was back. The reaper it stopped too was replaced by the next
  // create: this process is watched again.
  const mine = await docker.listContainers({ all: true, filters: { label: [`${LABELS.ownerPid}=${process.pid}`] } });
  const [reapers, left] = [mine.filter((c) => c.Labels[LABELS.reaper]), mine.filter((c) => !c.Labels[LABELS.reaper])];
  expect(left.map((c) => `${c.Id.slice(0, 12)} ${c.State}`)).toEqual([]);
  expect(reapers.map((c) => c.State)).toEqual(["running"]);
});
