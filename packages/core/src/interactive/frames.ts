/**
 * The kernel protocol's framing, both directions: `[kind: 1 ASCII byte][length: uint32 big-endian][payload]`.
 * Output bytes travel raw (the host decodes them like any program output); control frames carry JSON. The kernels
 * (`assets/kernels/*`) implement the same layout.
 */

/** Frame kinds. Host → kernel: SOURCE, EXECUTE, KILL. Kernel → host: the rest. */
export const FrameKind = {
  /** The kernel's own source code, the first frame on stdin (the boot loader evaluates it). */
  SOURCE: "S",
  /** JSON `{ cell, code }`: run one cell (a fork server's run carries more: file, env, …). */
  EXECUTE: "X",
  /** JSON `{ cell }`: a fork server stops that run's processes (TERM, then KILL). */
  KILL: "K",
  /** JSON `{ pid, language, version }`: the kernel is ready. */
  HELLO: "H",
  /** Raw bytes the cell (or a process it started) wrote to stdout. */
  STDOUT: "O",
  /** Raw bytes written to stderr. */
  STDERR: "E",
  /** JSON `{ data: { mime: text or base64 }, metadata }` from `display()` or a figure; or `{ error }` when dropped. */
  DISPLAY: "D",
  /** JSON `{ cell, status: "ok" | "error", value?, error?, exitCode? }`: the cell finished; always its last frame. */
  RESULT: "R",
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const KINDS = new Set<string>(Object.values(FrameKind));
const HEADER_BYTES = 5;

export function encodeFrame(kind: FrameKind, payload: Uint8Array | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.write(kind, 0, "latin1");
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, HEADER_BYTES);
  return frame;
}

export const encodeJsonFrame = (kind: FrameKind, value: unknown): Buffer => encodeFrame(kind, JSON.stringify(value));

/** The stream from the kernel broke the protocol: the kernel (or code that took it over) cannot be trusted further. */
export class FrameError extends Error {}

/**
 * Reassembles frames from arbitrary chunks. A frame over `maxFrameBytes` or an unknown kind is a protocol error:
 * nothing more is decoded after it, so a corrupted stream can neither grow memory nor be misread.
 */
export class FrameDecoder {
  readonly #onFrame: (kind: FrameKind, payload: Buffer) => void;
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed: FrameError | undefined;

  constructor(onFrame: (kind: FrameKind, payload: Buffer) => void, maxFrameBytes: number) {
    this.#onFrame = onFrame;
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Decodes what `chunk` completes; throws `FrameError` (now and on every later call) on a protocol violation. */
  push(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    if (chunk.length === 0) return;
    this.#chunks.push(Buffer.from(chunk)); // a copy: transports may reuse their buffers
    this.#buffered += chunk.length;
    while (this.#buffered >= HEADER_BYTES) {
      const header = this.#peek(HEADER_BYTES);
      const kind = String.fromCharCode(header[0]!);
      const length = header.readUInt32BE(1);
      if (!KINDS.has(kind)) this.#fail(`unknown frame kind 0x${header[0]!.toString(16)}`);
      if (length > this.#maxFrameBytes) this.#fail(`frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes}`);
      if (this.#buffered < HEADER_BYTES + length) return;
      const frame = this.#take(HEADER_BYTES + length);
      this.#onFrame(kind as FrameKind, frame.subarray(HEADER_BYTES));
    }
  }

  /** Bytes of an incomplete frame still waiting for the rest (non-zero at end of stream = truncated stream). */
  get pendingBytes(): number {
    return this.#buffered;
  }

  #fail(message: string): never {
    this.#failed = new FrameError(`kernel protocol error: ${message}`);
    this.#chunks = [];
    this.#buffered = 0;
    throw this.#failed;
  }

  /** The first `n` buffered bytes, merging chunks only as far as needed. */
  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!;
  }

  #take(n: number): Buffer {
    const head = this.#peek(n);
    const frame = head.subarray(0, n);
    if (head.length === n) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#buffered -= n;
    return frame;
  }
}
