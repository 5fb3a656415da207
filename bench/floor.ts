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

/** Runs `use` with an idle container of IMAGE, removed afterwards. */
export async function withFloorContainer<T>(use: (container: Container) => Promise<T>): Promise<T> {
  const container = await docker.createContainer({ Image: IMAGE, Entrypoint: ["sleep"], Cmd: ["infinity"], Labels, HostConfig: { Init: true } });
  try {
    await container.start();
    await rawExec(container, ["true"]);
    return await use(container);
  } finally {
    await container.remove({ force: true });
  }
}
