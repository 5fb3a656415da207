import { JAVASCRIPT_NODE_FLAGS, javascript } from "../languages/javascript.js";
import { TYPESCRIPT_NODE_FLAGS, typescript } from "../languages/typescript.js";
import { ForkServer } from "./fork-server.js";
import { NodeSpare } from "./node-spare.js";
import type { WarmRunner, WarmStart } from "./warm-runner.js";

interface WarmSpec {
  /** Modules prepared by default (those the image lacks are skipped). */
  readonly defaultModules: readonly string[];
  /** Starts the runner; undefined when it declines to run (not safe there; the log says why). */
  start(start: WarmStart): Promise<WarmRunner | undefined>;
}

const specs: Readonly<Record<string, WarmSpec>> = {
  python: { defaultModules: ["numpy", "pandas", "matplotlib", "matplotlib.pyplot"], start: (start) => ForkServer.start(start) },
  javascript: { defaultModules: [], start: (start) => NodeSpare.start(start, JAVASCRIPT_NODE_FLAGS, javascript.fileExtension) },
  typescript: { defaultModules: [], start: (start) => NodeSpare.start(start, TYPESCRIPT_NODE_FLAGS, typescript.fileExtension) },
};

/** Languages whose pooled containers can keep a warm interpreter. */
export const warmLanguages = (): string[] => Object.keys(specs);

/** The modules a language's warm interpreter prepares by default, or undefined when it has none. */
export const defaultWarmModules = (language: string): readonly string[] | undefined => specs[language]?.defaultModules;

/** Starts the warm interpreter of `start.language`; undefined when it declines to run here. */
export const startWarmRunner = (start: WarmStart): Promise<WarmRunner | undefined> => specs[start.language]!.start(start);
