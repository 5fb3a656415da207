import type { SandboxContainer } from "./sandbox-container.js";

/**
 * Where a session gets its container when it does not create one itself: a pool (`createPoolManager`). The session
 * borrows a ready container on `open()` and gives it back on `close()`; everything in between is the normal session.
 */
export interface ContainerSource {
  /** The language (handler name) every container of the source runs. */
  readonly language: string;
  /** Session options every session on this source starts from (validated by the source); `backend` names its engine. */
  readonly sessionDefaults: Readonly<{ readonly backend?: string }>;
  /** Borrows a container: waits, fails or makes one according to the source's rules. */
  acquire(options?: { signal?: AbortSignal }): Promise<ContainerLease>;
}

export interface ContainerLease {
  /** Prepared already (CA certificates, language set-up, the source's libraries). */
  readonly container: SandboxContainer;
  /** Gives the container back (the source then resets or removes it). Idempotent; never throws. */
  release(): void;
}

export function isContainerSource(value: unknown): value is ContainerSource {
  const source = value as Partial<ContainerSource> | null;
  return (
    typeof source === "object" &&
    source !== null &&
    typeof source.acquire === "function" &&
    typeof source.language === "string" &&
    typeof source.sessionDefaults === "object" &&
    source.sessionDefaults !== null
  );
}
