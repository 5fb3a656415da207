import { defineConfig } from "tsup";

/**
 * How every package builds: ESM for Node 22 with source maps, and type declarations for its public entries.
 * Entries share code through chunks (splitting), so a package with several subpaths has one copy of each module:
 * a class reached from two subpaths is the same class (`instanceof` holds across them).
 */
export function packageBuild(entry: Record<string, string>, typesFor: Record<string, string> = entry) {
  return defineConfig({
    entry,
    format: ["esm"],
    target: "node22",
    platform: "node",
    splitting: true,
    dts: { entry: typesFor },
    sourcemap: true,
    clean: true,
  });
}
