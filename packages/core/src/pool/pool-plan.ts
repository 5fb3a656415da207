import type { BackendAdapter, ContainerSpec } from "../backends/backend.js";
import { sandboxImage, secureContainerSpec } from "../session/container-spec.js";
import { LABELS } from "../internal/labels.js";
import type { Logger } from "../internal/logger.js";
import type { LanguageHandler } from "../languages/handler.js";
import type { ParsedSessionOptions } from "../session/options.js";

/** What every container of the pool is reset to: the files of its in-memory mounts right after set-up. */
export interface Baseline {
  /** Mount points relative to /. */
  readonly mounts: readonly string[];
  readonly archive?: Buffer;
  readonly fingerprint: string;
}

/**
 * What a pool's containers share: their options, backend and language, the image (made available once), the spec,
 * the baseline (taken of the first container), and what the pool learnt about the host on the way.
 */
export class PoolPlan {
  /** Set when a warm interpreter declined to run on this host: the pool goes on without them. */
  warmDeclined = false;
  #image: Promise<{ image: string; built?: string }> | undefined;
  #spec: Promise<ContainerSpec> | undefined;
  #baseline: Promise<Baseline> | undefined;
  #singleUseReported = false;

  constructor(
    readonly poolId: string,
    readonly options: ParsedSessionOptions,
    readonly backend: BackendAdapter,
    readonly language: LanguageHandler,
    readonly logger: Logger,
    /** Modules the warm interpreters import; undefined when containers have none. */
    readonly warmModules: readonly string[] | undefined,
    /** Aborted when the pool closes. */
    readonly closing: AbortSignal,
  ) {}

  /** The spec of every container; the image is made available once (a failure is tried again by the next). */
  spec(): Promise<ContainerSpec> {
    const spec = (this.#spec ??= (async () => {
      const image = (this.#image ??= sandboxImage(this.options, this.backend, this.language, this.logger));
      image.catch(() => this.#image === image && (this.#image = undefined));
      const base = secureContainerSpec(this.options, this.backend, this.language, (await image).image, this.poolId);
      return { ...base, labels: { ...base.labels, [LABELS.pool]: this.poolId } };
    })());
    spec.catch(() => this.#spec === spec && (this.#spec = undefined));
    return spec;
  }

  /** The baseline every reset restores; the first container to ask takes it (a failed one is taken again). */
  baseline(take?: () => Promise<Baseline>): Promise<Baseline> | undefined {
    if (!this.#baseline && take) {
      const baseline = (this.#baseline = take());
      baseline.catch(() => this.#baseline === baseline && (this.#baseline = undefined));
    }
    return this.#baseline;
  }

  /** Containers are used once and replaced (see `PooledContainer.build`): said once per pool. */
  reportSingleUse(): void {
    if (this.#singleUseReported) return;
    this.#singleUseReported = true;
    this.logger.warn(
      `pool ${this.poolId}: containers are used once and replaced, not reset: on ${this.backend.kind} a reset runs as ` +
        "the session's own user, and this node lets a process trace others of its user (kernel.yama.ptrace_scope 0), " +
        "so what a session left running could stop the reset. Nodes with ptrace_scope >= 1, or Python's warm " +
        "interpreter, allow reuse.",
    );
  }

  /** Removes the image built from the pool's Dockerfile, unless it is to be kept. */
  async removeBuiltImage(): Promise<void> {
    const image = await this.#image?.catch(() => undefined);
    if (image?.built && !this.options.keepTemplate) await this.backend.removeImage?.(image.built);
  }
}
