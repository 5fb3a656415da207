import { FileType } from "../enums.js";
import { KernelDiedError, LanguageNotSupportedError, type PartialOutput, SandboxAbortError, SandboxTimeoutError, ValidationError } from "../errors.js";
import { newId } from "../internal/ids.js";
import { startTimer } from "../internal/timers.js";
import { pythonVenv } from "../languages/python.js";
import { ExecutionResult, type PlotOutput } from "../result.js";
import { parseOptions, type SessionOptions, validateLibraries } from "../session/options.js";
import { OutputCapture } from "../session/process.js";
import { type OpenContainer, requireCode, type RunOptions, SandboxSession } from "../session/session.js";
import { imageInfo } from "./images.js";
import { type DisplayFrame, Kernel, KernelGone, type KernelExit } from "./kernel.js";
import { interactiveLanguages, kernelFor, type KernelSpec, kernelSource } from "./kernels.js";
import { type InteractiveSettings, interactiveSettingsSchema, type ResolvedInteractiveSettings } from "./settings.js";

export interface InteractiveSessionOptions extends SessionOptions {
  interactiveSettings?: InteractiveSettings;
}

/** Seconds a cell may take to stop after its interrupt before the kernel is restarted (its state is then lost). */
const INTERRUPT_GRACE_SECONDS = 3;
/** Plots kept per cell; more set `plotsTruncated`. */
const MAX_PLOTS_PER_CELL = 64;
/** Frames carry base64 images at most this large (plus JSON); the kernel replaces bigger ones by a note. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const DEFAULT_CELL_TIMEOUT = 300;

const IMAGE_FORMATS: ReadonlyArray<readonly [string, FileType]> = [
  ["image/png", FileType.PNG],
  ["image/jpeg", FileType.JPEG],
  ["image/svg+xml", FileType.SVG],
];

/**
 * A session whose state lives on between `run()` calls: a kernel (IPython for Python, a Node.js kernel for
 * JavaScript and TypeScript) runs inside the sandbox, driven over one long-lived exec stream. Each cell costs a
 * round trip on that stream, not an exec. Everything else (`executeCommand`, `install`, file copies, secure
 * defaults, clean-up) is the plain session's.
 */
export class InteractiveSandboxSession extends SandboxSession {
  readonly interactiveSettings: ResolvedInteractiveSettings;
  readonly #spec: KernelSpec;
  #kernel: Kernel | undefined;
  /** Cell numbers never repeat within a session, across restarts: an interrupt reaches only its own cell. */
  #cells = 0;

  constructor(options: InteractiveSessionOptions = {}) {
    const { interactiveSettings, ...sessionOptions } = options ?? {};
    const settings = parseOptions(interactiveSettingsSchema, interactiveSettings ?? {}, "interactive settings");
    const configs = sessionOptions.runtimeConfigs;
    super({
      ...sessionOptions,
      // A pooled session's container (and its memory limit) is the pool's.
      ...(sessionOptions.pool === undefined && (configs === undefined || (typeof configs === "object" && configs !== null))
        ? { runtimeConfigs: { ...configs, memory: configs?.memory ?? settings.maxMemory } }
        : {}),
    });
    const spec = kernelFor(this.language.name);
    if (!spec) {
      throw new LanguageNotSupportedError(this.language.name, `interactive sessions support ${interactiveLanguages().join(", ")}`);
    }
    if (settings.kernelType && settings.kernelType !== spec.kernelType) {
      throw new ValidationError(`kernelType "${settings.kernelType}" cannot run ${this.language.name}; its kernel is "${spec.kernelType}"`);
    }
    this.#spec = spec;
    this.interactiveSettings = {
      kernelType: spec.kernelType,
      maxMemory: settings.maxMemory,
      historySize: settings.historySize,
      timeout: settings.timeout ?? this.options.executionTimeout ?? DEFAULT_CELL_TIMEOUT,
      pollInterval: settings.pollInterval,
    };
  }

  /** The running kernel's process id and version, once open. */
  get kernelInfo(): { readonly pid: number; readonly language: string; readonly version: string } | undefined {
    return this.#kernel?.exit ? undefined : this.#kernel?.info;
  }

  /**
   * Runs one cell in the kernel. Output streams through `onStdout`/`onStderr` while it runs; the result carries
   * the last expression's value (`value`, as text), images shown by the cell (`plots`) and, for an exception,
   * exit code 1 with the parsed `error`. A cell over its timeout is interrupted and `SandboxTimeoutError` thrown;
   * the kernel keeps its state. If the kernel has died, `KernelDiedError` until `restart()`.
   */
  override async run(code: string, options: RunOptions = {}): Promise<ExecutionResult> {
    requireCode(code);
    const libraries = validateLibraries(options.libraries ?? []);
    this.enforcePolicy(code, libraries);
    return this.exclusive(async (container) => {
      await this.installLocked(container, libraries, options.signal);
      return this.#runCell(container, code, options);
    });
  }

  /** Replaces the kernel with a fresh one: all state is lost, installed libraries stay. */
  async restart(): Promise<void> {
    await this.exclusive(async (container) => {
      await this.#kernel?.stop();
      this.#kernel = undefined;
      await this.#startKernel(container);
    });
  }

  override async close(): Promise<void> {
    const kernel = this.#kernel;
    this.#kernel = undefined;
    await super.close();
    // A container we only attached to stays: the kernel must not.
    if (kernel && this.options.containerId) await kernel.stop();
  }

  protected override async afterOpen(container: OpenContainer): Promise<void> {
    await this.#startKernel(container);
  }

  async #startKernel(container: OpenContainer): Promise<void> {
    const { workdir, defaultTimeout, maxOutputBytes } = this.options;
    const dir = `/tmp/.llm-sandbox-kernel-${newId()}`;
    const config = {
      dir,
      workdir,
      historySize: this.interactiveSettings.historySize,
      maxValueChars: maxOutputBytes,
      maxDisplayBytes: Math.min(MAX_FRAME_BYTES, Math.ceil(maxOutputBytes * 1.4) + 4096),
      ...(this.#spec.kernelType === "ipython" ? { venv: pythonVenv(workdir) } : {}),
    };
    try {
      this.#kernel = await Kernel.start({
        backend: this.backend,
        containerId: container.id,
        user: container.user,
        workdir,
        argv: this.#spec.argv(config),
        source: await kernelSource(this.#spec),
        dir,
        detach: this.closingSignal,
        startTimeout: defaultTimeout,
        maxFrameBytes: MAX_FRAME_BYTES,
        idleOutputBytes: maxOutputBytes,
        logger: this.logger,
      });
    } catch (error) {
      if (error instanceof KernelGone) throw this.#died(error.exit, "could not start");
      throw error;
    }
    this.logger.info(`${this.#spec.kernelType} kernel ${this.#kernel.info.version} ready (pid ${this.#kernel.info.pid})`);
  }

  async #runCell(container: OpenContainer, code: string, options: RunOptions): Promise<ExecutionResult> {
    const kernel = this.#kernel;
    if (!kernel) throw this.#died({ exitCode: undefined, reason: "it was not started", diagnostics: "" }, "is not running");
    if (kernel.exit) throw this.#died(kernel.exit, "died earlier");
    if (options.signal?.aborted) throw new SandboxAbortError();

    const cell = ++this.#cells;
    const timeout = options.timeout ?? this.interactiveSettings.timeout;
    const started = performance.now();
    const { maxOutputBytes, encodingErrors } = this.options;
    const capture = new OutputCapture({
      maxOutputBytes,
      encodingErrors,
      ...(options.onStdout ? { onStdout: options.onStdout } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
    });
    const plots = new PlotCollector(maxOutputBytes);

    let interrupted: "timeout" | "abort" | undefined;
    let interrupting: Promise<void> | undefined;
    let escalated = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const interrupt = (reason: "timeout" | "abort") => {
      if (interrupted) return;
      interrupted = reason;
      interrupting = kernel.interrupt(cell);
      // A cell that ignores the interrupt (blocked in native code, catching KeyboardInterrupt) costs the kernel.
      graceTimer = setTimeout(() => {
        escalated = true;
        void kernel.stop();
      }, INTERRUPT_GRACE_SECONDS * 1000);
    };
    const timer = startTimer(timeout, "timeout", () => interrupt("timeout"));
    const onAbort = () => interrupt("abort");
    options.signal?.addEventListener("abort", onAbort, { once: true });

    let result;
    try {
      result = await kernel.execute(cell, code, {
        stdout: (chunk) => capture.stdout(chunk),
        stderr: (chunk) => capture.stderr(chunk),
        display: (frame) => plots.add(frame),
      });
    } catch (error) {
      if (!(error instanceof KernelGone)) throw error;
      if (this.closingSignal.aborted) throw this.closedError();
      if (!escalated) throw this.#died(error.exit, "died while running this cell", capture.partial());
    } finally {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      options.signal?.removeEventListener("abort", onAbort);
      // The interrupt must land (or miss, harmlessly) before the next cell can start.
      await interrupting;
    }
    if (escalated) {
      await kernel.stop(); // it may have answered just as it was being stopped
      await this.#startKernel(container);
    }

    if (interrupted) {
      const note = escalated
        ? `it did not stop within ${INTERRUPT_GRACE_SECONDS} s of the interrupt, so the kernel was restarted and its state is lost`
        : "it was interrupted; the kernel keeps its state";
      if (interrupted === "abort") throw new SandboxAbortError(capture.partial(), { cause: options.signal?.reason });
      throw new SandboxTimeoutError(`Cell timed out after ${timeout} seconds; ${note}`, timeout, capture.partial());
    }
    const { output } = capture.finish(result!.status === "ok" ? 0 : 1, Math.round(performance.now() - started));
    return ExecutionResult.from(output, {
      ...plots.result(),
      ...(result!.error ? { error: result!.error } : {}),
      ...(result!.value !== null ? { value: result!.value } : {}),
    });
  }

  #died(exit: KernelExit, what: string, partialOutput?: PartialOutput): KernelDiedError {
    const memory = this.options.runtimeConfigs.memory;
    const cause =
      exit.exitCode === 137
        ? ` (killed by SIGKILL, most likely out of memory${memory === false ? "" : `: the sandbox's limit is ${memory}`})`
        : exit.exitCode !== undefined
          ? ` (exit code ${exit.exitCode})`
          : "";
    const details = [exit.reason, exit.diagnostics.split("\n").slice(-10).join("\n")].filter(Boolean).join("\n");
    return new KernelDiedError(
      `The ${this.#spec.kernelType} kernel ${what}${cause}${details ? `: ${details}` : ""}. Its state is lost; call restart() for a fresh kernel.`,
      exit.exitCode,
      partialOutput,
    );
  }
}

/** Images a cell displayed, as plots (format, base64 content, size and resolution from the image itself). */
class PlotCollector {
  readonly #maxBytes: number;
  readonly #plots: PlotOutput[] = [];
  readonly #errors: string[] = [];
  #truncated = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
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
      if (this.#plots.length >= MAX_PLOTS_PER_CELL || bytes.length > this.#maxBytes) {
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
