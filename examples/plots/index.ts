// Runs Python that makes two plots in a sandbox, writes them to files, and prints what the charts contain.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ArtifactSandboxSession } from "@llm-sandbox/core";

const code = `
import matplotlib.pyplot as plt
import numpy as np

x = np.linspace(0, 2 * np.pi, 50)
plt.plot(x, np.sin(x), label="sin")
plt.title("Sine wave"); plt.xlabel("x"); plt.ylabel("sin(x)"); plt.legend()
plt.show()

plt.bar(["python", "typescript", "go"], [42, 37, 12])
plt.title("Runs per language")
plt.show()
print("made two plots")
`;

const outDir = join(process.cwd(), "plots-out");
const session = await new ArtifactSandboxSession({ lang: "python" }).open();
try {
  const result = await session.run(code);
  process.stdout.write(result.stdout);
  await mkdir(outDir, { recursive: true });
  for (const [index, plot] of result.plots.entries()) {
    const file = join(outDir, `plot-${index + 1}.${plot.format}`);
    await writeFile(file, Buffer.from(plot.contentBase64, "base64"));
    console.log(`${file}  ${plot.width}×${plot.height}  ${plot.chart?.type} chart "${plot.chart?.title}"`);
  }
} finally {
  await session.close();
}
