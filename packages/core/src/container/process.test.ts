import { describe, expect, it } from "vitest";
import { byLine } from "./process.js";

describe("byLine", () => {
  it("splits chunks into lines and passes partial lines on at once", () => {
    const calls: string[] = [];
    const deliver = byLine((text) => calls.push(text))!;
    deliver("0\n1\n2\n");
    deliver("partial");
    deliver(" rest\n\nend");
    expect(calls).toEqual(["0\n", "1\n", "2\n", "partial", " rest\n", "\n", "end"]);
    expect(calls.join("")).toBe("0\n1\n2\npartial rest\n\nend");
  });

  it("is absent when there is no callback", () => expect(byLine(undefined)).toBeUndefined());
});
