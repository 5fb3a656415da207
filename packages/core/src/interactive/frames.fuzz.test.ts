import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunked } from "../../../../test/helpers/fuzz.js";
import { encodeFrame, FrameDecoder, FrameError, FrameKind } from "./frames.js";

const KINDS = Object.values(FrameKind);
const HEADER_BYTES = 5;

const frames = fc.array(fc.tuple(fc.constantFrom(...KINDS), fc.uint8Array({ maxLength: 64 })), { maxLength: 12 });

interface Decoded {
  frames: Array<[string, Buffer]>;
  /** The `FrameError` that stopped decoding, if any; every later push must throw it again. */
  error?: FrameError;
  pending: number;
}

/** Pushes each chunk; anything thrown other than `FrameError` fails the property. */
function decode(chunks: readonly Uint8Array[], maxFrameBytes: number): Decoded {
  const out: Decoded = { frames: [], pending: 0 };
  const decoder = new FrameDecoder((kind, payload) => out.frames.push([kind, Buffer.from(payload)]), maxFrameBytes);
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
    } catch (error) {
      expect(error).toBeInstanceOf(FrameError);
      if (out.error) expect(error).toBe(out.error);
      out.error = error as FrameError;
      continue;
    }
    expect(out.error).toBeUndefined();
    // Bounded memory: at most one frame's header and payload wait for the rest.
    expect(decoder.pendingBytes).toBeLessThan(HEADER_BYTES + maxFrameBytes);
  }
  out.pending = decoder.pendingBytes;
  return out;
}

describe("FrameDecoder (property)", () => {
  it("gives back the encoded frames whatever the chunking", () => {
    const stream = frames.chain((list) => {
      const wire = Buffer.concat(list.map(([kind, payload]) => encodeFrame(kind, payload)));
      return fc.tuple(fc.constant(list), chunked(wire));
    });
    fc.assert(
      fc.property(stream, ([list, chunks]) => {
        const result = decode(chunks, 64);
        expect(result.error).toBeUndefined();
        expect(result.frames).toEqual(list.map(([kind, payload]) => [kind, Buffer.from(payload)]));
        expect(result.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("a stream cut anywhere gives the complete frames before the cut, and the rest as pending bytes", () => {
    const cut = frames.chain((list) => {
      const encoded = list.map(([kind, payload]) => encodeFrame(kind, payload));
      const wire = Buffer.concat(encoded);
      return fc.nat({ max: wire.length }).chain((at) => fc.tuple(fc.constant(encoded), chunked(wire.subarray(0, at)), fc.constant(at)));
    });
    fc.assert(
      fc.property(cut, ([encoded, chunks, at]) => {
        const result = decode(chunks, 64);
        let complete = 0;
        let end = 0;
        while (complete < encoded.length && end + encoded[complete]!.length <= at) end += encoded[complete++]!.length;
        expect(result.error).toBeUndefined();
        expect(result.frames.length).toBe(complete);
        expect(result.pending).toBe(at - end);
      }),
      { numRuns: 300 },
    );
  });

  it("garbage: frames within the limit until a FrameError, the same for any chunking, memory bounded", () => {
    // Mostly valid kinds, so garbage gets past the first header sometimes.
    const byte = fc.oneof(fc.constantFrom(...KINDS.map((kind) => kind.charCodeAt(0)), 0), fc.integer({ min: 0, max: 255 }));
    const garbage = fc.array(byte, { maxLength: 200 }).map((bytes) => Uint8Array.from(bytes));
    const input = garbage.chain((bytes) => fc.tuple(fc.constant(bytes), chunked(bytes), fc.nat({ max: 40 })));
    fc.assert(
      fc.property(input, ([bytes, chunks, maxFrameBytes]) => {
        const whole = decode([bytes], maxFrameBytes);
        const split = decode(chunks, maxFrameBytes);
        expect(split.frames).toEqual(whole.frames);
        expect(split.error?.message).toBe(whole.error?.message);
        for (const [kind, payload] of split.frames) {
          expect(KINDS).toContain(kind);
          expect(payload.length).toBeLessThanOrEqual(maxFrameBytes);
        }
        if (split.error) {
          expect(split.error.message).toMatch(/^kernel protocol error: (unknown frame kind|frame of \d+ bytes exceeds the limit)/);
          expect(split.pending).toBe(0); // nothing kept after a protocol error
        }
      }),
      { numRuns: 300 },
    );
  });
});
