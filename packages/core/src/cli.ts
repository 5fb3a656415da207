#!/usr/bin/env node
/** `llm-sandbox`: a thin command line over `@llm-sandbox/core/setup` (src/setup.ts). */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type Docker from "dockerode";
import { engineClient, pingEngine, podmanClient } from "./backends/engine-client.js";
import { SandboxError } from "./errors.js";
import type { Logger } from "./internal/logger.js";
import { cleanupPods, cleanupResources, ensureEngine, ensureGvisor, ensureImages, ensurePodman, type GvisorSetupReport, type ImageProgressEvent, managedImageDirs, managedImageName } from "./setup.js";

const usage = () => `Usage: llm-sandbox <command> [options]

Commands:
  setup      Make sure a container engine runs (on Debian/Ubuntu as root: installs and starts
             docker.io if needed) and build the sandbox images that are missing or out of date
  cleanup    Remove sandbox containers, networks (or pods) whose owner process is gone (pods: whose
             owner's lease ran out); a killed process's own reaper does this within seconds
  help       Show this help

setup options:
  --images LIST      Image directories to build, comma-separated (default: all = ${managedImageDirs().join(",")})
  --ca-cert PATH     A PEM file of CA certificates to trust inside the images; repeatable
                     (default: the files in $LLM_SANDBOX_EXTRA_CA_CERTS, else $NODE_EXTRA_CA_CERTS)
  --force            Rebuild even when up to date, without the layer cache
  --verbose          Print the builds' output, not only their steps
  --podman           Set up Podman instead of Docker: its Docker-compatible service (found via CONTAINER_HOST
                     or Podman's default sockets; as root on Debian/Ubuntu: podman installed and
                     \`podman system service\` started on /run/podman/podman.sock) and the images built with it
  --gvisor           Also make Docker run gVisor (runtimeConfigs.isolation "gvisor"): as root on Debian/Ubuntu,
                     install runsc if missing; register the runtimes llm-sandbox-gvisor and llm-sandbox-gvisor-net
                     in /etc/docker/daemon.json (merged, other keys kept) and reload dockerd with SIGHUP, only
                     when the engine does not list them yet; then check a container of each boots gVisor.
                     Docker only: Podman 4.3's API ignores a container's runtime

cleanup options:
  --all              Remove every sandbox container and network, also those of live processes
  --dry-run          Only print what would be removed
  --podman           On Podman's service instead of Docker
  --kubernetes       Pods in a Kubernetes namespace instead (the cluster from $KUBECONFIG or ~/.kube/config)
  --namespace NS     With --kubernetes: the namespace (default: the context's, else "default")
  --kube-context CTX With --kubernetes: the kubeconfig context

Environment: DOCKER_HOST (engine to use), CONTAINER_HOST (Podman's service), LLM_SANDBOX_BASE_IMAGE (BASE for the Dockerfiles),
LLM_SANDBOX_DEBIAN_MIRROR (archive for debootstrap when debian:bookworm-slim cannot be pulled),
LLM_SANDBOX_REAPER=false (no reaper container per process and engine).
`;

class UsageError extends Error {}

const HELP = { help: { type: "boolean", short: "h" } } as const;
const SETUP_OPTIONS = {
  ...HELP,
  images: { type: "string", multiple: true },
  "ca-cert": { type: "string", multiple: true },
  force: { type: "boolean" },
  verbose: { type: "boolean" },
  podman: { type: "boolean" },
  gvisor: { type: "boolean" },
  // Not in the usage text: only this repository's `npm test` uses it (Docker and Podman both, gVisor on Docker), users
  // never need it.
  "test-fixtures": { type: "boolean" },
} as const satisfies ParseArgsOptionsConfig;
const CLEANUP_OPTIONS = {
  ...HELP,
  all: { type: "boolean" },
  "dry-run": { type: "boolean" },
  podman: { type: "boolean" },
  kubernetes: { type: "boolean" },
  namespace: { type: "string" },
  "kube-context": { type: "string" },
} as const;

/** The command's flags; an unknown flag or a stray argument is a UsageError. */
function parse<T extends ParseArgsOptionsConfig>(options: T, args: string[]) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function cliLogger(verbose: boolean): Logger {
  const write = (prefix: string) => (message: string) => process.stderr.write(`${prefix}${message}\n`);
  return {
    debug: verbose ? write("[llm-sandbox] ") : () => {},
    info: write("[llm-sandbox] "),
    warn: write("[llm-sandbox] warning: "),
    error: write("[llm-sandbox] error: "),
  };
}

/** `llm-sandbox/python:latest` ⇒ `python`; other names lose only a `:latest`. */
const shortName = (image: string) => image.replace(/^llm-sandbox\//, "").replace(/:latest$/, "");

function printProgress(verbose: boolean) {
  return (event: ImageProgressEvent) => {
    if (event.kind === "log" && !verbose) return;
    process.stderr.write(`[${shortName(event.image)}] ${event.message}\n`);
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

async function setup(args: string[], signal: AbortSignal): Promise<number> {
  const values = parse(SETUP_OPTIONS, args);
  if (values.help) return help();
  const verbose = values.verbose ?? false;
  const logger = cliLogger(verbose);
  const dirs = values.images?.flatMap((list) => list.split(",")).map((d) => d.trim()).filter(Boolean);
  if (values.images && !dirs?.length) throw new UsageError("--images needs a comma-separated list of image directories");
  const available = managedImageDirs();
  const unknown = dirs?.filter((d) => !available.includes(d)) ?? [];
  if (unknown.length) throw new UsageError(`no image directory ${unknown.join(", ")} (there are: ${available.join(", ")})`);
  if (values.gvisor && values.podman) throw new UsageError("--gvisor sets up Docker only: Podman 4.3's API ignores a container's runtime");
  const gvisor = values.gvisor || values["test-fixtures"];
  const engines = values.podman ? ["podman"] : ["docker"];
  if (values["test-fixtures"] && !engines.includes("podman")) engines.push("podman");
  const rows: string[][] = [];
  const gvisorRows: string[][] = [];
  for (const engine of engines) {
    const client = engine === "podman" ? await ensurePodman({ logger }) : await ensureEngine({ logger });
    const results = await ensureImages(client, {
      dirs,
      force: values.force,
      extraCaCerts: values["ca-cert"],
      onProgress: printProgress(verbose),
      logger,
      signal,
    });
    rows.push(...results.map((r) => [engine, r.image, r.status, r.seconds.toFixed(1)]));
    if (engine === "docker" && gvisor) gvisorRows.push(...gvisorReport(await ensureGvisor(client, { logger, image: managedImageName("base") })));
  }
  process.stdout.write(`${table([["engine", "image", "status", "seconds"], ...rows])}\n`);
  if (gvisorRows.length) process.stdout.write(`\n${table([["gVisor runtime", "kernel in its containers"], ...gvisorRows])}\n`);
  return 0;
}

function gvisorReport(report: GvisorSetupReport): string[][] {
  const changes = [
    report.configWritten && `registered in ${report.configWritten}`,
    report.reloaded && "dockerd reloaded",
    report.restarted && "dockerd restarted (its default bridge was lost)",
  ].filter(Boolean);
  const note = changes.length ? ` (${changes.join(", ")})` : "";
  return report.runtimes.map((r) => [r.runtime, `${r.kernel}${note}`]);
}

async function reachable(docker: Docker): Promise<Docker> {
  await pingEngine(docker);
  return docker;
}

async function cleanup(args: string[]): Promise<number> {
  const values = parse(CLEANUP_OPTIONS, args);
  if (values.help) return help();
  const dryRun = values["dry-run"] ?? false;
  const report = values.kubernetes
    ? await cleanupPods({ all: values.all, dryRun, namespace: values.namespace, kubeContext: values["kube-context"] })
    : await cleanupResources(await reachable(values.podman ? podmanClient() : engineClient()), { all: values.all, dryRun });
  for (const r of report.removed) {
    process.stdout.write(`${dryRun ? "would remove" : "removed"} ${r.kind} ${r.name} (${r.id}): ${r.reason}\n`);
  }
  for (const r of report.failed) process.stdout.write(`failed to remove ${r.kind} ${r.name} (${r.id}): ${r.error}\n`);
  const kept = report.kept.length ? ` (owner alive, or not on this host: --all removes them too)` : "";
  const failed = report.failed.length ? `, ${report.failed.length} failed` : "";
  process.stdout.write(
    `${report.removed.length} ${dryRun ? "to remove" : "removed"}, ${report.kept.length} kept${kept}${failed}\n`,
  );
  return report.failed.length ? 1 : 0;
}

function help(): number {
  process.stdout.write(usage());
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write("\n[llm-sandbox] interrupted: stopping and cleaning up (Ctrl-C again to quit at once)\n");
    controller.abort(new Error("interrupted"));
  };
  process.on("SIGINT", onInterrupt);
  try {
    if (first === undefined || first === "help" || first === "--help" || first === "-h") return help();
    if (first === "setup") return await setup(rest, controller.signal);
    if (first === "cleanup") return await cleanup(rest);
    throw new UsageError(`unknown command: ${first}`);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`llm-sandbox: ${error.message}\n\n${usage()}`);
      return 2;
    }
    if (controller.signal.aborted) return 130;
    if (SandboxError.isInstance(error)) {
      process.stderr.write(`llm-sandbox: ${error.name}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`llm-sandbox: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}

process.exitCode = await main(process.argv.slice(2));
