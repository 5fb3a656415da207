import type Docker from "dockerode";
import {
  ContainerError,
  createPoolManager,
  createSession,
  InteractiveSandboxSession,
  NotOpenSessionError,
  type SandboxSession,
  type SessionOptions,
} from "@llm-sandbox/core";
import { engineClient, podmanClient } from "@llm-sandbox/core/backends";
import { describe, expect, it } from "vitest";
import { LABELS } from "../internal/labels.js";

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

/** Docker, and Podman's service (which `npm test` sets up): the detection is the lifecycle's, for every engine. */
const ENGINES: ReadonlyArray<{ name: string; options: SessionOptions; client: Docker }> = [
  { name: "docker", options: {}, client: engineClient() },
  { name: "podman", options: { backend: "podman", client: podmanClient() }, client: podmanClient() },
];

/** How a container goes away behind the session's back. */
const FROM_OUTSIDE = {
  "rm -f": (client: Docker, id: string) => client.getContainer(id).remove({ force: true }),
  kill: (client: Docker, id: string) => client.getContainer(id).kill(),
} as const;

/** Generous for a loaded 2-core machine: without detection the run would last its 60 s timeout. */
const DETECTION_MS = 10_000;

describe.each(ENGINES)("a container removed or killed from outside ($name)", ({ options, client }) => {
  const exists = (id: string) => client.getContainer(id).inspect().then(() => true, () => false);

  /** Runs `code` (which prints "started" first), makes the container go away once it runs, returns the error and how long it took. */
  async function interrupt(session: SandboxSession, code: string, how: keyof typeof FROM_OUTSIDE): Promise<{ error: Error | undefined; ms: number }> {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const run = errorOf(session.run(code, { timeout: 60, onStdout: (text) => text.includes("started") && started() }));
    await running;
    const from = Date.now();
    await FROM_OUTSIDE[how](client, session.containerId!);
    const error = await run;
    return { error, ms: Date.now() - from };
  }

  /** The run's error is the container's; the session closed itself, says why, and left no container behind. */
  async function expectLost(session: SandboxSession, id: string, { error, ms }: { error: Error | undefined; ms: number }): Promise<void> {
    expect(ContainerError.isInstance(error), String(error)).toBe(true);
    expect(error!.message).toMatch(/container \w+ is gone: it was stopped or removed from outside/);
    expect(ms).toBeLessThan(DETECTION_MS);
    expect(session.isOpen).toBe(false);
    const later = await errorOf(session.run("echo again"));
    expect(NotOpenSessionError.isInstance(later)).toBe(true);
    expect(later!.message).toMatch(/The session is closed: .*is gone/);
    await session.close();
    await expect.poll(() => exists(id), { timeout: 10_000 }).toBe(false);
  }

  it.each(Object.keys(FROM_OUTSIDE) as Array<keyof typeof FROM_OUTSIDE>)("%s during run(): ContainerError at once, the session closes itself", async (how) => {
    const session = await createSession({ ...options, lang: "bash" }).open();
    try {
      const id = session.containerId!;
      await expectLost(session, id, await interrupt(session, "echo started; sleep 60", how));
    } finally {
      await session.close();
    }
  });

  it("kill during an interactive session's cell: ContainerError at once, not a dead kernel; the session closes itself", async () => {
    const session = await new InteractiveSandboxSession({ ...options, lang: "python" }).open();
    try {
      const id = session.containerId!;
      await expectLost(session, id, await interrupt(session, "import time\nprint('started', flush=True)\ntime.sleep(60)", "kill"));
    } finally {
      await session.close();
    }
  });

  it("rm -f of a pooled container during run() (warm Python): ContainerError, and the pool's next session gets a new container", async () => {
    await using pool = createPoolManager({ ...options, lang: "python", config: { maxPoolSize: 1, minPoolSize: 1 } });
    const session = await createSession({ pool }).open();
    const id = session.containerId!;
    await expectLost(session, id, await interrupt(session, "import time\nprint('started', flush=True)\ntime.sleep(60)", "rm -f"));
    const next = await createSession({ pool }).open();
    try {
      expect(next.containerId).not.toBe(id);
      expect((await next.run("print('replaced')")).stdout).toBe("replaced\n");
    } finally {
      await next.close();
    }
  });

  it("kill of an idle pooled container: the pool replaces it at once (no health check is due), the next session works", async () => {
    await using pool = createPoolManager({ ...options, lang: "bash", config: { maxPoolSize: 1, minPoolSize: 1, healthCheckInterval: 3600 } });
    await pool.ready();
    const labelled = async () => (await client.listContainers({ all: true, filters: { label: [`${LABELS.pool}=${pool.id}`] } })).map((c) => c.Id);
    const [idle] = await labelled();
    await client.getContainer(idle!).kill();
    await expect.poll(async () => (await labelled()).includes(idle!), { timeout: DETECTION_MS }).toBe(false);
    const next = await createSession({ pool }).open();
    try {
      expect(next.containerId).not.toBe(idle);
      expect((await next.run("echo works")).stdout).toBe("works\n");
    } finally {
      await next.close();
    }
  });
});
