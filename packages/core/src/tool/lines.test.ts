import { describe, expect, it } from "vitest";
import { StreamCollector } from "../internal/output.js";
import { lineBuffer } from "./lines.js";

/** The lines a buffer passes on for these chunks, flushed at the end. */
function linesOf(chunks: readonly string[]): string[] {
  const lines: string[] = [];
  const buffer = lineBuffer((line) => lines.push(line));
  for (const chunk of chunks) buffer.push(chunk);
  buffer.flush();
  return lines;
}

describe("lineBuffer (whole lines for tool progress)", () => {
  it("joins chunks split mid-line and passes each line on once it ends", () => {
    const lines: string[] = [];
    const buffer = lineBuffer((line) => lines.push(line));
    buffer.push("0");
    expect(lines).toEqual([]);
    buffer.push("\n1");
    expect(lines).toEqual(["0\n"]);
    buffer.push("\n2\n3\nfo");
    buffer.push("o\n");
    expect(lines).toEqual(["0\n", "1\n", "2\n", "3\n", "foo\n"]);
  });

  it("passes on a last line without a newline at flush, and nothing when there is none", () => {
    expect(linesOf(["a\nlast ", "words"])).toEqual(["a\n", "last words"]);
    expect(linesOf(["a\n"])).toEqual(["a\n"]);
    expect(linesOf([])).toEqual([]);
  });

  it("keeps empty lines and a character split between chunks (a surrogate pair)", () => {
    expect(linesOf(["\n\n", "x \ud83d", "\ude00\n"])).toEqual(["\n", "\n", "x 😀\n"]);
  });

  it("gives the same lines whatever byte a stream's UTF-8 is cut at (behind the session's decoder)", () => {
    const bytes = new TextEncoder().encode("héllo wörld 😀\n€ and more\nno newline ✓");
    for (let cut = 1; cut < bytes.length; cut++) {
      const lines: string[] = [];
      const buffer = lineBuffer((line) => lines.push(line));
      const decoder = new StreamCollector({ maxBytes: 1024, encodingErrors: "strict", onText: buffer.push });
      decoder.push(bytes.subarray(0, cut));
      decoder.push(bytes.subarray(cut));
      decoder.finish();
      buffer.flush();
      expect(lines).toEqual(["héllo wörld 😀\n", "€ and more\n", "no newline ✓"]);
    }
  });
});
