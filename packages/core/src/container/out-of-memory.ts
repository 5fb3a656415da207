import type { ExecutionErrorInfo } from "../result.js";

/** Exit status of a process killed by SIGKILL, which is how the kernel's out-of-memory killer ends a program. */
export const KILLED_EXIT_CODE = 137;

/**
 * Prints the container's out-of-memory kill counter: cgroup v2 `memory.events`, cgroup v1 `memory.oom_control`
 * (both hold `oom_kill N`). Read after a program was killed, to tell an OOM kill from any other SIGKILL.
 */
export const OOM_COUNTER_SCRIPT = "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null; true";

/** The OOM kill count in the counter files' text; undefined when the engine exposes none. */
export function oomKills(text: string): number | undefined {
  const counts = [...text.matchAll(/^oom_kill\s+(\d+)\s*$/gm)].map((match) => Number(match[1]));
  return counts.length ? Math.max(...counts) : undefined;
}

export function outOfMemoryError(limitBytes: number | undefined): ExecutionErrorInfo {
  const limit = limitBytes ? ` of ${formatBytes(limitBytes)}` : "";
  return {
    name: "OutOfMemoryError",
    message: `The program was killed: it exceeded the sandbox's memory limit${limit} (files in the in-memory workdir and /tmp count too)`,
  };
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  }
  return `${bytes} bytes`;
}
