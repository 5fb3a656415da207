// Runs the README code blocks marked runnable, as a user would paste them: each one as an .mjs file in the current
// directory (a project with the packed packages installed, see check.sh), on the Node running this script. A block
// is marked by an HTML comment on the line before its fence: `<!-- runnable -->`, or `<!-- runnable, prints: TEXT -->`
// when its output must contain TEXT. Fails when a block fails, and when a README that must have one has none.
import { spawn } from "node:child_process";
import { globSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const repo = process.argv[2];
if (!repo) throw new Error("usage: node readme-examples.mjs REPOSITORY_ROOT");
/** The first example a user meets: these READMEs must keep one that runs. */
const REQUIRED = ["README.md", "packages/core/README.md"];
const MARKED = /^<!-- runnable(?:, prints: (.+?))? -->\n```(?:ts|js)\n([\s\S]*?)^```/gm;

const blocks = ["README.md", ...globSync("packages/*/README.md", { cwd: repo })].flatMap((readme) =>
  [...readFileSync(join(repo, readme), "utf8").matchAll(MARKED)].map((match, index) => ({ readme, index, prints: match[1], code: match[2] })),
);
const missing = REQUIRED.filter((readme) => !blocks.some((block) => block.readme === readme));
if (missing.length) throw new Error(`no <!-- runnable --> example in ${missing.join(", ")}`);

/** Runs one file with this Node; the output of both streams, and the exit status (null when the time ran out). */
function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (status) => resolve({ status, output }));
  });
}

let failed = 0;
for (const { readme, index, prints, code } of blocks) {
  const name = `${readme}, runnable block ${index + 1}`;
  const file = `readme-${readme.replaceAll("/", "-")}-${index + 1}.mjs`;
  writeFileSync(file, code);
  const started = Date.now();
  const { status, output } = await run(file);
  const problem = status !== 0 ? `exit status ${status}` : prints && !output.includes(prints) ? `output lacks "${prints}"` : undefined;
  console.log(`[packed] ${problem ? "FAIL" : "ok"} ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)${problem ? `: ${problem}` : ""}`);
  if (problem) {
    failed++;
    console.log(output.replace(/^/gm, "    "));
  }
}
console.log(`[packed] ${blocks.length - failed} of ${blocks.length} runnable README blocks ran`);
process.exitCode = failed ? 1 : 0;
