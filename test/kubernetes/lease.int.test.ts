/**
 * A Kubernetes owner that dies without deleting its pods: the pod's deadline and the owner's lease, against the
 * API-server fixture. (A cluster has no reaper container of ours; these are what remove such pods there.)
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ContainerError, createSession } from "@llm-sandbox/core";
import { cleanupPods } from "@llm-sandbox/core/setup";
import { describe, expect, it } from "vitest";
import { LEASE_ANNOTATION } from "../../packages/core/src/backends/kube-lease.js";
import { DEADLINE_SLACK_SECONDS } from "../../packages/core/src/backends/kube-pod.js";
import { fixtureApi, suiteFixture } from "../kube-fixture/api.js";

const fixture = suiteFixture();
const api = fixtureApi(fixture);
const openSession = fileURLToPath(new URL("../fixtures/open-session.mjs", import.meta.url));
const leaseOf = async (pod: string) => (await api.readPod(pod))?.metadata.annotations?.[LEASE_ANNOTATION] as string | undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("kubernetes: pods of an owner that died", () => {
  it("carry a deadline past the session's lifetime and a lease the owner renews; cleanup deletes them once the lease ran out (the owner hangs), not before", async () => {
    const options = { backend: "kubernetes", kubeConfig: fixture.kubeconfig, ownerLeaseSeconds: 6, sessionTimeout: 600 };
    const child = spawn(process.execPath, [openSession, "wait"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LLM_SANDBOX_TEST_OPTIONS: JSON.stringify(options) },
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const pod = await new Promise<string>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("exit", (code) => reject(new Error(`the owner exited early (code ${code})`)));
    });
    try {
      expect((await api.readPod(pod))?.spec.activeDeadlineSeconds).toBe(600 + DEADLINE_SLACK_SECONDS);
      const first = await leaseOf(pod);
      await sleep(4_500);
      // Renewed every 2 s (a third of the lease) while the owner lives.
      expect(Date.parse((await leaseOf(pod))!)).toBeGreaterThan(Date.parse(first!));
      const held = await cleanupPods({ kubeConfig: fixture.kubeconfig });
      expect(held.kept.find((k) => k.id === pod.slice(0, 12))?.reason).toMatch(/^owner lease held until /);
      // The owner hangs: its pid still runs (which is all a pid can tell, and nothing from another host), but it
      // renews nothing.
      child.kill("SIGSTOP");
      await sleep(500); // a renewal it had already sent lands
      const lastLease = Date.parse((await leaseOf(pod))!);
      await sleep(Math.max(0, lastLease - Date.now()) + 200);
      const report = await cleanupPods({ kubeConfig: fixture.kubeconfig });
      expect(report.removed.find((r) => r.id === pod.slice(0, 12))?.reason).toMatch(/^owner lease expired at /);
      for (let i = 0; i < 50 && (await api.readPod(pod)); i++) await sleep(100);
      expect(await api.readPod(pod)).toBeUndefined();
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  });

  it("a pod past its deadline is stopped by the kubelet; the session's next run is a ContainerError", async () => {
    const session = await createSession({
      backend: "kubernetes",
      kubeConfig: fixture.kubeconfig,
      podManifest: { spec: { activeDeadlineSeconds: 3 } },
    }).open();
    try {
      expect((await session.run("print(1)")).stdout).toBe("1\n");
      for (let i = 0; i < 100 && (await api.readPod(session.containerId!))?.status.phase === "Running"; i++) await sleep(100);
      expect((await api.readPod(session.containerId!))?.status.reason).toBe("DeadlineExceeded");
      const error = await session.run("print(2)").catch((e: unknown) => e);
      expect(ContainerError.isInstance(error)).toBe(true);
    } finally {
      await session.close();
    }
  });
});
