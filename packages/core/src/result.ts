import type { NetworkLogEntry } from "./network/network-log.js";
import { type FileType, MIME_TYPES } from "./enums.js";

/** Structured data behind a chart, when the plotting library exposes it (see the artifacts docs). */
export interface ChartSeries {
  readonly label?: string;
  readonly x?: readonly unknown[];
  readonly y?: readonly unknown[];
  readonly [extra: string]: unknown;
}

export interface ChartData {
  readonly type: string;
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly series: readonly ChartSeries[];
  readonly [extra: string]: unknown;
}

export interface PlotOutput {
  readonly format: FileType;
  readonly contentBase64: string;
  readonly width?: number;
  readonly height?: number;
  readonly dpi?: number;
  /** Name of the file the plot was saved as inside the sandbox (ordering key). */
  readonly filename?: string;
  readonly library?: string;
  readonly chart?: ChartData;
}

export function plotMimeType(plot: Pick<PlotOutput, "format">): string {
  return MIME_TYPES[plot.format];
}

/** What went wrong in a failing program, parsed from its output by the language handler (data, not an exception). */
export interface ExecutionErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly traceback?: string;
}

export interface ConsoleOutputInit {
  exitCode: number;
  stdout?: string;
  stderr?: string;
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
  durationMs?: number;
}

export class ConsoleOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when stdout exceeded `maxOutputBytes` and the rest was dropped. */
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  /** Wall time of the operation, as seen by the host. */
  readonly durationMs: number;

  constructor(init: ConsoleOutputInit) {
    this.exitCode = init.exitCode;
    this.stdout = init.stdout ?? "";
    this.stderr = init.stderr ?? "";
    this.stdoutTruncated = init.stdoutTruncated ?? false;
    this.stderrTruncated = init.stderrTruncated ?? false;
    this.durationMs = init.durationMs ?? 0;
  }

  success(): boolean {
    return this.exitCode === 0;
  }

  toJSON(): Record<string, unknown> {
    return { ...this } as Record<string, unknown>;
  }
}

export interface ExecutionResultInit extends ConsoleOutputInit {
  plots?: readonly PlotOutput[];
  plotsTruncated?: boolean;
  captureErrors?: readonly string[];
  error?: ExecutionErrorInfo;
  value?: string;
  network?: readonly NetworkLogEntry[];
}

export class ExecutionResult extends ConsoleOutput {
  readonly plots: readonly PlotOutput[];
  /** True when plots were dropped because a per-plot size or per-run count limit was exceeded. */
  readonly plotsTruncated: boolean;
  /** Problems of the plot capture itself (never printed into the program's output). */
  readonly captureErrors: readonly string[];
  /** Present when the program failed and its language handler could parse the failure. */
  readonly error?: ExecutionErrorInfo;
  /** Interactive sessions: the text of the last expression's value. */
  readonly value?: string;
  /** Sessions whose network is a policy: what the run tried to reach, allowed and refused. */
  readonly network?: readonly NetworkLogEntry[];

  constructor(init: ExecutionResultInit) {
    super(init);
    this.plots = init.plots ?? [];
    this.plotsTruncated = init.plotsTruncated ?? false;
    this.captureErrors = init.captureErrors ?? [];
    if (init.error) this.error = init.error;
    if (init.value !== undefined) this.value = init.value;
    if (init.network) this.network = init.network;
  }

  static from(output: ConsoleOutput, extra: Omit<ExecutionResultInit, keyof ConsoleOutputInit> = {}): ExecutionResult {
    return new ExecutionResult({ ...output, ...extra });
  }
}
