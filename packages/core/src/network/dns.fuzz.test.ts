import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dnsResponse, parseDnsQuery, type DnsAnswer, type DnsQuery } from "./dns.js";

/**
 * Property tests of the DNS codec on untrusted queries: parseDnsQuery never throws, gives only plain lowercase names,
 * and whatever it accepts gets a response that echoes the question exactly and fits in a UDP message.
 */

const NAME = /^(?:[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*)?$/;
const numRuns = 400;

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,63}$/);
const labels = fc.array(label, { maxLength: 5 });
const answers: fc.Arbitrary<DnsAnswer> = fc.oneof(
  fc.record({
    rcode: fc.constant("noerror" as const),
    addresses: fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 8 })), { maxLength: 40 }),
    ttl: fc.oneof(fc.integer(), fc.double()),
  }),
  fc.record({ rcode: fc.constantFrom("nxdomain" as const, "refused" as const, "servfail" as const, "formerr" as const) }),
);

const encodeName = (parts: readonly string[]) => Buffer.concat([...parts.map((part) => Buffer.concat([Buffer.of(part.length), Buffer.from(part, "latin1")])), Buffer.of(0)]);

/** A well-formed query: one or two questions (the second compressed against the first or not), maybe an OPT record. */
const queries = fc
  .record({
    id: fc.nat({ max: 0xffff }),
    flags: fc.nat({ max: 0x07ff }), // QR 0, opcode QUERY, anything in the other bits
    first: labels,
    second: fc.option(fc.tuple(labels, fc.boolean()), { nil: undefined }),
    type: fc.nat({ max: 0xffff }),
    edns: fc.boolean(),
  })
  .map(({ id, flags, first, second, type, edns }) => {
    const question = (name: Buffer) => Buffer.concat([name, Buffer.from([type >> 8, type & 0xff, 0, 1])]);
    const sections = [question(encodeName(first))];
    if (second) sections.push(question(second[1] && first.length ? Buffer.concat([encodeName(second[0]).subarray(0, -1), Buffer.of(0xc0, 12)]) : encodeName(second[0])));
    if (edns) sections.push(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]));
    const header = Buffer.from([id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, sections.length - (edns ? 1 : 0), 0, 0, 0, 0, 0, edns ? 1 : 0]);
    return Buffer.concat([header, ...sections]);
  });

/** Whatever was accepted gets a response for each answer, which must echo the question section byte for byte. */
function checkAccepted(message: Uint8Array, query: DnsQuery, answer: DnsAnswer): void {
  for (const { name } of query.questions) {
    expect(name).toMatch(NAME);
    expect(name.length).toBeLessThanOrEqual(253);
  }
  const response = Buffer.from(dnsResponse(query, answer));
  expect(response.readUInt16BE(0)).toBe(query.id);
  expect(response.readUInt16BE(4)).toBe(query.questions.length);
  expect(parseDnsQuery(response)).toBeUndefined(); // a response (QR set) is never read as a query
  if (query.questions.length === 1) {
    expect(response.length).toBeLessThanOrEqual(512);
    const questionEnd = response.length - 16 * response.readUInt16BE(6);
    const asked = Buffer.from(message).subarray(12, 12 + (questionEnd - 12));
    // Without compression the query's question bytes are the response's (case kept).
    if (!asked.includes(0xc0)) expect(response.subarray(12, questionEnd)).toEqual(asked);
  }
}

describe("the DNS codec (property)", () => {
  it("arbitrary bytes: parseDnsQuery never throws; anything accepted gets a sound response", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), answers, (bytes, answer) => {
        const query = parseDnsQuery(bytes);
        if (query) checkAccepted(bytes, query, answer);
      }),
      { numRuns },
    );
  });

  it("well-formed queries are accepted: names lowercased, the question echoed with its case", () => {
    fc.assert(
      fc.property(queries, answers, (message, answer) => {
        const query = parseDnsQuery(message);
        expect(query).toBeDefined();
        expect(query!.id).toBe(message.readUInt16BE(0));
        expect(query!.recursionDesired).toBe((message[2]! & 1) === 1);
        checkAccepted(message, query!, answer);
      }),
      { numRuns },
    );
  });

  it("well-formed queries with bytes overwritten, cut short or extended: never throws, the same guarantees", () => {
    const edit = fc.record({
      writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 12 }),
    });
    fc.assert(
      fc.property(queries, edit, answers, (message, { writes, cut, tail }, answer) => {
        for (const [offset, byte] of writes) message[offset % message.length] = byte;
        const bytes = Buffer.concat([message.subarray(0, cut === undefined ? undefined : cut % (message.length + 1)), tail]);
        const query = parseDnsQuery(bytes);
        if (query) checkAccepted(bytes, query, answer);
      }),
      { numRuns },
    );
  });
});
