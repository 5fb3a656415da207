import { setTimeout as sleep } from "node:timers/promises";
import type { BackendAdapter } from "../backends/backend.js";
import { EngineUnavailableError } from "../errors.js";
import type { Logger } from "../internal/logger.js";

/** Pause between attempts to follow an engine that went away. */
const RETRY_MS = 500;

/** What a pool does about what the engine tells. */
export interface EngineFollower {
  /** A container of the pool stopped (killed, removed, its first process ended). */
  stopped(id: string): void;
  /** The engine went away (stopped, restarting): the containers may be stopping with it. */
  lost(): void;
  /** It answers again after `lost`. */
  back(): void;
}

/**
 * Follows the engine for a pool, where the backend can (`watchContainers`): stops of containers labelled `label`,
 * and the engine going away and coming back. Resolves when `signal` fires, or when the engine answers but cannot be
 * followed (the pool then relies on its health checks alone).
 */
export async function followEngine(backend: BackendAdapter, label: string, follower: EngineFollower, logger: Logger, signal: AbortSignal): Promise<void> {
  if (!backend.watchContainers) return;
  let lost = false;
  while (!signal.aborted) {
    try {
      const { closed } = await backend.watchContainers(label, (id) => follower.stopped(id), signal);
      if (lost) follower.back();
      lost = false;
      await closed;
    } catch (error) {
      if (!EngineUnavailableError.isInstance(error)) {
        logger.warn(`cannot follow the engine's events: ${(error as Error).message}`);
        if (lost) follower.back();
        return;
      }
    }
    if (signal.aborted) return;
    if (!lost) follower.lost();
    lost = true;
    await sleep(RETRY_MS, undefined, { signal, ref: false }).catch(() => {});
  }
}
