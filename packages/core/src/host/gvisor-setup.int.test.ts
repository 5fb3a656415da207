import { describe, expect, it } from "vitest";
import { engineClient } from "../backends/engine-client.js";
import { GVISOR_RUNTIMES } from "../backends/gvisor.js";
import type { Logger } from "../internal/logger.js";
import { managedImageName } from "../setup.js";
import { ensureGvisor } from "./gvisor-setup.js";

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

// npm test's set-up (`setup --test-fixtures`) has registered the runtimes, so this is the idempotent path.
describe("ensureGvisor on the local engine", () => {
  it("changes nothing when the runtimes are registered, and their containers boot gVisor", async () => {
    const docker = engineClient();
    const report = await ensureGvisor(docker, { logger: quiet, image: managedImageName("base") });
    expect(report).toMatchObject({ configWritten: undefined, reloaded: false, restarted: false });
    const info = (await docker.info()) as { Runtimes: Record<string, { runtimeArgs?: string[] }> };
    for (const [name, args] of Object.entries(GVISOR_RUNTIMES)) expect(info.Runtimes[name]?.runtimeArgs).toEqual(args);
    expect(report.runtimes.map((r) => r.runtime)).toEqual(Object.keys(GVISOR_RUNTIMES));
    // gVisor's kernel reports itself as 4.4.0, whatever the host runs.
    for (const r of report.runtimes) expect(r.kernel).toMatch(/^Linux version 4\.4\.0 /);
  });
});
