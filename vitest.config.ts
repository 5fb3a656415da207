import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

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
    include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts", "test/package-indexes/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    maxWorkers: 3,
  },
});
