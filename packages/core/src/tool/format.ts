import { z } from "zod";
import type { NetworkLogEntry } from "../network/network-log.js";
import { type ExecutionResult, type PlotOutput, plotMimeType } from "../result.js";

/** Characters of stdout (and of stderr) the model sees by default; the full text stays in the result. */
export const DEFAULT_MODEL_OUTPUT_CHARS = 20_000;

/** Image types every major model API accepts as input; other plot formats (svg, html, pdf) are listed, not shown. */
const MODEL_IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export interface ModelFormatOptions {
  /** Characters kept of stdout and of stderr (head and tail, with a marker in between). Default 20 000. */
  maxOutputChars?: number;
}

/** What the model reads about a run: output cut to size, plot metadata without bytes (MCP's structured output). */
export const toolResultSummarySchema = z.object({
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  /** Some output is missing from `stdout`/`stderr` (cut for the model, or beyond the sandbox's output cap). */
  truncated: z.boolean(),
  /** The parsed failure (its traceback is the stderr above). */
  error: z.object({ name: z.string(), message: z.string() }).nullable(),
  plots: z.array(
    z.object({
      format: z.string(),
      mimeType: z.string(),
      width: z.number().optional(),
      height: z.number().optional(),
      filename: z.string().optional(),
    }),
  ),
  durationMs: z.number(),
});
export type ToolResultSummary = z.output<typeof toolResultSummarySchema>;

/** An image for the model, taken from a plot. */
export interface ModelImage {
  readonly mimeType: string;
  readonly base64: string;
  readonly plot: PlotOutput;
}

/**
 * Keeps the head and the tail of `text` (the end often holds the error) with a marker naming what was cut.
 * `capped` adds a note that the sandbox itself dropped output beyond its limit.
 */
export function truncateForModel(text: string, maxChars = DEFAULT_MODEL_OUTPUT_CHARS, capped = false): string {
  let kept = text;
  if (text.length > maxChars) {
    const head = Math.ceil(maxChars * 0.6);
    const tail = maxChars - head;
    kept = `${text.slice(0, head)}\n[... ${text.length - maxChars} characters truncated ...]\n${tail > 0 ? text.slice(-tail) : ""}`;
  }
  return capped ? `${kept}\n[... output exceeded the sandbox's limit; the rest was not kept ...]` : kept;
}

export function summarizeResult(result: ExecutionResult, options: ModelFormatOptions = {}): ToolResultSummary {
  const max = options.maxOutputChars ?? DEFAULT_MODEL_OUTPUT_CHARS;
  return {
    exitCode: result.exitCode,
    stdout: truncateForModel(result.stdout, max, result.stdoutTruncated),
    stderr: truncateForModel(result.stderr, max, result.stderrTruncated),
    truncated: result.stdoutTruncated || result.stderrTruncated || result.stdout.length > max || result.stderr.length > max,
    error: result.error ? { name: result.error.name, message: result.error.message } : null,
    plots: result.plots.map((plot) => ({
      format: plot.format,
      mimeType: plotMimeType(plot),
      ...(plot.width !== undefined ? { width: plot.width } : {}),
      ...(plot.height !== undefined ? { height: plot.height } : {}),
      ...(plot.filename !== undefined ? { filename: plot.filename } : {}),
    })),
    durationMs: result.durationMs,
  };
}

/** The plots a model can look at, as images. */
export function modelImages(result: ExecutionResult): ModelImage[] {
  return result.plots.flatMap((plot) => {
    const mimeType = plotMimeType(plot);
    return MODEL_IMAGE_TYPES.has(mimeType) ? [{ mimeType, base64: plot.contentBase64, plot }] : [];
  });
}

/**
 * The run as text for the model. `imagesAttached` says whether the caller sends the plot images along; the text
 * then says they follow, else that they were kept out of the conversation.
 */
export function formatToolResult(result: ExecutionResult, options: ModelFormatOptions & { imagesAttached?: boolean } = {}): string {
  const summary = summarizeResult(result, options);
  const lines = [`exit code: ${summary.exitCode}${summary.exitCode === 0 ? " (success)" : ""}`];
  lines.push(summary.stdout ? `--- stdout ---\n${summary.stdout.replace(/\n$/, "")}` : "stdout: (empty)");
  if (summary.stderr) lines.push(`--- stderr ---\n${summary.stderr.replace(/\n$/, "")}`);
  if (summary.error) lines.push(`error: ${summary.error.name}${summary.error.message ? `: ${summary.error.message}` : ""}`);
  if (summary.plots.length) {
    const shown = options.imagesAttached ? modelImages(result).length : 0;
    const hidden = summary.plots.length - shown;
    const parts = [`${summary.plots.length} plot(s): ${summary.plots.map(describePlot).join(", ")}`];
    if (shown) parts.push(`${shown} attached as image(s)`);
    if (hidden) parts.push(`${hidden} not shown to you`);
    lines.push(parts.join("; "));
  }
  if (result.plotsTruncated) lines.push("some plots were dropped (size or count limit)");
  if (result.network) lines.push(...describeRefused(result.network));
  return lines.join("\n");
}

/** What the model gets for a run: the text, and the plot images to attach with it (none when `images` is off). */
export function modelContent(result: ExecutionResult, options: ModelFormatOptions & { images: boolean }): { text: string; images: ModelImage[] } {
  return { text: formatToolResult(result, { ...options, imagesAttached: options.images }), images: options.images ? modelImages(result) : [] };
}

/** Refused hosts listed at most: enough to explain a 403 without flooding the conversation. */
const MAX_REFUSED_HOSTS = 5;

/** One line per host the network policy refused (its first refusal, with the reason), so the model sees why it failed. */
function describeRefused(network: readonly NetworkLogEntry[]): string[] {
  const refused = new Map<string, NetworkLogEntry>();
  for (const entry of network) if (!entry.allowed && !refused.has(entry.host)) refused.set(entry.host, entry);
  const lines = [...refused.values()]
    .slice(0, MAX_REFUSED_HOSTS)
    .map((entry) => `network: refused ${entry.kind === "dns" ? `the name lookup of ${entry.host}` : `${entry.host}:${entry.port}`} (${entry.reason ?? "not allowed"})`);
  if (refused.size > MAX_REFUSED_HOSTS) lines.push(`network: ${refused.size - MAX_REFUSED_HOSTS} more host(s) refused`);
  return lines;
}

function describePlot(plot: ToolResultSummary["plots"][number]): string {
  const size = plot.width && plot.height ? ` ${plot.width}x${plot.height}` : "";
  return `${plot.format}${size}${plot.filename ? ` (${plot.filename})` : ""}`;
}
