import { describe, expect, it } from "vitest";
import { parseSize } from "./sizes.js";

describe("parseSize", () => {
  it.each([
    ["512m", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["1GB", 1024 ** 3],
    ["1.5g", 1.5 * 1024 ** 3],
    ["256Mi", 256 * 1024 ** 2],
    ["100", 100],
    [4096, 4096],
  ])("%s", (input, bytes) => expect(parseSize(input)).toBe(bytes));

  it.each(["", "abc", "-1g", "0", "1x", 0, -5, Number.NaN])("rejects %s", (input) => expect(parseSize(input)).toBeUndefined());
});
