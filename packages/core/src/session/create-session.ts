import { backendSessions } from "./backend-sessions.js";
import type { SessionOptions } from "./options.js";
import { SandboxSession } from "./session.js";

/**
 * A session for `options.backend` (default Docker), as that backend's class (SandboxPodmanSession, …). Nothing
 * starts until `open()`.
 */
export function createSession(options: SessionOptions = {}): SandboxSession {
  // Untyped callers may pass anything: the options schema reports what is not an object or not a backend's name.
  if (typeof options !== "object" || options === null) return new SandboxSession(options);
  const { backend, ...rest } = options;
  // A pooled session runs on its pool's backend.
  const name: unknown = backend ?? options.pool?.sessionDefaults?.backend ?? "docker";
  const key = typeof name === "string" ? name.toLowerCase() : "";
  // Own keys only: "constructor" or "__proto__" would otherwise find Object's members.
  return Object.hasOwn(backendSessions, key) ? new backendSessions[key as keyof typeof backendSessions](rest) : new SandboxSession(options);
}
