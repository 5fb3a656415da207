import { Buffer } from "node:buffer";

/**
 * Reads the server name (SNI, RFC 6066 section 3) from the first bytes a client sends, for the egress proxy's filter.
 * The caller concatenates what has arrived and calls again while the answer is "incomplete". The answer depends only
 * on the bytes up to where it was decided, so more bytes never change a decided answer. Anything malformed is
 * "not-tls": the proxy refuses what it cannot read rather than guess.
 */

export type ServerNameResult = { status: "incomplete" } | { status: "not-tls" } | { status: "hello"; serverName: string | undefined };

/** The longest ClientHello waited for; real ones are well under 2 KiB (post-quantum key shares add about 1.2 KiB). */
const MAX_HELLO = 64 * 1024;
/**
 * Records the hello may be split into. Clients use one or a few; tools that cut the hello into tiny records to slip
 * past SNI filters get refused, which is the safe answer.
 */
const MAX_RECORDS = 64;
const MAX_RECORD = 1 << 14; // TLSPlaintext.length limit (RFC 8446 5.1)

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 1;
const SERVER_NAME = 0;
const HOST_NAME = 0;

const INCOMPLETE: ServerNameResult = Object.freeze({ status: "incomplete" });
const NOT_TLS: ServerNameResult = Object.freeze({ status: "not-tls" });

export function readServerName(bytes: Uint8Array): ServerNameResult {
  // Collect the handshake bytes of consecutive handshake records until the whole ClientHello is there.
  const fragments: Uint8Array[] = [];
  let gathered = 0;
  let helloLength: number | undefined; // the handshake message's length, header included
  for (let offset = 0, records = 0; ; ) {
    if (offset >= bytes.length) return INCOMPLETE;
    if (bytes[offset] !== HANDSHAKE || ++records > MAX_RECORDS) return NOT_TLS;
    if (offset + 1 < bytes.length && bytes[offset + 1] !== 3) return NOT_TLS; // record version 3.x
    if (offset + 5 > bytes.length) return INCOMPLETE;
    const recordLength = (bytes[offset + 3]! << 8) | bytes[offset + 4]!;
    if (recordLength === 0 || recordLength > MAX_RECORD) return NOT_TLS;
    const body = bytes.subarray(offset + 5, offset + 5 + recordLength);
    fragments.push(body);
    gathered += body.length;

    if (helloLength === undefined && gathered >= 1) {
      const head = Buffer.concat(fragments, Math.min(gathered, 4));
      if (head[0] !== CLIENT_HELLO) return NOT_TLS;
      if (head.length === 4) {
        helloLength = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
        if (helloLength > MAX_HELLO) return NOT_TLS;
      }
    }
    if (helloLength !== undefined && gathered >= helloLength) return parseClientHello(Buffer.concat(fragments, gathered).subarray(4, helloLength));
    if (body.length < recordLength) return INCOMPLETE;
    offset += 5 + recordLength;
  }
}

const MALFORMED = new Error("malformed ClientHello");

/** A bounds-checked reader: every read past the end throws MALFORMED, which parseClientHello turns into not-tls. */
class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get remaining(): number {
    return this.bytes.length - this.at;
  }
  take(length: number): Uint8Array {
    if (length > this.remaining) throw MALFORMED;
    return this.bytes.subarray(this.at, (this.at += length));
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    const [high, low] = this.take(2);
    return (high! << 8) | low!;
  }
  /** A vector with a 1- or 2-byte length prefix, as a Reader of its own. */
  vector(prefix: 1 | 2): Reader {
    return new Reader(this.take(prefix === 1 ? this.u8() : this.u16()));
  }
}

/** The ClientHello body (RFC 8446 4.1.2; TLS 1.0-1.2 share its layout), after the 4-byte handshake header. */
function parseClientHello(body: Uint8Array): ServerNameResult {
  try {
    const hello = new Reader(body);
    if (hello.u8() !== 3) return NOT_TLS; // legacy_version 3.x
    hello.take(1 + 32); // minor version, random
    if (hello.vector(1).remaining > 32) return NOT_TLS; // legacy_session_id
    const suites = hello.vector(2).remaining;
    if (suites < 2 || suites % 2 !== 0) return NOT_TLS;
    if (hello.vector(1).remaining < 1) return NOT_TLS; // compression methods
    if (hello.remaining === 0) return { status: "hello", serverName: undefined }; // no extensions at all (old clients)
    const extensions = hello.vector(2);
    if (hello.remaining !== 0) return NOT_TLS;

    const seen = new Set<number>();
    let serverName: string | undefined;
    while (extensions.remaining > 0) {
      const type = extensions.u16();
      const data = extensions.vector(2);
      if (seen.has(type)) return NOT_TLS; // at most one extension of each type (RFC 8446 4.2)
      seen.add(type);
      if (type !== SERVER_NAME) continue;
      const list = data.vector(2);
      if (data.remaining !== 0 || list.remaining === 0) return NOT_TLS;
      while (list.remaining > 0) {
        const nameType = list.u8();
        const name = list.vector(2);
        if (nameType !== HOST_NAME) continue; // no other type is defined; skipped as RFC 6066 allows
        if (serverName !== undefined) return NOT_TLS; // one host_name at most
        serverName = hostName(name.take(name.remaining));
        if (serverName === undefined) return NOT_TLS;
      }
    }
    return { status: "hello", serverName };
  } catch (error) {
    if (error === MALFORMED) return NOT_TLS;
    throw error;
  }
}

/** ASCII letters, digits, "-" and "_" in dot-separated labels: lowercased, without a trailing dot; else undefined. */
function hostName(bytes: Uint8Array): string | undefined {
  const name = Buffer.from(bytes).toString("latin1").toLowerCase().replace(/\.$/, "");
  if (name.length === 0 || name.length > 253) return undefined;
  return name.split(".").every((label) => /^[a-z0-9_-]{1,63}$/.test(label)) ? name : undefined;
}
