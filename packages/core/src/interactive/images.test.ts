import { describe, expect, it } from "vitest";
import { imageInfo } from "./images.js";

/** A PNG chunk (the parser does not check CRCs, so a zero CRC is enough). */
function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, Buffer.from(type, "latin1"), data, Buffer.alloc(4)]);
}

function png(width: number, height: number, pixelsPerMetre?: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  const phys = Buffer.alloc(9);
  if (pixelsPerMetre) {
    phys.writeUInt32BE(pixelsPerMetre, 0);
    phys.writeUInt32BE(pixelsPerMetre, 4);
    phys[8] = 1;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...(pixelsPerMetre ? [chunk("pHYs", phys)] : []),
    chunk("IDAT", Buffer.alloc(3)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function jpeg(width: number, height: number, dpi: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 1, dpi >> 8, dpi & 0xff, dpi >> 8, dpi & 0xff, 0, 0]);
  const sof0 = Buffer.from([0xff, 0xc0, 0, 11, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof0, Buffer.from([0xff, 0xd9])]);
}

describe("imageInfo", () => {
  it("reads a PNG's size and its pHYs resolution (matplotlib writes 3937 px/m for 100 dpi)", () => {
    expect(imageInfo(png(640, 480, 3937))).toEqual({ width: 640, height: 480, dpi: 100 });
    expect(imageInfo(png(1, 2))).toEqual({ width: 1, height: 2 });
  });

  it("reads a JPEG's size from its frame header and resolution from JFIF", () => {
    expect(imageInfo(jpeg(300, 200, 72))).toEqual({ width: 300, height: 200, dpi: 72 });
  });

  it("returns nothing for unknown or truncated data", () => {
    expect(imageInfo(Buffer.from("<svg/>"))).toEqual({});
    expect(imageInfo(png(640, 480).subarray(0, 12))).toEqual({});
    expect(imageInfo(Buffer.alloc(0))).toEqual({});
  });
});
