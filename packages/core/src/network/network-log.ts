/** One attempt of sandbox code to reach something, as the egress proxy saw it. */
export interface NetworkLogEntry {
  /** When it started (ISO 8601). */
  readonly at: string;
  /** The name asked for (or the raw address a program dialled). */
  readonly host: string;
  readonly port: number;
  /** "dns": a name lookup; "http": a plain HTTP request; "https": TLS (a tunnel, or opened to put a secret in); "tcp": other. */
  readonly kind: "dns" | "http" | "https" | "tcp";
  readonly allowed: boolean;
  /** Why it was refused, or why an allowed attempt failed upstream. */
  readonly reason?: string;
  /** Bytes from the upstream to the sandbox, and from the sandbox to the upstream, so far. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The most entries kept per sandbox; older ones are dropped. */
const MAX_ENTRIES = 10_000;

/** The proxy's record of attempts. Entries of open connections keep counting bytes. */
export class NetworkLog {
  #entries: Mutable<NetworkLogEntry>[] = [];
  /** Sequence number of `#entries[0]`. */
  #first = 0;

  /** A new entry; the caller updates its byte counts and reason as the connection goes. */
  record(entry: Omit<NetworkLogEntry, "at" | "bytesIn" | "bytesOut">): Mutable<NetworkLogEntry> {
    const recorded: Mutable<NetworkLogEntry> = { at: new Date().toISOString(), bytesIn: 0, bytesOut: 0, ...entry };
    this.#entries.push(recorded);
    if (this.#entries.length > MAX_ENTRIES) {
      this.#entries.shift();
      this.#first++;
    }
    return recorded;
  }

  /** Where the log is now: pass it to `since` later for what happened in between (a run's entries). */
  get mark(): number {
    return this.#first + this.#entries.length;
  }

  /** Entries recorded from `mark` on (all when omitted), as copies. */
  since(mark = 0): NetworkLogEntry[] {
    return this.#entries.slice(Math.max(0, mark - this.#first)).map((entry) => ({ ...entry }));
  }
}
