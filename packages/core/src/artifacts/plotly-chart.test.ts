import { describe, expect, it } from "vitest";
import { chartFromPlotly } from "./plotly-chart.js";

describe("chartFromPlotly", () => {
  it("maps traces, titles and axis titles", () => {
    expect(
      chartFromPlotly({
        data: [
          { type: "scatter", mode: "lines", name: "a", x: [1, 2], y: [3, 4] },
          { type: "scatter", mode: "markers", x: [1], y: [2] },
        ],
        layout: { title: { text: "T" }, xaxis: { title: { text: "x" } }, yaxis: { title: "y" } },
      }),
    ).toEqual({
      type: "mixed",
      title: "T",
      xLabel: "x",
      yLabel: "y",
      series: [
        { type: "line", label: "a", x: [1, 2], y: [3, 4] },
        { type: "scatter", x: [1], y: [2] },
      ],
    });
  });

  it("keeps pie labels and values, bars as they are, and caps long series", () => {
    expect(chartFromPlotly({ data: [{ type: "pie", labels: ["a", "b"], values: [1, 2] }] })).toEqual({
      type: "pie",
      series: [{ type: "pie", x: ["a", "b"], y: [1, 2] }],
    });
    const long = chartFromPlotly({ data: [{ type: "bar", x: Array.from({ length: 6000 }, (_, i) => i), y: [1] }] })!;
    expect(long.series[0]).toMatchObject({ type: "bar", truncated: true });
    expect((long.series[0]!.x as unknown[]).length).toBe(5000);
  });

  it("has nothing to say about a figure without traces", () => expect(chartFromPlotly({ data: [] })).toBeUndefined());
});
