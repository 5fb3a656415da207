/** The loopback block the name server hands out: one address per allowed name, so a connection tells its name. */
const FIRST = (127 << 24) | (100 << 16) | 1;
const LAST = (127 << 24) | (100 << 16) | 0xfffe;

const toAddress = (value: number): string => [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");

/**
 * Names and the loopback addresses the sandbox's name server answered for them. A connection to one of these lands
 * at the relay (it listens on every loopback address), which so learns the name even for protocols that never say
 * it (a database's). An address stays bound to its name for the sandbox's life: programs cache answers.
 */
export class LoopbackNames {
  readonly #byName = new Map<string, string>();
  readonly #byAddress = new Map<string, string>();
  #next = FIRST;

  addressOf(rawName: string): string {
    const name = rawName.toLowerCase().replace(/\.$/, "");
    let address = this.#byName.get(name);
    if (address) return address;
    // 65 534 names per sandbox; past that the oldest address is reused (its name no longer resolves to it).
    if (this.#next > LAST) this.#next = FIRST;
    address = toAddress(this.#next++);
    const previous = this.#byAddress.get(address);
    if (previous) this.#byName.delete(previous);
    this.#byName.set(name, address);
    this.#byAddress.set(address, name);
    return address;
  }

  nameOf(address: string): string | undefined {
    return this.#byAddress.get(address);
  }
}
