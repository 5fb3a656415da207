import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engineClient } from "@llm-sandbox/core/backends";
import { describe, expect, it } from "vitest";
import { fixtureApi, suiteFixture } from "../../../../test/kube-fixture/api.js";

const fixture = (name: string) => fileURLToPath(new URL(`../../../../test/fixtures/${name}`, import.meta.url));
const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

/** Starts a fixture and resolves with the id it prints (a container's, a pod's, a pool's) and a promise of its exit. */
async function startChild(mode: "wait" | "crash" | "forget", { script = fixture("open-session.mjs"), options = {} }: { script?: string; options?: object } = {}) {
  const child = spawn(process.execPath, [script, mode], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LLM_SANDBOX_TEST_OPTIONS: JSON.stringify(options) },
  });
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
    const signalled = await startChild("wait", { script: fixture("open-pool.mjs") });
    expect(await poolContainers(signalled.containerId)).toHaveLength(2);
    signalled.child.kill("SIGINT");
    expect(await signalled.exited).toEqual({ code: null, signal: "SIGINT" });
    expect(await poolContainers(signalled.containerId)).toEqual([]);

    const forgotten = await startChild("forget", { script: fixture("open-pool.mjs") });
    expect(await forgotten.exited).toEqual({ code: 0, signal: null });
    expect(await poolContainers(forgotten.containerId)).toEqual([]);
  });
});

describe("cleanup when the process ends, kubernetes (API-server fixture, built package)", () => {
  const kube = suiteFixture();
  const api = fixtureApi(kube);
  const options = { backend: "kubernetes", kubeConfig: kube.kubeconfig };

  it("Ctrl-C (SIGINT) deletes the pod, then the process exits by the signal", async () => {
    const { child, containerId, exited } = await startChild("wait", { options });
    expect((await api.readPod(containerId))?.status.phase).toBe("Running");
    child.kill("SIGINT");
    expect(await exited).toEqual({ code: null, signal: "SIGINT" });
    expect(await api.readPod(containerId)).toBeUndefined();
  });

  it("an uncaught exception still deletes the pod", async () => {
    const { containerId, exited } = await startChild("crash", { options });
    expect((await exited).code).toBe(1);
    // The synchronous last resort sends the DELETE; the pod goes once its containers are stopped.
    for (let i = 0; i < 100 && (await api.readPod(containerId)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await api.readPod(containerId)).toBeUndefined();
  });
});
