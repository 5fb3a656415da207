import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { engineClient } from "../packages/core/src/backends/engine-client.js";
import { takeEngineAttempts } from "./unit-setup.js";

/** A socket server that counts the connections it gets. */
async function listen(path: string): Promise<{ server: Server; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, connections: () => connections };
}

describe("the unit project's engine guard", () => {
  const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-unit-guard-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a connection to an engine's socket and records it, so the test that tried fails", async () => {
    const socketPath = join(dir, "docker.sock");
    const { server, connections } = await listen(socketPath);
    try {
      const error = await engineClient(`unix://${socketPath}`)
        .ping()
        .catch((caught: unknown) => caught);
      expect((error as Error).message).toContain("unit tests may not reach a container engine");
      expect(connections()).toBe(0);
      expect(takeEngineAttempts()).toEqual([`unix://${socketPath}`]);
    } finally {
      server.close();
    }
  });

  it("lets a test reach its own socket that is not an engine's", async () => {
    const socketPath = join(dir, "fake-service.sock");
    const { server, connections } = await listen(socketPath);
    try {
      await engineClient(`unix://${socketPath}`)
        .ping()
        .catch(() => undefined);
      expect(connections()).toBe(1);
      expect(takeEngineAttempts()).toEqual([]);
    } finally {
      server.close();
    }
  });
});
