import type { EncodingErrors } from "../enums.js";

export interface StreamCollectorOptions {
  /** Cap on kept raw bytes; anything beyond is counted but dropped, so a flood never grows memory. */
  maxBytes: number;
  encodingErrors: EncodingErrors;
  /** Receives the decoded text of kept bytes, in order, never an empty string. */
  onText?: (text: string) => void;
}

export interface CollectedStream {
  /** Decoded text of the kept bytes; in "strict" mode with invalid input, the text before the first invalid sequence. */
  text: string;
  /** More than `maxBytes` arrived; the excess was dropped. */
  truncated: boolean;
  /** The raw kept bytes (at most `maxBytes`), so a strict-mode failure loses nothing. */
  bytes: Uint8Array;
  /** Strict mode only: byte offset of the first invalid UTF-8 sequence. */
  invalidAt?: number;
}

const utf8 = new TextDecoder();

/** Python-style `\xNN`; invalid UTF-8 bytes are all >= 0x80, so always two hex digits. */
const hex = (byte: number) => `\\x${byte.toString(16)}`;

/**
 * Collects program output that arrives in arbitrary byte chunks and decodes it as UTF-8 incrementally.
 *
 * A small state machine (the WHATWG UTF-8 decoder, minus code point assembly) finds character boundaries and
 * invalid "maximal subparts" — exactly where `TextDecoder` would emit U+FFFD — so every error mode agrees on what
 * is invalid. Valid runs are decoded by `TextDecoder` in one call each, which keeps 10 MiB outputs fast.
 */
export class StreamCollector {
  readonly #maxBytes: number;
  readonly #mode: EncodingErrors;
  readonly #onText: ((text: string) => void) | undefined;

  readonly #chunks: Uint8Array[] = [];
  readonly #parts: string[] = [];
  /** Bytes of a character that started in an earlier chunk and is not complete yet (at most 3). */
  #pending: Uint8Array = new Uint8Array(0);
  /** Kept bytes, including `#pending`. */
  #kept = 0;
  #received = 0;
  #truncated = false;
  #invalidAt: number | undefined;
  #result: CollectedStream | undefined;

  constructor(options: StreamCollectorOptions) {
    this.#maxBytes = Math.max(0, Math.floor(options.maxBytes));
    this.#mode = options.encodingErrors;
    this.#onText = options.onText;
  }

  /** Total bytes received, including those dropped beyond the cap. */
  get byteLength(): number {
    return this.#received;
  }

  push(chunk: Uint8Array): void {
    if (this.#result) throw new Error("StreamCollector.push() called after finish()");
    this.#received += chunk.length;
    if (this.#truncated || chunk.length === 0) return;

    const room = this.#maxBytes - this.#kept;
    if (chunk.length > room) this.#truncated = true;
    // Copy: callers may reuse their buffers, and we decode from the copy too.
    const kept = new Uint8Array(chunk.subarray(0, Math.min(room, chunk.length)));
    if (kept.length > 0) this.#chunks.push(kept);
    this.#kept += kept.length;
    this.#decode(kept);

    if (this.#truncated) {
      // The cap fell inside a character whose remaining bytes were dropped: don't keep half a character.
      this.#kept -= this.#pending.length;
      this.#pending = new Uint8Array(0);
    }
  }

  /** Ends the stream; an incomplete trailing character counts as one invalid sequence. Idempotent. */
  finish(): CollectedStream {
    if (this.#result) return this.#result;
    if (this.#pending.length > 0) {
      const pending = this.#pending;
      this.#pending = new Uint8Array(0);
      this.#invalid(pending, 0, 0, pending.length, this.#kept - pending.length);
    }

    const bytes = new Uint8Array(this.#kept);
    let at = 0;
    for (const chunk of this.#chunks) {
      if (at >= bytes.length) break;
      const part = chunk.subarray(0, bytes.length - at);
      bytes.set(part, at);
      at += part.length;
    }

    this.#result = { text: this.#parts.join(""), truncated: this.#truncated, bytes };
    if (this.#invalidAt !== undefined) this.#result.invalidAt = this.#invalidAt;
    return this.#result;
  }

  /** Decodes `chunk` after any pending bytes; leaves an incomplete trailing character in `#pending`. */
  #decode(chunk: Uint8Array): void {
    const data = this.#pending.length === 0 ? chunk : concat(this.#pending, chunk);
    /** Stream offset of data[0]. */
    const base = this.#kept - data.length;

    let runStart = 0; // start of the current run of valid bytes not yet emitted
    let seqStart = 0; // start of the multi-byte sequence being read
    let needed = 0; // continuation bytes the sequence needs in total
    let seen = 0;
    let lower = 0x80;
    let upper = 0xbf;

    let i = 0;
    while (i < data.length) {
      const b = data[i]!;
      if (needed === 0) {
        if (b >= 0x80) {
          seqStart = i;
          if (b >= 0xc2 && b <= 0xdf) {
            needed = 1;
          } else if (b >= 0xe0 && b <= 0xef) {
            needed = 2;
            if (b === 0xe0) lower = 0xa0; // overlong
            else if (b === 0xed) upper = 0x9f; // surrogates
          } else if (b >= 0xf0 && b <= 0xf4) {
            needed = 3;
            if (b === 0xf0) lower = 0x90; // overlong
            else if (b === 0xf4) upper = 0x8f; // > U+10FFFF
          } else {
            this.#invalid(data, runStart, i, i + 1, base);
            runStart = i + 1;
          }
        }
        i++;
      } else if (b < lower || b > upper) {
        // The bytes read so far are one maximal subpart; `b` is looked at again as a possible lead byte.
        this.#invalid(data, runStart, seqStart, i, base);
        runStart = i;
        needed = seen = 0;
        lower = 0x80;
        upper = 0xbf;
      } else {
        lower = 0x80;
        upper = 0xbf;
        if (++seen === needed) needed = seen = 0;
        i++;
      }
    }

    const end = needed === 0 ? data.length : seqStart;
    this.#emitValid(data, runStart, end);
    this.#pending = data.slice(end);
  }

  /** Emits the valid run [runStart, badStart), then handles the invalid bytes [badStart, badEnd) per the mode. */
  #invalid(data: Uint8Array, runStart: number, badStart: number, badEnd: number, base: number): void {
    this.#emitValid(data, runStart, badStart);
    switch (this.#mode) {
      case "replace":
        this.#emit("\uFFFD");
        break;
      case "ignore":
        break;
      case "backslashreplace": {
        let text = "";
        for (let i = badStart; i < badEnd; i++) text += hex(data[i]!);
        this.#emit(text);
        break;
      }
      case "strict":
        this.#invalidAt ??= base + badStart;
        break;
    }
  }

  #emitValid(data: Uint8Array, start: number, end: number): void {
    if (end > start && this.#invalidAt === undefined) this.#emit(utf8.decode(data.subarray(start, end)));
  }

  #emit(text: string): void {
    // In strict mode nothing after the first invalid sequence is text.
    if (text === "" || this.#invalidAt !== undefined) return;
    this.#parts.push(text);
    this.#onText?.(text);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
