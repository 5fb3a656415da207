import { randomBytes } from "node:crypto";

/** The placeholder's shape: recognisable in logs, and random so sandbox code cannot guess another session's. */
export const newPlaceholder = (): string => `llmsbx_secret_${randomBytes(16).toString("hex")}`;

/** A placeholder and the value the proxy puts in its place. */
export type Substitution = readonly [placeholder: string, value: string];

/** `text` with every placeholder replaced by its value. */
export function substitute(text: string, substitutions: readonly Substitution[]): string {
  let result = text;
  for (const [placeholder, value] of substitutions) if (result.includes(placeholder)) result = result.split(placeholder).join(value);
  return result;
}

/** The same for bytes (a request body), without decoding what is not text. */
export function substituteBytes(bytes: Buffer, substitutions: readonly Substitution[]): Buffer {
  let result = bytes;
  for (const [placeholder, value] of substitutions) {
    const needle = Buffer.from(placeholder);
    if (!result.includes(needle)) continue;
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = result.indexOf(needle); at !== -1; at = result.indexOf(needle, from)) {
      parts.push(result.subarray(from, at), Buffer.from(value));
      from = at + needle.length;
    }
    parts.push(result.subarray(from));
    result = Buffer.concat(parts);
  }
  return result;
}

/**
 * The placeholders of a sandbox's secrets, by variable name. A name keeps its placeholder for the sandbox's life
 * (a policy change does not invalidate what programs already read); values live only in the policy, in the proxy.
 */
export class SecretPlaceholders {
  readonly #byName = new Map<string, string>();

  /** The placeholders for these names, made on first use. */
  for(names: Iterable<string>): Record<string, string> {
    const result: Record<string, string> = {};
    for (const name of names) {
      let placeholder = this.#byName.get(name);
      if (!placeholder) this.#byName.set(name, (placeholder = newPlaceholder()));
      result[name] = placeholder;
    }
    return result;
  }
}
