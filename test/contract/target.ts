import type { SessionOptions } from "@llm-sandbox/core";
import type { BackendAdapter } from "@llm-sandbox/core/backends";
import type { SandboxBackend } from "@llm-sandbox/core";

/** What the session contract needs to know of a backend to run against it. */
export interface ContractTarget {
  readonly backend: SandboxBackend;
  /** Session options for this backend (connection, images), with `overrides` applied. */
  options(overrides?: SessionOptions): SessionOptions;
  /** Ids of the containers (or pods) on the engine that carry this session's label. */
  sandboxesOf(sessionId: string): Promise<string[]>;
  /** Starts a sandbox no session created, for attaching; `remove` deletes it. */
  startExternal(): Promise<{ readonly id: string; remove(): Promise<void> }>;
  /** A fresh adapter, for what only the adapter offers (streamed stdin). */
  adapter(): BackendAdapter;
  /**
   * "isolated": user code has no network unless asked for, libraries install over a network it never sees.
   * "cluster": the pod's network is the cluster's (NetworkPolicy governs it); network options are refused.
   */
  readonly network: "isolated" | "cluster";
}
