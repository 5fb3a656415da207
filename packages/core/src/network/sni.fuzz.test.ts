import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { chunked } from "../../../../test/helpers/fuzz.js";
import { readServerName, type ServerNameResult } from "./sni.js";
import { captureClientHello } from "../../../../test/helpers/client-hello.js";

/**
 * Property tests of `readServerName` on hostile first bytes: it never throws, names only come from handshake
 * records, any name it gives is a plain lowercase hostname, and more bytes never change a decided answer.
 */

const HOSTNAME = /^(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/;
const numRuns = 300;

/** What one TCP stream gives: the result at every prefix in `cuts` is incomplete, or the final answer. */
function checkStream(bytes: Uint8Array, cuts: readonly number[]): ServerNameResult {
  const final = readServerName(bytes);
  if (final.status === "hello" && final.serverName !== undefined) {
    expect(final.serverName).toMatch(HOSTNAME);
    expect(final.serverName.length).toBeLessThanOrEqual(253);
  }
  if (bytes.length > 0 && (bytes[0] !== 0x16 || (bytes.length > 1 && bytes[1] !== 3))) expect(final).toEqual({ status: "not-tls" });
  for (const cut of cuts) {
    const early = readServerName(bytes.subarray(0, Math.min(cut, bytes.length)));
    if (early.status !== "incomplete") expect(early).toEqual(final);
  }
  return final;
}

/** Handshake bytes as records with the given fragment sizes (the last record takes what is left). */
function records(handshake: Uint8Array, sizes: readonly number[]): Buffer {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < handshake.length; i++) {
    const fragment = handshake.subarray(at, at + (sizes[i] ?? handshake.length));
    const header = Buffer.from([0x16, 3, 1, 0, 0]);
    header.writeUInt16BE(fragment.length, 3);
    out.push(header, Buffer.from(fragment));
    at += fragment.length;
  }
  return Buffer.concat(out);
}

let hellos: Buffer[] = [];

beforeAll(async () => {
  hellos = [
    await captureClientHello({ servername: "api.example.com" }),
    await captureClientHello({}),
    await captureClientHello({ servername: "x.y.z.example.org", maxVersion: "TLSv1.2", ALPNProtocols: ["h2", "http/1.1"] }),
  ];
});

const cuts = fc.array(fc.nat({ max: 4096 }), { maxLength: 6 });

describe("readServerName (property)", () => {
  it("arbitrary bytes: never throws; no name unless they start as a handshake record", () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 80 }).map((text) => Buffer.from(text)));
    fc.assert(
      fc.property(bytes, cuts, (input, at) => {
        const result = checkStream(input, at);
        if (result.status === "hello") expect([input[0], input[1]]).toEqual([0x16, 3]);
      }),
      { numRuns },
    );
  });

  it("handshake records around garbage ClientHello bodies: never throws, names are hostnames, decided answers stay", () => {
    const hello = fc
      .tuple(fc.uint8Array({ maxLength: 400 }), fc.boolean())
      .map(([body, exact]) => Buffer.concat([Uint8Array.of(1, 0, exact ? body.length >> 8 : body[0] ?? 0, exact ? body.length & 0xff : body[1] ?? 0), body]));
    fc.assert(
      fc.property(hello, fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 8 }), cuts, (handshake, sizes, at) => {
        checkStream(records(handshake, sizes), at);
      }),
      { numRuns },
    );
  });

  it("real hellos with bytes overwritten, cut short or extended: the same guarantees", () => {
    const edit = fc.record({
      which: fc.nat(),
      writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 16 }),
    });
    fc.assert(
      fc.property(edit, cuts, ({ which, writes, cut, tail }, at) => {
        const hello = Buffer.from(hellos[which % hellos.length]!);
        for (const [offset, byte] of writes) hello[offset % hello.length] = byte;
        checkStream(Buffer.concat([hello.subarray(0, cut === undefined ? undefined : cut % (hello.length + 1)), tail]), at);
      }),
      { numRuns },
    );
  });

  it("real hellos in records of any size, in any TCP chunks: incomplete until the end, then the right name", () => {
    const expected = [{ status: "hello", serverName: "api.example.com" }, { status: "hello", serverName: undefined }, { status: "hello", serverName: "x.y.z.example.org" }];
    const stream = fc.tuple(fc.nat(), fc.array(fc.integer({ min: 40, max: 16384 }), { maxLength: 60 })).map(([which, sizes]) => {
      const hello = hellos[which % hellos.length]!;
      return { bytes: records(hello.subarray(5), sizes), expected: expected[which % hellos.length] };
    });
    fc.assert(
      fc.property(stream.chain((input) => fc.tuple(fc.constant(input), chunked(input.bytes))), ([{ bytes, expected: want }, chunks]) => {
        let received = 0;
        for (const chunk of chunks) {
          received += chunk.length;
          const result = readServerName(bytes.subarray(0, received));
          expect(result).toEqual(received === bytes.length ? want : { status: "incomplete" });
        }
      }),
      { numRuns: 100 },
    );
  });
});
