// Interactive sessions: per-cell round trip on the kernel's stream vs. the engine's exec floor, in one run (issue 7).
import { createSession, InteractiveSandboxSession } from "@llm-sandbox/core";
import { rawExec, withFloorContainer } from "./floor.ts";
import { ms, printTable, samples } from "./stats.ts";

const CELLS = Math.max(100, Number(process.env.BENCH_CELLS ?? 200));
const OPENS = Number(process.env.BENCH_OPENS ?? 5);

async function kernel(lang: "python" | "javascript", init: string, cell: string) {
  const open = await samples(OPENS, async () => {
    const session = await new InteractiveSandboxSession({ lang }).open();
    await session.close();
  });
  const session = await new InteractiveSandboxSession({ lang }).open();
  try {
    await session.run(init);
    for (let i = 0; i < 10; i++) await session.run(cell); // warm-up
    const cells = await samples(CELLS, () => session.run(cell));
    const check = await session.run("x");
    if (check.value !== String(CELLS + 10)) throw new Error(`state lost: x = ${check.value}`);
    return { open, cells };
  } finally {
    await session.close();
  }
}

await withFloorContainer(async (container) => {
  const execTrue = await samples(30, () => rawExec(container, ["true"]));
  const plain = createSession({ lang: "python" });
  await plain.open();
  const plainRun = await samples(30, () => plain.run("x = 1"));
  await plain.close();
  const python = await kernel("python", "x = 0", "x = x + 1");
  const javascript = await kernel("javascript", "var x = 0", "x = x + 1");

  const floor = ms(execTrue).p50;
  printTable(`Interactive sessions (${CELLS} cells, ${OPENS} opens; ms)`, [
    { what: "raw exec `true` (create+start+inspect)", ...ms(execTrue) },
    { what: "plain session warm run(`x = 1`) (one exec)", ...ms(plainRun), "vs exec floor": `${(ms(plainRun).p50 / floor).toFixed(2)}×` },
    { what: "python (IPython) open", ...ms(python.open) },
    { what: "python cell `x = x + 1`", ...ms(python.cells), "vs exec floor": `${(ms(python.cells).p50 / floor).toFixed(2)}×` },
    { what: "javascript open", ...ms(javascript.open) },
    { what: "javascript cell `x = x + 1`", ...ms(javascript.cells), "vs exec floor": `${(ms(javascript.cells).p50 / floor).toFixed(2)}×` },
  ]);
});
