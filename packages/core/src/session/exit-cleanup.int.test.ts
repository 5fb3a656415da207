import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engineClient } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";

const fixture = (name: string) => fileURLToPath(new URL(`../../../../test/fixtures/${name}`, import.meta.url));
const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

/** Starts a fixture and resolves with the id it prints (a container's, a pool's) and a promise of its exit. */
async function startChild(mode: "wait" | "crash" | "forget", script = fixture("open-session.mjs")) {
  const child = spawn(process.execPath, [script, mode], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const containerId = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
    child.once("exit", () => reject(new Error(`fixture exited early: ${stderr}`)));
  });
  return { child, containerId, exited };
}

describe("cleanup when the process ends (real engine, built package)", () => {
  const docker = engineClient();
  it("needs the built package", () => expect(existsSync(dist), "run `npm run build` first").toBe(true));

  it("Ctrl-C (SIGINT) removes the container, then the process exits by the signal", async () => {
    const { child, containerId, exited } = await startChild("wait");
    expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toEqual({ code: null, signal: "SIGINT" });
    await expect(docker.getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("an uncaught exception still removes the container", async () => {
    const { containerId, exited } = await startChild("crash");
    expect((await exited).code).toBe(1);
    await expect(docker.getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  const poolContainers = (poolId: string) => docker.listContainers({ all: true, filters: { label: [`org.llm-sandbox.pool=${poolId}`] } });

  it("a pool: Ctrl-C removes its containers; a program that forgets to close it still ends, and they are removed", async () => {
    const signalled = await startChild("wait", fixture("open-pool.mjs"));
    expect(await poolContainers(signalled.containerId)).toHaveLength(2);
    signalled.child.kill("SIGINT");
    expect(await signalled.exited).toEqual({ code: null, signal: "SIGINT" });
    expect(await poolContainers(signalled.containerId)).toEqual([]);

    const forgotten = await startChild("forget", fixture("open-pool.mjs"));
    expect(await forgotten.exited).toEqual({ code: 0, signal: null });
    expect(await poolContainers(forgotten.containerId)).toEqual([]);
  });
});
