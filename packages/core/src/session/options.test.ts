import {
  createPoolManager,
  createSession,
  LanguageNotSupportedError,
  MicromambaSession,
  SandboxDockerSession,
  SandboxKubernetesSession,
  SandboxPodmanSession,
  SandboxSession,
  ValidationError,
} from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";

/** The ValidationError thrown by `make`, for its message. */
function refusal(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(ValidationError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected a ValidationError");
}

describe("session options", () => {
  it("unknown language → LanguageNotSupportedError", () => {
    expect(() => createSession({ lang: "cobol" })).toThrow(LanguageNotSupportedError);
  });

  it("bad options → one ValidationError naming each problem", () => {
    const message = refusal(() =>
      createSession({ lang: "python", image: "a", dockerfile: "b", defaultTimeout: -1, runtimeConfigs: { memory: "lots" } } as never),
    );
    expect(message).toContain("Only one of 'image' or 'dockerfile'");
    expect(message).toContain("defaultTimeout");
    expect(message).toContain("memory");
  });

  it("library names: option-like ones are refused for sessions and pools alike; the rest are trimmed", () => {
    expect(refusal(() => createSession({ libraries: ["--index-url=http://evil"] }))).toMatch(/Invalid library name\(s\): "--index-url=http:\/\/evil"/);
    expect(refusal(() => createPoolManager({ libraries: ["numpy", "-e ."] }))).toMatch(/Invalid library name\(s\): "-e \."/);
    expect(createSession({ libraries: [" is-number@7.0.0 "] }).options.libraries).toEqual(["is-number@7.0.0"]);
  });

  it("unknown options are refused instead of silently ignored", () => {
    expect(refusal(() => createSession({ lang: "python", kubeNamespce: "x" } as never))).toMatch(/kubeNamespce/);
    expect(refusal(() => createSession({ backend: "firecracker" } as never))).toMatch(/backend/);
  });

  it("refuses options of another backend", () => {
    expect(refusal(() => createSession({ kubeNamespace: "x" }))).toContain("'kubeNamespace' is for the kubernetes backend, not docker");
    expect(refusal(() => createSession({ backend: "podman", podManifest: {} }))).toContain("'podManifest' is for the kubernetes backend");
    expect(refusal(() => createSession({ backend: "docker", environment: "sci" }))).toContain("'environment' is for the micromamba backend");
    expect(refusal(() => new SandboxDockerSession({ envVars: { A: "1" } }))).toContain("'envVars'");
  });

  it("refuses what Kubernetes cannot do, saying what to do instead", () => {
    const message = refusal(() =>
      createSession({
        backend: "kubernetes",
        dockerfile: "Dockerfile",
        commitContainer: true,
        runtimeConfigs: { network: true, passthrough: {}, pids: 10, user: "sandbox" },
      }),
    );
    for (const expected of ["build and push", "commit pods", "NetworkPolicy", "podManifest", "podPidsLimit", "numeric user"]) {
      expect(message).toContain(expected);
    }
    expect(refusal(() => createSession({ backend: "kubernetes", kubeNamespace: "Not_A_Label" }))).toContain("DNS label");
  });

  it("createSession returns the backend's class; the classes fix their backend", () => {
    expect(createSession()).toBeInstanceOf(SandboxDockerSession);
    expect(createSession({ backend: "podman" })).toBeInstanceOf(SandboxPodmanSession);
    expect(createSession({ backend: "KUBERNETES" as never })).toBeInstanceOf(SandboxKubernetesSession);
    const micromamba = createSession({ backend: "micromamba", environment: "sci" });
    expect(micromamba).toBeInstanceOf(MicromambaSession);
    expect(micromamba).toBeInstanceOf(SandboxSession);
    expect(new SandboxKubernetesSession({ kubeNamespace: "team-a" }).options).toMatchObject({ backend: "kubernetes", kubeNamespace: "team-a" });
    expect(new MicromambaSession().options.backend).toBe("micromamba");
  });
});
