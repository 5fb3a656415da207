import type Docker from "dockerode";
import type { TestProject } from "vitest/node";
import { REAPER_STARTUP_SECONDS } from "../packages/core/src/backends/reaper.js";
import { engineClient, podmanClient } from "../packages/core/src/backends/engine-client.js";
import { LABELS } from "../packages/core/src/internal/labels.js";
import { leakedContainers, reapersOfGoneOwners } from "./helpers/leaks.js";
import { startKubeFixture } from "./kube-fixture/server.js";

/**
 * The integration project runs against the real engines that `npm test` set up (Docker, and Podman's service when
 * it answers), and a Kubernetes API-server fixture started here for the kubernetes backend. At the end, any container
 * this suite labelled whose owner process is gone is a leak, and so is any pod left in the fixture: they are removed
 * and the run fails. Then the reapers of the test processes must have removed themselves.
 */
export default async function setup(project: TestProject) {
  // The engine the tests reach (they use engineClient too), so the leak check below looks where they created.
  const docker = engineClient();
  await docker.ping().catch((error: Error) => {
    throw new Error(`No container engine: ${error.message}. Run \`npm run setup\` (or \`npx llm-sandbox setup\`) first.`);
  });
  const podman = podmanClient();
  const podmanAnswers = await podman.ping().then(
    () => true,
    () => false,
  );
  const fixture = await startKubeFixture({ docker });
  const bridge = await docker.getNetwork("bridge").inspect();
  const hostAddress: string = bridge.IPAM?.Config?.find((config: { Gateway?: string }) => config.Gateway)?.Gateway ?? "172.17.0.1";
  project.provide("kubeFixture", { url: fixture.url, kubeconfig: fixture.kubeconfig, token: fixture.token, hostAddress });
  const startedAt = Math.floor(Date.now() / 1000);
  return async function teardown() {
    const pods = await fixture.stop();
    const leaks = [
      ...(await leakedContainers(docker, startedAt)).map((c) => ({ engine: docker, where: "Docker", c })),
      ...(podmanAnswers ? await leakedContainers(podman, startedAt) : []).map((c) => ({ engine: podman, where: "Podman", c })),
    ];
    await Promise.all(leaks.map(({ engine, c }) => engine.getContainer(c.Id).remove({ force: true }).catch(() => {})));
    const engines = podmanAnswers ? [docker, podman] : [docker];
    const reapers = (await Promise.all(engines.map((engine) => reapersGone(engine)))).flat();
    const problems = [
      ...leaks.map(({ where, c }) => `${where} container ${c.Id.slice(0, 12)} (${c.Labels[LABELS.language] ?? "?"})`),
      ...pods.map((pod) => `fixture pod ${pod}`),
      ...reapers.map((c) => `reaper ${c.Names[0]} still there after its owner ended`),
    ];
    if (problems.length) throw new Error(`Leaked ${problems.length} sandbox(es): ${problems.join(", ")}`);
  };
}

/**
 * Waits out the reapers' wait (for a holder that never came: an owner killed while it started, at most
 * REAPER_STARTUP_SECONDS) and sweep; returns those still there after it (each a defect).
 */
async function reapersGone(engine: Docker): Promise<Docker.ContainerInfo[]> {
  const deadline = Date.now() + (REAPER_STARTUP_SECONDS + 30) * 1000;
  let left = await reapersOfGoneOwners(engine);
  while (left.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    left = await reapersOfGoneOwners(engine);
  }
  return left;
}
