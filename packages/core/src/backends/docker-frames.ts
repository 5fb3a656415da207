/**
 * Splits the Engine API's multiplexed exec stream (8-byte header: stream type, 3 zero bytes, big-endian length)
 * into stdout and stderr payloads. Keeps a list of pending chunks instead of re-concatenating, so a flood of
 * output costs linear time.
 */
export class FrameDemuxer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private header: { stream: number; remaining: number } | undefined;

  constructor(private readonly emit: (stream: "stdout" | "stderr", payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (!this.header) {
        if (this.pendingBytes < 8) return;
        const head = this.take(8);
        this.header = { stream: head.readUInt8(0), remaining: head.readUInt32BE(4) };
      }
      if (this.header.remaining > 0) {
        if (this.pendingBytes === 0) return;
        const payload = this.take(Math.min(this.header.remaining, this.pendingBytes));
        this.header.remaining -= payload.length;
        if (this.header.stream !== 0) this.emit(this.header.stream === 2 ? "stderr" : "stdout", payload);
      }
      if (this.header.remaining === 0) this.header = undefined;
    }
  }

  private take(bytes: number): Buffer {
    const parts: Buffer[] = [];
    let needed = bytes;
    while (needed > 0) {
      const first = this.pending[0]!;
      if (first.length <= needed) {
        parts.push(first);
        this.pending.shift();
        needed -= first.length;
      } else {
        parts.push(first.subarray(0, needed));
        this.pending[0] = first.subarray(needed);
        needed = 0;
      }
    }
    this.pendingBytes -= bytes;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
