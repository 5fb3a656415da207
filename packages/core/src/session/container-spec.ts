import type { BackendAdapter, ContainerSpec, NetworkPolicy } from "../backends/backend.js";
import { ValidationError } from "../errors.js";
import { managedImageName } from "../images/builder.js";
import { LABELS, ownershipLabels } from "../internal/labels.js";
import type { Logger } from "../internal/logger.js";
import { parseSize } from "../internal/sizes.js";
import type { LanguageHandler } from "../languages/handler.js";
import type { ParsedSessionOptions } from "./options.js";
import type { SessionLimits } from "./types.js";
import { KEEP_ALIVE_COMMAND } from "../container/process-control.js";
import { CA_VARIABLES } from "../container/sandbox-container.js";
import type { ParsedEgressPolicy } from "../network/policy.js";

/** The egress policy of the options, when their network is one. */
export function egressPolicyOf(options: ParsedSessionOptions): ParsedEgressPolicy | undefined {
  const network = options.runtimeConfigs.network;
  return typeof network === "object" ? network : undefined;
}

/** The memory limit when `runtimeConfigs.memory` is not given. */
const DEFAULT_MEMORY = "1g";


/**
 * The image a new container runs: the user's Dockerfile built, or `image` (default: the language's managed image)
 * made available. `built` is set when the image was built here (and is removed again unless `keepTemplate`).
 */
export async function sandboxImage(
  options: ParsedSessionOptions,
  backend: BackendAdapter,
  language: LanguageHandler,
  logger: Logger,
): Promise<{ image: string; built?: string }> {
  if (options.dockerfile) {
    if (!backend.buildImage) throw new ValidationError(`The ${backend.kind} backend cannot build Dockerfiles`);
    const built = await backend.buildImage(options.dockerfile, logger);
    return { image: built, built };
  }
  const image = options.image ?? backend.defaultImage ?? managedImageName(language.imageDir);
  await backend.prepareImage(image, logger);
  return { image };
}

/** A session's limits, resolved once from its options (see `SessionLimits`). */
export function sessionLimits(options: ParsedSessionOptions): SessionLimits {
  const { executionTimeout, defaultTimeout, installTimeout, maxOutputBytes, maxPlotsPerRun, maxPlotBytes, runtimeConfigs } = options;
  return Object.freeze({
    executionTimeout: executionTimeout ?? defaultTimeout,
    defaultTimeout,
    installTimeout,
    maxOutputBytes,
    maxPlotsPerRun,
    maxPlotBytes,
    memoryBytes: memoryLimitBytes(runtimeConfigs),
  });
}

/** The container's memory limit in bytes (undefined when turned off): one reading for the spec and OOM reports. */
export function memoryLimitBytes(configs: ParsedSessionOptions["runtimeConfigs"]): number | undefined {
  return configs.memory === false ? undefined : parseSize(configs.memory ?? DEFAULT_MEMORY);
}

/**
 * The secure defaults, adjusted by `runtimeConfigs` (see docs/security.md). One definition for sessions and pools:
 * `ownerId` names the session (or pool) the container belongs to in its labels.
 */
export function secureContainerSpec(
  options: ParsedSessionOptions,
  backend: BackendAdapter,
  language: LanguageHandler,
  image: string,
  ownerId: string,
): ContainerSpec {
  const { runtimeConfigs: configs, workdir, commitContainer } = options;
  // A committed container must keep its files on its own filesystem, not in memory.
  const persistent = commitContainer !== false;
  const sizeOf = (value: string | number | false | undefined, fallback: string | number | false) => {
    const chosen = value === undefined ? fallback : value;
    return chosen === false ? undefined : parseSize(chosen);
  };
  const memoryBytes = memoryLimitBytes(configs);
  // In-memory mounts are charged to the memory limit. By default they share it (half for the workdir, a quarter for
  // /tmp), so filling them ends in "No space left on device" instead of an out-of-memory kill of the sandbox.
  const tmpfs: Record<string, number> = {};
  const workdirBytes = sizeOf(configs.workdirSize, persistent ? false : memoryBytes ? Math.floor(memoryBytes / 2) : "1g");
  const tmpBytes = sizeOf(configs.tmpSize, memoryBytes ? Math.floor(memoryBytes / 4) : "512m");
  if (workdirBytes) tmpfs[workdir] = workdirBytes;
  if (tmpBytes) tmpfs["/tmp"] = tmpBytes;
  const network: NetworkPolicy =
    egressPolicyOf(options)
      ? // The relay runs the perl of the sandbox's own image: nothing more to pull, on any backend.
        { mode: "relayed", relay: { image, labels: { ...ownershipLabels(ownerId), [LABELS.relay]: "true" } } }
      : configs.network === true
      ? { mode: "attached", network: "bridge" }
      : typeof configs.network === "string"
        ? { mode: "attached", network: configs.network }
        : backend.setInstallNetwork
          ? { mode: "install-only" }
          : { mode: "none" };
  const cpus = configs.cpus === undefined ? 1 : configs.cpus;
  const pids = configs.pids === undefined ? 256 : configs.pids;
  return {
    image,
    init: KEEP_ALIVE_COMMAND,
    user: configs.user ?? "1000:1000",
    workdir,
    env: {
      HOME: "/tmp",
      TMPDIR: "/tmp",
      PYTHONUNBUFFERED: "1",
      MPLBACKEND: "Agg",
      // The bundle holds the extra CAs, and the egress proxy's CA when the network is a policy.
      ...(options.extraCaCerts.length || egressPolicyOf(options) ? CA_VARIABLES : {}),
      ...configs.env,
    },
    labels: { ...options.labels, ...ownershipLabels(ownerId), [LABELS.language]: language.name },
    ...(memoryBytes ? { memoryBytes } : {}),
    ...(cpus ? { cpus } : {}),
    ...(pids ? { pids } : {}),
    readOnlyRootfs: configs.readOnly ?? !persistent,
    tmpfs,
    network,
    isolation: configs.isolation ?? "container",
    ...(configs.runtime ? { runtime: configs.runtime } : {}),
    ...(options.sessionTimeout ? { lifetimeSeconds: options.sessionTimeout } : {}),
    ...(configs.passthrough ? { passthrough: configs.passthrough } : {}),
  };
}
