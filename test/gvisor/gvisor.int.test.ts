// Issue 17: gVisor as an isolation tier on Docker (the session contract under it: test/contract/docker-gvisor.int.test.ts).
import { release } from "node:os";
import { describe, expect, it } from "vitest";
import {
  CapabilityUnavailableError,
  createPoolManager,
  createSession,
  InteractiveSandboxSession,
  MissingDependencyError,
  type SessionOptions,
} from "@llm-sandbox/core";
import { podmanClient } from "@llm-sandbox/core/backends";
import { withSession } from "../helpers/sessions.js";

const KERNEL = "import platform; print(platform.release())";
const gvisor = (extra: SessionOptions["runtimeConfigs"] = {}): SessionOptions => ({ lang: "python", runtimeConfigs: { isolation: "gvisor", ...extra } });

describe("gVisor on Docker", () => {
  it("runs the sandbox on gVisor's kernel, and a default session on the host's", async () => {
    const host = release();
    await withSession(gvisor(), async (session) => {
      expect(session.info).toEqual({ backend: "docker", isolation: "gvisor" });
      const result = await session.run(`${KERNEL}\nprint(open("/proc/version").read())`);
      const [kernel] = result.stdout.split("\n");
      expect(kernel).not.toBe(host);
      expect(result.stdout).toMatch(/^Linux version 4\.4\.0 /m); // gVisor's sentry reports this version
    });
    await withSession({ lang: "python" }, async (session) => {
      expect(session.info.isolation).toBe("container");
      expect((await session.run(KERNEL)).stdout.trim()).toBe(host);
    });
  });

  it("works with every kind of network: none, the bridge and a policy", async () => {
    for (const network of [false, true, { allow: [] as string[] }]) {
      await withSession(gvisor({ network }), async (session) => {
        const result = await session.run(`${KERNEL}\nimport socket\ntry:\n    socket.create_connection(("169.254.169.254", 80), timeout=1); print("reached")\nexcept OSError as error: print("refused")`);
        expect(result.stdout.split("\n")[0], JSON.stringify(network)).toBe("4.4.0");
        // No network, or a policy: nothing outside is reached (on the bridge the metadata address just does not answer).
        if (network !== true) expect(result.stdout).toContain("refused");
      });
    }
  }, 120_000);

  it("keeps an interactive Python kernel's state between cells", async () => {
    const session = await new InteractiveSandboxSession({ ...gvisor() }).open();
    try {
      await session.run("x = 41");
      expect((await session.run(`print(x + 1)\n${KERNEL}`)).stdout.trim().split("\n")).toEqual(["42", "4.4.0"]);
    } finally {
      await session.close();
    }
  }, 120_000);

  it("pools gVisor containers with warm Python: reset between sessions, the same container reused", async () => {
    const pool = createPoolManager({ ...gvisor(), config: { minPoolSize: 1, maxPoolSize: 1 } });
    try {
      const first = await createSession({ pool, lang: "python" }).open();
      const id = first.containerId;
      expect((await first.run(`open("left.txt", "w").write("x")\n${KERNEL}`)).stdout.trim()).toBe("4.4.0");
      await first.close();
      const second = await createSession({ pool, lang: "python" }).open();
      try {
        expect(second.containerId).toBe(id);
        expect(second.info.isolation).toBe("gvisor");
        expect((await second.run("import os; print(os.path.exists('left.txt'))")).stdout.trim()).toBe("False");
      } finally {
        await second.close();
      }
    } finally {
      await pool.close();
    }
  }, 180_000);

  it("names what is missing: an unknown runtime, and Podman, whose API ignores the runtime", async () => {
    const unknown = createSession({ lang: "python", runtimeConfigs: { runtime: "no-such-runtime" } });
    const error = await unknown.open().catch((e: unknown) => e);
    expect(MissingDependencyError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('knows no runtime "no-such-runtime"');
    const podman = createSession({ ...gvisor(), backend: "podman", client: podmanClient() });
    const refused = await podman.open().catch((e: unknown) => e);
    expect(CapabilityUnavailableError.isInstance(refused)).toBe(true);
    expect((refused as Error).message).toContain("Podman's Docker-compatible API ignores the runtime");
  });
});
