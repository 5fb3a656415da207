import { ValidationError } from "../errors.js";
import { getLanguageHandler } from "../languages/registry.js";
import { isContainerSource } from "../container/source.js";
import type { SessionOptions } from "./options.js";

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

/**
 * A pooled session's options: the pool's, with the session's own on top. Container options and another language
 * are refused rather than silently ignored (the container already exists).
 */
export function sourcedOptions(options: SessionOptions): SessionOptions {
  if (options.pool === undefined) return options;
  const source = options.pool;
  if (!isContainerSource(source)) throw new ValidationError("Invalid session options:\n✖ pool: expected a pool made by createPoolManager()");
  const conflicts: string[] = CONTAINER_OPTIONS.filter((key) => options[key] !== undefined);
  // Untyped callers may pass a language or backend that is not a string: that names another one, not a TypeError.
  const { lang, backend } = options as { lang?: unknown; backend?: unknown };
  if (lang !== undefined && (typeof lang !== "string" || getLanguageHandler(lang).name !== source.language)) {
    conflicts.unshift(`lang (${typeof lang === "string" ? lang : typeof lang})`);
  }
  // The same backend may be named again (a backend's session class names its own); another one may not.
  const poolBackend = source.sessionDefaults.backend ?? "docker";
  if (backend !== undefined && (typeof backend !== "string" || backend.toLowerCase() !== poolBackend)) {
    conflicts.unshift(`backend (${typeof backend === "string" ? backend : typeof backend})`);
  }
  if (conflicts.length) {
    throw new ValidationError(
      `Invalid session options:\n✖ ${conflicts.join(", ")}: a pooled session takes these from its pool (a ${source.language} pool); set them on the pool`,
    );
  }
  return { ...(source.sessionDefaults as SessionOptions), ...options };
}
