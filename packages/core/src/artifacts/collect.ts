import { extract } from "tar-stream";
import { type FileType } from "../enums.js";
import { ArchiveError } from "../errors.js";
import { imageInfo } from "../interactive/images.js";
import type { ChartData, PlotOutput } from "../result.js";
import { chartFromPlotly, type PlotlyFigure } from "./plotly-chart.js";

const EXTENSIONS: Readonly<Record<string, FileType>> = { png: "png", svg: "svg", pdf: "pdf", jpg: "jpeg", jpeg: "jpeg", html: "html" };
/** NNNNNN.ext, or NNNNNN-PPP.ext for the pages of one graphics device (R). */
const PLOT_FILE = /^(\d{6}(?:-\d{3})?)\.([a-z]+)$/;

export interface CollectedPlots {
  readonly plots: PlotOutput[];
  readonly truncated: boolean;
  readonly errors: string[];
}

interface Sidecar {
  format?: FileType;
  library?: string;
  width?: number;
  height?: number;
  dpi?: number;
  chart?: ChartData;
  /** A plotly figure's JSON, turned into `chart` here. */
  plotly?: PlotlyFigure;
}

/**
 * Reads the archive of a plots directory: plot files with their JSON sidecars (made by the in-sandbox capture)
 * and its log. The limits are enforced again here: files in that directory are written by untrusted code.
 */
export async function readPlotArchive(archive: Uint8Array, limits: { maxPlots: number; maxBytes: number }): Promise<CollectedPlots> {
  const files = new Map<string, Buffer>();
  const extractor = extract();
  extractor.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  try {
    for await (const entry of extractor) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.type === "file") files.set(entry.header.name.replace(/^(\.\/)+/, ""), Buffer.concat(chunks));
    }
  } catch (error) {
    throw new ArchiveError(`Malformed plots archive: ${(error as Error).message}`, { cause: error });
  }

  const errors: string[] = [];
  let truncated = false;
  for (const line of (files.get("_capture.log")?.toString() ?? "").split("\n").filter(Boolean)) {
    const { kind, message } = safeJson<{ kind?: string; message?: string }>(line) ?? { kind: "error", message: line };
    if (kind === "truncated") truncated = true;
    errors.push(String(message));
  }

  const plots: PlotOutput[] = [];
  for (const name of [...files.keys()].sort()) {
    const match = PLOT_FILE.exec(name);
    const format = match && EXTENSIONS[match[2]!];
    if (!match || !format) continue;
    const data = files.get(name)!;
    if (plots.length >= limits.maxPlots || data.length > limits.maxBytes) {
      truncated = true;
      continue;
    }
    // Pages of one device share its sidecar (NNNNNN.json for NNNNNN-PPP.png).
    const sidecarFile = files.get(`${match[1]}.json`) ?? files.get(`${match[1]!.slice(0, 6)}.json`);
    const sidecar = safeJson<Sidecar>(sidecarFile?.toString() ?? "") ?? {};
    const chart = sidecar.chart ?? (sidecar.plotly ? chartFromPlotly(sidecar.plotly) : undefined);
    // Pixel size from the PNG's header, for plots whose sidecar has none.
    const { width, height } = format === "png" && sidecar.width === undefined ? imageInfo(data) : {};
    plots.push({
      format,
      contentBase64: data.toString("base64"),
      filename: name,
      ...pick(sidecar, ["library", "width", "height", "dpi"]),
      ...(chart ? { chart } : {}),
      ...(width !== undefined && height !== undefined ? { width, height } : {}),
    });
  }
  return { plots, truncated, errors };
}

function safeJson<T>(text: string): T | undefined {
  try {
    return text ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((key) => source[key] !== undefined && source[key] !== null).map((key) => [key, source[key]])) as Partial<Pick<T, K>>;
}
