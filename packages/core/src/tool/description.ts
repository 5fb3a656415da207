import type { SandboxInfo } from "./providers.js";

const REUSE: Record<SandboxInfo["reuse"], string> = {
  "per-call": "Every call starts in a fresh sandbox: nothing carries over from earlier calls.",
  persistent:
    "Calls in the same language share one sandbox: files you write and libraries you install stay for later calls. Each call is a new process, so variables do not carry over; save what you need to files.",
  pool: "Calls run in pooled sandboxes that are reset between uses: nothing carries over from earlier calls.",
};

/**
 * The tool description: what the sandbox has, so the model writes code that works there on the first try —
 * languages and their preinstalled libraries, installs, network, limits, state between calls, how to show plots.
 */
export function describeSandboxTool(info: SandboxInfo): string {
  const languages = info.languages.map((language) =>
    language.preinstalledLibraries.length ? `${language.name} (preinstalled: ${language.preinstalledLibraries.join(", ")})` : language.name,
  );
  const lines = [
    "Run code in an isolated sandbox container and get back its exit code, stdout and stderr" +
      (info.plots ? " (and plots as images)." : "."),
    `Languages: ${languages.join("; ")}.`,
    "Write a complete program and print the results you need: only stdout and stderr come back, not the value of the last expression.",
    info.canInstall
      ? "List extra packages in `libraries` to install them before the run; they are installed once per sandbox."
      : "Libraries cannot be installed: use what is preinstalled.",
    info.network
      ? "The program can reach the network."
      : `The program has no network access${info.canInstall ? " (library installation still works)" : ""}.`,
    `Working directory: ${info.workdir}. Time limit: ${info.timeoutSeconds} s per call; a program that runs longer is stopped.`,
    REUSE[info.reuse],
  ];
  if (info.plots) {
    const hints = info.languages.flatMap((language) => language.plots?.hint ?? []);
    if (hints.length) lines.push(...hints);
  }
  return lines.join("\n");
}
