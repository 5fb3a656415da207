import type { ChartData, ChartSeries } from "../result.js";

/** Points kept per series: chart data is for reasoning about numbers, not for re-plotting millions of them. */
const MAX_POINTS = 5000;

interface PlotlyTrace {
  type?: string;
  mode?: string;
  name?: string;
  x?: unknown;
  y?: unknown;
  labels?: unknown;
  values?: unknown;
}

type Title = string | { text?: string } | undefined;

export interface PlotlyFigure {
  data?: PlotlyTrace[];
  layout?: { title?: Title; xaxis?: { title?: Title }; yaxis?: { title?: Title } };
}

/**
 * Chart data from a plotly figure's JSON — the same JSON for Python's and R's plotly, so one conversion serves
 * both. Scatter traces drawn with lines are "line" series, with markers only "scatter"; pie traces keep labels
 * as x and values as y.
 */
export function chartFromPlotly(figure: PlotlyFigure): ChartData | undefined {
  const series = (figure.data ?? []).map(seriesOf);
  if (series.length === 0) return undefined;
  const kinds = new Set(series.map((s) => s.type));
  const layout = figure.layout ?? {};
  return {
    type: kinds.size === 1 ? [...kinds][0]! : "mixed",
    ...text("title", layout.title),
    ...text("xLabel", layout.xaxis?.title),
    ...text("yLabel", layout.yaxis?.title),
    series,
  };
}

function seriesOf(trace: PlotlyTrace): ChartSeries & { type: string } {
  const kind = trace.type ?? "scatter";
  const type = kind === "scatter" || kind === "scattergl" ? ((trace.mode ?? "lines").includes("lines") ? "line" : "scatter") : kind;
  const [x, y] = kind === "pie" ? [trace.labels, trace.values] : [trace.x, trace.y];
  const xs = points(x);
  const ys = points(y);
  return {
    type,
    ...(trace.name ? { label: trace.name } : {}),
    ...(xs ? { x: xs.values } : {}),
    ...(ys ? { y: ys.values } : {}),
    ...(xs?.truncated || ys?.truncated ? { truncated: true } : {}),
  };
}

function points(value: unknown): { values: unknown[]; truncated: boolean } | undefined {
  if (!Array.isArray(value)) return undefined;
  return { values: value.slice(0, MAX_POINTS), truncated: value.length > MAX_POINTS };
}

function text<K extends string>(key: K, title: Title): Partial<Record<K, string>> {
  const value = typeof title === "string" ? title : title?.text;
  return value ? ({ [key]: value } as Record<K, string>) : {};
}
