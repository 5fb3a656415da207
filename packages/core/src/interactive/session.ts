import type { SandboxContainer } from "../container/sandbox-container.js";
import { LanguageNotSupportedError, ValidationError } from "../errors.js";
import { parseOptions, type SessionOptions } from "../session/options.js";
import { SandboxSession } from "../session/session.js";
import { KernelExecutor } from "./kernel-executor.js";
import { interactiveLanguages, kernelFor } from "./kernels.js";
import { type InteractiveSettings, interactiveSettingsSchema, type ResolvedInteractiveSettings } from "./settings.js";

export interface InteractiveSessionOptions extends SessionOptions {
  interactiveSettings?: InteractiveSettings;
}

/**
 * A session whose state lives on between `run()` calls: a kernel (IPython for Python, a Node.js kernel for
 * JavaScript and TypeScript) runs inside the sandbox, driven over one long-lived exec stream. Each cell costs a
 * round trip on that stream, not an exec. Everything else — the run pipeline up to its executor (validation, policy,
 * queue, installs, limits), `executeCommand`, file copies, secure defaults, clean-up — is the plain session's.
 */
export class InteractiveSandboxSession extends SandboxSession {
  readonly interactiveSettings: ResolvedInteractiveSettings;
  readonly #kernel: KernelExecutor;

  constructor(options: InteractiveSessionOptions = {}) {
    const { interactiveSettings, ...sessionOptions } = options ?? {};
    const settings = parseOptions(interactiveSettingsSchema, interactiveSettings ?? {}, "interactive settings");
    const configs = sessionOptions.runtimeConfigs;
    super({
      ...sessionOptions,
      // The settings' cell timeout is the session's execution limit: one limit, enforced and reported alike.
      ...(settings.timeout !== undefined ? { executionTimeout: settings.timeout } : {}),
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
    this.interactiveSettings = {
      kernelType: spec.kernelType,
      maxMemory: settings.maxMemory,
      historySize: settings.historySize,
      timeout: this.limits.executionTimeout,
      pollInterval: settings.pollInterval,
    };
    this.#kernel = new KernelExecutor({
      spec,
      workdir: this.options.workdir,
      historySize: settings.historySize,
      limits: this.limits,
      encodingErrors: this.options.encodingErrors,
      memory: this.options.runtimeConfigs.memory,
      logger: this.logger,
      closing: this.closingSignal,
      closedError: () => this.closedError(),
    });
  }

  /** The running kernel's process id and version, once open. */
  get kernelInfo(): { readonly pid: number; readonly language: string; readonly version: string } | undefined {
    return this.#kernel.info;
  }

  /** Replaces the kernel with a fresh one: all state is lost, installed libraries stay. */
  async restart(): Promise<void> {
    await this.exclusive(async (container) => {
      await this.#kernel.stop();
      await this.#kernel.start(container);
    });
  }

  override async close(): Promise<void> {
    const kernel = this.#kernel.forget();
    await super.close();
    // A container we only attached to stays: the kernel must not. Others take their kernel with them.
    if (this.options.containerId !== undefined) await kernel?.stop();
  }

  /** Runs are cells of the kernel (see `KernelExecutor`). */
  protected override get executor(): KernelExecutor {
    return this.#kernel;
  }

  protected override async afterOpen(container: SandboxContainer): Promise<void> {
    await this.#kernel.start(container);
  }
}
