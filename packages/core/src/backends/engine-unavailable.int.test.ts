import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { createSession, EngineUnavailableError, type SessionOptions } from "@llm-sandbox/core";
import { engineClient, podmanClient } from "@llm-sandbox/core/backends";
import { afterAll, describe, expect, it } from "vitest";
import { describeEndpoint } from "./engine-client.js";

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

const ENGINES: ReadonlyArray<{ name: string; backend: SessionOptions["backend"]; client: Docker }> = [
  { name: "docker", backend: "docker", client: engineClient() },
  { name: "podman", backend: "podman", client: podmanClient() },
];

/** Generous for a loaded 2-core machine; nothing here waits on a timer. */
const BOUND_MS = 10_000;

const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-engine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A unix socket that forwards to the engine's, until `close()` drops it (and every connection through it). */
function engineProxy(target: string, path: string) {
  const sockets = new Set<Socket>();
  // Half-open: an exec's client ends its side once stdin is written, and still reads the output.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ path: target, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => (client.destroy(), upstream.destroy(), sockets.delete(socket)));
    }
    client.pipe(upstream).pipe(client);
  });
  return {
    listen: () => new Promise<void>((resolve) => server.listen(path, resolve)),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(ENGINES)("the engine's socket is gone ($name)", ({ name, backend, client }) => {
  /** EngineUnavailableError naming the socket, with the usual advice; `ms` is how long the failure took. */
  function expectUnavailable(error: Error | undefined, socket: string, ms: number): void {
    expect(EngineUnavailableError.isInstance(error), String(error)).toBe(true);
    expect(error!.message).toContain(`unix://${socket}`);
    expect(error!.message).toMatch(/Run `npx llm-sandbox setup/);
    expect(ms).toBeLessThan(BOUND_MS);
  }

  it.each([
    ["no socket at the path", (path: string) => path],
    ["a path that refuses connections", (path: string) => (writeFileSync(path, ""), path)],
  ])("open() with %s: EngineUnavailableError with the setup advice", async (_, make) => {
    const socket = make(join(dir, `${name}-missing-${Math.random().toString(36).slice(2)}.sock`));
    const started = Date.now();
    const error = await errorOf(createSession({ backend, client: engineClient(`unix://${socket}`), lang: "bash" }).open());
    expectUnavailable(error, socket, Date.now() - started);
  });

  it("run() on an open session whose engine went away (during a run, and after): EngineUnavailableError; runs again once it is back", async () => {
    const socket = join(dir, `${name}-proxy.sock`);
    const proxy = engineProxy(describeEndpoint(client).replace(/^unix:\/\//, ""), socket);
    await proxy.listen();
    const session = await createSession({ backend, client: engineClient(`unix://${socket}`), lang: "bash" }).open();
    try {
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const run = errorOf(session.run("echo started; sleep 30", { timeout: 60, onStdout: () => started() }));
      await running;
      let from = Date.now();
      await proxy.close();
      expectUnavailable(await run, socket, Date.now() - from);

      from = Date.now();
      expectUnavailable(await errorOf(session.run("echo later")), socket, Date.now() - from);
      // The container itself is fine: the session stays open and works once the engine answers again.
      expect(session.isOpen).toBe(true);
      await proxy.listen();
      expect((await session.run("echo back")).stdout).toBe("back\n");
    } finally {
      await session.close();
      await proxy.close();
    }
  });
});
