import type Docker from "dockerode";
import { z } from "zod";
import { EncodingErrors, SandboxBackend } from "../enums.js";
import { ValidationError } from "../errors.js";
import type { Logger } from "../internal/logger.js";
import { type ContainerSource, isContainerSource } from "../container/source.js";
import { parseSize } from "../internal/sizes.js";
import { timerSeconds } from "../internal/timers.js";
import { SecurityPolicy } from "../security/policy.js";
import { getSecurityPolicy, SECURITY_PRESETS } from "../security/presets.js";
import { unsafeRuntimeSettings } from "../security/runtime-config.js";
import { egressPolicySchema } from "../network/policy.js";

export const size = z.union([z.string(), z.number()]).refine((value) => parseSize(value) !== undefined, {
  message: 'expected a size such as 512m, 1g or a number of bytes',
});
/** `false` turns a limit off explicitly. */
const sizeOrOff = z.union([size, z.literal(false)]);
const absolutePath = z
  .string()
  .refine((path) => path.startsWith("/") && !path.split("/").includes(".."), { message: "expected an absolute path without '..'" });
const url = z.url();
const envRecord = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "invalid environment variable name"), z.string());
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "expected a DNS label (lower case letters, digits, '-')");
/** A KubeConfig of @kubernetes/client-node, recognised by shape so this package does not need it installed. */
export interface KubeConfigLike {
  getCurrentCluster(): unknown;
}
const kubeConfigObject = z.custom<KubeConfigLike>(
  (value) => typeof value === "object" && value !== null && typeof (value as KubeConfigLike).getCurrentCluster === "function",
  { message: "expected a kubeconfig path or a KubeConfig of @kubernetes/client-node" },
);
const KUBERNETES_ONLY = ["kubeNamespace", "kubeConfig", "kubeContext", "podManifest", "envVars", "podStartTimeout", "ownerLeaseSeconds"] as const;

/**
 * Container settings. Defaults are secure: a non-root user, no network, a read-only root filesystem with
 * size-limited in-memory workdir and /tmp, and limits on memory, CPU and processes. Capabilities are always
 * dropped and no-new-privileges is always set (see docs/security.md).
 */
export const runtimeConfigsSchema = z.strictObject({
  /** CPU cores (fractions allowed). Default 1. */
  cpus: z.union([z.number().positive().max(1024), z.literal(false)]).optional(),
  /** Memory limit, no swap. Default "1g". In-memory workdir and /tmp count against it (by default they get half and a quarter of it). */
  memory: sizeOrOff.optional(),
  /** Maximum number of processes (fork bombs stop here). Default 256. */
  pids: z.union([z.number().int().positive(), z.literal(false)]).optional(),
  /** User the programs run as. Default "1000:1000"; "root" only if you must. */
  user: z.string().min(1).optional(),
  /**
   * Network for user code: false (default), true (the engine's default bridge), a network name, or a policy: only
   * the names it allows, through the library's egress proxy, with secrets the sandbox never sees (docs/network.md).
   */
  network: z.union([z.boolean(), z.string().min(1), egressPolicySchema]).optional(),
  /**
   * The isolation tier: "container" (default: the engine's runc) or "gvisor" (runsc, a user-space kernel between the
   * sandbox and the host's; `npx llm-sandbox setup --gvisor` installs it). See the README's "Isolation tiers".
   */
  isolation: z.enum(["container", "gvisor"]).optional(),
  /** An OCI runtime the engine knows (Kata, a runsc flavour), or on Kubernetes a RuntimeClass, by name. */
  runtime: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "expected a runtime name").optional(),
  /** Read-only root filesystem. Default true (false when committing the container). */
  readOnly: z.boolean().optional(),
  /** Size of the in-memory workdir. Default: half the memory limit (1 GiB without one); false = the container's own filesystem. */
  workdirSize: sizeOrOff.optional(),
  /** Size of the in-memory /tmp. Default: a quarter of the memory limit (512 MiB without one); false = the container's own filesystem. */
  tmpSize: sizeOrOff.optional(),
  /** Extra environment variables for every program in the sandbox. */
  env: envRecord.optional(),
  /** Engine-specific settings merged into the create request (Docker: top-level keys and HostConfig). */
  passthrough: z.record(z.string(), z.unknown()).optional(),
  /**
   * Allow settings that weaken the sandbox: host network/PID/IPC namespaces, privileged mode, host mounts, added
   * capabilities or devices, confinement switched off (see docs/security.md). Default false: they are refused.
   */
  allowUnsafe: z.boolean().optional(),
});
export type RuntimeConfigs = z.input<typeof runtimeConfigsSchema>;

const packageIndexesSchema = z.strictObject({
  pip: url.optional(),
  npm: url.optional(),
  go: z.string().min(1).optional(),
  rubygems: url.optional(),
  cran: url.optional(),
  maven: url.optional(),
  apt: url.optional(),
});

const loggerSchema = z.custom<Logger>(
  (value) => typeof value === "object" && value !== null && ["debug", "info", "warn", "error"].every((m) => typeof (value as Record<string, unknown>)[m] === "function"),
  { message: "expected a logger with debug/info/warn/error methods" },
);

export const sessionOptionsSchema = z
  .strictObject({
    /** Language of the code `run()` executes. Default "python". Case-insensitive; aliases such as "js" work. */
    lang: z.string().min(1).default("python"),
    backend: z
      .string()
      .transform((value) => value.toLowerCase())
      .pipe(z.enum(Object.values(SandboxBackend) as [SandboxBackend, ...SandboxBackend[]]))
      .default(SandboxBackend.DOCKER),
    /** Image to run; default: the language's image built by `llm-sandbox setup`. */
    image: z.string().min(1).optional(),
    /** A Dockerfile to build and run instead of `image`. */
    dockerfile: z.string().min(1).optional(),
    /** Attach to this existing container (never removed by the session). */
    containerId: z.string().min(1).optional(),
    workdir: absolutePath.default("/sandbox"),
    // Time limits are seconds, each at most MAX_TIMER_SECONDS (about 24.8 days): a timer cannot wait longer.
    /** Seconds any operation may take when it has no limit of its own. Default 60. */
    defaultTimeout: timerSeconds.default(60),
    /** Seconds one `run()` may take. Default: `defaultTimeout`. */
    executionTimeout: timerSeconds.optional(),
    /** Seconds one library installation may take. Default 300. */
    installTimeout: timerSeconds.default(300),
    /** Seconds the session may live after `open()`; then it closes itself. Default: unlimited. */
    sessionTimeout: timerSeconds.optional(),
    runtimeConfigs: runtimeConfigsSchema.default({}),
    /** Skip the language's set-up commands on open (and lazy set-up at install time). */
    skipEnvironmentSetup: z.boolean().default(false),
    /** Keep an image built from `dockerfile` after close. */
    keepTemplate: z.boolean().default(false),
    /** Save the container as an image on close: true = a fresh unique tag, or the reference to use. Never overwrites the source image. */
    commitContainer: z.union([z.boolean(), z.string().min(1)]).default(false),
    encodingErrors: z.enum(Object.values(EncodingErrors) as [EncodingErrors, ...EncodingErrors[]]).default("replace"),
    /** Bytes of stdout and of stderr kept per operation; the rest is dropped and flagged. Default 10 MiB. */
    maxOutputBytes: z.number().int().positive().default(10 * 1024 * 1024),
    /** Plots kept per run where plots are captured (artifact and interactive sessions); more set `plotsTruncated`. Default 50. */
    maxPlotsPerRun: z.number().int().positive().default(50),
    /** Bytes one plot may have; bigger ones are dropped and `plotsTruncated` is set. Default 10 MiB. */
    maxPlotBytes: z.number().int().positive().default(10 * 1024 * 1024),
    packageIndexes: packageIndexesSchema.default({}),
    /** Libraries installed when the session opens. */
    libraries: z.array(z.string()).default([]).transform(validateLibraries),
    /** Extra CA certificates (file paths or PEM text) trusted by pip, npm, curl, … inside the sandbox. */
    extraCaCerts: z.array(z.string().min(1)).default([]),
    /** Extra labels on everything the session creates. */
    labels: z.record(z.string(), z.string()).default({}),
    verbose: z.boolean().default(false),
    logger: loggerSchema.optional(),
    /**
     * A security policy (or a preset name: minimal, development, educational, data_science, web_scraping, production,
     * strict). `run()` refuses code it blocks, and installs of restricted libraries, before anything reaches the sandbox.
     */
    securityPolicy: z
      .union([z.custom<SecurityPolicy>((value) => value instanceof SecurityPolicy, { message: "expected a SecurityPolicy" }), z.enum(SECURITY_PRESETS)])
      .transform((value) => (typeof value === "string" ? getSecurityPolicy(value) : value))
      .optional(),
    /** "enforce" (default): blocked code is refused with SecurityViolationError. "advisory": it runs, with a warning logged. */
    securityMode: z.enum(["enforce", "advisory"]).default("enforce"),
    /**
     * A dockerode client (Docker, Podman's compatible API). Default: Docker from DOCKER_HOST or the default socket;
     * Podman from CONTAINER_HOST or Podman's default sockets (see podmanClient).
     */
    client: z.custom<Docker>((value) => typeof value === "object" && value !== null && "modem" in value, {
      message: "expected a dockerode client",
    }).optional(),

    // Kubernetes (backend "kubernetes")
    /** Namespace of the pods. Default: the kubeconfig context's namespace (in a cluster: the pod's own), else "default". */
    kubeNamespace: dnsLabel.optional(),
    /**
     * The cluster: a kubeconfig file path, or a `KubeConfig` of @kubernetes/client-node. Default: $KUBECONFIG,
     * ~/.kube/config, else the in-cluster service account.
     */
    kubeConfig: z.union([z.string().min(1), kubeConfigObject]).optional(),
    /** Context of the kubeconfig to use. Default: its current context. */
    kubeContext: z.string().min(1).optional(),
    /**
     * A Pod manifest merged over the secure defaults (the sandbox container is the one named "sandbox", else the
     * first; other containers are kept as they are). See the README's Kubernetes section.
     */
    podManifest: z.record(z.string(), z.unknown()).optional(),
    /** Environment variables of the sandbox container (as `runtimeConfigs.env`; the original's name for Kubernetes). */
    envVars: envRecord.optional(),
    /** Seconds a pod may take to be running (scheduling, image pull); then open() fails with the pod's events. Default 300. */
    podStartTimeout: timerSeconds.optional(),
    /**
     * Seconds of this process's lease on each pod, renewed while it lives: `llm-sandbox cleanup --kubernetes` deletes
     * the pods of an owner that stopped renewing, from any host. Default 120.
     */
    ownerLeaseSeconds: timerSeconds.optional(),

    // Micromamba (backend "micromamba")
    /** The environment every command runs in (`micromamba run -n <environment>`). Default "base". */
    environment: z.string().regex(/^[A-Za-z0-9._-]+$/, "expected an environment name").optional(),
    /** Borrow containers from this pool (`createPoolManager`) instead of creating one; language and container options come from it. */
    pool: z.custom<ContainerSource>(isContainerSource, { message: "expected a pool made by createPoolManager()" }).optional(),
  })
  .superRefine((options, ctx) => {
    const refuse = (key: string, message: string) => ctx.addIssue({ code: "custom", path: [key], message });
    const kube = options.backend === SandboxBackend.KUBERNETES;
    for (const key of KUBERNETES_ONLY) {
      if (!kube && options[key] !== undefined) refuse(key, `'${key}' is for the kubernetes backend, not ${options.backend}`);
    }
    if (options.backend !== SandboxBackend.MICROMAMBA && options.environment !== undefined) {
      refuse("environment", `'environment' is for the micromamba backend, not ${options.backend}`);
    }
    if (kube) {
      const { network, passthrough, pids, user } = options.runtimeConfigs;
      if (options.client) refuse("client", "the kubernetes backend takes 'kubeConfig', not a dockerode 'client'");
      if (options.dockerfile) refuse("dockerfile", "the kubernetes backend cannot build images: build and push one, then pass 'image'");
      if (options.commitContainer !== false) refuse("commitContainer", "the kubernetes backend cannot commit pods to images");
      if (network === true || typeof network === "string") {
        refuse("runtimeConfigs.network", "on kubernetes the pod's network is the cluster's: pass a policy ({ allow: [...] }) or restrict it with a NetworkPolicy");
      }
      if (passthrough) refuse("runtimeConfigs.passthrough", "on kubernetes, use 'podManifest'");
      if (pids !== undefined && pids !== false) refuse("runtimeConfigs.pids", "kubernetes has no per-pod process limit (the kubelet's podPidsLimit sets it)");
      if (user !== undefined && !/^\d+(:\d+)?$/.test(user)) refuse("runtimeConfigs.user", "kubernetes needs a numeric user (uid or uid:gid)");
    }
    if (options.image && options.dockerfile) {
      ctx.addIssue({ code: "custom", message: "Only one of 'image' or 'dockerfile' can be provided, not both" });
    }
    if (options.containerId && options.dockerfile) {
      ctx.addIssue({ code: "custom", message: "Cannot use 'dockerfile' with existing 'containerId'" });
    }
    if (!options.runtimeConfigs.allowUnsafe) {
      for (const { path, reason } of unsafeRuntimeSettings(options.runtimeConfigs)) {
        ctx.addIssue({
          code: "custom",
          path: ["runtimeConfigs", ...path.split(".")],
          message: `${path.split(".").at(-1)} ${reason}; refused unless runtimeConfigs.allowUnsafe is true`,
        });
      }
    }
  });

export type SessionOptions = z.input<typeof sessionOptionsSchema>;
export type ParsedSessionOptions = z.output<typeof sessionOptionsSchema>;

/** Validates options once; every problem is reported in one `ValidationError`. */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, what = "session options"): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (!parsed.success) throw new ValidationError(`Invalid ${what}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Library names become installer arguments: refuse anything that could read as an option or break a line. */
export function validateLibraries(libraries: readonly string[]): string[] {
  const bad = libraries.filter((name) => !name.trim() || name.trim().startsWith("-") || /[\s\0]/.test(name.trim()));
  if (bad.length) throw new ValidationError(`Invalid library name(s): ${bad.map((b) => JSON.stringify(b)).join(", ")}`);
  return libraries.map((name) => name.trim());
}
