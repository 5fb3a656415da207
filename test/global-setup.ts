import Docker from "dockerode";
import { leakedContainers } from "./helpers/leaks.js";

/**
 * The suite runs against the real engine that `npm test` set up. At the end, any container this suite
 * labelled whose owner process is gone is a leak: it is removed and the run fails.
 */
export default async function setup() {
  const docker = process.env.DOCKER_HOST ? new Docker() : new Docker({ socketPath: "/var/run/docker.sock" });
  await docker.ping().catch((error: Error) => {
    throw new Error(`No container engine: ${error.message}. Run \`npm run setup\` (or \`npx llm-sandbox setup\`) first.`);
  });
  const startedAt = Math.floor(Date.now() / 1000);
  return async function teardown() {
    const leaks = await leakedContainers(docker, startedAt);
    await Promise.all(leaks.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
    if (leaks.length) {
      throw new Error(`Leaked ${leaks.length} labelled container(s): ${leaks.map((c) => `${c.Id.slice(0, 12)} (${c.Labels["org.llm-sandbox.lang"] ?? "?"})`).join(", ")}`);
    }
  };
}
