import { backendSessions } from "./backend-sessions.js";
import type { SessionOptions } from "./options.js";
import { SandboxSession } from "./session.js";

/**
 * A session for `options.backend` (default Docker), as that backend's class (SandboxPodmanSession, …). Nothing
 * starts until `open()`.
 */
export function createSession(options: SessionOptions = {}): SandboxSession {
  const { backend, ...rest } = options;
  // A pooled session runs on its pool's backend.
  const name = backend ?? options.pool?.sessionDefaults?.backend ?? "docker";
  const Session = backendSessions[name.toLowerCase() as keyof typeof backendSessions];
  // An unknown backend is reported by the options schema, with every other problem.
  return Session ? new Session(rest) : new SandboxSession(options);
}
