// The engine floor: the cheapest things the Engine API can do, measured next to our numbers in the same run.
import { hostname } from "node:os";
import { engineClient } from "@llm-sandbox/core/backends";

export const IMAGE = "llm-sandbox/python:latest";
/** Labelled like sessions' containers, so `llm-sandbox cleanup` finds them if the benchmark dies. */
export const Labels = { "org.llm-sandbox.managed": "true", "org.llm-sandbox.owner-pid": String(process.pid), "org.llm-sandbox.owner-host": hostname() };
export const docker = engineClient();

export type Container = Awaited<ReturnType<typeof docker.createContainer>>;

/** One exec create + start + inspect, through the Engine API: the cheapest possible run. */
export async function rawExec(container: Container, argv: string[]) {
  const exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise((resolve) => stream.on("end", resolve));
  await exec.inspect();
}

export type CreateOptions = Parameters<typeof docker.createContainer>[0];

/**
 * Runs `use` with a labelled container made from `options`, removed afterwards. Its main process must end when its
 * stdin closes: this process holds that stdin (the attached stream `use` gets, for reading the output too), so the
 * container also goes (AutoRemove) when we die without a `finally`: Ctrl-C with no session open, a crash, SIGKILL.
 */
export async function withContainer<T>(options: CreateOptions, use: (container: Container, attached: NodeJS.ReadWriteStream) => Promise<T>): Promise<T> {
  const container = await docker.createContainer({
    ...options,
    Labels,
    OpenStdin: true,
    StdinOnce: true,
    HostConfig: { ...options.HostConfig, AutoRemove: true },
  });
  let attached: NodeJS.ReadWriteStream | undefined;
  try {
    attached = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    // The engine may cut the stream when the container goes; nothing to report then.
    attached.on("error", () => {});
    await container.start();
    return await use(container, attached);
  } finally {
    (attached as { destroy?: () => void } | undefined)?.destroy?.();
    // AutoRemove may be removing it already (409) or be done (404).
    await container.remove({ force: true }).catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
    });
  }
}

/** Runs `use` with an idle container of IMAGE (`cat` waits on the stdin we hold), removed afterwards. */
export function withFloorContainer<T>(use: (container: Container) => Promise<T>): Promise<T> {
  return withContainer({ Image: IMAGE, Entrypoint: ["cat"], Cmd: [], HostConfig: { Init: true } }, async (container) => {
    await rawExec(container, ["true"]);
    return use(container);
  });
}

/** What `docker run --rm IMAGE true` does, through the Engine API. */
export async function dockerRunTrue() {
  const container = await docker.createContainer({ Image: IMAGE, Cmd: ["true"], Labels });
  await container.start();
  await container.wait();
  await container.remove({ force: true });
}
