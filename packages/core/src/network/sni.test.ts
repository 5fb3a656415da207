import { beforeAll, describe, expect, it } from "vitest";
import { readServerName } from "./sni.js";
import { captureClientHello } from "../../../../test/helpers/client-hello.js";

/** The hello's handshake bytes re-framed into records of `size` bytes (the original record headers' type and version). */
function reframe(hello: Buffer, size: number): Buffer {
  const handshake: Buffer[] = [];
  for (let at = 0; at < hello.length; at += 5 + hello.readUInt16BE(at + 3)) handshake.push(hello.subarray(at + 5, at + 5 + hello.readUInt16BE(at + 3)));
  const body = Buffer.concat(handshake);
  const records: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const fragment = body.subarray(at, at + size);
    const header = Buffer.from([0x16, 3, 1, 0, 0]);
    header.writeUInt16BE(fragment.length, 3);
    records.push(header, fragment);
  }
  return Buffer.concat(records);
}

/** Every proper prefix is "incomplete", the whole is `expected`. */
function expectAtEveryCut(bytes: Buffer, expected: ReturnType<typeof readServerName>): void {
  for (let cut = 0; cut < bytes.length; cut++) {
    const result = readServerName(bytes.subarray(0, cut));
    if (result.status !== "incomplete") expect.fail(`prefix of ${cut}/${bytes.length} bytes gave ${JSON.stringify(result)}`);
  }
  expect(readServerName(bytes)).toEqual(expected);
}

describe("readServerName on ClientHellos from tls.connect", () => {
  let named: Buffer;
  let unnamed: Buffer;
  let huge: Buffer;

  beforeAll(async () => {
    named = await captureClientHello({ servername: "API.Example.COM" });
    unnamed = await captureClientHello({});
    // ALPN names past 16 KiB in all: OpenSSL splits the hello over two records itself.
    huge = await captureClientHello({ servername: "big.example.com", ALPNProtocols: Array.from({ length: 80 }, (_, i) => `${i}`.padEnd(250, "x")) });
  });

  it("reads the server name, lowercased", () => {
    expect(readServerName(named)).toEqual({ status: "hello", serverName: "api.example.com" });
  });

  it("reads a hello without a server name (node sends none for an IP address)", () => {
    expect(readServerName(unnamed)).toEqual({ status: "hello", serverName: undefined });
  });

  it("is incomplete at every byte offset before the hello's end", () => {
    expectAtEveryCut(named, { status: "hello", serverName: "api.example.com" });
    expectAtEveryCut(unnamed, { status: "hello", serverName: undefined });
  });

  it("reads a hello that spans several records, as OpenSSL sends one over 16 KiB", () => {
    let records = 0;
    for (let at = 0; at < huge.length; at += 5 + huge.readUInt16BE(at + 3)) records++;
    expect(records).toBeGreaterThan(1);
    expectAtEveryCut(huge, { status: "hello", serverName: "big.example.com" });
  });

  it("reads a hello re-framed into records of other sizes, cut at every offset", () => {
    for (const size of [37, 100, 1000]) expectAtEveryCut(reframe(named, size), { status: "hello", serverName: "api.example.com" });
  });

  it("gives up on a hello in more than 64 records", () => {
    const tiny = reframe(named, 1);
    expect(readServerName(tiny.subarray(0, 64 * 6))).toEqual({ status: "incomplete" });
    expect(readServerName(tiny.subarray(0, 64 * 6 + 1))).toEqual({ status: "not-tls" });
  });

  it("ignores bytes after the hello (what the client sends next does not matter)", () => {
    expect(readServerName(Buffer.concat([named, Buffer.from("GET / HTTP/1.1\r\n")]))).toEqual({ status: "hello", serverName: "api.example.com" });
  });

  it("strips a trailing dot from the name", () => {
    const at = named.indexOf("API.Example.COM");
    // Same length: a trailing dot replaces the last letter.
    const dotted = Buffer.from(named);
    dotted.write(".", at + "API.Example.CO".length, "latin1");
    expect(readServerName(dotted)).toEqual({ status: "hello", serverName: "api.example.co" });
  });

  it("refuses a name with bytes that are not a hostname's, or an empty label", () => {
    const at = named.indexOf("API.Example.COM");
    for (const bad of ["API Example.COM", "API..xample.COM", "API/Example.COM", "API.Example.CO\0", "API.Example.CO\u00e9"]) {
      const changed = Buffer.from(named);
      changed.write(bad, at, bad.length, "latin1");
      expect(readServerName(changed), bad).toEqual({ status: "not-tls" });
    }
  });

  it("refuses a hello whose lengths disagree", () => {
    // The record claims one byte less: the hello's last byte must come in a next record, and that is an alert.
    const shorter = Buffer.from(named.subarray(0, -1));
    shorter.writeUInt16BE(shorter.readUInt16BE(3) - 1, 3);
    expect(readServerName(shorter)).toEqual({ status: "incomplete" });
    expect(readServerName(Buffer.concat([shorter, Buffer.from([0x15])]))).toEqual({ status: "not-tls" });
    const inner = Buffer.from(named);
    inner.writeUIntBE(inner.readUIntBE(6, 3) - 1, 6, 3); // the hello claims one byte less than its fields fill
    expect(readServerName(inner)).toEqual({ status: "not-tls" });
  });
});

describe("readServerName on other bytes", () => {
  it("is incomplete for nothing, or for the start of a handshake record", () => {
    expect(readServerName(new Uint8Array())).toEqual({ status: "incomplete" });
    expect(readServerName(Uint8Array.of(0x16))).toEqual({ status: "incomplete" });
    expect(readServerName(Uint8Array.of(0x16, 3, 1, 0))).toEqual({ status: "incomplete" });
  });

  it("is not-tls at once for plain HTTP, SSLv2-style hellos, other record types, and other handshake messages", () => {
    for (const bytes of [
      Buffer.from("GET / HTTP/1.1\r\n"),
      Buffer.from("CONNECT example.com:443 HTTP/1.1\r\n"),
      Uint8Array.of(0x80, 0x2e, 0x01, 0x00, 0x02),
      Uint8Array.of(0x15, 3, 1, 0, 2, 2, 40), // an alert
      Uint8Array.of(0x16, 2), // record version 2.x
      Uint8Array.of(0x16, 3, 1, 0, 4, 2), // a ServerHello
      Uint8Array.of(0x16, 3, 1, 0, 0), // an empty record
      Uint8Array.of(0x16, 3, 1, 0x40, 0x01), // a record over 16 KiB
      Uint8Array.of(0x16, 3, 1, 0, 4, 1, 0x01, 0x00, 0x01), // a hello declared over 64 KiB
    ]) {
      expect(readServerName(bytes), Buffer.from(bytes).toString("hex")).toEqual({ status: "not-tls" });
    }
  });

  it("is not-tls when a record of another type comes between the hello's fragments", () => {
    expect(readServerName(Uint8Array.of(0x16, 3, 1, 0, 2, 1, 0, 0x15, 3, 1))).toEqual({ status: "not-tls" });
  });
});
