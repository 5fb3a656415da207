import { hostname } from "node:os";
import { newId } from "./ids.js";

/** Every container, pod, network and image we create carries these labels, so leaks can be found and swept. */
export const LABELS = {
  managed: "org.llm-sandbox.managed",
  session: "org.llm-sandbox.session",
  /** This process, as its reaper knows it: what the reaper removes when the process is gone. */
  owner: "org.llm-sandbox.owner",
  ownerPid: "org.llm-sandbox.owner-pid",
  ownerHost: "org.llm-sandbox.owner-host",
  /** On a reaper container: the owner it reaps for. */
  reaper: "org.llm-sandbox.reaper",
  /** On a relay sidecar: "true". On a sandbox with one (network mode "relayed"): the sidecar's id. */
  relay: "org.llm-sandbox.relay",
  language: "org.llm-sandbox.lang",
  pool: "org.llm-sandbox.pool",
  dockerfileHash: "org.llm-sandbox.dockerfile-sha256",
} as const;

/**
 * This process's owner id: its pid (reused by the OS, hence the random part) and random bits. Kept on globalThis so
 * that every copy of this module in the process (test runners re-import per file; two versions of the package)
 * shares one owner and so one reaper per engine.
 */
export function ownerId(): string {
  const shared = globalThis as { [OWNER]?: string };
  return (shared[OWNER] ??= `${process.pid}-${newId(6)}`);
}
const OWNER = Symbol.for("org.llm-sandbox.owner");

/** Labels that tie a resource to this process, so its reaper and `llm-sandbox cleanup` can find it once it is gone. */
export function ownershipLabels(sessionId: string): Record<string, string> {
  return {
    [LABELS.managed]: "true",
    [LABELS.session]: sessionId,
    [LABELS.owner]: ownerId(),
    [LABELS.ownerPid]: String(process.pid),
    [LABELS.ownerHost]: hostname(),
  };
}
