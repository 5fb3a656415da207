import dgram from "node:dgram";
import dns from "node:dns";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { DNS_TYPE, dnsResponse, parseDnsQuery, type DnsAnswer } from "./dns.js";

/** A query as a stub resolver writes it: one question, RD set, optionally an EDNS OPT record. */
function query(name: string, type: number = DNS_TYPE.A, { id = 0x1234, edns = false } = {}): Buffer {
  const labels = name === "" ? [] : name.split(".");
  const qname = Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.of(label.length), Buffer.from(label, "latin1")])), Buffer.of(0)]);
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]);
  const opt = edns ? Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([header, qname, Buffer.from([type >> 8, type & 0xff, 0, 1]), opt]);
}

describe("parseDnsQuery", () => {
  it("reads id, RD and the question, the name lowercased without a trailing dot", () => {
    expect(parseDnsQuery(query("Api.Example.COM", DNS_TYPE.AAAA, { edns: true }))).toEqual({
      id: 0x1234,
      recursionDesired: true,
      questions: [{ name: "api.example.com", type: DNS_TYPE.AAAA, class: 1 }],
    });
    expect(parseDnsQuery(query(""))?.questions[0]?.name).toBe("");
  });

  it("follows compression pointers to earlier names", () => {
    // Two questions; the second is "www" + a pointer to the first's name at offset 12.
    const first = query("example.com");
    const second = Buffer.from([3, ...Buffer.from("www"), 0xc0, 12, 0, 1, 0, 1]);
    const message = Buffer.concat([first, second]);
    message[5] = 2;
    expect(parseDnsQuery(message)?.questions.map((q) => q.name)).toEqual(["example.com", "www.example.com"]);
  });

  it("refuses pointer loops: to itself, forward, and around a label", () => {
    const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const tail = Buffer.from([0, 1, 0, 1]);
    for (const name of [
      [0xc0, 12], // itself
      [0xc0, 14, 0], // forward
      [1, 0x61, 0xc0, 12], // back to its own first label: a, a, a, ...
    ]) {
      expect(parseDnsQuery(Buffer.concat([header, Buffer.from(name), tail])), JSON.stringify(name)).toBeUndefined();
    }
    // Two questions pointing at each other.
    const mutual = Buffer.concat([header, Buffer.from([1, 0x61, 0xc0, 22, 0, 1, 0, 1, 1, 0x62, 0xc0, 12, 0, 1, 0, 1])]);
    mutual[5] = 2;
    expect(parseDnsQuery(mutual)).toBeUndefined();
  });

  it("refuses responses, other opcodes, no question, truncation, trailing bytes, odd labels and long names", () => {
    const good = query("example.com");
    const changed = (edit: (message: Buffer) => void) => {
      const copy = Buffer.from(good);
      edit(copy);
      return copy;
    };
    for (const [what, message] of [
      ["short header", good.subarray(0, 11)],
      ["QR set", changed((m) => (m[2]! |= 0x80))],
      ["opcode NOTIFY", changed((m) => (m[2]! |= 4 << 3))],
      ["no question", changed((m) => (m[5] = 0))],
      ["cut in the question", good.subarray(0, good.length - 1)],
      ["trailing byte", Buffer.concat([good, Buffer.of(0)])],
      ["an answer count with no answer", changed((m) => (m[7] = 1))],
      ["a dot inside a label", Buffer.concat([good.subarray(0, 12), Buffer.from([3, 0x61, 0x2e, 0x62, 0, 0, 1, 0, 1])])],
      ["a space", query("a b")],
      ["a NUL", query("a\0b")],
      ["label type 0x40", changed((m) => (m[12] = 0x47))],
      ["name over 255 octets", query(Array(5).fill("x".repeat(63)).join("."))],
    ] as const) {
      expect(parseDnsQuery(message), what).toBeUndefined();
    }
    expect(parseDnsQuery(query(Array(4).fill("x".repeat(62)).join(".")))).toBeDefined(); // 4 * 63 + 1 = 253 octets
  });
});

describe("dnsResponse", () => {
  const q = parseDnsQuery(query("API.example.com"))!;

  it("echoes id and question (with its case), sets QR and RA, copies RD, answers A records with a pointer", () => {
    const response = Buffer.from(dnsResponse(q, { rcode: "noerror", addresses: ["10.0.0.1", "::1", "10.0.0.2", "10.0.0.1"], ttl: 60 }));
    expect(response.readUInt16BE(0)).toBe(0x1234);
    expect(response.readUInt16BE(2)).toBe(0x8180);
    expect([4, 6, 8, 10].map((at) => response.readUInt16BE(at))).toEqual([1, 2, 0, 0]);
    expect(response.subarray(12, 12 + 21).toString("latin1")).toContain("API");
    const answers = response.subarray(12 + 17 + 4);
    expect(answers.toString("hex")).toBe("c00c00010001" + "0000003c" + "0004" + "0a000001" + "c00c00010001" + "0000003c" + "0004" + "0a000002");
  });

  it("gives each rcode, no answers but for noerror, and nothing for AAAA", () => {
    const codes: Array<[DnsAnswer, number]> = [[{ rcode: "formerr" }, 1], [{ rcode: "servfail" }, 2], [{ rcode: "nxdomain" }, 3], [{ rcode: "refused" }, 5]];
    for (const [answer, code] of codes) {
      const response = Buffer.from(dnsResponse(q, answer));
      expect(response.readUInt16BE(2) & 0xf).toBe(code);
      expect(response.readUInt16BE(6)).toBe(0);
    }
    const aaaa = Buffer.from(dnsResponse(parseDnsQuery(query("x.com", DNS_TYPE.AAAA))!, { rcode: "noerror", addresses: ["10.0.0.1", "::1"], ttl: 5 }));
    expect(aaaa.readUInt16BE(6)).toBe(0);
  });

  it("keeps within 512 bytes: records that do not fit are dropped and TC is set", () => {
    const addresses = Array.from({ length: 60 }, (_, i) => `10.0.${i}.1`);
    const response = Buffer.from(dnsResponse(q, { rcode: "noerror", addresses, ttl: 1 }));
    expect(response.length).toBeLessThanOrEqual(512);
    expect(response.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(response.readUInt16BE(6)).toBe(Math.floor((512 - 12 - 21) / 16));
  });

  it("encodes a query made by hand, and refuses what is not one", () => {
    const made = { id: 7, recursionDesired: false, questions: [{ name: "a.example.", type: 1, class: 1 }] };
    expect(parseDnsQuery(Buffer.from(dnsResponse(made, { rcode: "nxdomain" })).fill(0, 2, 3))?.questions).toEqual([{ name: "a.example", type: 1, class: 1 }]);
    expect(() => dnsResponse({ ...made, questions: [{ name: "a b", type: 1, class: 1 }] }, { rcode: "refused" })).toThrow(ValidationError);
    expect(() => dnsResponse(made, { rcode: "toString" } as unknown as DnsAnswer)).toThrow(ValidationError);
  });
});

describe("a UDP server with these functions, asked by node:dns", () => {
  let server: dgram.Socket;
  const resolver = new dns.promises.Resolver({ timeout: 2_000, tries: 1 });
  const policy = (name: string, type: number): DnsAnswer => {
    if (name === "blocked.example") return { rcode: "refused" };
    if (name === "broken.example") return { rcode: "servfail" };
    if (name !== "allowed.example" && name !== "big.example") return { rcode: "nxdomain" };
    return { rcode: "noerror", addresses: name === "big.example" ? ["10.1.1.1", "10.1.1.2", "10.1.1.3"] : ["10.0.0.7"], ttl: type === DNS_TYPE.A ? 30 : 0 };
  };

  beforeAll(async () => {
    server = dgram.createSocket("udp4");
    server.on("message", (message, remote) => {
      const parsed = parseDnsQuery(message);
      if (!parsed?.questions[0]) return;
      server.send(dnsResponse(parsed, policy(parsed.questions[0].name, parsed.questions[0].type)), remote.port, remote.address);
    });
    await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
    resolver.setServers([`127.0.0.1:${(server.address() as AddressInfo).port}`]);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(resolve));
  });

  const code = (promise: Promise<unknown>) => promise.then(() => "resolved", (error: NodeJS.ErrnoException) => error.code);

  it("resolve4 gets the addresses and TTL, whatever the name's case", async () => {
    expect(await resolver.resolve4("allowed.example", { ttl: true })).toEqual([{ address: "10.0.0.7", ttl: 30 }]);
    expect((await resolver.resolve4("BIG.Example")).sort()).toEqual(["10.1.1.1", "10.1.1.2", "10.1.1.3"]);
  });

  it("NXDOMAIN is ENOTFOUND, an AAAA question ENODATA, REFUSED and SERVFAIL their codes", async () => {
    expect(await code(resolver.resolve4("other.example"))).toBe("ENOTFOUND");
    expect(await code(resolver.resolve6("allowed.example"))).toBe("ENODATA");
    expect(await code(resolver.resolve4("blocked.example"))).toBe("EREFUSED");
    expect(await code(resolver.resolve4("broken.example"))).toBe("ESERVFAIL");
  });
});
