import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { engineClient } from "../backends/engine-client.js";
import { ImageBuildError, ImageNotFoundError, ImagePullError, ValidationError } from "../errors.js";
import { LABELS } from "../internal/labels.js";
import { silentLogger } from "../internal/logger.js";
import { buildDockerfile, prepareImage, type ImageProgressEvent } from "./builder.js";

describe("image builder (real engine)", () => {
  const docker = engineClient();
  const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-builder-test-"));
  const tags = new Set<string>();
  afterAll(async () => {
    for (const tag of tags) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const build = async (dockerfile = join(dir, "Dockerfile")) => {
    const events: ImageProgressEvent[] = [];
    const tag = await buildDockerfile(docker, dockerfile, {
      logger: silentLogger,
      onProgress: (e) => events.push(e),
      extraCaCerts: [],
    });
    tags.add(tag);
    return { tag, steps: events.filter((e) => e.kind === "step").map((e) => e.message) };
  };

  it("builds a Dockerfile from its directory, labels it, skips it when unchanged and honours .dockerignore", async () => {
    // FROM scratch: no base image or registry needed.
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY . /ctx/\n");
    writeFileSync(join(dir, "hello.txt"), "hello\n");
    writeFileSync(join(dir, "noise.log"), "1\n");
    writeFileSync(join(dir, ".dockerignore"), "*.log\n");

    const first = await build();
    expect(first.tag).toMatch(/^llm-sandbox-custom\/[0-9a-f]{12}:latest$/);
    expect(first.steps).toEqual(["Step 1/4 : FROM scratch", "Step 2/4 : COPY . /ctx/", expect.stringMatching(/^Step 3\/4 : LABEL /), expect.stringMatching(/^Step 4\/4 : LABEL /)]);
    const labels = (await docker.getImage(first.tag).inspect()).Config.Labels;
    expect(labels?.[LABELS.managed]).toBe("true");
    expect(labels?.[LABELS.dockerfileHash]).toMatch(new RegExp(`^${first.tag.slice("llm-sandbox-custom/".length, -":latest".length)}[0-9a-f]{52}$`));

    expect(await build()).toEqual({ tag: first.tag, steps: [] });

    writeFileSync(join(dir, "noise.log"), "2\n");
    expect((await build()).tag).toBe(first.tag);

    writeFileSync(join(dir, "hello.txt"), "hello again\n");
    const changed = await build();
    expect(changed.tag).not.toBe(first.tag);
    expect(changed.steps).toHaveLength(4);
  });

  it("reports a failing build as ImageBuildError with the end of its log", async () => {
    const dockerfile = join(dir, "Failing.Dockerfile");
    writeFileSync(dockerfile, "FROM scratch\nRUN false\n");
    const error = await build(dockerfile).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as ImageBuildError).log).toContain("Step 2/4 : RUN false");
    expect((error as ImageBuildError).message).toContain("/bin/sh");
    expect((error as ImageBuildError).message).toMatch(/Failed to build image llm-sandbox-custom\/[0-9a-f]{12}:latest/);
  });

  it("refuses a missing Dockerfile", async () => {
    await expect(build(join(dir, "nope", "Dockerfile"))).rejects.toThrow(ValidationError);
  });

  it("prepareImage: present images are left alone; unknown managed names are not pulled; failed pulls are ImagePullError", async () => {
    const { tag } = await build();
    await prepareImage(docker, tag, { logger: silentLogger });
    const missing = await prepareImage(docker, "llm-sandbox/no-such-dir:latest", { logger: silentLogger }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ImageNotFoundError);
    expect((missing as Error).message).toContain("npx llm-sandbox setup");
    await expect(prepareImage(docker, "registry.invalid/llm-sandbox-test/none:1", { logger: silentLogger })).rejects.toThrow(
      ImagePullError,
    );
  });
});
