/** Docker-specific checks; what every backend does is in the session contract (test/contract). */
import { createSession } from "@llm-sandbox/core";
import { engineClient } from "@llm-sandbox/core/backends";
import { describe, expect, it } from "vitest";
import { sharedSession, withSession } from "../../../../test/helpers/sessions.js";

describe("Docker: the container a session creates", async () => {
  const session = await sharedSession({ lang: "python" });
  const docker = engineClient();

  it("is hardened, limited and labelled", async () => {
    const info = await docker.getContainer(session.containerId!).inspect();
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Memory).toBe(1024 ** 3);
    expect(info.HostConfig.PidsLimit).toBe(256);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.Privileged).toBe(false);
    // PID 1 is the lifecycle's keep-alive (it reaps orphans and frees a fork bomb's slots), not the engine's init.
    expect(info.HostConfig.Init).toBe(false);
    expect([info.Config.Entrypoint, info.Config.Cmd].flat().at(-1)).toBe("llm-sandbox-keep-alive");
    expect(info.Config.Labels).toMatchObject({ "org.llm-sandbox.managed": "true", "org.llm-sandbox.session": session.id });
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([]);
  });

  it("await using removes it", async () => {
    let id: string | undefined;
    {
      await using scoped = await createSession({ lang: "python" }).open();
      id = scoped.containerId;
      expect((await scoped.run("print(5)")).stdout).toBe("5\n");
    }
    await expect(docker.getContainer(id!).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe("Docker: commits", () => {
  const docker = engineClient();

  it("commits to a fresh tag and leaves the source image alone", async () => {
    const before = (await docker.getImage("llm-sandbox/python:latest").inspect()).Id;
    const session = await createSession({ lang: "python", commitContainer: true }).open();
    await session.executeCommand("echo kept > /sandbox/kept.txt");
    await session.close();
    const committed = session.committedImage!;
    try {
      expect(committed).toMatch(/^llm-sandbox-commit\/python:/);
      expect((await docker.getImage("llm-sandbox/python:latest").inspect()).Id).toBe(before);
      await withSession({ lang: "python", image: committed }, async (reopened) => {
        expect((await reopened.executeCommand("cat /sandbox/kept.txt")).stdout).toBe("kept\n");
      });
    } finally {
      await docker.getImage(committed).remove({ force: true });
    }
  });
});
