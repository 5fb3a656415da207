import { ValidationError } from "../errors.js";
import { getLanguageHandler } from "../languages/registry.js";
import type { SessionOptions } from "./options.js";
import type { OpenContainer } from "./session.js";

/**
 * Where a session gets its container when it does not create one itself: a pool (`createPoolManager`). The session
 * borrows a ready container on `open()` and gives it back on `close()`; everything in between is the normal session.
 */
export interface ContainerSource {
  /** The language (handler name) every container of the source runs. */
  readonly language: string;
  /** Options of every session on this source; those in CONTAINER_OPTIONS can only come from here. */
  readonly sessionDefaults: Readonly<SessionOptions>;
  /** Borrows a container: waits, fails or makes one according to the source's rules. */
  acquire(options?: { signal?: AbortSignal }): Promise<ContainerLease>;
}

export interface ContainerLease {
  readonly container: OpenContainer;
  /** Gives the container back (the source then resets or removes it). Idempotent; never throws. */
  release(): void;
}

/** Options that describe the container rather than the session: a pooled session takes them from its pool. */
const CONTAINER_OPTIONS = [
  "client",
  "image",
  "dockerfile",
  "containerId",
  "workdir",
  "runtimeConfigs",
  "extraCaCerts",
  "skipEnvironmentSetup",
  "keepTemplate",
  "commitContainer",
  "labels",
] as const satisfies ReadonlyArray<keyof SessionOptions>;

export function isContainerSource(value: unknown): value is ContainerSource {
  const source = value as Partial<ContainerSource> | null;
  return typeof source === "object" && source !== null && typeof source.acquire === "function" && typeof source.language === "string";
}

/**
 * A pooled session's options: the pool's, with the session's own on top. Container options and another language
 * are refused rather than silently ignored (the container already exists).
 */
export function sourcedOptions(options: SessionOptions): SessionOptions {
  if (options.pool === undefined) return options;
  const source = options.pool;
  if (!isContainerSource(source)) throw new ValidationError("Invalid session options:\n✖ pool: expected a pool made by createPoolManager()");
  const conflicts: string[] = CONTAINER_OPTIONS.filter((key) => options[key] !== undefined);
  if (options.lang !== undefined && getLanguageHandler(options.lang).name !== source.language) conflicts.unshift(`lang (${options.lang})`);
  // The same backend may be named again (a backend's session class names its own); another one may not.
  const poolBackend = source.sessionDefaults.backend ?? "docker";
  if (options.backend !== undefined && options.backend.toLowerCase() !== poolBackend) conflicts.unshift(`backend (${options.backend})`);
  if (conflicts.length) {
    throw new ValidationError(
      `Invalid session options:\n✖ ${conflicts.join(", ")}: a pooled session takes these from its pool (a ${source.language} pool); set them on the pool`,
    );
  }
  return { ...source.sessionDefaults, ...options };
}
