import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunked } from "../../../../test/helpers/fuzz.js";
import type { EncodingErrors } from "../enums.js";
import { StreamCollector } from "./output.js";

const enc = new TextEncoder();
const reference = new TextDecoder();
const fatal = new TextDecoder("utf-8", { fatal: true });

/** Byte strings rich in multi-byte characters, cut characters, overlongs, surrogates and stray continuation bytes. */
const hostileUtf8 = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 6 }),
      fc.string({ unit: "binary", maxLength: 6 }).map((text) => enc.encode(text)),
      fc.string({ unit: "binary", minLength: 1, maxLength: 2 }).map((text) => enc.encode(text).subarray(1)),
      fc.constantFrom(
        ...[[0xed, 0xa0, 0x80], [0xe0, 0x80, 0xaf], [0xf0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xf5], [0xff], [0xe2, 0x82]].map(
          (bytes) => Uint8Array.from(bytes),
        ),
      ),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Uint8Array.from(parts.flatMap((part) => [...part])));
const bytesAndChunks = hostileUtf8.chain((bytes) => fc.tuple(fc.constant(bytes), chunked(bytes, 12)));

function collect(chunks: readonly Uint8Array[], encodingErrors: EncodingErrors, maxBytes = Number.MAX_SAFE_INTEGER) {
  const streamed: string[] = [];
  const collector = new StreamCollector({ maxBytes, encodingErrors, onText: (text) => streamed.push(text) });
  for (const chunk of chunks) collector.push(chunk);
  return { ...collector.finish(), streamed, byteLength: collector.byteLength };
}

/** Undoes backslashreplace: UTF-8 of the text, with each `\xNN` turned back into the byte it stands for. */
function unescape(text: string): Uint8Array {
  const out: number[] = [];
  for (const part of text.split(/(\\x[0-9a-f]{2})/)) {
    if (/^\\x[0-9a-f]{2}$/.test(part)) out.push(parseInt(part.slice(2), 16));
    else out.push(...enc.encode(part));
  }
  return Uint8Array.from(out);
}

const numRuns = 300;

describe("StreamCollector under random chunking (property)", () => {
  it("replace: the text is TextDecoder's for the whole input, streamed in non-empty parts that add up to it", () => {
    fc.assert(
      fc.property(bytesAndChunks, ([bytes, chunks]) => {
        const result = collect(chunks, "replace");
        expect(result.text).toBe(reference.decode(bytes));
        expect(result.streamed.join("")).toBe(result.text);
        expect(result.streamed.every((part) => part !== "")).toBe(true);
        expect(result.bytes).toEqual(bytes);
        expect(result.truncated).toBe(false);
        expect(result.byteLength).toBe(bytes.length);
      }),
      { numRuns },
    );
  });

  it("every mode gives the same result whatever the chunking", () => {
    const mode = fc.constantFrom<EncodingErrors>("strict", "replace", "ignore", "backslashreplace");
    fc.assert(
      fc.property(bytesAndChunks, mode, ([bytes, chunks], encodingErrors) => {
        const { streamed: _, ...whole } = collect([bytes], encodingErrors);
        const { streamed, ...split } = collect(chunks, encodingErrors);
        expect(split).toEqual(whole);
        expect(streamed.join("")).toBe(whole.text);
      }),
      { numRuns },
    );
  });

  it("backslashreplace is lossless; ignore is backslashreplace without the escapes (inputs without a backslash)", () => {
    const noBackslash = bytesAndChunks.filter(([bytes]) => !bytes.includes(0x5c));
    fc.assert(
      fc.property(noBackslash, ([bytes, chunks]) => {
        const escaped = collect(chunks, "backslashreplace").text;
        expect(unescape(escaped)).toEqual(bytes);
        expect(collect(chunks, "ignore").text).toBe(escaped.replace(/\\x[0-9a-f]{2}/g, ""));
      }),
      { numRuns },
    );
  });

  it("strict: text up to the first invalid sequence, which is where a fatal TextDecoder first fails", () => {
    fc.assert(
      fc.property(bytesAndChunks, ([bytes, chunks]) => {
        const result = collect(chunks, "strict");
        let valid = true;
        try {
          fatal.decode(bytes);
        } catch {
          valid = false;
        }
        if (valid) {
          expect(result.invalidAt).toBeUndefined();
          expect(result.text).toBe(reference.decode(bytes));
          return;
        }
        const at = result.invalidAt!;
        expect(at).toBeGreaterThanOrEqual(0);
        expect(result.text).toBe(fatal.decode(bytes.subarray(0, at))); // the prefix is valid: no throw
        // The sequence at `at` is invalid however it continues: TextDecoder replaces right there.
        expect(reference.decode(bytes.subarray(at)).startsWith("\uFFFD")).toBe(true);
        expect(result.bytes).toEqual(bytes);
      }),
      { numRuns },
    );
  });

  it("the byte cap holds: at most maxBytes kept, never half a character, the rest counted", () => {
    const capped = bytesAndChunks.chain(([bytes, chunks]) => fc.tuple(fc.constant(bytes), fc.constant(chunks), fc.nat({ max: bytes.length + 4 })));
    fc.assert(
      fc.property(capped, ([bytes, chunks, maxBytes]) => {
        const result = collect(chunks, "replace", maxBytes);
        expect(result.byteLength).toBe(bytes.length);
        expect(result.truncated).toBe(bytes.length > maxBytes);
        expect(result.bytes.length).toBeLessThanOrEqual(maxBytes);
        expect(result.bytes).toEqual(bytes.subarray(0, result.bytes.length));
        // Only an incomplete character (at most 3 bytes of one) may be dropped below the cap.
        expect(result.bytes.length).toBeGreaterThanOrEqual(Math.min(bytes.length, maxBytes) - 3);
        expect(result.text).toBe(reference.decode(result.bytes));
        if (result.truncated) expect(reference.decode(bytes).startsWith(result.text)).toBe(true);
        expect(result.streamed.join("")).toBe(result.text);
      }),
      { numRuns },
    );
  });
});
