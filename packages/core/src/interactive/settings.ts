import { z } from "zod";
import { timerSeconds } from "../internal/timers.js";
import { size } from "../session/options.js";

/** The kernel an interactive session runs: IPython for Python, a Node.js kernel for JavaScript and TypeScript. */
export const KernelType = {
  IPYTHON: "ipython",
  NODE: "node",
} as const;
export type KernelType = (typeof KernelType)[keyof typeof KernelType];

const kernelTypes = Object.values(KernelType) as [KernelType, ...KernelType[]];

/** Settings of an interactive session (llm-sandbox's `InteractiveSettings`, in camelCase). */
export const interactiveSettingsSchema = z.strictObject({
  /** Default: the language's kernel ("ipython" for Python, "node" for JavaScript/TypeScript). */
  kernelType: z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(kernelTypes, { error: (issue) => `unknown kernel type ${JSON.stringify(issue.input)} (supported: ${kernelTypes.join(", ")})` }))
    .optional(),
  /** Memory limit of the sandbox, unless `runtimeConfigs.memory` sets one. Default "1GB". */
  maxMemory: size.default("1GB"),
  /** How many cell outputs the kernel keeps (IPython's `Out` / `_N` cache; 1 and 2 count as 3, IPython's minimum). */
  historySize: z.number({ error: "historySize must be a number" }).int("historySize must be an integer").min(0, "historySize must be non-negative").default(1000),
  /** Seconds one cell may run (a `run()` timeout overrides it). Default: `executionTimeout`, else 300. */
  timeout: timerSeconds.optional(),
  /** Accepted for compatibility with llm-sandbox, which polls result files; this kernel is never polled. */
  pollInterval: z.number({ error: "pollInterval must be a number" }).positive("pollInterval must be positive").finite().default(0.1),
});

export type InteractiveSettings = z.input<typeof interactiveSettingsSchema>;

/** The settings in effect for a session: every default filled in. */
export interface ResolvedInteractiveSettings {
  readonly kernelType: KernelType;
  readonly maxMemory: string | number;
  readonly historySize: number;
  readonly timeout: number;
  readonly pollInterval: number;
}
