import { describe, expect, it } from "vitest";
import { EngineUnavailableError } from "../errors.js";
import { engineClient, podmanHost } from "./engine-client.js";

describe("podmanHost: where Podman's service is, as Podman's clients find it", () => {
  it("CONTAINER_HOST first", () => {
    expect(podmanHost({ CONTAINER_HOST: "unix:///custom/podman.sock", XDG_RUNTIME_DIR: "/run/user/5" }, 5)).toBe("unix:///custom/podman.sock");
  });

  it("root: the rootful socket", () => {
    expect(podmanHost({ XDG_RUNTIME_DIR: "/run/user/0" }, 0)).toBe("unix:///run/podman/podman.sock");
  });

  it("other users: the rootless socket in XDG_RUNTIME_DIR, else /run/user/UID", () => {
    expect(podmanHost({ XDG_RUNTIME_DIR: "/run/user/1000" }, 1000)).toBe("unix:///run/user/1000/podman/podman.sock");
    expect(podmanHost({}, 1000)).toBe("unix:///run/user/1000/podman/podman.sock");
  });
});

describe("engineClient", () => {
  it("takes unix://, a bare path and tcp://; refuses ssh:// with a hint", () => {
    expect((engineClient("unix:///run/podman/podman.sock").modem as unknown as { socketPath: string }).socketPath).toBe("/run/podman/podman.sock");
    expect((engineClient("/var/run/docker.sock").modem as unknown as { socketPath: string }).socketPath).toBe("/var/run/docker.sock");
    expect((engineClient("tcp://10.0.0.2:2375").modem as unknown as { host: string }).host).toBe("10.0.0.2");
    expect(() => engineClient("ssh://core@host/run/podman/podman.sock")).toThrow(EngineUnavailableError);
  });
});
