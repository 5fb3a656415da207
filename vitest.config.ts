import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests import packages by their public names; resolve those to source so no build is needed first.
const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@llm-sandbox\/core$/, replacement: src("core") },
      { find: /^@llm-sandbox\/langchain$/, replacement: src("langchain") },
      { find: /^@llm-sandbox\/langchain\/deepagents$/, replacement: fileURLToPath(new URL("./packages/langchain/src/deepagents.ts", import.meta.url)) },
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
