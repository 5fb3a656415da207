import { EngineUnavailableError, SandboxPodmanSession } from "@llm-sandbox/core";
import { podmanClient } from "@llm-sandbox/core/backends";
import { describe, expect, it } from "vitest";

describe("Podman backend without a service", () => {
  it("open() says Podman's service is not reachable and how to start it", async () => {
    const session = new SandboxPodmanSession({ client: podmanClient("unix:///nonexistent/podman.sock") });
    const error = await session.open().catch((e: unknown) => e);
    expect(EngineUnavailableError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("Cannot reach Podman's service at unix:///nonexistent/podman.sock");
    expect((error as Error).message).toContain("llm-sandbox setup --podman");
  });
});
