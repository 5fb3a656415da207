import { randomUUID } from "node:crypto";
import { type SandboxSession, ToolCallError } from "@llm-sandbox/core";
import { checkTimerSeconds } from "@llm-sandbox/core/tool";

export interface SessionRegistryOptions {
  /** Seconds a session may stay unused before it is closed. */
  readonly idleTimeout: number;
  /** Open sessions at most; `create` refuses more. */
  readonly maxSessions: number;
  readonly open: (language: string, libraries: readonly string[]) => Promise<SandboxSession>;
}

interface Entry {
  readonly session: SandboxSession;
  busy: number;
  timer?: NodeJS.Timeout;
}

/**
 * The sessions a client opened with `create_session`, by unguessable id. A session unused for `idleTimeout`
 * seconds is closed (a running operation keeps it alive); `closeAll` ends the rest when the server stops.
 */
export class SessionRegistry {
  readonly #entries = new Map<string, Entry>();
  #opening = 0;

  constructor(private readonly options: SessionRegistryOptions) {
    // The expiry is a timer: a limit it cannot wait for would close every session at once.
    checkTimerSeconds(options.idleTimeout, "sessionIdleTimeout");
  }

  get size(): number {
    return this.#entries.size;
  }

  async create(language: string, libraries: readonly string[]): Promise<{ id: string; session: SandboxSession }> {
    if (this.#entries.size + this.#opening >= this.options.maxSessions) {
      throw new ToolCallError(`Too many open sessions (${this.options.maxSessions}); close one with close_session first.`);
    }
    this.#opening++;
    let session: SandboxSession;
    try {
      session = await this.options.open(language, libraries);
    } finally {
      this.#opening--;
    }
    const id = `session-${randomUUID()}`;
    const entry: Entry = { session, busy: 0 };
    this.#entries.set(id, entry);
    this.#scheduleExpiry(id, entry);
    return { id, session };
  }

  /** Runs `operation` on the session; the idle clock restarts when it ends. */
  async use<T>(id: string, operation: (session: SandboxSession) => Promise<T>): Promise<T> {
    const entry = this.#entries.get(id);
    if (!entry) {
      throw new ToolCallError(
        `No session ${JSON.stringify(id)}: it never existed, was closed, or expired after ${this.options.idleTimeout} s unused. Create one with create_session.`,
      );
    }
    clearTimeout(entry.timer);
    entry.busy++;
    try {
      return await operation(entry.session);
    } finally {
      entry.busy--;
      this.#scheduleExpiry(id, entry);
    }
  }

  async close(id: string): Promise<boolean> {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    this.#entries.delete(id);
    clearTimeout(entry.timer);
    await entry.session.close();
    return true;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#entries.keys()].map((id) => this.close(id)));
  }

  #scheduleExpiry(id: string, entry: Entry): void {
    if (entry.busy > 0 || this.#entries.get(id) !== entry) return;
    entry.timer = setTimeout(() => void this.close(id).catch(() => {}), this.options.idleTimeout * 1000);
    entry.timer.unref();
  }
}
