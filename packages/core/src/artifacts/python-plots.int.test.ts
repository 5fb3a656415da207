import { ArtifactSandboxSession, LanguageNotSupportPlotError, type PlotOutput } from "@llm-sandbox/core";
import { afterAll, describe, expect, it } from "vitest";

const PNG_SIGNATURE = "89504e470d0a1a0a";
const bytes = (plot: PlotOutput) => Buffer.from(plot.contentBase64, "base64");

async function artifactSession(options: ConstructorParameters<typeof ArtifactSandboxSession>[0] = {}) {
  const session = new ArtifactSandboxSession({ lang: "python", ...options });
  afterAll(() => session.close());
  return session.open();
}

describe("Python plot capture (real engine)", async () => {
  const session = await artifactSession();

  it("seed example: plots accumulate across runs (2, then 3)", async () => {
    const first = await session.run(
      "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nplt.plot([4, 5, 6])\nplt.show()",
      { clearPlots: true },
    );
    expect(first.plots).toHaveLength(2);
    const second = await session.run("import matplotlib.pyplot as plt\nplt.plot([7, 8, 9])\nplt.show()");
    expect(second.plots).toHaveLength(3);
    expect(second.plots.map((p) => p.filename)).toEqual(["000001.png", "000002.png", "000003.png"]);
  });

  it("seed example: clearPlots() resets (1, then 1)", async () => {
    session.clearPlots();
    const first = await session.run("import matplotlib.pyplot as plt; plt.plot([1,2,3]); plt.show()");
    expect(first.plots).toHaveLength(1);
    session.clearPlots();
    const second = await session.run("import matplotlib.pyplot as plt; plt.plot([4,5,6]); plt.show()");
    expect(second.plots).toHaveLength(1);
    expect(second.plots[0]!.filename).toBe("000001.png");
  });

  it("matplotlib PNGs are real PNGs with their size", async () => {
    const result = await session.run("import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()", { clearPlots: true });
    const [plot] = result.plots;
    expect(plot).toMatchObject({ format: "png", library: "matplotlib", dpi: 100 });
    expect(bytes(plot!).subarray(0, 8).toString("hex")).toBe(PNG_SIGNATURE);
    expect(plot!.width).toBe(bytes(plot!).readUInt32BE(16));
  });

  it("plt.savefig('/tmp/a.svg') yields an svg plot; an empty figure yields none", async () => {
    const saved = await session.run("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('/tmp/a.svg')", { clearPlots: true });
    expect(saved.plots.map((p) => p.format)).toEqual(["svg"]);
    expect(bytes(saved.plots[0]!).toString()).toContain("<svg");
    const empty = await session.run("import matplotlib.pyplot as plt\nplt.figure(); plt.show()", { clearPlots: true });
    expect(empty.plots).toEqual([]);
  });

  it("captures Figure.savefig (jpeg too), figures left open at the end, several open figures, once each", async () => {
    const code = [
      "import matplotlib.pyplot as plt",
      "fig, ax = plt.subplots(); ax.plot([1, 2]); fig.savefig('/tmp/one.jpg')",
      "plt.figure(); plt.plot([3, 4])",
      "plt.figure(); plt.bar(['a', 'b'], [1, 2])",
    ].join("\n");
    const result = await session.run(code, { clearPlots: true });
    expect(result.plots.map((p) => p.format)).toEqual(["jpeg", "png", "png"]);
    expect(bytes(result.plots[0]!).subarray(0, 2).toString("hex")).toBe("ffd8");
  });

  it("keeps the user's line numbers and prints no banner", async () => {
    const result = await session.run("import matplotlib.pyplot as plt\nprint('hi')\nx = 1\nraise ValueError('line four')", { clearPlots: true });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("hi\n");
    expect(result.stderr).toMatch(/line 4, in <module>/);
    expect(result.error).toMatchObject({ name: "ValueError", message: "line four" });
  });

  it("captures plots made before the program failed", async () => {
    const result = await session.run("import matplotlib.pyplot as plt\nplt.plot([1, 2])\n1/0", { clearPlots: true });
    expect(result.exitCode).toBe(1);
    expect(result.plots).toHaveLength(1);
  });

  it("structured chart data of a matplotlib line chart: title, axis labels and the plotted values", async () => {
    const code = [
      "import matplotlib.pyplot as plt",
      "plt.plot([1, 2, 3], [2.5, 3.5, 1.0], label='revenue')",
      "plt.plot([1, 2, 3], [1, 1, 2], label='cost')",
      "plt.title('Quarterly'); plt.xlabel('quarter'); plt.ylabel('EUR m'); plt.legend(); plt.show()",
    ].join("\n");
    const [plot] = (await session.run(code, { clearPlots: true })).plots;
    expect(plot!.chart).toEqual({
      type: "line",
      title: "Quarterly",
      xLabel: "quarter",
      yLabel: "EUR m",
      series: [
        { type: "line", label: "revenue", x: [1, 2, 3], y: [2.5, 3.5, 1.0] },
        { type: "line", label: "cost", x: [1, 2, 3], y: [1, 1, 2] },
      ],
    });
  });

  it("chart data for bar, histogram, pie, box and scatter charts", async () => {
    const code = [
      "import matplotlib.pyplot as plt",
      "plt.bar(['north', 'south'], [3, 5]); plt.show()",
      "plt.hist([1, 1, 2, 3, 3, 3], bins=[0, 2, 4]); plt.show()",
      "plt.pie([30, 70], labels=['yes', 'no']); plt.show()",
      "plt.boxplot([[1, 2, 3, 4, 100]]); plt.show()",
      "plt.scatter([1, 2], [5, 6]); plt.show()",
    ].join("\n");
    const charts = (await session.run(code, { clearPlots: true })).plots.map((p) => p.chart);
    expect(charts.map((c) => c?.type)).toEqual(["bar", "histogram", "pie", "box", "scatter"]);
    expect(charts[0]!.series[0]).toMatchObject({ x: ["north", "south"], y: [3, 5] });
    expect(charts[1]!.series[0]).toMatchObject({ y: [2, 4], binEdges: [0, 2, 4] });
    expect(charts[2]!.series[0]).toMatchObject({ x: ["yes", "no"], y: [30, 70] });
    expect((charts[3]!.series[0] as { boxes: unknown[] }).boxes[0]).toMatchObject({ median: 3, q1: 2, q3: 4, outliers: [100] });
    expect(charts[4]!.series[0]).toMatchObject({ x: [1, 2], y: [5, 6] });
  });

  it("seaborn plots through matplotlib", async () => {
    const result = await session.run(
      "import seaborn as sns, pandas as pd\nsns.barplot(data=pd.DataFrame({'k': ['a', 'b'], 'v': [1, 2]}), x='k', y='v')",
      { clearPlots: true },
    );
    expect(result.stderr).toBe("");
    expect(result.plots.map((p) => [p.format, p.library])).toEqual([["png", "matplotlib"]]);
  });

  it("plotly: fig.show() and write_html give html plots with chart data", async () => {
    const code = [
      "import plotly.express as px",
      "fig = px.line(x=[1, 2, 3], y=[3, 1, 2], title='Trend')",
      "fig.show()",
      "fig.write_html('/tmp/trend.html')",
    ].join("\n");
    const result = await session.run(code, { clearPlots: true });
    expect(result.stderr).toBe("");
    expect(result.plots.map((p) => [p.format, p.library])).toEqual([
      ["html", "plotly"],
      ["html", "plotly"],
    ]);
    expect(bytes(result.plots[0]!).toString()).toContain("cdn.plot.ly");
    expect(result.plots[0]!.chart).toMatchObject({ type: "line", title: "Trend", series: [{ x: [1, 2, 3], y: [3, 1, 2] }] });
  });

  it("bokeh show/save are captured (against a stand-in module with bokeh's API: bokeh itself cannot be installed here)", async () => {
    await session.executeCommand(
      [
        "mkdir -p /tmp/standin/bokeh",
        "echo '' > /tmp/standin/bokeh/__init__.py",
        `printf 'def show(obj): raise RuntimeError("original show must be replaced")\\ndef save(obj, filename="bokeh.html"):\\n    open(filename, "w").write("<html>saved</html>")\\n    return filename\\n' > /tmp/standin/bokeh/io.py`,
        `printf 'def file_html(obj, resources, title): return "<html>%%s</html>" %% obj\\n' > /tmp/standin/bokeh/embed.py`,
        "printf 'CDN = \"cdn\"\\nINLINE = \"inline\"\\n' > /tmp/standin/bokeh/resources.py",
      ].join(" && "),
    );
    const result = await session.run(
      "import sys; sys.path.insert(0, '/tmp/standin')\nfrom bokeh.io import show, save\nshow('figure-one')\nsave('figure-two', '/tmp/b.html')",
      { clearPlots: true },
    );
    expect(result.stderr).toBe("");
    expect(result.plots.map((p) => [p.format, p.library, bytes(p).toString()])).toEqual([
      ["html", "bokeh", "<html>figure-one</html>"],
      ["html", "bokeh", "<html>saved</html>"],
    ]);
  });

  it("reports capture problems in the result, never in the program's output", async () => {
    const result = await session.run("import matplotlib.pyplot as plt\nplt.plot([1])\nplt.savefig('/tmp/x.eps')\nprint('done')", {
      clearPlots: true,
    });
    expect(result.stdout).toBe("done\n");
    expect(result.captureErrors.join("\n")).toMatch(/x\.eps: format 'eps' is not captured/);
  });
});

describe("plot limits and switches (real engine)", () => {
  it("drops plots beyond the per-run count and size limits, with a flag", async () => {
    const session = await artifactSession({ maxPlotsPerRun: 2 });
    const result = await session.run("import matplotlib.pyplot as plt\nfor i in range(4):\n    plt.plot([i]); plt.show()");
    expect(result.plots).toHaveLength(2);
    expect(result.plotsTruncated).toBe(true);
    const small = await artifactSession({ maxPlotBytes: 1000 });
    const big = await small.run("import matplotlib.pyplot as plt\nplt.plot(range(100)); plt.show()");
    expect(big.plots).toEqual([]);
    expect(big.plotsTruncated).toBe(true);
  });

  it("enablePlotting: false returns no plots", async () => {
    const session = await artifactSession({ enablePlotting: false });
    const result = await session.run("import matplotlib.pyplot as plt\nplt.plot([1]); plt.savefig('/tmp/p.png'); plt.show()");
    expect(result.exitCode).toBe(0);
    expect(result.plots).toEqual([]);
  });

  it("a language without plot support raises LanguageNotSupportPlotError when plotting is enabled", () => {
    expect(() => new ArtifactSandboxSession({ lang: "javascript" })).toThrow(LanguageNotSupportPlotError);
    expect(() => new ArtifactSandboxSession({ lang: "javascript", enablePlotting: false })).not.toThrow();
  });
});
