import { z } from "zod";
import { ValidationError } from "../errors.js";
import type { LanguageHandler } from "../languages/handler.js";
import { getLanguageHandler } from "../languages/registry.js";
import { type ParsedSessionOptions, parseOptions, type SessionOptions, sessionOptionsSchema } from "../session/options.js";
import { type PoolConfig, parsePoolConfig, type ResolvedPoolConfig } from "./config.js";
import type { PooledContainerState } from "./pool-container.js";
import { defaultWarmModules, warmLanguages } from "./warm.js";

/** Session options that make no sense for a pool's containers. */
const REFUSED = ["pool", "containerId", "commitContainer", "sessionTimeout"] as const;

const warmSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      /** Modules imported once; default for Python: numpy, pandas, matplotlib, matplotlib.pyplot. */
      modules: z.array(z.string().regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/, "expected a module name such as numpy or matplotlib.pyplot")).optional(),
    }),
  ])
  .optional();

export type PoolManagerOptions = Omit<SessionOptions, (typeof REFUSED)[number]> & {
  /** The pool's rules (sizes, timeouts, exhaustion strategy). */
  config?: PoolConfig;
  /**
   * A warm interpreter in every pooled container (Python): each run forks an interpreter that imported these
   * modules already. Default: on, with the language's default modules, where the language has one.
   */
  warmInterpreter?: z.input<typeof warmSchema>;
};

export interface PoolStats {
  /** Containers the pool holds (every state but "removing"; temporary ones excluded). */
  readonly totalSize: number;
  readonly maxSize: number;
  readonly minSize: number;
  readonly stateCounts: Readonly<Record<PooledContainerState, number>>;
  /** TEMPORARY containers in use (outside the pool's count). */
  readonly temporary: number;
  /** `acquire()` calls waiting for a container. */
  readonly waiting: number;
  readonly closed: boolean;
  /** Since the pool started: containers created, leases handed out, leases of a used container, failed resets. */
  readonly counters: { readonly created: number; readonly acquired: number; readonly reused: number; readonly resetFailures: number };
  /** Idle, busy or checked containers whose warm interpreter runs. */
  readonly warm: number;
}

/** A pool's options, validated once: its rules, its containers' options, and its sessions' defaults. */
export interface ParsedPoolOptions {
  readonly config: ResolvedPoolConfig;
  readonly containers: ParsedSessionOptions;
  readonly language: LanguageHandler;
  /** Modules the warm interpreters import; undefined when containers have none. */
  readonly warmModules: readonly string[] | undefined;
  /** Options of every session on the pool (its libraries are in the containers already, not theirs to install). */
  readonly sessionDefaults: Readonly<SessionOptions>;
}

export function parsePoolOptions(options: PoolManagerOptions): ParsedPoolOptions {
  // Checked before destructuring, which turns 42 or [] into {}: an untyped caller's mistake would pass as defaults.
  if (options != null && (typeof options !== "object" || Array.isArray(options))) {
    throw new ValidationError(`Invalid pool options:\n✖ expected an object, got ${Array.isArray(options) ? "an array" : typeof options}`);
  }
  const { config, warmInterpreter, ...sessionOptions } = options ?? {};
  const refused = REFUSED.filter((key) => (sessionOptions as Record<string, unknown>)[key] !== undefined);
  if (refused.length) throw new ValidationError(`Invalid pool options:\n✖ ${refused.join(", ")}: not available for pooled containers`);
  const resolvedConfig = parsePoolConfig(config);
  const containers = parseOptions(sessionOptionsSchema, sessionOptions, "pool options");
  if (containers.runtimeConfigs.readOnly === false) {
    throw new ValidationError(
      "Invalid pool options:\n✖ runtimeConfigs.readOnly: a pool resets containers by restoring their in-memory workdir and /tmp, so the root filesystem must stay read-only",
    );
  }
  const language = getLanguageHandler(containers.lang);
  const warm = warmInterpreter === undefined ? undefined : parseOptions(warmSchema, warmInterpreter, "warmInterpreter option");
  const { libraries: _poolLibraries, ...defaults } = sessionOptions;
  return {
    config: resolvedConfig,
    containers,
    language,
    warmModules: resolveWarm(warm, language.name),
    sessionDefaults: { ...defaults, lang: language.name },
  };
}

function resolveWarm(setting: z.output<typeof warmSchema>, language: string): readonly string[] | undefined {
  const defaults = defaultWarmModules(language);
  if (setting === false || (setting === undefined && !defaults)) return undefined;
  if (!defaults) {
    throw new ValidationError(`Invalid pool options:\n✖ warmInterpreter: ${language} has no warm interpreter (available: ${warmLanguages().join(", ")})`);
  }
  return typeof setting === "object" && setting.modules ? [...setting.modules] : defaults;
}
