import { z } from "zod";
import { timerSeconds } from "../internal/timers.js";
import { parseOptions } from "../session/options.js";

/** What `acquire()` does when every container is busy and the pool is at `maxPoolSize`. */
export const ExhaustionStrategy = {
  /** Fail at once with `PoolExhaustedError`. */
  FAIL_FAST: "FAIL_FAST",
  /** Wait up to `acquisitionTimeout` for a container to be released, then `PoolExhaustedError`. */
  WAIT: "WAIT",
  /** Create an extra container for this one use; it is removed afterwards and never joins the pool. */
  TEMPORARY: "TEMPORARY",
} as const;
export type ExhaustionStrategy = (typeof ExhaustionStrategy)[keyof typeof ExhaustionStrategy];

const strategies = Object.values(ExhaustionStrategy) as [ExhaustionStrategy, ...ExhaustionStrategy[]];
/** Seconds, or null for "no limit" (llm-sandbox's None). */
const optionalSeconds = timerSeconds.nullable();

/** A pool's rules (llm-sandbox's `PoolConfig`, in camelCase). Times are in seconds, each at most `MAX_TIMER_SECONDS`. */
const poolConfigSchema = z
  .strictObject({
    /** Containers the pool holds at most (idle, busy and being created or reset). Default 10. */
    maxPoolSize: z.number({ error: "maxPoolSize must be a number" }).int("maxPoolSize must be an integer").min(1, "maxPoolSize must be at least 1").default(10),
    /** Containers kept ready: created at start (with prewarming) and replaced when removed. Default 0. */
    minPoolSize: z.number({ error: "minPoolSize must be a number" }).int("minPoolSize must be an integer").min(0, "minPoolSize must be at least 0").default(0),
    /** Idle containers beyond `minPoolSize` are removed after this long unused; null = never. Default 300. */
    idleTimeout: optionalSeconds.default(300),
    /** With WAIT: how long `acquire()` waits for a busy container to come back (not for one being created); null = forever. Default 30. */
    acquisitionTimeout: optionalSeconds.default(30),
    /** How often idle containers are checked (alive, answering) and expired ones replaced. Default 60. */
    healthCheckInterval: timerSeconds.default(60),
    /** A container older than this is replaced when it is next idle; null = never. Default 3600. */
    maxContainerLifetime: optionalSeconds.default(3600),
    /** A container is replaced after this many sessions used it; default: no limit. */
    maxContainerUses: z.number({ error: "maxContainerUses must be a number" }).int("maxContainerUses must be an integer").min(1, "maxContainerUses must be at least 1").nullable().optional(),
    /** FAIL_FAST, WAIT (default) or TEMPORARY; case-insensitive. */
    exhaustionStrategy: z
      .string()
      .transform((value) => value.toUpperCase())
      .pipe(z.enum(strategies, { error: (issue) => `unknown exhaustion strategy ${JSON.stringify(issue.input)} (expected ${strategies.join(", ")})` }))
      .default(ExhaustionStrategy.WAIT),
    /** Create `minPoolSize` containers at start (in parallel) and top up after removals. Default true. */
    enablePrewarming: z.boolean().default(true),
  })
  .superRefine((config, ctx) => {
    if (config.minPoolSize > config.maxPoolSize) {
      ctx.addIssue({
        code: "custom",
        path: ["minPoolSize"],
        message: `minPoolSize (${config.minPoolSize}) cannot be greater than maxPoolSize (${config.maxPoolSize})`,
      });
    }
  });

export type PoolConfig = z.input<typeof poolConfigSchema>;
export type ResolvedPoolConfig = z.output<typeof poolConfigSchema>;

/** Validates a pool configuration; every problem is named in one `ValidationError`. */
export const parsePoolConfig = (config: PoolConfig | undefined): ResolvedPoolConfig => parseOptions(poolConfigSchema, config ?? {}, "pool config");
