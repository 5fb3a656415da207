import { Duplex } from "node:stream";

/** The relay's frame types (relay-program.ts speaks the same numbers). */
export const FRAME = { open: 1, data: 2, end: 3, close: 4, dns: 5, ready: 6, pause: 7, resume: 8, reset: 9, listen: 10 } as const;
const HEADER = 9;
/** Largest payload the library sends in one frame. */
const MAX_PAYLOAD = 64 * 1024;
/** Bytes queued for the relay before writers wait. */
const QUEUE_HIGH = 4 * 1024 * 1024;

export function encodeFrame(type: number, id: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(payload.length, 5);
  return Buffer.concat([header, payload]);
}

/** Splits the relay's byte stream into frames, whatever the chunking. */
export class FrameReader {
  #buffer = Buffer.alloc(0);

  *push(chunk: Uint8Array): Generator<{ type: number; id: number; payload: Buffer }> {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : Buffer.from(chunk);
    while (this.#buffer.length >= HEADER) {
      const length = this.#buffer.readUInt32BE(5);
      if (this.#buffer.length < HEADER + length) return;
      const frame = { type: this.#buffer.readUInt8(0), id: this.#buffer.readUInt32BE(1), payload: this.#buffer.subarray(HEADER, HEADER + length) };
      this.#buffer = this.#buffer.subarray(HEADER + length);
      yield frame;
    }
  }
}

/** The relay's stdin: frames queued as produced, with the bytes not yet taken by the engine counted for back-pressure. */
class FrameQueue implements AsyncIterable<Uint8Array> {
  #items: Buffer[] = [];
  #bytes = 0;
  #wake: (() => void) | undefined;
  #drained: (() => void)[] = [];
  #ended = false;

  get full(): boolean {
    return this.#bytes > QUEUE_HIGH;
  }

  push(frame: Buffer): void {
    if (this.#ended) return;
    this.#items.push(frame);
    this.#bytes += frame.length;
    this.#wake?.();
  }

  /** Calls `callback` once the queue is below its mark (at once if it is). */
  whenDrained(callback: () => void): void {
    if (!this.full || this.#ended) callback();
    else this.#drained.push(callback);
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
    for (const callback of this.#drained.splice(0)) callback();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const item = this.#items.shift();
      if (item) {
        this.#bytes -= item.length;
        if (!this.full) for (const callback of this.#drained.splice(0)) callback();
        yield item;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

/** One TCP connection the relay accepted in the sandbox: a Duplex whose bytes are the client's. */
export class RelayStream extends Duplex {
  #pausedByRelay = false;
  #heldWrite: (() => void) | undefined;
  #pausedRelay = false;

  constructor(
    readonly id: number,
    /** The address and port the sandbox connected to (an address the name server gave out, or 127.0.0.1). */
    readonly localAddress: string,
    readonly localPort: number,
    private readonly mux: RelayMux,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Aborts the connection: the client sees a reset, at once. */
  reset(): void {
    this.mux.send(FRAME.reset, this.id);
    this.mux.forget(this.id);
    this.destroy();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (let offset = 0; offset < chunk.length; offset += MAX_PAYLOAD) this.mux.send(FRAME.data, this.id, chunk.subarray(offset, offset + MAX_PAYLOAD));
    const proceed = () => this.mux.whenDrained(callback);
    if (this.#pausedByRelay) this.#heldWrite = proceed;
    else proceed();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.mux.send(FRAME.end, this.id);
    callback();
  }

  override _read(): void {
    if (!this.#pausedRelay) return;
    this.#pausedRelay = false;
    this.mux.send(FRAME.resume, this.id);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.mux.forget(this.id)) this.mux.send(error ? FRAME.reset : FRAME.close, this.id);
    callback(error);
  }

  /** @internal frames from the relay for this connection. */
  deliver(type: number, payload: Buffer): void {
    if (type === FRAME.data) {
      if (!this.push(payload) && !this.#pausedRelay) {
        this.#pausedRelay = true;
        this.mux.send(FRAME.pause, this.id);
      }
    } else if (type === FRAME.end) this.push(null);
    else if (type === FRAME.close) {
      this.mux.forget(this.id);
      this.destroy();
    } else if (type === FRAME.pause) this.#pausedByRelay = true;
    else if (type === FRAME.resume) {
      this.#pausedByRelay = false;
      const held = this.#heldWrite;
      this.#heldWrite = undefined;
      held?.();
    }
  }
}

export interface RelayHandlers {
  /** A new connection; the handler owns the stream. */
  onConnection(stream: RelayStream): void;
  /** A DNS datagram; resolves with the answer (or undefined to drop it). */
  onDnsQuery(query: Buffer): Promise<Uint8Array | undefined> | Uint8Array | undefined;
  /** The ports the relay listens on now, or what it could not bind. */
  onReady?(ports: number[], failure: string | undefined): void;
}

/**
 * The library's end of the relay: demultiplexes the relay's stdout into connections and DNS queries, multiplexes
 * the answers onto its stdin (`input`, handed to the exec).
 */
export class RelayMux {
  readonly input = new FrameQueue();
  readonly #reader = new FrameReader();
  readonly #streams = new Map<number, RelayStream>();
  #closed = false;

  constructor(private readonly handlers: RelayHandlers) {}

  /** Feed with the relay's stdout. */
  receive(chunk: Uint8Array): void {
    for (const { type, id, payload } of this.#reader.push(chunk)) this.#dispatch(type, id, payload);
  }

  /** Asks the relay to listen on exactly these TCP ports. */
  listen(ports: readonly number[]): void {
    this.send(FRAME.listen, 0, Buffer.from(ports.join(",")));
  }

  /** The relay ended (its exec returned): every connection ends with it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.input.end();
    for (const stream of this.#streams.values()) stream.destroy();
    this.#streams.clear();
  }

  /** @internal */
  send(type: number, id: number, payload?: Uint8Array): void {
    if (!this.#closed) this.input.push(encodeFrame(type, id, payload));
  }

  /** @internal */
  whenDrained(callback: () => void): void {
    this.input.whenDrained(callback);
  }

  /** @internal: true when the stream was still known. */
  forget(id: number): boolean {
    return this.#streams.delete(id);
  }

  #dispatch(type: number, id: number, payload: Buffer): void {
    if (type === FRAME.open) {
      const [address = "", port = "0"] = payload.toString("latin1").split(" ");
      const stream = new RelayStream(id, address, Number(port), this);
      this.#streams.set(id, stream);
      this.handlers.onConnection(stream);
    } else if (type === FRAME.dns) {
      void Promise.resolve(this.handlers.onDnsQuery(payload)).then(
        (answer) => answer && this.send(FRAME.dns, id, answer),
        () => {},
      );
    } else if (type === FRAME.ready) {
      const [ports = "", failure] = payload.toString("latin1").split(" failed ");
      this.handlers.onReady?.(ports ? ports.split(",").map(Number) : [], failure);
    } else {
      this.#streams.get(id)?.deliver(type, payload);
    }
  }
}
