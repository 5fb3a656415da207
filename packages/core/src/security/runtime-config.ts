/** A container setting that weakens the sandbox, with the path of the key that asks for it. */
export interface UnsafeSetting {
  /** Path under `runtimeConfigs`, e.g. `passthrough.HostConfig.Privileged`. */
  readonly path: string;
  readonly reason: string;
}

type Check = (value: unknown) => string | undefined;

// Passthrough values come untyped from the caller: these never throw on a BigInt, a cycle or an object without a prototype.
const asText = (value: unknown): string => {
  try {
    return String(value);
  } catch {
    return "";
  }
};
const asJson = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? item.toString() : item)) ?? "";
  } catch {
    return "";
  }
};
const nonEmpty = (value: unknown) => (Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null && value !== "");
const sharesHost = (what: string): Check => (value) =>
  typeof value === "string" && (value === "host" || value.startsWith("container:"))
    ? `shares the ${value === "host" ? "host's" : "other container's"} ${what}`
    : undefined;

/** Security options that switch confinement off (AppArmor, seccomp, SELinux labels, masked /proc paths). */
const DISABLES_CONFINEMENT = /^(?:apparmor[=:]unconfined|seccomp[=:]unconfined|label[=:]disable|systempaths[=:]unconfined|no-new-privileges[=:]false)$/i;

/**
 * Keys of Docker's create request (top level or `HostConfig`; Docker reads keys case-insensitively) that break
 * the sandbox's isolation from the host, each with why.
 */
const HOST_CONFIG_CHECKS: Readonly<Record<string, Check>> = {
  privileged: (value) => (value ? "runs the container privileged: every device and kernel interface of the host" : undefined),
  networkmode: sharesHost("network stack"),
  pidmode: sharesHost("processes"),
  ipcmode: sharesHost("shared memory"),
  utsmode: sharesHost("hostname"),
  usernsmode: sharesHost("user namespace"),
  cgroupnsmode: sharesHost("cgroups"),
  cgroup: sharesHost("cgroup"),
  binds: (value) =>
    nonEmpty(value)
      ? asJson(value).includes("docker.sock")
        ? "mounts the engine's socket: full control of the host"
        : "mounts host paths into the sandbox"
      : undefined,
  mounts: (value) =>
    Array.isArray(value) && value.some((mount) => !["volume", "tmpfs"].includes(asText((mount as { Type?: unknown; type?: unknown })?.Type ?? (mount as { type?: unknown })?.type ?? "bind").toLowerCase()))
      ? "mounts host paths into the sandbox"
      : undefined,
  volumesfrom: (value) => (nonEmpty(value) ? "mounts another container's volumes" : undefined),
  capadd: (value) => (nonEmpty(value) ? "adds Linux capabilities (all are dropped by default)" : undefined),
  capdrop: (value) =>
    Array.isArray(value) && value.some((cap) => asText(cap).toUpperCase() === "ALL") ? undefined : "replaces the dropped capabilities (default: ALL)",
  securityopt: (value) => {
    const options = Array.isArray(value) ? value.map(asText) : [];
    if (options.some((option) => DISABLES_CONFINEMENT.test(option))) return "switches confinement (AppArmor, seccomp, SELinux or no-new-privileges) off";
    if (!options.some((option) => /^no-new-privileges(?:[=:]true)?$/i.test(option))) return "replaces the security options without keeping no-new-privileges";
    return undefined;
  },
  devices: (value) => (nonEmpty(value) ? "gives access to host devices" : undefined),
  devicecgrouprules: (value) => (nonEmpty(value) ? "allows access to host devices" : undefined),
  maskedpaths: () => "unmasks kernel interfaces in /proc and /sys",
  readonlypaths: () => "makes read-only kernel interfaces in /proc and /sys writable",
  oomkilldisable: (value) => (value ? "disables the out-of-memory killer: a memory bomb hangs instead of failing" : undefined),
  networkingconfig: (value) => (nonEmpty(value) ? "attaches networks behind the network setting's back (use runtimeConfigs.network)" : undefined),
};

/**
 * The settings in a session's runtime configuration that would weaken the sandbox: host network or PID
 * namespaces, privileged mode, host mounts (the engine socket above all), added capabilities or devices,
 * confinement switched off. They are refused unless `runtimeConfigs.allowUnsafe` is true.
 */
export function unsafeRuntimeSettings(configs: { readonly network?: unknown; readonly passthrough?: Readonly<Record<string, unknown>> | undefined }): UnsafeSetting[] {
  const found: UnsafeSetting[] = [];
  const network = sharesHost("network stack")(configs.network);
  if (network) found.push({ path: "network", reason: network });
  const visit = (object: Readonly<Record<string, unknown>>, path: string) => {
    for (const [key, value] of Object.entries(object)) {
      const lower = key.toLowerCase();
      if (lower === "hostconfig" && value && typeof value === "object") visit(value as Record<string, unknown>, `${path}.${key}`);
      const check = Object.hasOwn(HOST_CONFIG_CHECKS, lower) ? HOST_CONFIG_CHECKS[lower] : undefined;
      const reason = check?.(value);
      if (reason) found.push({ path: `${path}.${key}`, reason });
    }
  };
  if (configs.passthrough) visit(configs.passthrough, "passthrough");
  return found;
}
