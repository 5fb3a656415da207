// The soak's verdict: its measurements as tables, and the checks that fail it.
import type { ExecCensus, HostSample } from "./soak-probes.ts";
import { printTable, type Row, tail } from "./stats.ts";

/** Allowed growth of the process's resident memory from start to end (after full collections), MB. */
export const MAX_RSS_GROWTH_MB = 20;
/** Allowed growth of its open file descriptors from start to end. */
export const MAX_FD_GROWTH = 5;

export interface KindRecord {
  readonly run: number[];
  readonly cycle: number[];
  mismatches: number;
}

export interface Checkpoint {
  readonly point: string;
  readonly runs: number;
  readonly sessions: number;
  readonly host: HostSample;
  /** The pool's execs at this moment (absent once the pool is closed). */
  readonly execs?: ExecCensus;
}

export interface SoakResult {
  readonly poolSize: number;
  readonly workers: number;
  readonly kinds: ReadonlyMap<string, KindRecord>;
  /** The first mismatches, with the run's number and kind. */
  readonly mismatchSamples: readonly string[];
  /** Wall time of the pool runs (both halves, without the checkpoints between them), ms. */
  readonly runsElapsedMs: number;
  readonly plain: { readonly count: number; readonly failures: number; readonly openClose: number[]; readonly elapsedMs: number; readonly failureSamples: readonly string[] };
  readonly checkpoints: readonly Checkpoint[];
  /** Containers of this process while the pool is alive after the runs, and after it is closed. */
  readonly containersWhileOpen: readonly string[];
  readonly containersAfterClose: readonly string[];
  /** Moments the pool did not become quiet (every container idle) in time. */
  readonly quiesceFailures: readonly string[];
  readonly poolCounters: Record<string, number>;
  readonly collected: boolean;
}

const n = (value: number) => String(value);
const fixed = (value: number, digits = 1) => value.toFixed(digits);
const signed = (value: number, digits = 1) => `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;

/** Prints the tables; returns the failed checks (empty: the soak passed). */
export function report(result: SoakResult): string[] {
  const { kinds, checkpoints, plain } = result;
  const all = { run: [...kinds.values()].flatMap((k) => k.run), cycle: [...kinds.values()].flatMap((k) => k.cycle) };
  const totalRuns = all.run.length;
  const mismatches = [...kinds.values()].reduce((sum, k) => sum + k.mismatches, 0);
  const kindRow = (kind: string, record: { run: number[]; cycle: number[] }, mismatched: number): Row => ({
    kind,
    runs: n(record.run.length),
    mismatches: n(mismatched),
    "run p50 ms": tail(record.run).p50,
    "run p99 ms": tail(record.run).p99,
    "open+run+close p50 ms": tail(record.cycle).p50,
    "open+run+close p99 ms": tail(record.cycle).p99,
  });
  printTable(
    `Soak: ${totalRuns} runs through a warm Python pool of ${result.poolSize}, ${result.workers} workers (open, run, close; a reset each) — ${fixed(totalRuns / (result.runsElapsedMs / 1000))} runs/s`,
    [...[...kinds].map(([kind, record]) => kindRow(kind, record, record.mismatches)), kindRow("all", all, mismatches)],
  );
  printTable(`Plain sessions (no pool), opened and closed in batches of 10 in parallel`, [
    {
      sessions: n(plain.count),
      failures: n(plain.failures),
      "open+close p50 ms": tail(plain.openClose).p50,
      "open+close p99 ms": tail(plain.openClose).p99,
      "sessions/s": plain.count / (plain.elapsedMs / 1000),
    },
  ]);
  printTable(
    `Host process and engine at each checkpoint (${result.collected ? "after global.gc()" : "no --expose-gc: without forced collection"}; execs of the pool's containers)`,
    checkpoints.map(({ point, runs, sessions, host, execs }) => ({
      point,
      "runs done": n(runs),
      "plain sessions": n(sessions),
      "RSS MB": host.rssMb,
      "heap used MB": host.heapUsedMb,
      "heap total MB": host.heapTotalMb,
      "external MB": host.externalMb,
      "open fds": n(host.fds),
      "pool containers": execs ? n(execs.containers) : "closed",
      "execs listed": execs ? n(execs.listed) : "-",
      "warm helpers running": execs ? n(execs.warmHelpers) : "-",
      "other execs": execs ? `${execs.otherRunning} running, ${execs.notRunning} ended` : "-",
    })),
  );

  const start = checkpoints.find((c) => c.point === "start")!;
  const end = checkpoints.find((c) => c.point === "end")!;
  const rssGrowth = end.host.rssMb - start.host.rssMb;
  const fdGrowth = end.host.fds - start.host.fds;
  const censuses = checkpoints.filter((c) => c.execs);
  const strayExecs = censuses.reduce((sum, c) => sum + c.execs!.otherRunning + c.execs!.notRunning, 0);
  const badHelpers = censuses.reduce((sum, c) => sum + c.execs!.withoutOneHelper + Math.abs(c.execs!.containers - result.poolSize), 0);
  const checks: Array<{ check: string; measured: string; limit: string; ok: boolean; detail?: readonly string[] }> = [
    { check: "results as each kind must give", measured: `${mismatches} mismatches`, limit: "0", ok: mismatches === 0, detail: result.mismatchSamples },
    { check: "plain sessions opened and closed", measured: `${plain.failures} failures`, limit: "0", ok: plain.failures === 0, detail: plain.failureSamples },
    { check: "RSS growth, end - start", measured: `${signed(rssGrowth)} MB`, limit: `<= ${MAX_RSS_GROWTH_MB} MB`, ok: rssGrowth <= MAX_RSS_GROWTH_MB },
    { check: "open fds growth, end - start", measured: signed(fdGrowth, 0), limit: `<= ${MAX_FD_GROWTH}`, ok: fdGrowth <= MAX_FD_GROWTH },
    {
      check: "pool execs at each checkpoint: warm helpers only",
      measured: `${strayExecs} other execs`,
      limit: "0",
      ok: strayExecs === 0,
      detail: censuses.flatMap((c) => c.execs!.strays.map((s) => `${c.point}: ${s}`)),
    },
    { check: "one warm helper per pooled container", measured: `${badHelpers} containers off`, limit: "0", ok: badHelpers === 0 },
    { check: "containers of this process, pool open", measured: n(result.containersWhileOpen.length), limit: `= ${result.poolSize}`, ok: result.containersWhileOpen.length === result.poolSize, detail: result.containersWhileOpen },
    { check: "containers of this process, pool closed", measured: n(result.containersAfterClose.length), limit: "0", ok: result.containersAfterClose.length === 0, detail: result.containersAfterClose },
    { check: "pool quiet (all idle) at each checkpoint", measured: `${result.quiesceFailures.length} not`, limit: "0", ok: result.quiesceFailures.length === 0, detail: result.quiesceFailures },
  ];
  printTable(
    `Checks (pool counters: ${Object.entries(result.poolCounters).map(([k, v]) => `${k} ${v}`).join(", ")})`,
    checks.map(({ check, measured, limit, ok }) => ({ check, measured, limit, result: ok ? "ok" : "FAIL" })),
  );
  const failed = checks.filter((c) => !c.ok);
  for (const { check, detail } of failed) {
    for (const line of detail?.slice(0, 10) ?? []) console.error(`  ${check}: ${line}`);
  }
  return failed.map((c) => `${c.check}: ${c.measured} (limit ${c.limit})`);
}
