// Session latency against the engine floor, measured side by side in one run (issue 2's goals).
import { hostname } from "node:os";
import { createSession, engineClient } from "@llm-sandbox/core";
import { ms, printTable, samples } from "./stats.ts";

const IMAGE = "llm-sandbox/python:latest";
/** Labelled like sessions' containers, so `llm-sandbox cleanup` finds them if the benchmark dies. */
const Labels = { "org.llm-sandbox.managed": "true", "org.llm-sandbox.owner-pid": String(process.pid), "org.llm-sandbox.owner-host": hostname() };
const docker = engineClient();
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

/** One exec create + start + inspect of `true`, through the Engine API: the cheapest possible run. */
async function rawExec(container: Awaited<ReturnType<typeof docker.createContainer>>, argv: string[]) {
  const exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise((resolve) => stream.on("end", resolve));
  await exec.inspect();
}

/** What `docker run --rm IMAGE true` does, through the Engine API. */
async function dockerRunTrue() {
  const container = await docker.createContainer({ Image: IMAGE, Cmd: ["true"], Labels });
  await container.start();
  await container.wait();
  await container.remove({ force: true });
}

const floorContainer = await docker.createContainer({ Image: IMAGE, Entrypoint: ["sleep"], Cmd: ["infinity"], Labels, HostConfig: { Init: true } });
await floorContainer.start();
try {
  await rawExec(floorContainer, ["true"]);
  const execTrue = await samples(RUNS, () => rawExec(floorContainer, ["true"]));
  const execPython = await samples(RUNS, () => rawExec(floorContainer, ["python3", "-c", "print(1)"]));
  const runTrue = await samples(Math.max(5, RUNS / 3), dockerRunTrue);

  const cold = await samples(Math.max(5, RUNS / 3), async () => {
    const session = await createSession({ lang: "python" }).open();
    await session.run("print(1)");
    await session.close();
  });
  const session = await createSession({ lang: "python" }).open();
  await session.run("print(1)");
  const warm = await samples(RUNS, () => session.run("print(1)"));
  const open = await samples(5, async () => {
    const s = createSession({ lang: "python" });
    await s.open();
    await s.close();
  });
  await session.close();

  const floorExec = ms(execPython).p50;
  const floorRun = ms(runTrue).p50;
  printTable(`Session vs engine floor (${RUNS} samples, ms)`, [
    { what: "raw exec `true` (create+start+inspect)", ...ms(execTrue) },
    { what: "raw exec `python3 -c print(1)`", ...ms(execPython) },
    { what: "docker run --rm IMAGE true (API)", ...ms(runTrue) },
    { what: "session open+close", ...ms(open) },
    {
      what: "cold: open → run(print(1)) → close",
      ...ms(cold),
      ratio: `${(ms(cold).p50 / (floorRun + floorExec)).toFixed(2)}× (docker run + python exec)`,
    },
    { what: "warm run(print(1))", ...ms(warm), ratio: `${(ms(warm).p50 / floorExec).toFixed(2)}× raw python exec` },
  ]);
} finally {
  await floorContainer.remove({ force: true });
}
