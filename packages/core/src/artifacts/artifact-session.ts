import { z } from "zod";
import { ContainerError } from "../errors.js";
import { ExecutionResult, type PlotOutput } from "../result.js";
import { parseOptions, type SessionOptions } from "../session/options.js";
import type { SandboxContainer } from "../container/sandbox-container.js";
import { SandboxSession } from "../session/session.js";
import type { RunOptions, SandboxAccess } from "../session/types.js";
import { captureArchive, collectScript, type PlotCapture, plotCaptureFor, uploadScript } from "./capture.js";
import { readPlotArchive } from "./collect.js";

const artifactOptionsSchema = z.strictObject({
  /** Capture plots. Default true; a language without plot support then fails with LanguageNotSupportPlotError. */
  enablePlotting: z.boolean().default(true),
  /** Plotly/Bokeh HTML loads its JavaScript from a CDN (small) or embeds it (works offline, megabytes). Default "cdn". */
  plotlyJs: z.enum(["cdn", "inline"]).default("cdn"),
});

/** Plot capture's options; its limits (`maxPlotsPerRun`, `maxPlotBytes`) are session options, shared with interactive sessions. */
export type ArtifactOptions = z.input<typeof artifactOptionsSchema>;
export type ArtifactSessionOptions = SessionOptions & ArtifactOptions;

export interface ArtifactRunOptions extends RunOptions {
  /** Forget earlier plots (and restart their numbering) before this run. */
  clearPlots?: boolean;
}

/**
 * A session that captures the plots a program makes, without the program doing anything for it. Plots
 * accumulate across runs (each result holds all of them, in order) until `clearPlots()` or `run(…, { clearPlots })`.
 */
export class ArtifactSandboxSession extends SandboxSession {
  readonly artifactOptions: z.output<typeof artifactOptionsSchema> & { readonly maxPlotsPerRun: number; readonly maxPlotBytes: number };
  readonly #capture: PlotCapture | undefined;
  #plots: PlotOutput[] = [];

  constructor(options: ArtifactSessionOptions = {}) {
    const { enablePlotting, plotlyJs, ...sessionOptions } = options;
    super(sessionOptions);
    const { maxPlotsPerRun, maxPlotBytes } = this.limits;
    this.artifactOptions = { ...parseOptions(artifactOptionsSchema, { enablePlotting, plotlyJs }, "artifact options"), maxPlotsPerRun, maxPlotBytes };
    this.#capture = this.artifactOptions.enablePlotting ? plotCaptureFor(this.language.name) : undefined;
  }

  /** The plots held now (what the next result will start with). */
  get plots(): readonly PlotOutput[] {
    return this.#plots;
  }

  override run(code: string, options: ArtifactRunOptions = {}): Promise<ExecutionResult> {
    return super.run(code, options);
  }

  /** Forgets all plots and restarts their numbering. */
  clearPlots(): void {
    this.#plots = [];
  }

  protected override async afterOpen(container: SandboxContainer): Promise<void> {
    if (!this.#capture) return;
    const { output } = await this.sandboxFor(container).exec({
      argv: ["/bin/sh", "-c", uploadScript],
      stdin: await captureArchive(this.#capture),
      description: "plot capture set-up",
    });
    if (output.exitCode !== 0) throw new ContainerError(`Cannot set up plot capture: ${output.stderr.trim()}`);
  }

  protected override runPrelude(options: ArtifactRunOptions): string {
    if (!this.#capture) return "";
    // Evaluated in the run's own turn, so a queued run's clearPlots applies to that run only.
    if (options.clearPlots) this.clearPlots();
    return this.#capture.prelude({ start: this.#plots.length, ...this.artifactOptions });
  }

  protected override async afterRun(result: ExecutionResult, sandbox: SandboxAccess): Promise<ExecutionResult> {
    if (!this.#capture) return result;
    const { output, stdoutBytes } = await sandbox.exec({
      argv: ["/bin/sh", "-c", collectScript],
      rawStdout: true,
      maxOutputBytes: (this.artifactOptions.maxPlotsPerRun + 1) * (this.artifactOptions.maxPlotBytes + 64 * 1024),
      description: "plot collection",
    });
    if (output.exitCode !== 0) {
      return this.withPlots(result, false, [`collecting plots failed: ${output.stderr.trim()}`]);
    }
    const collected = await readPlotArchive(stdoutBytes!, {
      maxPlots: this.artifactOptions.maxPlotsPerRun,
      maxBytes: this.artifactOptions.maxPlotBytes,
    });
    this.#plots.push(...collected.plots);
    return this.withPlots(result, collected.truncated, collected.errors);
  }

  private withPlots(result: ExecutionResult, plotsTruncated: boolean, captureErrors: readonly string[]): ExecutionResult {
    return ExecutionResult.from(result, { plots: [...this.#plots], plotsTruncated, captureErrors });
  }
}
