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
    describeNetwork(info),
    ...(info.isolation === "gvisor" ? [GVISOR] : []),
    `Working directory: ${info.workdir}. Time limit: ${info.timeoutSeconds} s per call; a program that runs longer is stopped.`,
    REUSE[info.reuse],
  ];
  if (info.plots) {
    const hints = info.languages.flatMap((language) => language.plots?.hint ?? []);
    if (hints.length) lines.push(...hints);
  }
  return lines.join("\n");
}

/** Why a program that pokes at the kernel may see something odd: it is gVisor's. */
const GVISOR =
  "The sandbox runs under gVisor, a kernel in user space: kernel-specific things (/proc and /sys details, the kernel " +
  "version, ptrace, perf, eBPF, raw sockets) differ or are missing. Write portable code.";

function describeNetwork(info: SandboxInfo): string {
  const policy = describeNetworkPolicy(info);
  if (policy === undefined) {
    return info.network ? "The program can reach the network." : `The program has no network access${info.canInstall ? " (library installation still works)" : ""}.`;
  }
  // Installers go through the same proxy: say so, or a refused package index reads as a bad package name.
  return info.canInstall ? `${policy}\nLibrary installation follows the same network rules (the package index must be allowed).` : policy;
}

/**
 * What the model must know of a network policy, or undefined when the network is fully on or off: the hosts it can
 * reach (by name, ports 80/443 unless an entry names one), those refused, and the secrets by variable name only —
 * the variable holds a placeholder the proxy swaps for the value on requests to the secret's hosts.
 */
export function describeNetworkPolicy(info: Pick<SandboxInfo, "allowedHosts" | "deniedHosts" | "secrets">): string | undefined {
  const { allowedHosts, deniedHosts = [], secrets = [] } = info;
  if (!allowedHosts) return undefined;
  const lines = [
    allowedHosts.length
      ? `Network: only these hosts can be reached, by name: ${allowedHosts.join(", ")}. ` +
        'A host without ":port" is reachable on ports 80 and 443 only; "*.domain" means its subdomains, not the domain itself.'
      : "The program has no network access: the network policy allows no host.",
  ];
  if (deniedHosts.length) lines.push(`Always refused: ${deniedHosts.join(", ")}.`);
  if (allowedHosts.length) {
    lines.push("Anything else (other hosts, raw IP addresses) is refused at once: HTTP 403 from the proxy, a refused connection or a failed name lookup.");
  }
  if (secrets.length) {
    lines.push(
      `Secrets, in environment variables: ${secrets.map((secret) => `${secret.name} (for ${secret.hosts.join(", ")})`).join("; ")}. ` +
        "Each variable holds a placeholder, not the real value; the network proxy puts the value in where a request to those hosts " +
        "carries the placeholder (headers, URL). Send the variable as the credential (e.g. an Authorization header); printing it shows only the placeholder.",
    );
  }
  return lines.join("\n");
}
