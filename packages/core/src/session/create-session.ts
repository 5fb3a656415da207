import type { SessionOptions } from "./options.js";
import { SandboxSession } from "./session.js";

/** A session for `options.backend` (default Docker). Nothing starts until `open()`. */
export function createSession(options: SessionOptions = {}): SandboxSession {
  return new SandboxSession(options);
}
