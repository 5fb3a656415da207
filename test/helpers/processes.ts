import { DockerBackend, engineClient } from "@llm-sandbox/core/backends";
import { LABELS } from "../../packages/core/src/internal/labels.js";

const backend = new DockerBackend(engineClient());

/** A shell script printing the command line of every process in the sandbox but its own, one per line. */
export const LIST_PROCESSES = `for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] || tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done`;

/**
 * Command lines of the processes in a container, read with a direct exec: it does not wait in the session's
 * operation queue, so it sees what runs while a session operation is still in progress.
 */
export async function containerProcesses(containerId: string): Promise<string[]> {
  const chunks: Uint8Array[] = [];
  await backend.exec(containerId, { argv: ["/bin/sh", "-c", LIST_PROCESSES], onStdout: (chunk) => chunks.push(chunk) });
  return Buffer.concat(chunks).toString("utf8").split("\n").map((line) => line.trim()).filter(Boolean);
}

/** Polls the processes matching `pattern` until `settled(matching)` or `timeoutMs`; returns the last matches. */
async function pollProcesses(containerId: string, pattern: RegExp, settled: (matching: string[]) => boolean, timeoutMs: number, intervalMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const matching = (await containerProcesses(containerId)).filter((line) => pattern.test(line));
    if (settled(matching) || Date.now() > deadline) return matching;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls until no process matches `pattern` (returns []), or returns the matches still running after `timeoutMs`. */
export function processesAfter(containerId: string, pattern: RegExp, timeoutMs = 10_000): Promise<string[]> {
  return pollProcesses(containerId, pattern, (matching) => !matching.length, timeoutMs, 200);
}

/** Polls until some process matches `pattern` (returns them), or returns [] after `timeoutMs`. */
export function processesAppearing(containerId: string, pattern: RegExp, timeoutMs = 10_000): Promise<string[]> {
  return pollProcesses(containerId, pattern, (matching) => matching.length > 0, timeoutMs, 100);
}

/** The id of the sandbox container whose hostname a program printed (Docker names a container's host after its id). */
export async function containerWithHostname(hostname: string): Promise<string> {
  const containers = await engineClient().listContainers({ filters: { label: [`${LABELS.managed}=true`] } });
  const match = containers.find((c) => c.Id.startsWith(hostname.trim()));
  if (!match) throw new Error(`no sandbox container has hostname ${hostname}`);
  return match.Id;
}
