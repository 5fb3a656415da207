/** The managed images and language handlers end to end (on Docker; the backends' contract is in test/contract). */
import { describe, expect, it } from "vitest";
import { withSession } from "../../../../test/helpers/sessions.js";

describe("languages (real engine)", () => {
  it("python has the scientific stack importable", async () => {
    await withSession({ lang: "python" }, async (session) => {
      const result = await session.run("import numpy, pandas, matplotlib, seaborn, plotly, scipy, PIL\nprint(numpy.arange(3).sum())");
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("3\n");
    });
  });

  it("runs JavaScript, with its errors parsed", async () => {
    await withSession({ lang: "javascript" }, async (session) => {
      expect(await session.run("console.log(1+1)")).toMatchObject({ exitCode: 0, stdout: "2\n" });
      const failing = await session.run("null.x");
      expect(failing.exitCode).toBe(1);
      expect(failing.error?.name).toBe("TypeError");
    });
  });

  it("runs TypeScript, including type-only syntax and enums", async () => {
    await withSession({ lang: "typescript" }, async (session) => {
      const code = [
        "type Point = { x: number; y: number };",
        "interface Named { name: string }",
        "enum Color { Red = 'red' }",
        "const x: number = 2;",
        "const p: Point = { x, y: 3 };",
        "function greet<T extends Named>(n: T): string { return `hi ${n.name}`; }",
        "console.log(x, p.y, Color.Red, greet({ name: 'ts' }));",
      ].join("\n");
      const result = await session.run(code);
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("2 3 red hi ts\n");
    });
  });
});
