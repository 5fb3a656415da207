/** Small helpers shared by the benchmarks: timing, percentiles and a printed table. */
export async function time<T>(fn: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export async function samples(count: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await time(fn));
  return out;
}

/**
 * `count` operations spread over `workers` concurrent loops (each takes the next index until none is left);
 * operations per second of wall time.
 */
export async function throughput(workers: number, count: number, operation: (worker: number, index: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const elapsed = await time(() =>
    Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        for (let index = next++; index < count; index = next++) await operation(worker, index);
      }),
    ),
  );
  return count / (elapsed / 1000);
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export type Row = Record<string, string | number>;

export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: string | number | undefined) => (typeof value === "number" ? value.toFixed(1) : (value ?? ""));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((row) => String(cell(row[c])).length)));
  const line = (values: string[]) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(columns));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => String(cell(row[c])))));
}

export const ms = (values: readonly number[]) => ({ p50: percentile(values, 50), p95: percentile(values, 95) });
/** The median and the tail a soak cares about. */
export const tail = (values: readonly number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
