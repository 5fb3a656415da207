import { FileType } from "../enums.js";
import type { PlotOutput } from "../result.js";
import { imageInfo } from "./images.js";
import type { DisplayFrame } from "./kernel.js";

const IMAGE_FORMATS: ReadonlyArray<readonly [string, FileType]> = [
  ["image/png", FileType.PNG],
  ["image/jpeg", FileType.JPEG],
  ["image/svg+xml", FileType.SVG],
];

/** Images a cell displayed, as plots (format, base64 content, size and resolution from the image itself). */
export class PlotCollector {
  readonly #limits: { readonly maxPlotsPerRun: number; readonly maxPlotBytes: number };
  readonly #plots: PlotOutput[] = [];
  readonly #errors: string[] = [];
  #truncated = false;

  constructor(limits: { readonly maxPlotsPerRun: number; readonly maxPlotBytes: number }) {
    this.#limits = limits;
  }

  add(frame: DisplayFrame): void {
    if (frame.error) {
      this.#errors.push(frame.error);
      this.#truncated = true;
      return;
    }
    for (const [mime, format] of IMAGE_FORMATS) {
      const content = frame.data?.[mime];
      if (typeof content !== "string") continue;
      const bytes = Buffer.from(content, "base64");
      if (this.#plots.length >= this.#limits.maxPlotsPerRun || bytes.length > this.#limits.maxPlotBytes) {
        this.#truncated = true;
        return;
      }
      const { dpi: headerDpi, ...size } = imageInfo(bytes);
      const dpi = frame.metadata?.dpi ?? headerDpi;
      this.#plots.push({
        format,
        contentBase64: bytes.toString("base64"),
        ...size,
        ...(dpi ? { dpi } : {}),
        ...(frame.metadata?.library ? { library: frame.metadata.library } : {}),
      });
      return; // one plot per display, in the best format offered
    }
  }

  result(): { plots: PlotOutput[]; plotsTruncated: boolean; captureErrors: string[] } {
    return { plots: this.#plots, plotsTruncated: this.#truncated, captureErrors: this.#errors };
  }
}
