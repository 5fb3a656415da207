import { Buffer } from "node:buffer";
import { ValidationError } from "../errors.js";
import { parseIPv4 } from "./ip.js";

/**
 * The message codec (RFC 1035 section 4) of the egress proxy's DNS server, which answers only the names a policy
 * allows. Queries come from the sandbox and are untrusted: parseDnsQuery reads them strictly and never throws.
 * UDP only, so responses stay within 512 bytes (RFC 1035 4.2.1; we send no EDNS), truncated with TC past that.
 */

export interface DnsQuestion {
  /** Lowercase, without the trailing dot; "" for the root. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface DnsQuery {
  readonly id: number;
  readonly recursionDesired: boolean;
  readonly questions: readonly DnsQuestion[];
}

export const DNS_TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  SVCB: 64,
  HTTPS: 65,
  ANY: 255,
} as const;

export const DNS_CLASS_IN = 1;

export type DnsAnswer = { rcode: "noerror"; addresses: readonly string[]; ttl: number } | { rcode: "nxdomain" | "refused" | "servfail" | "formerr" };

const RCODE = { noerror: 0, formerr: 1, servfail: 2, nxdomain: 3, refused: 5 } as const;
const HEADER = 12;
const MAX_UDP = 512;
const MAX_NAME = 255; // octets on the wire, length bytes and the final zero included (RFC 1035 2.3.4)
const FLAG = { response: 0x8000, truncated: 0x0200, recursionDesired: 0x0100, recursionAvailable: 0x0080 } as const;
/** Letters, digits, "-" and "_" (SRV-style names): anything else would make the dotted name ambiguous or odd. */
const LABEL_BYTE = /^[A-Za-z0-9_-]+$/;

/**
 * Each parsed question's name as it came on the wire (case kept, compression undone), so the response echoes it
 * exactly: resolvers that randomize case (DNS 0x20) drop an answer whose question differs in case.
 */
const wireNames = new WeakMap<DnsQuery, readonly Uint8Array[]>();

/** A name at `start`, compression pointers followed; undefined when malformed. `end` is just past it in place. */
function readName(message: Uint8Array, start: number): { name: string; wire: Uint8Array; end: number } | undefined {
  const labels: Uint8Array[] = [];
  let wireLength = 1;
  let at = start;
  let end: number | undefined;
  // Every pointer must go strictly before where the current run of labels began: names then always terminate.
  let limit = start;
  for (;;) {
    const length = message[at];
    if (length === undefined) return undefined;
    if ((length & 0xc0) === 0xc0) {
      const low = message[at + 1];
      if (low === undefined) return undefined;
      const target = ((length & 0x3f) << 8) | low;
      if (target >= limit) return undefined;
      end ??= at + 2;
      at = limit = target;
      continue;
    }
    if (length & 0xc0) return undefined; // 0x40 and 0x80 label types are extended or reserved
    if (length === 0) {
      end ??= at + 1;
      break;
    }
    const label = message.subarray(at + 1, at + 1 + length);
    wireLength += 1 + length;
    if (label.length !== length || wireLength > MAX_NAME || !LABEL_BYTE.test(Buffer.from(label).toString("latin1"))) return undefined;
    labels.push(label);
    at += 1 + length;
  }
  const wire = Buffer.concat([...labels.flatMap((label) => [Uint8Array.of(label.length), label]), Uint8Array.of(0)]);
  const name = labels.map((label) => Buffer.from(label).toString("latin1").toLowerCase()).join(".");
  return { name, wire, end };
}

const u16 = (message: Uint8Array, at: number): number | undefined =>
  at + 2 <= message.length ? (message[at]! << 8) | message[at + 1]! : undefined;

/** A standard query (QR 0, opcode QUERY) with at least one question; undefined for anything else or malformed. */
export function parseDnsQuery(message: Uint8Array): DnsQuery | undefined {
  if (!(message instanceof Uint8Array) || message.length < HEADER) return undefined;
  const id = u16(message, 0)!;
  const flags = u16(message, 2)!;
  if (flags & FLAG.response || ((flags >> 11) & 0xf) !== 0) return undefined;
  const [questionCount, answerCount, authorityCount, additionalCount] = [4, 6, 8, 10].map((at) => u16(message, at)!) as [number, number, number, number];
  if (questionCount === 0) return undefined;

  const questions: DnsQuestion[] = [];
  const wires: Uint8Array[] = [];
  let at = HEADER;
  for (let i = 0; i < questionCount; i++) {
    const name = readName(message, at);
    const type = name && u16(message, name.end);
    const klass = name && u16(message, name.end + 2);
    if (!name || type === undefined || klass === undefined) return undefined;
    questions.push({ name: name.name, type, class: klass });
    wires.push(name.wire);
    at = name.end + 4;
  }
  // Other sections (an EDNS OPT record, mostly) are checked for shape and otherwise ignored.
  for (let i = 0; i < answerCount + authorityCount + additionalCount; i++) {
    const name = readName(message, at);
    const dataLength = name && u16(message, name.end + 8);
    if (!name || dataLength === undefined || name.end + 10 + dataLength > message.length) return undefined;
    at = name.end + 10 + dataLength;
  }
  if (at !== message.length) return undefined;

  const query: DnsQuery = { id, recursionDesired: (flags & FLAG.recursionDesired) !== 0, questions };
  wireNames.set(query, wires);
  return query;
}

/** A name for the wire from its dotted text (for queries not made by parseDnsQuery). */
function encodeName(name: string): Uint8Array {
  const labels = name.replace(/\.$/, "") === "" ? [] : name.replace(/\.$/, "").split(".");
  const wire = Buffer.concat([...labels.flatMap((label) => [Uint8Array.of(label.length), Buffer.from(label, "latin1")]), Uint8Array.of(0)]);
  if (!labels.every((label) => label.length <= 63 && LABEL_BYTE.test(label)) || wire.length > MAX_NAME) {
    throw new ValidationError(`Not a DNS name: ${JSON.stringify(name)}`);
  }
  return wire;
}

const u16Bytes = (value: number) => Uint8Array.of((value >> 8) & 0xff, value & 0xff);

/**
 * The response to `query`: its id and questions echoed, RD copied, RA set. For "noerror", A records (under the first
 * question's name, when it asks for A in class IN) for the IPv4 addresses among `addresses`; others are left out, so
 * an AAAA question gets an empty answer. Records past 512 bytes are dropped and TC set.
 */
export function dnsResponse(query: DnsQuery, answer: DnsAnswer): Uint8Array {
  if (!Object.hasOwn(RCODE, answer.rcode)) throw new ValidationError(`Unknown DNS rcode: ${String(answer.rcode)}`);
  if (query.questions.length > 0xffff) throw new ValidationError("Too many questions for one DNS message");
  const rcode = RCODE[answer.rcode];
  const parsed = wireNames.get(query);
  const names = parsed?.length === query.questions.length ? parsed : query.questions.map((question) => encodeName(question.name));
  const questions = query.questions.map((question, i) => Buffer.concat([names[i]!, u16Bytes(question.type), u16Bytes(question.class)]));

  const first = query.questions[0];
  const records: Uint8Array[] = [];
  if (answer.rcode === "noerror" && first?.type === DNS_TYPE.A && first.class === DNS_CLASS_IN) {
    const ttl = Number.isFinite(answer.ttl) ? Math.min(Math.max(Math.floor(answer.ttl), 0), 0x7fffffff) : 0;
    const ttlBytes = Uint8Array.of(ttl >>> 24, (ttl >> 16) & 0xff, (ttl >> 8) & 0xff, ttl & 0xff);
    const seen = new Set<string>();
    for (const address of answer.addresses) {
      const bytes = parseIPv4(address);
      if (!bytes || seen.has(address)) continue;
      seen.add(address);
      // 0xc00c: a pointer to the first question's name, right after the header.
      records.push(Buffer.concat([Uint8Array.of(0xc0, HEADER), u16Bytes(DNS_TYPE.A), u16Bytes(DNS_CLASS_IN), ttlBytes, u16Bytes(4), bytes]));
    }
  }

  let size = HEADER + questions.reduce((total, question) => total + question.length, 0);
  let fitting = 0;
  while (fitting < records.length && size + records[fitting]!.length <= MAX_UDP) size += records[fitting++]!.length;
  const truncated = fitting < records.length;

  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(query.id & 0xffff, 0);
  const flags = FLAG.response | FLAG.recursionAvailable | (query.recursionDesired ? FLAG.recursionDesired : 0) | (truncated ? FLAG.truncated : 0) | rcode;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(questions.length, 4);
  header.writeUInt16BE(fitting, 6);
  return Buffer.concat([header, ...questions, ...records.slice(0, fitting)]);
}
