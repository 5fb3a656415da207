import { defineConfig } from "tsup";

/** How every package builds: ESM for Node 22 with source maps, and type declarations for its public entries. */
export function packageBuild(entry: Record<string, string>, typesFor: Record<string, string> = entry) {
  return defineConfig({ entry, format: ["esm"], target: "node22", platform: "node", dts: { entry: typesFor }, sourcemap: true, clean: true });
}
