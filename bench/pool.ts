// Container pools against the engine floor and the Python original, side by side in one run (issue 9's goals:
// >= 30 runs/s for print(1), a warm plot run <= 140 ms, prewarming 4 containers <= 3 s).
import { ArtifactSandboxSession, createPoolManager, createSession, type PoolManager, type SandboxSession } from "@llm-sandbox/core";
import { docker, IMAGE, Labels, rawExec, withFloorContainer } from "./floor.ts";
import { ms, printTable, samples, throughput, time } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
/** Operations per throughput measurement (shared by the workers). */
const OPERATIONS = Number(process.env.BENCH_OPERATIONS ?? 120);
const PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9, 16])\nplt.title('squares')\nplt.show()";
const IMPORTS = "import numpy, pandas, matplotlib.pyplot";

/** The Python original on this kind of machine (../shared/reference/perf-baseline.md). */
const ORIGINAL = {
  run: "134 ms",
  poolRun: "151 ms",
  nodeRun: "190 ms",
  imports: "410 ms",
  plot: "1380 ms",
  throughput: "6.7 runs/s (1 worker), 12.2 runs/s (4)",
  prewarm: "44.7 s",
};

async function prewarm(warm: boolean): Promise<number> {
  const started = performance.now();
  const pool = createPoolManager({ lang: "python", warmInterpreter: warm, config: { minPoolSize: 4, maxPoolSize: 4 } });
  try {
    await pool.ready();
    return performance.now() - started;
  } finally {
    await pool.close();
  }
}

/**
 * JavaScript: a pooled session's first run finds a node started in advance; the next one starts after each run, so
 * a run right after another waits for it (see src/pool/node-spare.ts).
 */
async function nodeRuns() {
  const pool = createPoolManager({ lang: "javascript", config: { minPoolSize: 2, maxPoolSize: 2 } });
  const plain = await createSession({ lang: "javascript" }).open();
  try {
    await pool.ready();
    const first: number[] = [];
    const later: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      while (pool.getStats().stateCounts.idle < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      const session = await createSession({ pool }).open();
      first.push(await time(() => session.run("console.log(1)")));
      later.push(await time(() => session.run("console.log(1)")));
      await session.close();
    }
    return { first, later, plain: await samples(RUNS, () => plain.run("console.log(1)")) };
  } finally {
    await Promise.all([pool.close(), plain.close()]);
  }
}

async function heldSessions<T>(pool: PoolManager, count: number, use: (sessions: SandboxSession[]) => Promise<T>): Promise<T> {
  const sessions = await Promise.all(Array.from({ length: count }, () => createSession({ pool }).open()));
  try {
    return await use(sessions);
  } finally {
    await Promise.all(sessions.map((session) => session.close()));
  }
}

await withFloorContainer(async (container) => {
  // The engine floor, measured now.
  const execTrue = await samples(RUNS, () => rawExec(container, ["true"]));
  const execPrint = await samples(RUNS, () => rawExec(container, ["python3", "-c", "print(1)"]));
  const execImports = await samples(Math.max(5, RUNS / 3), () => rawExec(container, ["python3", "-c", IMPORTS]));
  const startContainer = await samples(5, async () => {
    const extra = await docker.createContainer({ Image: IMAGE, Entrypoint: ["sleep"], Cmd: ["infinity"], Labels, HostConfig: { Init: true } });
    await extra.start();
    await extra.remove({ force: true });
  });

  // Prewarming 4 containers (created in parallel), with and without warm interpreters.
  const prewarmWarm = await samples(3, async () => void (await prewarm(true)));
  const prewarmCold = await samples(3, async () => void (await prewarm(false)));

  const pool = createPoolManager({ lang: "python", config: { minPoolSize: 4, maxPoolSize: 4 } });
  const coldPool = createPoolManager({ lang: "python", warmInterpreter: false, config: { minPoolSize: 1, maxPoolSize: 1 } });
  try {
    await Promise.all([pool.ready(), coldPool.ready()]);
    await measure(pool, coldPool, { execTrue, execPrint, execImports, startContainer, prewarmWarm, prewarmCold });
  } finally {
    await Promise.all([pool.close(), coldPool.close()]);
  }
});

async function measure(
  pool: PoolManager,
  coldPool: PoolManager,
  floor: Record<"execTrue" | "execPrint" | "execImports" | "startContainer" | "prewarmWarm" | "prewarmCold", number[]>,
) {
  const { execTrue, execPrint, execImports, startContainer, prewarmWarm, prewarmCold } = floor;

  const warmRuns = await heldSessions(pool, 1, async ([session]) => {
    for (let i = 0; i < 5; i++) await session!.run("print(1)");
    return {
      print: await samples(RUNS, () => session!.run("print(1)")),
      imports: await samples(RUNS, () => session!.run(IMPORTS)),
    };
  });
  const node = await nodeRuns();
  const coldRuns = await heldSessions(coldPool, 1, async ([session]) => ({
    print: await samples(RUNS, () => session!.run("print(1)")),
    imports: await samples(Math.max(5, RUNS / 3), () => session!.run(IMPORTS)),
  }));
  // Open + close of a pooled session with an idle container there (not the wait for a reset: see the throughput).
  const acquireRelease: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    while (pool.getStats().stateCounts.idle < 4) await new Promise((resolve) => setTimeout(resolve, 10));
    acquireRelease.push(await time(async () => (await createSession({ pool }).open()).close()));
  }

  const plot = async (session: ArtifactSandboxSession) => {
    for (let i = 0; i < 3; i++) await session.run(PLOT, { clearPlots: true });
    return samples(Math.max(10, RUNS / 2), async () => {
      const result = await session.run(PLOT, { clearPlots: true });
      if (result.plots.length !== 1) throw new Error(`expected one plot, got ${result.plots.length}: ${result.stderr}`);
    });
  };
  const withArtifactSession = async <T>(options: ConstructorParameters<typeof ArtifactSandboxSession>[0], use: (s: ArtifactSandboxSession) => Promise<T>) => {
    const session = await new ArtifactSandboxSession(options).open();
    try {
      return await use(session);
    } finally {
      await session.close();
    }
  };
  const warmPlot = await withArtifactSession({ pool }, plot);
  const coldPlot = await withArtifactSession({ lang: "python" }, (session) => samples(5, () => session.run(PLOT, { clearPlots: true })));

  const rows: Array<Record<string, string | number>> = [];
  for (const workers of [1, 2, 3, 4]) {
    const held = await heldSessions(pool, workers, (sessions) => throughput(workers, OPERATIONS, (w) => sessions[w]!.run("print(1)")));
    const cycles = await throughput(workers, OPERATIONS, async () => {
      const session = await createSession({ pool }).open();
      await session.run("print(1)");
      await session.close();
    });
    rows.push({ workers, "runs/s (session held)": held, "open+run+close /s (reset each)": cycles });
  }

  const floorExec = ms(execPrint).p50;
  printTable(`Pools vs engine floor vs the Python original (${RUNS} samples, ms; 2-core machine)`, [
    { what: "floor: raw exec `true`", ...ms(execTrue) },
    { what: "floor: raw exec `python3 -c print(1)`", ...ms(execPrint) },
    { what: `floor: raw exec \`python3 -c "${IMPORTS}"\``, ...ms(execImports), original: ORIGINAL.imports },
    { what: "floor: container create+start+remove", ...ms(startContainer) },
    { what: "pool: acquire+release (idle container)", ...ms(acquireRelease), original: "2 ms / ~0" },
    { what: "pool, warm: run(print(1))", ...ms(warmRuns.print), "vs floor": `${(ms(warmRuns.print).p50 / floorExec).toFixed(2)}× raw python exec`, original: ORIGINAL.poolRun },
    { what: "pool, no warm interpreter: run(print(1))", ...ms(coldRuns.print), "vs floor": `${(ms(coldRuns.print).p50 / floorExec).toFixed(2)}× raw python exec`, original: ORIGINAL.run },
    { what: `pool, warm: run(${IMPORTS})`, ...ms(warmRuns.imports), "vs floor": `${(ms(warmRuns.imports).p50 / ms(execImports).p50).toFixed(2)}× raw exec` },
    { what: `pool, no warm interpreter: run(${IMPORTS})`, ...ms(coldRuns.imports), original: ORIGINAL.imports },
    { what: "pool, warm: artifact run with one matplotlib plot", ...ms(warmPlot), goal: "<= 140 ms", original: ORIGINAL.plot },
    { what: "plain artifact session: the same plot run", ...ms(coldPlot), original: ORIGINAL.plot },
    { what: "pool, warm JavaScript: a session's first run(console.log(1))", ...ms(node.first), original: ORIGINAL.nodeRun },
    { what: "pool, warm JavaScript: a run right after another", ...ms(node.later), original: ORIGINAL.nodeRun },
    { what: "plain JavaScript session: run(console.log(1))", ...ms(node.plain), original: ORIGINAL.nodeRun },
    { what: "prewarm 4 containers, warm interpreters", ...ms(prewarmWarm), goal: "<= 3 s", original: ORIGINAL.prewarm },
    { what: "prewarm 4 containers, no warm interpreters", ...ms(prewarmCold), original: ORIGINAL.prewarm },
  ]);
  printTable(`Throughput of print(1) on a warm pool of 4 (${OPERATIONS} operations each; goal >= 30 runs/s; original: ${ORIGINAL.throughput})`, rows);
}
