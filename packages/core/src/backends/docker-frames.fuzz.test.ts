import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunked } from "../../../../test/helpers/fuzz.js";
import { FrameDemuxer } from "./docker-frames.js";

type Output = Record<"stdout" | "stderr", number[]>;

const frame = (stream: number, payload: Uint8Array) => {
  const head = Buffer.alloc(8);
  head.writeUInt8(stream, 0);
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
};

/**
 * The Engine API's framing read from a whole buffer: stream 0 (stdin) is dropped, 2 is stderr, any other is stdout,
 * and the payload of a frame cut short is what arrived of it.
 */
function reference(wire: Uint8Array): Output {
  const out: Output = { stdout: [], stderr: [] };
  const view = Buffer.from(wire);
  for (let at = 0; at + 8 <= view.length; ) {
    const stream = view[at]!;
    const end = Math.min(view.length, at + 8 + view.readUInt32BE(at + 4));
    if (stream !== 0) out[stream === 2 ? "stderr" : "stdout"].push(...view.subarray(at + 8, end));
    at = end;
  }
  return out;
}

const numRuns = 300;

describe("FrameDemuxer (property)", () => {
  it("after every chunk, it has emitted exactly what the bytes so far hold: payloads are never held back", () => {
    const frames = fc.array(fc.tuple(fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 48 })), { maxLength: 10 });
    const wire = frames.map((list) => Buffer.concat(list.map(([stream, payload]) => frame(stream, payload))));
    fc.assert(
      fc.property(wire.chain((bytes) => fc.tuple(fc.constant(bytes), chunked(bytes))), ([bytes, chunks]) => {
        const out: Output = { stdout: [], stderr: [] };
        const demux = new FrameDemuxer((stream, payload) => out[stream].push(...payload));
        let received = 0;
        for (const chunk of chunks) {
          demux.push(chunk);
          received += chunk.length;
          expect(out).toEqual(reference(bytes.subarray(0, received)));
        }
      }),
      { numRuns },
    );
  });

  it("garbage is read as frames like the reference, never throws, whatever the chunking", () => {
    // Small length fields too, so that garbage holds several frames rather than one that never ends.
    const garbage = fc
      .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(0)), { maxLength: 200 })
      .map((bytes) => Uint8Array.from(bytes));
    fc.assert(
      fc.property(garbage.chain((bytes) => fc.tuple(fc.constant(bytes), chunked(bytes))), ([bytes, chunks]) => {
        const out: Output = { stdout: [], stderr: [] };
        const demux = new FrameDemuxer((stream, payload) => out[stream].push(...payload));
        for (const chunk of chunks) demux.push(chunk);
        expect(out).toEqual(reference(bytes));
      }),
      { numRuns },
    );
  });
});
