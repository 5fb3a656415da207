import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engineClient } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { fixtureApi, suiteFixture } from "../../../../test/kube-fixture/api.js";

const script = fileURLToPath(new URL("../../../../test/fixtures/open-session.mjs", import.meta.url));
const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

/** Starts the fixture and resolves with its container (or pod) id and a promise of its exit. */
async function startChild(mode: "wait" | "crash", options: object = {}) {
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
});

describe("cleanup when the process ends, kubernetes (API-server fixture, built package)", () => {
  const fixture = suiteFixture();
  const api = fixtureApi(fixture);
  const options = { backend: "kubernetes", kubeConfig: fixture.kubeconfig };

  it("Ctrl-C (SIGINT) deletes the pod, then the process exits by the signal", async () => {
    const { child, containerId, exited } = await startChild("wait", options);
    expect((await api.readPod(containerId))?.status.phase).toBe("Running");
    child.kill("SIGINT");
    expect(await exited).toEqual({ code: null, signal: "SIGINT" });
    expect(await api.readPod(containerId)).toBeUndefined();
  });

  it("an uncaught exception still deletes the pod", async () => {
    const { containerId, exited } = await startChild("crash", options);
    expect((await exited).code).toBe(1);
    // The synchronous last resort sends the DELETE; the pod goes once its containers are stopped.
    for (let i = 0; i < 100 && (await api.readPod(containerId)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await api.readPod(containerId)).toBeUndefined();
  });
});
