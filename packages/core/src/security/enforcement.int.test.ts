import type { Readable } from "node:stream";
import { SecurityViolationError } from "@llm-sandbox/core";
import { engineClient } from "@llm-sandbox/core/backends";
import { describe, expect, it, vi } from "vitest";
import { sharedSession, withSession } from "../../../../test/helpers/sessions.js";

/** Collects the engine's exec_create events for one container while `use` runs. */
async function watchExecs(containerId: string, use: (created: string[]) => Promise<void>): Promise<void> {
  const docker = engineClient();
  const stream = (await docker.getEvents({ filters: { container: [containerId], event: ["exec_create"] } })) as Readable;
  const created: string[] = [];
  let pending = "";
  stream.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) if (line.trim()) created.push((JSON.parse(line) as { Action: string }).Action);
  });
  try {
    await use(created);
  } finally {
    stream.destroy();
  }
}

describe("enforced security policy (real engine)", async () => {
  const session = await sharedSession({ lang: "python", securityPolicy: "production" });

  it("run() with the production preset refuses `import subprocess` and never creates an exec for it", async () => {
    await watchExecs(session.containerId!, async (created) => {
      const error = await session.run("import subprocess\nprint(subprocess.run(['id']).returncode)").catch((caught: unknown) => caught);
      expect(SecurityViolationError.isInstance(error)).toBe(true);
      expect((error as SecurityViolationError).violations).toEqual(
        expect.arrayContaining([expect.objectContaining({ kind: "module", module: "subprocess", line: 1 })]),
      );
      // Control: an allowed run is one exec, and the watcher sees it. Had the refused run reached the engine, its
      // exec would have been recorded first.
      const allowed = await session.run("print('allowed')");
      expect(allowed.stdout).toBe("allowed\n");
      await vi.waitFor(() => expect(created.length).toBeGreaterThan(0), { timeout: 15_000, interval: 100 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(created).toHaveLength(1);
      expect(created[0]).toMatch(/^exec_create: \/bin\/sh -c cat > "\$SANDBOX_FILE"/);
    });
  });

  it("refuses in every language, here JavaScript, and runs what the policy allows", async () => {
    await withSession({ lang: "javascript", securityPolicy: "production" }, async (js) => {
      await expect(js.run("require('node:child_process').execSync('id')")).rejects.toSatisfy(SecurityViolationError.isInstance);
      expect((await js.run("console.log([1, 2, 3].map((x) => x * 2).join(','))")).stdout).toBe("2,4,6\n");
    });
  });

  it("advisory mode runs the code the policy would refuse", async () => {
    await withSession({ lang: "python", securityPolicy: "production", securityMode: "advisory" }, async (advisory) => {
      const result = await advisory.run("import subprocess\nprint(subprocess.run(['true']).returncode)");
      expect(result.stdout).toBe("0\n");
    });
  });
});
