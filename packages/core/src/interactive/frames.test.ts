import { describe, expect, it } from "vitest";
import { encodeFrame, encodeJsonFrame, FrameDecoder, FrameError, FrameKind } from "./frames.js";

function decodeAll(chunks: Uint8Array[], maxFrameBytes = 1024) {
  const frames: [string, string][] = [];
  const decoder = new FrameDecoder((kind, payload) => frames.push([kind, payload.toString("utf8")]), maxFrameBytes);
  for (const chunk of chunks) decoder.push(chunk);
  return { frames, decoder };
}

describe("kernel frames", () => {
  it("encodes kind, big-endian length and payload", () => {
    expect([...encodeFrame(FrameKind.STDOUT, "hi")]).toEqual([0x4f, 0, 0, 0, 2, 0x68, 0x69]);
    expect(encodeJsonFrame(FrameKind.EXECUTE, { cell: 1, code: "x" }).subarray(5).toString()).toBe('{"cell":1,"code":"x"}');
    expect([...encodeFrame(FrameKind.RESULT, new Uint8Array())]).toEqual([0x52, 0, 0, 0, 0]);
  });

  it("decodes frames split at every possible byte boundary, and several frames in one chunk", () => {
    const stream = Buffer.concat([
      encodeFrame(FrameKind.STDOUT, "line one\n"),
      encodeFrame(FrameKind.STDERR, ""),
      encodeJsonFrame(FrameKind.RESULT, { cell: 3, status: "ok" }),
    ]);
    const expected = [
      ["O", "line one\n"],
      ["E", ""],
      ["R", '{"cell":3,"status":"ok"}'],
    ];
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeAll([stream.subarray(0, cut), stream.subarray(cut)]).frames).toEqual(expected);
    }
    expect(decodeAll([...stream].map((byte) => Uint8Array.of(byte))).frames).toEqual(expected);
  });

  it("keeps payloads byte-exact (raw output may be any bytes, even ones that look like frames)", () => {
    const tricky = Buffer.concat([encodeFrame(FrameKind.RESULT, "{}"), Buffer.from([0xff, 0x00, 0xc3])]);
    const payloads: Buffer[] = [];
    const decoder = new FrameDecoder((_kind, payload) => payloads.push(Buffer.from(payload)), 1024);
    decoder.push(encodeFrame(FrameKind.STDOUT, tricky));
    expect(payloads).toEqual([tricky]);
  });

  it("copies chunks: a transport reusing its buffer cannot alter a pending frame", () => {
    const frame = encodeFrame(FrameKind.STDOUT, "abcdef");
    const chunk = Buffer.from(frame.subarray(0, 8));
    const frames: string[] = [];
    const decoder = new FrameDecoder((_kind, payload) => frames.push(payload.toString()), 1024);
    decoder.push(chunk);
    chunk.fill(0x21);
    decoder.push(frame.subarray(8));
    expect(frames).toEqual(["abcdef"]);
  });

  it("reports pending bytes of an incomplete frame", () => {
    const { decoder, frames } = decodeAll([encodeFrame(FrameKind.STDOUT, "abc").subarray(0, 6)]);
    expect(frames).toEqual([]);
    expect(decoder.pendingBytes).toBe(6);
  });

  it("refuses an oversized frame before buffering it, and stays failed", () => {
    const decoder = new FrameDecoder(() => {}, 10);
    const header = encodeFrame(FrameKind.DISPLAY, Buffer.alloc(11)).subarray(0, 5);
    expect(() => decoder.push(header)).toThrow(FrameError);
    expect(() => decoder.push(header)).toThrow(/exceeds the limit of 10/);
    expect(decoder.pendingBytes).toBe(0);
  });

  it("refuses an unknown frame kind", () => {
    const decoder = new FrameDecoder(() => {}, 10);
    expect(() => decoder.push(Buffer.from([0x5a, 0, 0, 0, 0]))).toThrow(/unknown frame kind 0x5a/);
    expect(() => decoder.push(encodeFrame(FrameKind.STDOUT, "x"))).toThrow(FrameError);
  });
});
