import { EngineUnavailableError } from "../errors.js";

/** A runtime as dockerd's daemon.json and its Engine API `/info` `Runtimes` describe it. */
export interface DockerRuntime {
  readonly path: string;
  readonly runtimeArgs: readonly string[];
}

/** `name → { path, runtimeArgs }` for runsc at `runscPath` with each runtime's arguments. */
export function runscRuntimes(runscPath: string, args: Readonly<Record<string, readonly string[]>>): Record<string, DockerRuntime> {
  return Object.fromEntries(Object.entries(args).map(([name, runtimeArgs]) => [name, { path: runscPath, runtimeArgs }]));
}

/** Whether a registered runtime (from daemon.json or `/info`) is `wanted`; extra fields (dockerd's `options`) are ignored. */
export function sameRuntime(actual: unknown, wanted: DockerRuntime): boolean {
  if (typeof actual !== "object" || actual === null) return false;
  const { path, runtimeArgs } = actual as { path?: unknown; runtimeArgs?: unknown };
  const args = Array.isArray(runtimeArgs) ? runtimeArgs : [];
  return path === wanted.path && args.length === wanted.runtimeArgs.length && args.every((a, i) => a === wanted.runtimeArgs[i]);
}

/**
 * daemon.json's text with `runtimes` registered, or undefined when it already has them. Every other key, and every
 * other runtime, stays where it was (dockerd's config is the operator's; we only add or correct our own entries).
 * `text` undefined: there is no daemon.json yet. Text that is not a JSON object is refused rather than overwritten.
 */
export function mergeDaemonRuntimes(text: string | undefined, runtimes: Readonly<Record<string, DockerRuntime>>, file = "daemon.json"): string | undefined {
  let config: Record<string, unknown> = {};
  if (text !== undefined && text.trim() !== "") {
    try {
      config = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new EngineUnavailableError(`${file} is not valid JSON (${(error as Error).message}): fix it, then run setup again.`);
    }
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw new EngineUnavailableError(`${file} is not a JSON object: fix it, then run setup again.`);
    }
  }
  const existing = config.runtimes ?? {};
  if (typeof existing !== "object" || existing === null || Array.isArray(existing)) {
    throw new EngineUnavailableError(`"runtimes" in ${file} is not an object: fix it, then run setup again.`);
  }
  const registered = existing as Record<string, unknown>;
  const missing = Object.entries(runtimes).filter(([name, runtime]) => !sameRuntime(registered[name], runtime));
  if (missing.length === 0) return undefined;
  const merged = { ...registered };
  for (const [name, { path, runtimeArgs }] of missing) merged[name] = { path, runtimeArgs: [...runtimeArgs] };
  return `${JSON.stringify({ ...config, runtimes: merged }, null, 2)}\n`;
}
