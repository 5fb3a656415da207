import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createSession, engineClient } from "@llm-sandbox/core";
import { afterAll, describe, expect, it } from "vitest";
import { sharedSession, withSession } from "../../../../test/helpers/sessions.js";

describe("secure defaults (real engine)", async () => {
  const session = await sharedSession({ lang: "python" });
  const docker = engineClient();

  it("runs as a non-root user", async () => {
    expect((await session.executeCommand("id -u")).stdout.trim()).toBe("1000");
  });

  it("creates the container hardened and labelled", async () => {
    const info = await docker.getContainer(session.containerId!).inspect();
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Memory).toBe(1024 ** 3);
    expect(info.HostConfig.PidsLimit).toBe(256);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.Config.Labels).toMatchObject({ "org.llm-sandbox.managed": "true", "org.llm-sandbox.session": session.id });
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([]);
  });

  it("keeps the root filesystem read-only while the workdir and /tmp are writable", async () => {
    const result = await session.executeCommand("touch /usr/x 2>&1; echo rc=$?; touch /sandbox/w /tmp/t && echo writable");
    expect(result.stdout).toContain("Read-only file system");
    expect(result.stdout).toContain("writable");
  });

  it("limits the workdir size", async () => {
    await withSession({ lang: "python", runtimeConfigs: { workdirSize: "8m" } }, async (small) => {
      const result = await small.executeCommand("head -c 20000000 /dev/zero > big; echo rc=$?");
      expect(result.stderr).toMatch(/No space left on device/);
      expect(result.stdout).toBe("rc=1\n");
    });
  });
});

describe("network (real engine)", () => {
  const server = createServer((_, res) => res.end("hello from the host"));
  const listening = new Promise<number>((resolve) => server.listen(0, "0.0.0.0", () => resolve((server.address() as AddressInfo).port)));
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  const fetchFromHost = (port: number) =>
    `import urllib.request\nprint(urllib.request.urlopen('http://host.docker.internal:${port}', timeout=5).read().decode())`;

  it("user code has no network by default", async () => {
    const port = await listening;
    await withSession({ lang: "python" }, async (session) => {
      const result = await session.run(fetchFromHost(port).replace("host.docker.internal", "172.17.0.1"));
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/Network is unreachable|URLError/);
      const interfaces = await session.executeCommand("cat /proc/net/dev");
      expect(interfaces.stdout).not.toMatch(/eth0/);
    });
  });

  it("with network enabled, user code reaches a server on the host", async () => {
    const port = await listening;
    await withSession({ lang: "python", runtimeConfigs: { network: true } }, async (session) => {
      const result = await session.run(fetchFromHost(port));
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("hello from the host\n");
    });
  });

  it("installs libraries over a network that user code never sees", async () => {
    await withSession({ lang: "javascript" }, async (session) => {
      const result = await session.run("console.log(require('is-number')(5), require('fs').existsSync('/proc/net/dev'))", {
        libraries: ["is-number@7.0.0"],
      });
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("true true\n");
      const interfaces = await session.executeCommand("cat /proc/net/dev");
      expect(interfaces.stdout).not.toMatch(/eth0/);
    });
  });
});

describe("existing containers and commits (real engine)", () => {
  const docker = engineClient();

  it("attaches to an existing container and never removes it", async () => {
    const container = await docker.createContainer({
      Image: "llm-sandbox/python:latest",
      Labels: { "org.llm-sandbox.managed": "true", "org.llm-sandbox.owner-pid": String(process.pid) },
    });
    try {
      await withSession({ lang: "python", containerId: container.id }, async (session) => {
        expect((await session.run("print('attached')")).stdout).toBe("attached\n");
      });
      expect((await container.inspect()).State.Running).toBe(true);
    } finally {
      await container.remove({ force: true });
    }
  });

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
