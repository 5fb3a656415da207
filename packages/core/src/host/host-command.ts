import { spawn } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Runs a host program to its end, passing each output line (stdout and stderr) to `onLine`; rejects on failure with
 * the output's tail. With a `signal`, the program runs in its own process group, and an abort terminates the whole
 * group (a shell script's children too) and settles only once they are gone, so the caller may then remove what
 * they were writing.
 */
export function runHostCommand(
  command: string,
  args: readonly string[],
  options: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options;
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
      detached: signal !== undefined,
    });
    const tail: string[] = [];
    const emit = (line: string) => {
      const text = line.replace(/\r$/, "");
      tail.push(text);
      if (tail.length > 40) tail.shift();
      options.onLine?.(text);
    };
    const take = (stream: NodeJS.ReadableStream) => {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) emit(line);
      });
      stream.on("end", () => rest && emit(rest));
    };
    take(child.stdout);
    take(child.stderr);
    const onAbort = () => signalGroup(child.pid, "SIGTERM");
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(error);
    });
    child.on("close", (code, killedBy) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) {
        void groupGone(child.pid).then(() => reject(signal.reason));
        return;
      }
      if (code === 0) return resolve();
      const how = killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`;
      reject(new Error(`${[command, ...args].join(" ")} ${how}:\n${tail.join("\n")}`));
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits up to 5 s for a process group to die, then kills what is left of it. */
async function groupGone(pid: number | undefined): Promise<void> {
  for (let i = 0; i < 50 && signalGroup(pid, 0); i++) await new Promise((r) => setTimeout(r, 100));
  if (signalGroup(pid, "SIGKILL")) await new Promise((r) => setTimeout(r, 200));
}

/** The absolute path of a program on PATH (plus the sbin directories root's PATH has), or undefined. */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** True on Debian and its derivatives (Ubuntu, …), judged by /etc/os-release. */
export function isDebianLike(osRelease = readOsRelease()): boolean {
  const ids = `${osRelease.ID ?? ""} ${osRelease.ID_LIKE ?? ""}`.split(/\s+/);
  return ids.includes("debian") || ids.includes("ubuntu");
}

export function readOsRelease(path = "/etc/os-release"): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) fields[match[1]] = (match[2] ?? "").replace(/^(["'])(.*)\1$/, "$2");
  }
  return fields;
}

/** `apt-get update` then `apt-get install -y PACKAGES`, non-interactively. */
export async function aptInstall(
  packages: readonly string[],
  onLine?: (line: string) => void,
  { recommends = false }: { recommends?: boolean } = {},
): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await runHostCommand("apt-get", ["update"], { onLine, env });
  const flags = recommends ? ["-y"] : ["-y", "--no-install-recommends"];
  await runHostCommand("apt-get", ["install", ...flags, ...packages], { onLine, env });
}
