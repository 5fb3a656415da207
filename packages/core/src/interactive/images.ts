/** Pixel size and resolution read from an image's header (PNG IHDR/pHYs, JPEG SOF/JFIF); fields unknown are absent. */
export interface ImageInfo {
  width?: number;
  height?: number;
  dpi?: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const INCH_PER_METRE = 0.0254;

export function imageInfo(bytes: Buffer): ImageInfo {
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return pngInfo(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegInfo(bytes);
  return {};
}

function pngInfo(bytes: Buffer): ImageInfo {
  const info: ImageInfo = {};
  // Chunks: length (4), type (4), data, CRC (4). IHDR comes first; pHYs, when present, before the image data.
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("latin1", at + 4, at + 8);
    const data = at + 8;
    if (data + length > bytes.length || type === "IDAT" || type === "IEND") break;
    if (type === "IHDR" && length >= 8) {
      info.width = bytes.readUInt32BE(data);
      info.height = bytes.readUInt32BE(data + 4);
    } else if (type === "pHYs" && length >= 9 && bytes[data + 8] === 1) {
      info.dpi = Math.round(bytes.readUInt32BE(data) * INCH_PER_METRE * 100) / 100;
    }
    at = data + length + 4;
  }
  return info;
}

function jpegInfo(bytes: Buffer): ImageInfo {
  const info: ImageInfo = {};
  for (let at = 2; at + 4 <= bytes.length; ) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1]!;
    const length = bytes.readUInt16BE(at + 2);
    const data = at + 4;
    if (marker === 0xe0 && bytes.toString("latin1", data, data + 5) === "JFIF\0" && data + 12 <= bytes.length) {
      // Density units: 1 = dots per inch, 2 = dots per centimetre.
      const units = bytes[data + 7];
      const density = bytes.readUInt16BE(data + 8);
      if (units === 1) info.dpi = density;
      else if (units === 2) info.dpi = Math.round(density * 2.54 * 100) / 100;
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc && data + 5 <= bytes.length) {
      info.height = bytes.readUInt16BE(data + 1);
      info.width = bytes.readUInt16BE(data + 3);
      break;
    }
    at = data + length - 2;
  }
  return info;
}
