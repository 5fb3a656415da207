import { fileURLToPath } from "node:url";
import { engineClient, MicromambaBackend } from "@llm-sandbox/core/backends";
import { describe, expect, it } from "vitest";
import { followJsonStream } from "../../packages/core/src/images/engine-stream.js";
import { withSession } from "../helpers/sessions.js";
import { engineTarget } from "./engine-target.js";
import { sessionContract } from "./session-contract.js";

const docker = engineClient();
const ENVIRONMENT = "sci";
const image = (lang: string) => `llm-sandbox-test/micromamba-${lang === "javascript" ? "node" : "python"}:latest`;

// The real micromamba cannot be fetched here: these images give `micromamba run -n ENV …` from a small script
// (test/fixtures/micromamba), on top of the managed python and node images.
for (const base of ["python", "node"]) {
  const stream = await docker.buildImage(
    { context: fileURLToPath(new URL("../fixtures/micromamba", import.meta.url)), src: ["Dockerfile", "micromamba"] },
    { t: image(base === "node" ? "javascript" : "python"), buildargs: { BASE: `llm-sandbox/${base}:latest` }, rm: true },
  );
  let failure: string | undefined;
  await followJsonStream(stream, (m) => (failure ??= m.errorDetail?.message ?? m.error));
  if (failure) throw new Error(`building the micromamba test image failed: ${failure}`);
}

sessionContract(
  engineTarget({
    backend: "micromamba",
    docker,
    options: (overrides) => ({
      backend: "micromamba",
      environment: ENVIRONMENT,
      image: image(overrides.lang ?? "python"),
      ...overrides,
    }),
    adapter: () => new MicromambaBackend(docker, ENVIRONMENT),
    externalImage: image("python"),
  }),
);

describe("micromamba: the environment", () => {
  it("every run and command runs inside it, with its own exit code and streams", async () => {
    await withSession({ backend: "micromamba", environment: ENVIRONMENT, image: image("python") }, async (session) => {
      const run = await session.run("import os, shutil\nprint(os.environ['CONDA_DEFAULT_ENV'], shutil.which('python3'))");
      expect(run.stdout).toBe(`${ENVIRONMENT} /opt/conda/envs/${ENVIRONMENT}/bin/python3\n`);
      expect((await session.executeCommand(["sh", "-c", 'echo "$CONDA_PREFIX"'])).stdout).toBe(`/opt/conda/envs/${ENVIRONMENT}\n`);
      const failing = await session.executeCommand("echo out; echo err >&2; exit 9", { onStdout: () => {} });
      expect(failing).toMatchObject({ exitCode: 9, stdout: "out\n", stderr: "err\n" });
    });
  });

  it("a missing environment fails every command with micromamba's message, not exit code 0", async () => {
    await withSession({ backend: "micromamba", environment: "nope", image: image("python") }, async (session) => {
      const result = await session.executeCommand(["true"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("prefix does not exist");
    });
  });

  it("defaults: environment base, image mambaorg/micromamba", () => {
    const backend = new MicromambaBackend(docker);
    expect(backend.environment).toBe("base");
    expect(backend.defaultImage).toBe("mambaorg/micromamba:latest");
  });
});
