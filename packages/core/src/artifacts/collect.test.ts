import { pack } from "tar-stream";
import { describe, expect, it } from "vitest";
import { ArchiveError } from "../errors.js";
import { readPlotArchive } from "./collect.js";

/** A PNG's signature and IHDR chunk (13 bytes of data, then its CRC). */
const png = (width: number, height: number) => {
  const header = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header);
  header.writeUInt32BE(13, 8);
  header.write("IHDR", 12, "latin1");
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  return header;
};

async function archive(files: Record<string, string | Buffer>): Promise<Buffer> {
  const tar = pack();
  for (const [name, data] of Object.entries(files)) tar.entry({ name }, data);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const limits = { maxPlots: 10, maxBytes: 1000 };

describe("readPlotArchive", () => {
  it("pairs plots with their sidecars, in file-name order", async () => {
    const chart = { type: "line", series: [{ label: "a", x: [1], y: [2] }] };
    const result = await readPlotArchive(
      await archive({
        "./000002.svg": "<svg/>",
        "./000001.png": png(640, 480),
        "./000001.json": JSON.stringify({ format: "png", library: "matplotlib", width: 640, height: 480, dpi: 100, chart }),
        "./000003-001.png": png(800, 600),
        "./notes.txt": "ignored",
      }),
      limits,
    );
    expect(result.plots.map((p) => [p.filename, p.format])).toEqual([
      ["000001.png", "png"],
      ["000002.svg", "svg"],
      ["000003-001.png", "png"],
    ]);
    expect(result.plots[0]).toMatchObject({ library: "matplotlib", width: 640, height: 480, dpi: 100, chart });
    expect(result.plots[2]).toMatchObject({ width: 800, height: 600 });
    expect(Buffer.from(result.plots[1]!.contentBase64, "base64").toString()).toBe("<svg/>");
    expect(result).toMatchObject({ truncated: false, errors: [] });
  });

  it("enforces the limits again and reports the capture log", async () => {
    const result = await readPlotArchive(
      await archive({
        "000001.png": png(1, 1),
        "000002.png": Buffer.alloc(2000),
        "000003.png": png(1, 1),
        "000004.png": png(1, 1),
        "_capture.log": `${JSON.stringify({ kind: "error", message: "format 'eps' is not captured" })}\nnot json\n`,
      }),
      { maxPlots: 2, maxBytes: 1000 },
    );
    expect(result.plots.map((p) => p.filename)).toEqual(["000001.png", "000003.png"]);
    expect(result.truncated).toBe(true);
    expect(result.errors).toEqual(["format 'eps' is not captured", "not json"]);
  });

  it("flags truncation noted by the capture itself", async () => {
    const log = JSON.stringify({ kind: "truncated", message: "more than 50 plots" });
    expect((await readPlotArchive(await archive({ "_capture.log": log }), limits)).truncated).toBe(true);
  });

  it("rejects a malformed archive with ArchiveError", async () => {
    await expect(readPlotArchive(Buffer.from("definitely not a tar archive".repeat(30)), limits)).rejects.toSatisfy((e) => ArchiveError.isInstance(e));
  });

  it("reads the size of a PNG without a sidecar from its header, and of nothing else", async () => {
    const { plots } = await readPlotArchive(await archive({ "000001.png": png(3, 4), "000002.png": "GIF89a.................", "000003.svg": "<svg/>" }), limits);
    expect(plots[0]).toMatchObject({ width: 3, height: 4 });
    expect(plots[1]).not.toHaveProperty("width");
    expect(plots[1]).not.toHaveProperty("height");
    expect(plots[2]).not.toHaveProperty("width");
  });
});
