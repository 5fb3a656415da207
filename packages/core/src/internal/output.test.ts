import { describe, expect, it } from "vitest";
import type { EncodingErrors } from "../enums.js";
import { StreamCollector, type CollectedStream } from "./output.js";

const enc = new TextEncoder();
const MiB = 1024 * 1024;

function collect(
  chunks: readonly Uint8Array[],
  encodingErrors: EncodingErrors = "replace",
  maxBytes = 10 * MiB,
): CollectedStream & { streamed: string[]; byteLength: number } {
  const streamed: string[] = [];
  const c = new StreamCollector({ maxBytes, encodingErrors, onText: (t) => streamed.push(t) });
  for (const chunk of chunks) c.push(chunk);
  return { ...c.finish(), streamed, byteLength: c.byteLength };
}

/** Splits `bytes` at the given offsets. */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(prev, cut));
    prev = cut;
  }
  return out;
}

/** Deterministic PRNG (mulberry32) so a failing property case can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HELLO = Uint8Array.from([...enc.encode("hello"), 0xff, 0xfe, ...enc.encode("world")]);

describe("StreamCollector modes on b'hello\\xff\\xfeworld' (Python semantics)", () => {
  it("replace", () => {
    const r = collect([HELLO], "replace");
    expect(r.text).toBe("hello\uFFFD\uFFFDworld");
    expect(r.invalidAt).toBeUndefined();
  });
  it("ignore", () => {
    expect(collect([HELLO], "ignore").text).toBe("helloworld");
  });
  it("backslashreplace", () => {
    expect(collect([HELLO], "backslashreplace").text).toBe("hello\\xff\\xfeworld");
  });
  it("strict stops text at the first invalid byte but keeps every raw byte", () => {
    const r = collect([HELLO], "strict");
    expect(r.text).toBe("hello");
    expect(r.invalidAt).toBe(5);
    expect(r.streamed).toEqual(["hello"]);
    expect(r.bytes).toEqual(HELLO);
    expect(r.truncated).toBe(false);
  });
  it("strict reports the absolute offset when the error is in a later chunk", () => {
    const r = collect([enc.encode("héllo"), enc.encode("ab"), Uint8Array.of(0xc3), enc.encode("x€")], "strict");
    expect(r.invalidAt).toBe(8); // "héllo" is 6 bytes, "ab" 2
    expect(r.text).toBe("hélloab");
    expect(r.bytes.length).toBe(6 + 2 + 1 + 4);
  });
  it("strict on valid input leaves invalidAt unset", () => {
    const r = collect([enc.encode("ok ✓")], "strict");
    expect(r.text).toBe("ok ✓");
    expect("invalidAt" in r).toBe(false);
  });
});

describe("StreamCollector chunking", () => {
  const text = "a€b😀cé\u{10FFFF}z";
  const bytes = enc.encode(text);

  it("decodes multibyte characters split at every possible pair of boundaries", () => {
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        for (const mode of ["strict", "replace", "ignore", "backslashreplace"] as const) {
          const r = collect(split(bytes, [i, j]), mode);
          expect(r.text, `cuts ${i},${j} ${mode}`).toBe(text);
          expect(r.streamed.join("")).toBe(text);
          expect(r.invalidAt).toBeUndefined();
        }
      }
    }
  });

  it("handles one-byte chunks and never calls onText with an empty string", () => {
    const r = collect(split(bytes, [...bytes.keys()].slice(1)), "replace");
    expect(r.text).toBe(text);
    expect(r.streamed.every((s) => s.length > 0)).toBe(true);
    expect(r.streamed.join("")).toBe(text);
  });

  it("treats an incomplete trailing character as one invalid sequence at finish", () => {
    const tail = Uint8Array.from([...enc.encode("ab"), 0xf0, 0x9f, 0x98]);
    expect(collect(split(tail, [3, 4]), "replace").text).toBe("ab\uFFFD");
    expect(collect(split(tail, [3, 4]), "backslashreplace").text).toBe("ab\\xf0\\x9f\\x98");
    expect(collect(split(tail, [3, 4]), "ignore").text).toBe("ab");
    const strict = collect(split(tail, [3, 4]), "strict");
    expect(strict.invalidAt).toBe(2);
    expect(strict.bytes).toEqual(tail);
  });

  it("rejects overlongs, surrogates and code points above U+10FFFF by maximal subpart", () => {
    const cases: Array<[number[], string]> = [
      [[0xc0, 0xaf], "\\xc0\\xaf"], // overlong '/': two single-byte errors
      [[0xe0, 0x80, 0xaf], "\\xe0\\x80\\xaf"],
      [[0xed, 0xa0, 0x80], "\\xed\\xa0\\x80"], // surrogate U+D800
      [[0xf4, 0x90, 0x80, 0x80], "\\xf4\\x90\\x80\\x80"], // U+110000
      [[0xe2, 0x82, 0x41], "\\xe2\\x82A"], // truncated € then 'A'
    ];
    for (const [input, expected] of cases) {
      const bytes = Uint8Array.from(input);
      expect(collect([bytes], "backslashreplace").text).toBe(expected);
      expect(collect([bytes], "replace").text).toBe(new TextDecoder().decode(bytes));
      expect(collect([bytes], "strict").invalidAt).toBe(0);
    }
    expect(collect([Uint8Array.of(0xe2, 0x82, 0x41)], "replace").text).toBe("\uFFFDA");
  });

  it("matches TextDecoder for random bytes split at random boundaries (property test)", () => {
    const random = rng(0x5eed);
    // Bias towards bytes that form (in)valid UTF-8 rather than pure noise.
    const interesting = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(random() * 40);
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        bytes[i] = random() < 0.5 ? interesting[Math.floor(random() * interesting.length)]! : Math.floor(random() * 256);
      }
      const cuts = [...bytes.keys()].filter(() => random() < 0.3);
      const expected = new TextDecoder().decode(bytes);
      const r = collect(split(bytes, cuts), "replace");
      expect(r.text, `bytes ${[...bytes].join(",")} cuts ${cuts.join(",")}`).toBe(expected);
      expect(r.streamed.join("")).toBe(expected);
      expect(r.bytes).toEqual(bytes);

      // "ignore" is "replace" minus the replacement characters, unless the input spells U+FFFD itself.
      if (!Buffer.from(bytes).includes(Buffer.from([0xef, 0xbf, 0xbd]))) {
        expect(collect(split(bytes, cuts), "ignore").text).toBe(expected.replaceAll("\uFFFD", ""));
      }
      const strict = collect(split(bytes, cuts), "strict");
      const firstBad = expected.indexOf("\uFFFD");
      if (firstBad === -1) {
        expect(strict.invalidAt).toBeUndefined();
        expect(strict.text).toBe(expected);
      } else {
        expect(strict.text).toBe(expected.slice(0, firstBad));
        expect(strict.invalidAt).toBe(enc.encode(strict.text).length);
      }
    }
  });
});

describe("StreamCollector cap", () => {
  it("cuts before a 4-byte emoji straddling the cap", () => {
    const bytes = enc.encode("abc😀def"); // emoji occupies bytes 3..6
    for (const maxBytes of [4, 5, 6]) {
      for (let cut = 0; cut <= bytes.length; cut++) {
        const r = collect(split(bytes, [cut]), "strict", maxBytes);
        expect(r.truncated).toBe(true);
        expect(r.text).toBe("abc");
        expect(r.streamed.join("")).toBe("abc");
        expect(r.bytes).toEqual(enc.encode("abc"));
        expect(r.invalidAt).toBeUndefined();
        expect(r.byteLength).toBe(bytes.length);
      }
    }
    const exact = collect([bytes], "replace", 7);
    expect(exact).toMatchObject({ text: "abc😀", truncated: true });
  });

  it("is not truncated when the input is exactly maxBytes", () => {
    const r = collect([enc.encode("abc😀")], "replace", 7);
    expect(r).toMatchObject({ text: "abc😀", truncated: false });
  });

  it("keeps raw bytes after a strict-mode error up to the cap", () => {
    const bytes = Uint8Array.from([0x61, 0xff, 0x62, 0x63, 0x64]);
    const r = collect([bytes], "strict", 4);
    expect(r).toMatchObject({ text: "a", invalidAt: 1, truncated: true });
    expect(r.bytes).toEqual(bytes.subarray(0, 4));
  });

  it("keeps 1 MiB of a 20 MiB flood and streams exactly the kept text", () => {
    const chunk = enc.encode("x€".repeat(16 * 1024)); // 64 KiB, a character boundary every 1 or 3 bytes
    let streamedLength = 0;
    const c = new StreamCollector({
      maxBytes: MiB,
      encodingErrors: "replace",
      onText: (t) => (streamedLength += t.length),
    });
    for (let i = 0; i < 320; i++) c.push(chunk);
    const r = c.finish();
    expect(c.byteLength).toBe(20 * MiB);
    expect(r.truncated).toBe(true);
    expect(r.bytes.length).toBeLessThanOrEqual(MiB);
    expect(r.bytes.length).toBeGreaterThan(MiB - 4);
    expect(r.text).toBe(new TextDecoder().decode(r.bytes));
    expect(r.text).not.toContain("\uFFFD");
    expect(streamedLength).toBe(r.text.length);
  });

  it("decodes 10 MiB in 4 KiB chunks (splitting characters) quickly and exactly", () => {
    const text = "línea de salida ✓ 😀\n".repeat(420_000);
    const bytes = enc.encode(text).subarray(0, 10 * MiB);
    const c = new StreamCollector({ maxBytes: 10 * MiB, encodingErrors: "replace" });
    const start = performance.now();
    for (let at = 0; at < bytes.length; at += 4096) c.push(bytes.subarray(at, at + 4096));
    const r = c.finish();
    expect(performance.now() - start).toBeLessThan(5000);
    expect(r.truncated).toBe(false);
    expect(r.bytes.length).toBe(10 * MiB);
    expect(r.text).toBe(new TextDecoder().decode(bytes));
  });

  it("does not keep a reference to the caller's buffer", () => {
    const buf = enc.encode("abc");
    const c = new StreamCollector({ maxBytes: 10, encodingErrors: "replace" });
    c.push(buf);
    buf.fill(0x7a);
    expect(c.finish()).toMatchObject({ text: "abc", bytes: enc.encode("abc") });
  });

  it("finish is idempotent and push after finish throws", () => {
    const c = new StreamCollector({ maxBytes: 10, encodingErrors: "replace" });
    c.push(enc.encode("hi"));
    const first = c.finish();
    expect(c.finish()).toBe(first);
    expect(() => c.push(enc.encode("x"))).toThrow(/after finish/);
  });
});
