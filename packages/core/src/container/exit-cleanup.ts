/**
 * Removes what live sessions created when the process ends: on SIGINT/SIGTERM/SIGHUP (async removal, then the
 * signal's default action unless the application handles it) and on exit (synchronous last resort).
 */
export interface ExitCleanup {
  readonly dispose: () => Promise<void>;
  readonly disposeSync: () => void;
}

const live = new Set<ExitCleanup>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  const pending = [...live];
  live.clear();
  uninstall();
  await Promise.race([
    Promise.allSettled(pending.map((entry) => entry.dispose())),
    new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
  ]);
  // Nobody else handles this signal: take the default action (terminate) as if we had not listened.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function onExit(): void {
  for (const entry of live) entry.disposeSync();
  live.clear();
}

function install(): void {
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on("exit", onExit);
}

function uninstall(): void {
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off("exit", onExit);
}

/** Registers a cleanup; the returned function unregisters it (call it once the resource is gone). */
export function onProcessExit(entry: ExitCleanup): () => void {
  if (live.size === 0) install();
  live.add(entry);
  return () => {
    if (live.delete(entry) && live.size === 0) uninstall();
  };
}
