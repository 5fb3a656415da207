// The kinds of run the soak mixes, each with what its result must be: one cycle borrows a session from the pool,
// runs once, closes it (so the pool resets the container) and reports any difference from the expected result.
import { ArtifactSandboxSession, createSession, type ExecutionResult, type PoolManager, SandboxTimeoutError, type SandboxSession } from "@llm-sandbox/core";

export interface CycleOutcome {
  /** The run alone (`session.run`), ms. */
  readonly runMs: number;
  /** Open + run + close, ms: includes waiting for a container the pool is still resetting. */
  readonly cycleMs: number;
  /** What differed from the kind's expected result; undefined when it matched. */
  readonly mismatch?: string;
}

export interface SoakKind {
  readonly name: string;
  /** Runs of this kind in every `PATTERN_LENGTH` consecutive runs. */
  readonly weight: number;
  /** `index` numbers the run in the soak; `nth` counts this kind's runs (variants alternate on it). */
  cycle(pool: PoolManager, index: number, nth: number): Promise<CycleOutcome>;
}

/** The short limit of a timeout run, seconds; its program sleeps far longer. */
export const TIMEOUT_SECONDS = 1;
const MIB = 1024 * 1024;
/** Half of the output runs keep a smaller cap, to check the documented truncation as well as a full MiB. */
const CAPPED_BYTES = 256 * 1024;

const PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9, 16])\nplt.title('soak')\nplt.show()";

type Check = (result: ExecutionResult) => string | undefined;

/** Opens `session`, times one run through `run`, closes it; a thrown error is a mismatch unless `expectThrow` takes it. */
async function cycle(
  session: SandboxSession,
  run: (session: SandboxSession) => Promise<ExecutionResult>,
  check: Check,
  expectThrow?: (error: unknown, runMs: number) => string | undefined,
): Promise<CycleOutcome> {
  const started = performance.now();
  let runMs = 0;
  let mismatch: string | undefined;
  try {
    await session.open();
    const runStarted = performance.now();
    try {
      const result = await run(session);
      runMs = performance.now() - runStarted;
      mismatch = expectThrow ? `expected an error, got exit code ${result.exitCode}` : check(result);
    } catch (error) {
      runMs = performance.now() - runStarted;
      if (!expectThrow) throw error;
      mismatch = expectThrow(error, runMs);
    }
  } catch (error) {
    mismatch = `threw ${describe(error)}`;
  } finally {
    await session.close().catch((error: unknown) => (mismatch ??= `close threw ${describe(error)}`));
  }
  return { runMs, cycleMs: performance.now() - started, ...(mismatch ? { mismatch } : {}) };
}

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error));
const clip = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** Differences between a result and the expected exit code, stdout and stderr (a function: a looser check). */
function expect(result: ExecutionResult, exitCode: number, stdout?: string | ((s: string) => boolean), stderr?: string): string | undefined {
  if (result.exitCode !== exitCode) return `exit code ${result.exitCode}, expected ${exitCode} (stderr ${clip(result.stderr)})`;
  if (typeof stdout === "string" && result.stdout !== stdout) return `stdout ${clip(result.stdout)}, expected ${clip(stdout)}`;
  if (typeof stdout === "function" && !stdout(result.stdout)) return `unexpected stdout ${clip(result.stdout)} (${result.stdout.length} chars)`;
  if (stderr !== undefined && result.stderr !== stderr) return `stderr ${clip(result.stderr)}, expected ${clip(stderr)}`;
  return undefined;
}

/** `print` of a text naming the run: exactly that line, nothing on stderr. */
const print: SoakKind = {
  name: "print",
  weight: 8,
  cycle: (pool, index) =>
    cycle(createSession({ pool }), (s) => s.run(`print("soak ${index}")`), (r) => expect(r, 0, `soak ${index}\n`, "")),
};

/** A matplotlib figure shown once: exactly one plot (a fresh session after a reset holds no earlier ones). */
const plot: SoakKind = {
  name: "plot",
  weight: 4,
  cycle: (pool) =>
    cycle(new ArtifactSandboxSession({ pool }), (s) => s.run(PLOT), (r) => expect(r, 0) ?? (r.plots.length === 1 ? undefined : `${r.plots.length} plots, expected 1`)),
};

/** Alternately an uncaught exception (exit 1, parsed error) and `sys.exit(n)` with a per-run status. */
const error: SoakKind = {
  name: "error",
  weight: 4,
  cycle: (pool, index, nth) =>
    nth % 2 === 0
      ? cycle(
          createSession({ pool }),
          (s) => s.run(`raise ValueError("soak ${index}")`),
          (r) =>
            expect(r, 1, "") ??
            (r.error?.name === "ValueError" && r.error.message.includes(`soak ${index}`) ? undefined : `parsed error ${JSON.stringify(r.error)}`),
        )
      : cycle(createSession({ pool }), (s) => s.run(`import sys\nprint("soak ${index}")\nsys.exit(${2 + (index % 100)})`), (r) => expect(r, 2 + (index % 100), `soak ${index}\n`)),
};

/**
 * 1 MiB on stdout, led by the run's number: all of it with the default cap (10 MiB); with a 256 KiB cap, exactly
 * the first 256 KiB and `stdoutTruncated` (README, Options: `maxOutputBytes`).
 */
export const OUTPUT: SoakKind = {
  name: "1 MiB output",
  weight: 3,
  cycle: (pool, index, nth) => {
    const capped = nth % 2 === 1;
    const expected = capped ? CAPPED_BYTES : MIB;
    const lead = String(index).padStart(8, "0");
    return cycle(
      createSession({ pool, ...(capped ? { maxOutputBytes: CAPPED_BYTES } : {}) }),
      (s) => s.run(`import sys\nsys.stdout.write("${lead}" + "x" * ${MIB - lead.length})`),
      (r) =>
        expect(r, 0, (out) => out.length === expected && out.startsWith(lead) && out.endsWith("x"), "") ??
        (r.stdoutTruncated === capped ? undefined : `stdoutTruncated ${r.stdoutTruncated}, expected ${capped}`),
    );
  },
};

/** A program that prints, then sleeps past a 1 s limit: `SandboxTimeoutError` with the printed line as partial output. */
const timeout: SoakKind = {
  name: "timeout",
  weight: 1,
  cycle: (pool, index) =>
    cycle(
      createSession({ pool }),
      (s) => s.run(`import time\nprint("soak ${index}", flush=True)\ntime.sleep(60)`, { timeout: TIMEOUT_SECONDS }),
      () => undefined,
      (error, runMs) => {
        if (!SandboxTimeoutError.isInstance(error)) return `threw ${describe(error)}, expected SandboxTimeoutError`;
        if (runMs < TIMEOUT_SECONDS * 1000) return `timed out after ${runMs.toFixed(0)} ms, before the limit`;
        const partial = (error as SandboxTimeoutError).partialOutput?.stdout;
        return partial === `soak ${index}\n` ? undefined : `partial stdout ${clip(partial ?? "(none)")}`;
      },
    ),
};

export const KINDS: readonly SoakKind[] = [print, plot, error, OUTPUT, timeout];

/** The kinds interleaved by weight in a fixed pattern (20 runs long), so every stretch of runs mixes them. */
const PATTERN: ReadonlyArray<{ kind: SoakKind; nth: number }> = (() => {
  const pattern: Array<{ kind: SoakKind; nth: number }> = [];
  for (let round = 0; pattern.length < KINDS.reduce((sum, kind) => sum + kind.weight, 0); round++) {
    for (const kind of KINDS) if (round < kind.weight) pattern.push({ kind, nth: round });
  }
  return pattern;
})();

/** Run `index`'s kind, and how many runs of that kind came before it. */
export function scheduled(index: number): { kind: SoakKind; nth: number } {
  const { kind, nth } = PATTERN[index % PATTERN.length]!;
  return { kind, nth: Math.floor(index / PATTERN.length) * kind.weight + nth };
}
