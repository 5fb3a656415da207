// The soak (issue 13): thousands of mixed runs through a warm pool, and plain sessions opened and closed, checking
// every result and that nothing leaks — host memory, descriptors, containers, execs. On demand (`npm run soak`),
// not part of CI; unlike the benchmarks it fails (exit code 1) when a check fails.
import { createPoolManager, createSession, type PoolManager } from "@llm-sandbox/core";
import { KINDS, OUTPUT, scheduled, type SoakKind } from "./soak-kinds.ts";
import { canCollect, censusExecs, ownedContainers, sampleHost } from "./soak-probes.ts";
import { type Checkpoint, type KindRecord, report } from "./soak-report.ts";
import { throughput, time } from "./stats.ts";

const RUNS = Number(process.env.SOAK_RUNS ?? 2000);
const SESSIONS = Number(process.env.SOAK_SESSIONS ?? 200);
const POOL_SIZE = 4;
const WORKERS = 4;
const BATCH = 10;
/**
 * Before the start checkpoint: mixed runs, then runs of the kind that churns the most memory (1 MiB outputs), so the
 * process gets near its working size first. Measured here with only 1 MiB runs (heap used and external memory
 * flat throughout): V8's young generation grows from 1 to its 32 MB maximum within about 40 runs, and the memory the
 * C allocator keeps by about 8, 5, 3, 1.4, then 0.2 MB per further 100 runs; that working size, not a leak, would
 * otherwise count as growth. The first half of the soak still takes some of it, the second half adds about 1 MB
 * (the checkpoints "before warm-up", "mid" and "end" show it).
 */
const WARMUP_MIXED = 100;
const WARMUP_OUTPUTS = 100;
/** How long a checkpoint waits for the pool's last resets. */
const QUIET_TIMEOUT_MS = 60_000;

const kinds = new Map<string, KindRecord>(KINDS.map((kind) => [kind.name, { run: [], cycle: [], mismatches: 0 }]));
const mismatchSamples: string[] = [];
const plain = { count: 0, failures: 0, openClose: [] as number[], elapsedMs: 0, failureSamples: [] as string[] };
const checkpoints: Checkpoint[] = [];
const quiesceFailures: string[] = [];
let runsDone = 0;
let runsElapsedMs = 0;

/** Runs `[from, to)` with WORKERS concurrent loops of open, run, close; recorded unless it is the warm-up. */
async function poolRuns(pool: PoolManager, from: number, to: number, record: boolean, only?: SoakKind): Promise<void> {
  const rate = await throughput(WORKERS, to - from, async (_, offset) => {
    const index = from + offset;
    const { kind, nth } = only ? { kind: only, nth: index } : scheduled(index);
    const outcome = await kind.cycle(pool, index, nth);
    if (!record) return;
    const stats = kinds.get(kind.name)!;
    stats.run.push(outcome.runMs);
    stats.cycle.push(outcome.cycleMs);
    if (outcome.mismatch) {
      stats.mismatches++;
      if (mismatchSamples.length < 20) mismatchSamples.push(`run ${index} (${kind.name}): ${outcome.mismatch}`);
    }
  });
  if (record) {
    runsDone += to - from;
    runsElapsedMs += ((to - from) / rate) * 1000;
  }
}

/** Opens and closes `count` plain Python sessions (no pool), BATCH at a time in parallel. */
async function plainSessions(count: number, record: boolean): Promise<void> {
  const elapsed = await time(async () => {
    for (let done = 0; done < count; done += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, count - done) }, async () => {
          const session = createSession({ lang: "python" });
          const started = performance.now();
          try {
            await session.open();
          } catch (error) {
            if (record) plain.failures++;
            if (record && plain.failureSamples.length < 10) plain.failureSamples.push(String(error));
          } finally {
            await session.close().catch((error: unknown) => {
              if (record) plain.failures++;
              if (record && plain.failureSamples.length < 10) plain.failureSamples.push(`close: ${String(error)}`);
            });
          }
          if (record) plain.openClose.push(performance.now() - started);
        }),
      );
    }
  });
  if (record) {
    plain.count += count;
    plain.elapsedMs += elapsed;
  }
}

/** Waits until every container of the pool is idle: no session open, no reset or replacement under way. */
async function quiet(pool: PoolManager, point: string): Promise<void> {
  const deadline = Date.now() + QUIET_TIMEOUT_MS;
  const stats = () => pool.getStats();
  while (stats().stateCounts.idle < POOL_SIZE || stats().totalSize !== POOL_SIZE) {
    if (Date.now() > deadline) {
      quiesceFailures.push(`${point}: ${JSON.stringify(stats().stateCounts)}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function checkpoint(pool: PoolManager | undefined, point: string): Promise<void> {
  if (pool) await quiet(pool, point);
  const execs = pool ? await censusExecs(pool.id) : undefined;
  const host = await sampleHost();
  checkpoints.push({ point, runs: runsDone, sessions: plain.count, host, ...(execs ? { execs } : {}) });
  console.log(`${new Date().toISOString()} ${point}: ${runsDone} runs, ${plain.count} plain sessions, RSS ${host.rssMb.toFixed(1)} MB, ${host.fds} fds`);
}

if (!canCollect) console.warn("global.gc is not exposed (run with node --expose-gc, as `npm run soak` does): memory is sampled without forced collections");
console.log(`soak: ${RUNS} pooled runs (${KINDS.map((k) => `${k.name} ${k.weight}/20`).join(", ")}), ${SESSIONS} plain sessions`);

const pool = createPoolManager({ lang: "python", config: { minPoolSize: POOL_SIZE, maxPoolSize: POOL_SIZE } });
let containersWhileOpen: string[] = [];
let poolCounters: Record<string, number> = {};
try {
  await pool.ready();
  await checkpoint(pool, "before warm-up");
  await poolRuns(pool, 0, WARMUP_MIXED, false);
  await poolRuns(pool, 0, WARMUP_OUTPUTS, false, OUTPUT);
  await plainSessions(BATCH, false);
  await checkpoint(pool, "start");
  const halves = [
    [0, Math.floor(RUNS / 2), Math.floor(SESSIONS / 2), "mid"],
    [Math.floor(RUNS / 2), RUNS, SESSIONS - Math.floor(SESSIONS / 2), "end"],
  ] as const;
  for (const [from, to, sessions, point] of halves) {
    await poolRuns(pool, from, to, true);
    await plainSessions(sessions, true);
    await checkpoint(pool, point);
  }
  containersWhileOpen = await ownedContainers();
  poolCounters = { ...pool.getStats().counters };
} finally {
  await pool.close();
}
await checkpoint(undefined, "pool closed");

const failed = report({
  poolSize: POOL_SIZE,
  workers: WORKERS,
  kinds,
  mismatchSamples,
  runsElapsedMs,
  plain,
  checkpoints,
  containersWhileOpen,
  containersAfterClose: await ownedContainers(),
  quiesceFailures,
  poolCounters,
  collected: canCollect,
});
if (failed.length) {
  console.error(`\nsoak FAILED:\n${failed.map((f) => `- ${f}`).join("\n")}`);
  process.exitCode = 1;
} else {
  console.log("\nsoak passed: every result as expected, no growth of memory or descriptors, no leaked container or exec");
}
