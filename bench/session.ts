// Session latency against the engine floor, measured side by side in one run (issue 2's goals).
import { createSession } from "@llm-sandbox/core";
import { dockerRunTrue, rawExec, withFloorContainer } from "./floor.ts";
import { ms, printTable, samples } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);

await withFloorContainer(async (floorContainer) => {
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
});
