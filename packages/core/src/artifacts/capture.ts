import { readdirSync, readFileSync } from "node:fs";
import { LanguageNotSupportPlotError } from "../errors.js";
import { packageFile } from "../internal/package-files.js";
import { shellQuote } from "../internal/shell.js";
import { packFiles } from "../internal/tar.js";
import { findLanguageHandler, languageHandlers } from "../languages/registry.js";

/** Our corner of the sandbox: on the in-memory /tmp, away from the user's workdir. */
const CAPTURE_ROOT = "/tmp/.llm-sandbox";
const PLOTS_DIR = `${CAPTURE_ROOT}/plots`;

export interface CaptureSettings {
  /** Number of plots the session holds: new ones continue from here. */
  readonly start: number;
  readonly maxPlotsPerRun: number;
  readonly maxPlotBytes: number;
  readonly plotlyJs: "cdn" | "inline";
}

/**
 * How one language captures plots without the user changing code: scripts kept as real files under
 * `assets/artifacts/<assets>/`, uploaded once per session, and shell lines that switch them on for a run (the
 * language's handler says how its interpreter loads them: `LanguageHandler.plots`).
 */
export interface PlotCapture {
  readonly assets: string;
  prelude(settings: CaptureSettings): string;
}

const common = (settings: CaptureSettings) =>
  [
    `LLM_SANDBOX_PLOTS_DIR=${PLOTS_DIR}`,
    `LLM_SANDBOX_PLOT_START=${settings.start}`,
    `LLM_SANDBOX_PLOT_MAX_COUNT=${settings.maxPlotsPerRun}`,
    `LLM_SANDBOX_PLOT_MAX_BYTES=${settings.maxPlotBytes}`,
    `LLM_SANDBOX_PLOTLY_JS=${settings.plotlyJs}`,
  ].join(" ");

/** The capture for `language` (its handler's `plots`), or `LanguageNotSupportPlotError`. */
export function plotCaptureFor(language: string): PlotCapture {
  const plots = findLanguageHandler(language)?.plots;
  if (!plots) throw new LanguageNotSupportPlotError(language);
  const dir = `${CAPTURE_ROOT}/capture/${plots.assets}`;
  return { assets: plots.assets, prelude: (settings) => `export ${common(settings)} ${plots.environment(dir)}\n` };
}

export const plotLanguages = (): string[] => languageHandlers().flatMap((language) => (language.plots ? [language.name] : []));

/** By assets directory. */
const archives = new Map<string, Promise<Buffer>>();

/** The capture scripts as an archive to extract into CAPTURE_ROOT; built once per process, not at every session open. */
export function captureArchive(capture: PlotCapture): Promise<Buffer> {
  let archive = archives.get(capture.assets);
  if (!archive) {
    const dir = packageFile("assets", "artifacts", capture.assets);
    archive = packFiles(
      readdirSync(dir).map((name) => ({ name: `capture/${capture.assets}/${name}`, data: readFileSync(`${dir}/${name}`), mode: 0o644 })),
    );
    archive.catch(() => archives.delete(capture.assets)); // a failed build is retried by the next session
    archives.set(capture.assets, archive);
  }
  return archive;
}

export const uploadScript = `mkdir -p ${shellQuote(CAPTURE_ROOT)} ${shellQuote(PLOTS_DIR)} && tar -x --no-same-owner -f - -C ${shellQuote(CAPTURE_ROOT)}`;

/** Archives the plots of the run that just ended and empties the directory for the next one. */
export const collectScript = `cd ${shellQuote(PLOTS_DIR)} 2>/dev/null || exit 0
set -- $(ls -A)
[ $# -gt 0 ] || exit 0
tar -c -f - -- "$@"; rc=$?; rm -f -- "$@"; exit $rc`;
