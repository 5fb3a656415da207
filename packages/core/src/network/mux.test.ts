import { describe, expect, it } from "vitest";
import { encodeFrame, FRAME, FrameReader, RelayMux, type RelayStream } from "./mux.js";

/** The frames the library sent to the relay so far. */
async function sent(mux: RelayMux, count: number): Promise<{ type: number; id: number; payload: string }[]> {
  const reader = new FrameReader();
  const frames: { type: number; id: number; payload: string }[] = [];
  for await (const chunk of mux.input) {
    for (const frame of reader.push(chunk)) frames.push({ type: frame.type, id: frame.id, payload: frame.payload.toString() });
    if (frames.length >= count) return frames;
  }
  return frames;
}

describe("relay frames", () => {
  it("reads the same frames whatever the chunking", () => {
    const stream = Buffer.concat([encodeFrame(FRAME.open, 1, Buffer.from("127.100.0.1 443")), encodeFrame(FRAME.data, 1, Buffer.from("hello")), encodeFrame(FRAME.end, 1)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader();
      const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(frames.map(({ type, id, payload }) => [type, id, payload.toString()])).toEqual([
        [FRAME.open, 1, "127.100.0.1 443"],
        [FRAME.data, 1, "hello"],
        [FRAME.end, 1, ""],
      ]);
    }
  });

  it("turns the relay's frames into connections and answers lookups", async () => {
    const opened: RelayStream[] = [];
    const mux = new RelayMux({ onConnection: (stream) => opened.push(stream), onDnsQuery: (query) => Buffer.concat([query, Buffer.from("!")]) });
    mux.receive(Buffer.concat([encodeFrame(FRAME.open, 7, Buffer.from("127.100.0.2 5432")), encodeFrame(FRAME.data, 7, Buffer.from("ping")), encodeFrame(FRAME.dns, 9, Buffer.from("q"))]));
    const [stream] = opened;
    expect([stream!.localAddress, stream!.localPort]).toEqual(["127.100.0.2", 5432]);
    expect(String(stream!.read())).toBe("ping");
    stream!.end("pong");
    // The answer goes out once the (possibly asynchronous) lookup resolved: after what was written meanwhile.
    expect(await sent(mux, 3)).toEqual([
      { type: FRAME.data, id: 7, payload: "pong" },
      { type: FRAME.end, id: 7, payload: "" },
      { type: FRAME.dns, id: 9, payload: "q!" },
    ]);
  });

  it("asks the relay to pause a client the library cannot keep up with, and to resume once read", async () => {
    const opened: RelayStream[] = [];
    const mux = new RelayMux({ onConnection: (stream) => opened.push(stream), onDnsQuery: () => undefined });
    mux.receive(encodeFrame(FRAME.open, 1, Buffer.from("127.100.0.1 80")));
    const big = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 4; i++) mux.receive(encodeFrame(FRAME.data, 1, big));
    opened[0]!.read();
    expect(await sent(mux, 2)).toEqual([
      { type: FRAME.pause, id: 1, payload: "" },
      { type: FRAME.resume, id: 1, payload: "" },
    ]);
  });

  it("holds writes to a client the relay paused until it resumes", async () => {
    const opened: RelayStream[] = [];
    const mux = new RelayMux({ onConnection: (stream) => opened.push(stream), onDnsQuery: () => undefined });
    mux.receive(Buffer.concat([encodeFrame(FRAME.open, 1, Buffer.from("127.100.0.1 80")), encodeFrame(FRAME.pause, 1)]));
    let written = false;
    opened[0]!.write("x", () => (written = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toBe(false);
    mux.receive(encodeFrame(FRAME.resume, 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toBe(true);
  });

  it("ends every connection when the relay ends", () => {
    const opened: RelayStream[] = [];
    const mux = new RelayMux({ onConnection: (stream) => opened.push(stream), onDnsQuery: () => undefined });
    mux.receive(encodeFrame(FRAME.open, 1, Buffer.from("127.100.0.1 80")));
    mux.close();
    expect(opened[0]!.destroyed).toBe(true);
  });
});
