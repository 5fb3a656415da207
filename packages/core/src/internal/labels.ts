import { hostname } from "node:os";

/** Every container, pod, network and image we create carries these labels, so leaks can be found and swept. */
export const LABELS = {
  managed: "org.llm-sandbox.managed",
  session: "org.llm-sandbox.session",
  ownerPid: "org.llm-sandbox.owner-pid",
  ownerHost: "org.llm-sandbox.owner-host",
  language: "org.llm-sandbox.lang",
  pool: "org.llm-sandbox.pool",
  dockerfileHash: "org.llm-sandbox.dockerfile-sha256",
} as const;

/** Labels that tie a resource to this process, so `llm-sandbox cleanup` can tell leaked resources from live ones. */
export function ownershipLabels(sessionId: string): Record<string, string> {
  return {
    [LABELS.managed]: "true",
    [LABELS.session]: sessionId,
    [LABELS.ownerPid]: String(process.pid),
    [LABELS.ownerHost]: hostname(),
  };
}
