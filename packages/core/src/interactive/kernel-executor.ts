import type { SandboxContainer } from "../container/sandbox-container.js";
import type { EncodingErrors } from "../enums.js";
import { type ContainerError, KernelDiedError, type NotOpenSessionError, type PartialOutput, SandboxAbortError, SandboxTimeoutError } from "../errors.js";
import { newId } from "../internal/ids.js";
import type { Logger } from "../internal/logger.js";
import { startTimer } from "../internal/timers.js";
import { pythonVenv } from "../languages/python.js";
import { ExecutionResult } from "../result.js";
import type { Executor, ProgramRequest } from "../session/executor.js";
import { OutputCapture } from "../container/process.js";
import type { SessionLimits } from "../session/types.js";
import { Kernel, KernelGone, type KernelExit } from "./kernel.js";
import { type KernelSpec, kernelSource } from "./kernels.js";
import { PlotCollector } from "./plot-collector.js";

/** Seconds a cell may take to stop after its interrupt before the kernel is restarted (its state is then lost). */
const INTERRUPT_GRACE_SECONDS = 3;
/** Frames carry base64 images at most this large (plus JSON); the kernel replaces bigger ones by a note. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** What the kernel executor takes from its interactive session. */
export interface KernelSession {
  readonly spec: KernelSpec;
  readonly workdir: string;
  readonly historySize: number;
  readonly limits: SessionLimits;
  readonly encodingErrors: EncodingErrors;
  /** The memory limit as the user wrote it, for the out-of-memory report. */
  readonly memory: string | number | false | undefined;
  readonly logger: Logger;
  /** Aborted when the session closes. */
  readonly closing: AbortSignal;
  closedError(): NotOpenSessionError;
}

/**
 * The executor of an interactive session: each run is a cell of a kernel that lives in the sandbox and keeps its
 * state between runs. A cell over its timeout (or aborted) is interrupted and the kernel keeps its state; one that
 * ignores the interrupt costs the kernel (restarted, state lost); a dead kernel fails every cell until `restart()`.
 */
export class KernelExecutor implements Executor {
  readonly #session: KernelSession;
  #kernel: Kernel | undefined;
  /** Cell numbers never repeat within a session, across restarts: an interrupt reaches only its own cell. */
  #cells = 0;

  constructor(session: KernelSession) {
    this.#session = session;
  }

  /** The running kernel's process id and version. */
  get info(): { readonly pid: number; readonly language: string; readonly version: string } | undefined {
    return this.#kernel?.exit ? undefined : this.#kernel?.info;
  }

  async start(container: SandboxContainer): Promise<void> {
    const { spec, workdir, historySize, limits, logger, closing } = this.#session;
    const dir = `/tmp/.llm-sandbox-kernel-${newId()}`;
    const config = {
      dir,
      workdir,
      historySize,
      maxValueChars: limits.maxOutputBytes,
      maxDisplayBytes: Math.min(MAX_FRAME_BYTES, Math.ceil(limits.maxPlotBytes * 1.4) + 4096),
      ...(spec.kernelType === "ipython" ? { venv: pythonVenv(workdir) } : {}),
    };
    try {
      this.#kernel = await Kernel.start({
        backend: container.backend,
        containerId: container.id,
        user: container.user,
        workdir,
        argv: spec.argv(config),
        source: await kernelSource(spec),
        dir,
        detach: closing,
        startTimeout: limits.defaultTimeout,
        maxFrameBytes: MAX_FRAME_BYTES,
        idleOutputBytes: limits.maxOutputBytes,
        logger,
      });
    } catch (error) {
      if (error instanceof KernelGone) throw await this.#died(container, error.exit, "could not start");
      throw error;
    }
    logger.info(`${spec.kernelType} kernel ${this.#kernel.info.version} ready (pid ${this.#kernel.info.pid})`);
  }

  /** Ends the kernel (idempotent); `start()` makes a new one. */
  async stop(): Promise<void> {
    await this.forget()?.stop();
  }

  /** Lets go of the kernel without stopping it (its container is going away), and returns it. */
  forget(): Kernel | undefined {
    const kernel = this.#kernel;
    this.#kernel = undefined;
    return kernel;
  }

  async execute(container: SandboxContainer, request: ProgramRequest): Promise<ExecutionResult> {
    const kernel = this.#kernel;
    if (!kernel) throw await this.#died(container, { exitCode: undefined, reason: "it was not started", diagnostics: "" }, "is not running");
    if (kernel.exit) throw await this.#died(container, kernel.exit, "died earlier");
    if (request.signal?.aborted) throw new SandboxAbortError();

    const cell = ++this.#cells;
    const { timeout, signal } = request;
    const started = performance.now();
    const capture = new OutputCapture({
      maxOutputBytes: this.#session.limits.maxOutputBytes,
      encodingErrors: this.#session.encodingErrors,
      ...(request.onStdout ? { onStdout: request.onStdout } : {}),
      ...(request.onStderr ? { onStderr: request.onStderr } : {}),
    });
    const plots = new PlotCollector(this.#session.limits);

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
    signal?.addEventListener("abort", onAbort, { once: true });

    let result;
    try {
      result = await kernel.execute(cell, request.code, {
        stdout: (chunk) => capture.stdout(chunk),
        stderr: (chunk) => capture.stderr(chunk),
        display: (frame) => plots.add(frame),
      });
    } catch (error) {
      if (!(error instanceof KernelGone)) throw error;
      if (this.#session.closing.aborted) throw this.#session.closedError();
      if (!escalated) throw await this.#died(container, error.exit, "died while running this cell", capture.partial());
    } finally {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal?.removeEventListener("abort", onAbort);
      // The interrupt must land (or miss, harmlessly) before the next cell can start.
      await interrupting;
    }
    if (escalated) {
      await kernel.stop(); // it may have answered just as it was being stopped
      await this.start(container);
    }

    if (interrupted) {
      const note = escalated
        ? `it did not stop within ${INTERRUPT_GRACE_SECONDS} s of the interrupt, so the kernel was restarted and its state is lost`
        : "it was interrupted; the kernel keeps its state";
      if (interrupted === "abort") throw new SandboxAbortError(capture.partial(), { cause: signal?.reason });
      throw new SandboxTimeoutError(`Cell timed out after ${timeout} seconds; ${note}`, timeout, capture.partial());
    }
    const { output } = capture.finish(result!.status === "ok" ? 0 : 1, Math.round(performance.now() - started));
    return ExecutionResult.from(output, {
      ...plots.result(),
      ...(result!.error ? { error: result!.error } : {}),
      ...(result!.value !== null ? { value: result!.value } : {}),
    });
  }

  /**
   * The kernel's death as an error, with the session's out-of-memory diagnosis when it was killed; the container's
   * `ContainerError` when the kernel died with it (removed or stopped from outside).
   */
  async #died(container: SandboxContainer, exit: KernelExit, what: string, partialOutput?: PartialOutput): Promise<KernelDiedError | ContainerError> {
    const gone = await container.confirmGone();
    if (gone) return gone;
    const { memory, limits, closing } = this.#session;
    const outOfMemory = await container.outOfMemory(exit.exitCode, limits.memoryBytes, closing);
    const cause = outOfMemory
      ? ` (killed by SIGKILL: out of memory: the sandbox's limit is ${memory})`
      : exit.exitCode !== undefined
        ? ` (exit code ${exit.exitCode})`
        : "";
    const details = [exit.reason, exit.diagnostics.split("\n").slice(-10).join("\n")].filter(Boolean).join("\n");
    return new KernelDiedError(
      `The ${this.#session.spec.kernelType} kernel ${what}${cause}${details ? `: ${details}` : ""}. Its state is lost; call restart() for a fresh kernel.`,
      exit.exitCode,
      partialOutput,
    );
  }
}
