import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

// Tests import packages by their public names (and subpaths); resolve those to source so no build is needed first.
const src = (pkg: string, entry = "index.ts") => fileURLToPath(new URL(`./packages/${pkg}/src/${entry}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@llm-sandbox\/core$/, replacement: src("core") },
      { find: /^@llm-sandbox\/core\/tool$/, replacement: src("core", "tool/index.ts") },
      { find: /^@llm-sandbox\/core\/backends$/, replacement: src("core", "backends/index.ts") },
      { find: /^@llm-sandbox\/core\/setup$/, replacement: src("core", "setup.ts") },
      { find: /^@llm-sandbox\/langchain$/, replacement: src("langchain") },
      { find: /^@llm-sandbox\/langchain\/deepagents$/, replacement: src("langchain", "deepagents.ts") },
      { find: /^@llm-sandbox\/ai-sdk$/, replacement: src("ai-sdk") },
      { find: /^@llm-sandbox\/openai$/, replacement: src("openai") },
      { find: /^@llm-sandbox\/mcp$/, replacement: src("mcp") },
    ],
  },
  test: {
    // Both projects extend this config, so they share the aliases above. No global set-up here: the root project's
    // would run for every project, and the unit project must not need an engine.
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "**/*.int.test.ts"],
          // Fails any test that reaches a container engine: that test belongs in the integration project.
          setupFiles: ["test/unit-setup.ts"],
          // Pure logic, but loading @kubernetes/client-node alone can take seconds on a busy machine.
          testTimeout: 30_000,
          // Isolating the files re-imports the sources for each one: about three quarters of the run's CPU. So the
          // files of a worker share modules, and a test that changes shared state (the language registry,
          // process.env) puts it back.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["packages/*/src/**/*.int.test.ts", "test/**/*.int.test.ts"],
          exclude: [...configDefaults.exclude, "test/last/**"],
          globalSetup: ["test/global-setup.ts", "test/package-indexes/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          maxWorkers: 3,
          // After the unit tests when one `vitest run` runs both (and projects that differ in maxWorkers must be in
          // distinct groups).
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // Tests that disturb the engine for everyone (a daemon restart): alone, after the integration tests. The
          // root `test:integration` script runs it as a second invocation, once the first has ended.
          name: "integration-last",
          include: ["test/last/**/*.int.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
