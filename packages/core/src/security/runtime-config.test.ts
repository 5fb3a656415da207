import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { SandboxSession } from "../session/session.js";
import { unsafeRuntimeSettings } from "./runtime-config.js";

const create = (runtimeConfigs: Record<string, unknown>) => new SandboxSession({ lang: "python", runtimeConfigs });

describe("runtime settings that weaken the sandbox", () => {
  it.each([
    [{ network: "host" }, "network", "host's network stack"],
    [{ network: "container:abc" }, "network", "other container's network stack"],
    [{ passthrough: { HostConfig: { Privileged: true } } }, "passthrough.HostConfig.Privileged", "privileged"],
    [{ passthrough: { HostConfig: { NetworkMode: "host" } } }, "passthrough.HostConfig.NetworkMode", "network stack"],
    [{ passthrough: { HostConfig: { PidMode: "host" } } }, "passthrough.HostConfig.PidMode", "processes"],
    [{ passthrough: { HostConfig: { IpcMode: "host" } } }, "passthrough.HostConfig.IpcMode", "shared memory"],
    [{ passthrough: { HostConfig: { UsernsMode: "host" } } }, "passthrough.HostConfig.UsernsMode", "user namespace"],
    [{ passthrough: { HostConfig: { Binds: ["/var/run/docker.sock:/var/run/docker.sock"] } } }, "passthrough.HostConfig.Binds", "engine's socket"],
    [{ passthrough: { HostConfig: { Binds: ["/etc:/host-etc:ro"] } } }, "passthrough.HostConfig.Binds", "host paths"],
    [{ passthrough: { HostConfig: { Mounts: [{ Type: "bind", Source: "/", Target: "/host" }] } } }, "passthrough.HostConfig.Mounts", "host paths"],
    [{ passthrough: { HostConfig: { VolumesFrom: ["other"] } } }, "passthrough.HostConfig.VolumesFrom", "volumes"],
    [{ passthrough: { HostConfig: { CapAdd: ["SYS_ADMIN"] } } }, "passthrough.HostConfig.CapAdd", "capabilities"],
    [{ passthrough: { HostConfig: { CapDrop: [] } } }, "passthrough.HostConfig.CapDrop", "dropped capabilities"],
    [{ passthrough: { HostConfig: { SecurityOpt: ["seccomp=unconfined", "no-new-privileges"] } } }, "passthrough.HostConfig.SecurityOpt", "confinement"],
    [{ passthrough: { HostConfig: { SecurityOpt: ["apparmor=docker-default"] } } }, "passthrough.HostConfig.SecurityOpt", "no-new-privileges"],
    [{ passthrough: { HostConfig: { Devices: [{ PathOnHost: "/dev/kvm" }] } } }, "passthrough.HostConfig.Devices", "devices"],
    [{ passthrough: { HostConfig: { MaskedPaths: [] } } }, "passthrough.HostConfig.MaskedPaths", "unmasks"],
    [{ passthrough: { HostConfig: { OomKillDisable: true } } }, "passthrough.HostConfig.OomKillDisable", "out-of-memory"],
    [{ passthrough: { hostconfig: { privileged: true } } }, "passthrough.hostconfig.privileged", "privileged"],
    [{ passthrough: { Privileged: true } }, "passthrough.Privileged", "privileged"],
  ])("%j is refused at construction, naming the key", (configs, path, reason) => {
    expect(unsafeRuntimeSettings(configs)).toEqual([expect.objectContaining({ path, reason: expect.stringContaining(reason) })]);
    let error: unknown;
    try {
      create(configs);
    } catch (caught) {
      error = caught;
    }
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`runtimeConfigs.${path}`);
    expect((error as Error).message).toContain("allowUnsafe");
  });

  it("is accepted with allowUnsafe: true", () => {
    expect(() => create({ allowUnsafe: true, network: "host", passthrough: { HostConfig: { Privileged: true, PidMode: "host" } } })).not.toThrow();
  });

  it("leaves harmless settings alone", () => {
    const safe = {
      network: "my-network",
      passthrough: {
        HostConfig: {
          Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 1024 }],
          CapDrop: ["ALL"],
          SecurityOpt: ["no-new-privileges:true", "apparmor=docker-default"],
          Mounts: [{ Type: "volume", Source: "cache", Target: "/cache" }, { Type: "tmpfs", Target: "/scratch" }],
          NetworkMode: "none",
        },
        Hostname: "sandbox",
      },
    };
    expect(unsafeRuntimeSettings(safe)).toEqual([]);
    expect(() => create(safe)).not.toThrow();
  });

  it("lists every unsafe setting at once", () => {
    expect(() => create({ network: "host", passthrough: { HostConfig: { Privileged: true, CapAdd: ["NET_ADMIN"] } } })).toThrow(
      /runtimeConfigs\.network[\s\S]*runtimeConfigs\.passthrough\.HostConfig\.Privileged[\s\S]*runtimeConfigs\.passthrough\.HostConfig\.CapAdd/,
    );
  });
});
