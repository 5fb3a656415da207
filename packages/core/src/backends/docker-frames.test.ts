import { describe, expect, it } from "vitest";
import { FrameDemuxer } from "./docker-frames.js";

const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head.writeUInt8(stream, 0);
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
};

describe("FrameDemuxer", () => {
  it("splits frames whatever the chunk boundaries", () => {
    const wire = Buffer.concat([frame(1, "hello "), frame(2, "oops"), frame(1, "world"), frame(1, "")]);
    for (let size = 1; size <= wire.length; size++) {
      const out: Record<string, string> = { stdout: "", stderr: "" };
      const demux = new FrameDemuxer((stream, payload) => (out[stream] += payload.toString()));
      for (let i = 0; i < wire.length; i += size) demux.push(wire.subarray(i, i + size));
      expect(out).toEqual({ stdout: "hello world", stderr: "oops" });
    }
  });
});
