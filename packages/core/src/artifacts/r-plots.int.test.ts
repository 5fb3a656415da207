import { ArtifactSandboxSession, type PlotOutput } from "@llm-sandbox/core";
import { afterAll, describe, expect, it } from "vitest";

const PNG_SIGNATURE = "89504e470d0a1a0a";
const bytes = (plot: PlotOutput) => Buffer.from(plot.contentBase64, "base64");

describe("R plot capture (real engine)", async () => {
  const session = new ArtifactSandboxSession({ lang: "r" });
  afterAll(() => session.close());
  await session.open();

  it("seed example: automatic clearing (1, then 1)", async () => {
    const first = await session.run("plot(1:10)", { clearPlots: true });
    expect(first.plots).toHaveLength(1);
    const second = await session.run("hist(rnorm(100))", { clearPlots: true });
    expect(second.plots).toHaveLength(1);
    expect(bytes(second.plots[0]!).subarray(0, 8).toString("hex")).toBe(PNG_SIGNATURE);
  });

  it("base graphics: plot, hist, barplot, boxplot, pie, image, curve — one PNG each", async () => {
    const code = [
      "plot(1:10)",
      "hist(c(1, 2, 2, 3))",
      "barplot(c(a = 1, b = 2))",
      "boxplot(list(1:5, 2:9))",
      "pie(c(1, 2, 3))",
      "image(matrix(1:9, 3))",
      "curve(sin, 0, pi)",
    ].join("\n");
    const result = await session.run(code, { clearPlots: true });
    expect(result.stderr).toBe("");
    expect(result.plots).toHaveLength(7);
    expect(result.plots.every((p) => p.format === "png" && p.library === "r-graphics" && p.width === 800 && p.height === 600)).toBe(true);
  });

  it("whatever is drawn on the device lands on its page (legend, lines, abline)", async () => {
    const result = await session.run("plot(1:10)\nlines(10:1)\nabline(h = 5)\nlegend('topright', legend = 'x')", { clearPlots: true });
    expect(result.plots).toHaveLength(1);
  });

  it("ggplot2: print(p) and ggsave()", async () => {
    const code = [
      "library(ggplot2)",
      "p <- ggplot(data.frame(a = 1:3, b = c(2, 4, 1)), aes(a, b)) + geom_line()",
      "print(p)",
      "ggsave('/tmp/saved.pdf', p, width = 4, height = 3)",
    ].join("\n");
    const result = await session.run(code, { clearPlots: true });
    expect(result.exitCode).toBe(0);
    expect(result.plots.map((p) => [p.format, p.library])).toEqual([
      ["png", "r-graphics"],
      ["pdf", "ggplot2"],
    ]);
    expect(bytes(result.plots[1]!).subarray(0, 4).toString()).toBe("%PDF");
  });

  it("lattice plots", async () => {
    const result = await session.run("library(lattice)\nprint(xyplot(b ~ a, data.frame(a = 1:3, b = 3:1)))", { clearPlots: true });
    expect(result.plots.map((p) => p.format)).toEqual(["png"]);
  });

  it("plotly (htmlwidgets): one self-contained HTML file with chart data", async () => {
    const code = "library(plotly)\nprint(plot_ly(x = c(1, 2, 3), y = c(3, 1, 2), type = 'scatter', mode = 'lines'))";
    const result = await session.run(code, { clearPlots: true });
    expect(result.exitCode).toBe(0);
    const [plot] = result.plots;
    expect(plot).toMatchObject({ format: "html", library: "plotly" });
    const html = bytes(plot!).toString();
    expect(html).toContain("cdn.plot.ly");
    expect(html).not.toMatch(/<script src="lib\//);
    expect(plot!.chart).toMatchObject({ type: "line", series: [{ x: [1, 2, 3], y: [3, 1, 2] }] });
  });

  it("an open but empty device produces no plot; output and errors stay the program's own", async () => {
    const result = await session.run("par(mfrow = c(1, 1))\ncat('hello\\n')\nstop('failed here')", { clearPlots: true });
    expect(result.plots).toEqual([]);
    expect(result.stdout).toBe("hello\n");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("failed here");
  });
});
