/** Small async building blocks shared by the interactive kernels, the pool and the run pipeline. */

/** `promise`, or `fallback` after `timeoutMs`. */
export function within<T>(promise: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), timeoutMs)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A promise with its resolve and reject at hand. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  return { promise, resolve, reject };
}

/** An exec's stdin: bytes (frames) pushed at any time, written as they come, closed by `end()`. */
export class ByteQueue implements AsyncIterable<Uint8Array> {
  #items: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  push(chunk: Uint8Array): void {
    if (this.#ended) return;
    this.#items.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const item = this.#items.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}
