import { spawn } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import { createSession } from "@llm-sandbox/core";
import { engineClient, podmanClient } from "@llm-sandbox/core/backends";
import { describe, expect, it } from "vitest";
import { LABELS } from "../internal/labels.js";
import { reaperEnabled } from "./reaper.js";

const fixture = fileURLToPath(new URL("../../../../test/fixtures/owner-killed.mjs", import.meta.url));

interface Made {
  readonly owner: string;
  readonly network: string;
  readonly volume: string;
}

/** Runs the fixture until it has made everything, then SIGKILLs it: no handler of it runs. */
async function killedOwner(backend: string, socketPath: string, env: NodeJS.ProcessEnv = {}): Promise<Made> {
  const child = spawn(process.execPath, [fixture], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, LLM_SANDBOX_TEST_OPTIONS: JSON.stringify({ backend, socketPath }) },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const made = await new Promise<Made>((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => resolve(JSON.parse(d.toString())));
    child.once("exit", () => reject(new Error(`fixture exited early: ${stderr}`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  return made;
}

async function owned(docker: Docker, made: Made) {
  const filters = { label: [`${LABELS.owner}=${made.owner}`] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length, volumes: volumes.Volumes?.length ?? 0 };
}

async function reaperOf(docker: Docker, owner: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.reaper}=${owner}`] } });
}

/** Polls until `check` holds or `ms` pass; returns the last value. */
async function within<T>(ms: number, read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    value = await read();
  }
  return value;
}

const nothing = { containers: 0, networks: 0, volumes: 0 };

describe.each([
  ["docker", engineClient(), "/var/run/docker.sock"],
  ["podman", podmanClient(), "/run/podman/podman.sock"],
] as const)("the reaper on %s (real engine, built package)", (backend, docker, socketPath) => {
  it("removes a SIGKILLed owner's sessions, pool, interactive session, network and volume within 30 s, then itself", async () => {
    const made = await killedOwner(backend, socketPath);
    // A session, a pool's container, an interactive session's, a relayed session's and its relay: the fixture got
    // that far before it was killed.
    expect((await owned(docker, made)).containers).toBeGreaterThanOrEqual(5);
    expect(await reaperOf(docker, made.owner)).toHaveLength(1);
    const left = await within(30_000, () => owned(docker, made), (now) => now.containers + now.networks + now.volumes === 0);
    expect(left).toEqual(nothing);
    expect(await within(10_000, () => reaperOf(docker, made.owner), (reapers) => reapers.length === 0)).toEqual([]);
  });

  it("LLM_SANDBOX_REAPER=false starts none, so a killed owner's containers stay until cleanup", async () => {
    const made = await killedOwner(backend, socketPath, { LLM_SANDBOX_REAPER: "false" });
    try {
      expect(await reaperOf(docker, made.owner)).toEqual([]);
      expect((await owned(docker, made)).containers).toBeGreaterThanOrEqual(3);
    } finally {
      const filters = { label: [`${LABELS.owner}=${made.owner}`] };
      // Relays last: Podman refuses to remove one while the sandbox in its namespace exists.
      const containers = await docker.listContainers({ all: true, filters });
      containers.sort((a, b) => Number(a.Labels[LABELS.relay] === "true") - Number(b.Labels[LABELS.relay] === "true"));
      for (const c of containers) await docker.getContainer(c.Id).remove({ force: true, v: true });
      await docker.getNetwork(made.network).remove();
      await docker.getVolume(made.volume).remove();
    }
    expect(await owned(docker, made)).toEqual(nothing);
  });
});

describe("the reaper of this process (Docker)", () => {
  const docker = engineClient();
  const holders = async (reaper: string) => {
    const top = (await docker.getContainer(reaper).top({ ps_args: "-o pid,args" })) as { Processes: string[][] };
    return top.Processes.filter((row) => row.at(-1)?.endsWith(" llm-sandbox-reaper-hold"));
  };

  it("is one per process, and a reaper that lost its holding connection is held again, not duplicated", async () => {
    const first = await createSession({ lang: "bash" }).open();
    try {
      const owner = (await docker.getContainer(first.containerId!).inspect()).Config.Labels[LABELS.owner]!;
      const [reaper] = await reaperOf(docker, owner);
      expect(reaper).toBeDefined();
      // The engine answers the exec's start a moment before its process shows.
      const [holder] = await within(5_000, () => holders(reaper!.Id), (now) => now.length === 1);
      expect(holder).toBeDefined();
      // The connection drops (as a flaky link would) while the reaper lives on in its grace period.
      await docker.getContainer(reaper!.Id).exec({ Cmd: ["kill", holder![0]!], User: "0" }).then((exec) => exec.start({}));
      await within(5_000, () => holders(reaper!.Id), (now) => now.length === 0);
      const second = await createSession({ lang: "bash" }).open();
      await second.close();
      expect((await reaperOf(docker, owner)).map((c) => c.Id)).toEqual([reaper!.Id]);
      expect(await within(5_000, () => holders(reaper!.Id), (now) => now.length === 1)).toHaveLength(1);
    } finally {
      await first.close();
    }
  });
});

describe("reapers and endpoints (Docker)", () => {
  it("what a process makes through a second endpoint to the same engine has its own reaper, which never sweeps the first's", async () => {
    const directory = await mkdtemp(join(tmpdir(), "reaper-endpoint-"));
    const second = join(directory, "engine.sock");
    await symlink("/var/run/docker.sock", second);
    const docker = engineClient();
    const viaDefault = await createSession({ lang: "bash" }).open();
    const viaSecond = await createSession({ lang: "bash", client: engineClient(`unix://${second}`) }).open();
    try {
      const ownerOf = async (id: string) => (await docker.getContainer(id).inspect()).Config.Labels[LABELS.owner]!;
      const [first, other] = [await ownerOf(viaDefault.containerId!), await ownerOf(viaSecond.containerId!)];
      expect(first).not.toBe(other);
      expect(await reaperOf(docker, first)).toHaveLength(1);
      expect(await reaperOf(docker, other)).toHaveLength(1);
    } finally {
      await Promise.all([viaDefault.close(), viaSecond.close()]);
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("reaperEnabled", () => {
  it("is on unless LLM_SANDBOX_REAPER says false", () => {
    expect(reaperEnabled({})).toBe(true);
    expect(reaperEnabled({ LLM_SANDBOX_REAPER: "1" })).toBe(true);
    expect(reaperEnabled({ LLM_SANDBOX_REAPER: " FALSE " })).toBe(false);
  });
});
