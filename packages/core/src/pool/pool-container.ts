import type { ContainerSpec } from "../backends/backend.js";
import { SandboxContainer } from "../container/sandbox-container.js";
import type { ContainerLease } from "../container/source.js";
import { ContainerError } from "../errors.js";
import { newId } from "../internal/ids.js";
import { egressPolicyOf } from "../session/container-spec.js";
import type { ProcessOutput, ProcessRequest } from "../container/process.js";
import type { ResolvedPoolConfig } from "./config.js";
import type { Baseline, PoolPlan } from "./pool-plan.js";
import { KILL_SCRIPT, killStepUser, RESTORE_SCRIPT, SNAPSHOT_SCRIPT } from "./reset.js";
import { startWarmRunner } from "./warm.js";
import type { WarmRunner } from "./warm-runner.js";

/** What a pooled container is doing. */
export type PooledContainerState = "creating" | "idle" | "busy" | "checking" | "resetting" | "removing";

/** Seconds a reset step (or a health probe) may take before the container counts as broken. */
const RESET_TIMEOUT = 30;
const PROBE_TIMEOUT_MS = 10_000;
/** The baseline is kept in memory for the pool's life. */
const MAX_BASELINE_BYTES = 256 * 1024 * 1024;

/**
 * One container of a pool, on top of the shared container lifecycle (`SandboxContainer`): its place in the pool
 * (state, uses, age), its warm interpreter, and the reset that puts it back to the pool's baseline.
 */
export class PooledContainer {
  readonly key = newId(4);
  readonly createdAt = Date.now();
  state: PooledContainerState = "creating";
  idleSince = 0;
  uses = 0;
  container: SandboxContainer | undefined;
  warm: WarmRunner | undefined;
  /** Used once and replaced: no reset could kill its processes untraceably (see `build`). */
  singleUse = false;
  lease: ContainerLease | undefined;
  /** Held back while the engine is away (idle, or its removal failed); the pool carries on when it is back. */
  awaitingEngine = false;
  readonly stop = new AbortController();
  readonly #plan: PoolPlan;

  constructor(
    plan: PoolPlan,
    readonly temporary: boolean,
  ) {
    this.#plan = plan;
  }

  /** Due for replacement: too old, used up, its warm interpreter ended, single use, or the container is gone. */
  expired(config: ResolvedPoolConfig): boolean {
    const { maxContainerLifetime, maxContainerUses } = config;
    return (
      (maxContainerLifetime !== null && Date.now() - this.createdAt >= maxContainerLifetime * 1000) ||
      (maxContainerUses != null && this.uses >= maxContainerUses) ||
      (this.warm !== undefined && !this.warm.alive) ||
      (this.singleUse && this.uses > 0) ||
      this.container?.gone !== undefined
    );
  }

  /** An idle container while the engine is away: not lent until the engine is back and a probe says it runs. */
  holdForEngine(): void {
    this.state = "checking";
    this.awaitingEngine = true;
  }

  /** Creates and prepares the container, takes the baseline (first container) and starts its warm interpreter. */
  async build(): Promise<void> {
    const plan = this.#plan;
    const { options, backend, language, logger } = plan;
    const spec = await plan.spec();
    const container = (this.container = await SandboxContainer.create({ backend, language, logger, spec, egressPolicy: egressPolicyOf(options) }));
    if (plan.closing.aborted) return;
    await container.prepare(options, options.libraries, plan.closing);
    if (this.temporary) return;
    // The first container's files are the baseline, taken before anything else runs in it; the others need it
    // only for their first reset, so their warm interpreters start meanwhile.
    await plan.baseline(() => this.#snapshot(spec));
    // The warm interpreter starts before anyone uses the container: a session's processes must never be able to
    // touch it while it imports (it reads files under HOME=/tmp, e.g. matplotlib's configuration).
    if (plan.warmModules && !plan.warmDeclined && !plan.closing.aborted) {
      const warm = await startWarmRunner({
        language: language.name,
        modules: plan.warmModules,
        backend: container.backend,
        containerId: container.id,
        user: spec.user,
        workdir: spec.workdir,
        detach: AbortSignal.any([plan.closing, this.stop.signal]),
        startTimeout: options.defaultTimeout,
        logger,
      });
      if (!warm) plan.warmDeclined = true;
      else {
        this.warm = warm;
        container.launcher = warm;
      }
    }
    // Where every exec runs as the session's user and gid (Kubernetes), a reset's kill step is as traceable by the
    // session's processes as they are by it — unless a warm interpreter kills them from a process none can trace,
    // or the node's kernel forbids tracing non-descendants (Yama; probed per container, as pods land on any node).
    if (container.backend.fixedExecUser && !this.warm?.clear && (await this.#sameUserTracing())) {
      this.singleUse = true;
      plan.reportSingleUse();
    }
  }

  /**
   * Puts a used container back to the baseline; throws if anything is off. First every process the session left is
   * killed — by the warm interpreter if it can do so untraceably, else by an exec no leftover can trace (reset.ts) —
   * then the files are restored and the warm interpreter made ready for the next session.
   */
  async reset(): Promise<void> {
    const container = this.container!;
    const warm = this.warm;
    if (warm && !(await warm.settle(PROBE_TIMEOUT_MS))) throw new ContainerError("an operation of the warm interpreter does not end");
    const killed = warm?.clear
      ? await warm.clear(PROBE_TIMEOUT_MS)
      : await this.#exec({ argv: ["/bin/sh", "-c", KILL_SCRIPT, "kill"], user: killStepUser(container.user ?? "1000:1000"), description: "pool reset (processes)" }).then(
          ({ output }) =>
            output.exitCode === 0 || Promise.reject(new ContainerError(`its kill step failed (exit code ${output.exitCode}): ${output.stderr.trim()}`)),
        );
    if (!killed) throw new ContainerError("processes of the session survive");
    // What the session allowed (setNetworkPolicy) is not the next one's: the pool's own policy again.
    const policy = egressPolicyOf(this.#plan.options);
    if (container.egress && policy) container.egress.proxy.setPolicy(policy);
    const { mounts, archive, fingerprint } = await (this.#plan.baseline() ?? Promise.reject(new ContainerError("the pool has no baseline to reset to")));
    // A session's install may have left the install network attached; the restore and the disconnect run together.
    const disconnected = container.network.mode === "install-only" ? container.backend.setInstallNetwork?.(container.id, false) : undefined;
    // Through the warm interpreter when it can (no engine exec), else as a plain exec.
    const restore = this.#exec(
      { argv: ["/bin/sh", "-c", RESTORE_SCRIPT, "restore", fingerprint, ...mounts], ...(archive ? { stdin: archive } : {}), description: "pool reset (files)" },
      { launcher: true },
    );
    const [{ output }] = await Promise.all([restore, disconnected]);
    if (output.exitCode !== 0) throw new ContainerError(`reset failed (exit code ${output.exitCode}): ${output.stderr.trim()}`);
    container.resetInstalled();
    if (warm && !(await warm.prepare(PROBE_TIMEOUT_MS, { fresh: true }))) throw new ContainerError("its warm interpreter is not ready");
  }

  /** Whether an idle container still answers (its warm interpreter, or an exec). */
  async probe(): Promise<boolean> {
    if (this.warm) return this.warm.prepare(PROBE_TIMEOUT_MS, { fresh: false });
    try {
      const { output } = await this.#exec({ argv: ["true"], description: "pool health check" });
      return output.exitCode === 0;
    } catch {
      return false;
    }
  }

  /** Removes the container (if it got that far); idempotent. */
  async remove(): Promise<void> {
    this.lease = undefined;
    this.stop.abort();
    await this.container?.remove();
  }

  /** Whether a process here may trace any other of its user: no Yama restriction (kernel.yama.ptrace_scope 0 or absent). */
  async #sameUserTracing(): Promise<boolean> {
    const { output } = await this.#exec({
      argv: ["/bin/sh", "-c", "cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0"],
      description: "pool tracing probe",
    });
    return !(Number(output.stdout.trim()) >= 1);
  }

  /** The baseline every reset restores: the in-memory mounts as they are right after creation and set-up. */
  async #snapshot(spec: ContainerSpec): Promise<Baseline> {
    const mounts = Object.keys(spec.tmpfs).map((path) => path.replace(/^\/+/, ""));
    if (!mounts.length) return { mounts, fingerprint: "-" };
    const { output, stdoutBytes } = await this.#exec({
      argv: ["/bin/sh", "-c", SNAPSHOT_SCRIPT, "snapshot", ...mounts],
      rawStdout: true,
      maxOutputBytes: MAX_BASELINE_BYTES,
      description: "pool baseline snapshot",
    });
    const fingerprint = output.stderr.trimEnd().split("\n").at(-1) ?? "";
    if (output.exitCode !== 0 || !fingerprint) throw new ContainerError(`Cannot take the pool's baseline of ${mounts.join(", ")}: ${output.stderr.trim()}`);
    if (output.stdoutTruncated) throw new ContainerError(`The pool's baseline (${mounts.join(", ")}) exceeds ${MAX_BASELINE_BYTES} bytes`);
    return { mounts, archive: stdoutBytes!, fingerprint };
  }

  /** The pool's own steps: short, small output, from /, stopped waiting for when the pool closes. */
  #exec(request: Omit<ProcessRequest, "timeout" | "maxOutputBytes" | "encodingErrors"> & { maxOutputBytes?: number }, options: { launcher?: boolean } = {}): Promise<ProcessOutput> {
    return this.container!.exec({ timeout: RESET_TIMEOUT, maxOutputBytes: 64 * 1024, encodingErrors: "replace", workdir: "/", detach: this.#plan.closing, ...request }, options);
  }
}
