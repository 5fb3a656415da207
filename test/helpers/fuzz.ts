/** Shared fast-check arbitraries and checks of the property tests (`*.fuzz.test.ts`) of untrusted input. */
import fc from "fast-check";
import { SandboxError } from "@llm-sandbox/core";
import { expect } from "vitest";

/** `bytes` cut at arbitrary points, empty chunks included; the chunks are views of `bytes`. */
export const chunked = (bytes: Uint8Array, maxCuts = 16): fc.Arbitrary<Buffer[]> =>
  fc.array(fc.nat({ max: bytes.length }), { maxLength: maxCuts }).map((cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
    return points.slice(1).map((end, i) => Buffer.from(bytes.buffer, bytes.byteOffset + points[i]!, end - points[i]!));
  });

/** Keys that are dangerous when copied into an object carelessly, or that name Object.prototype's members. */
export const hostileKeys = ["__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty"] as const;

/** Values of the wrong type or out of every range, and a few right ones so that some options pass. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, -0, 0.5, 1, 30, 2 ** 31, 1e308, Number.MAX_SAFE_INTEGER + 2, 10n),
  fc.constantFrom("", " ", "1g", "512m", "-1g", "1e999", "python", "js", "docker", "KUBERNETES", "/sandbox", "/a/../b", "WAIT", "fail_fast", ...hostileKeys),
  fc.constantFrom(null, undefined, true, false, [], {}, Object.create(null) as object, [" numpy "], ["-e ."], ["a\0b"]),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.anything({ maxDepth: 2, withBigInt: true, withNullPrototype: true, withDate: true, withMap: true, withTypedArray: true }),
);

/** An object with keys mostly from `keys`, own `__proto__` and `constructor` keys included (as JSON.parse makes them). */
export function hostileObject(keys: readonly string[], value: fc.Arbitrary<unknown> = hostileValue): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, fc.constantFrom(...hostileKeys), fc.string({ maxLength: 6 }));
  return fc.array(fc.tuple(key, value), { maxLength: 6 }).map((entries) => {
    const object: Record<string, unknown> = {};
    for (const [name, entry] of entries) Object.defineProperty(object, name, { value: entry, enumerable: true, configurable: true, writable: true });
    return object;
  });
}

const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

/** Fails when anything added a property to Object.prototype (prototype pollution). */
export function expectPrototypeUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
}

/** The error `make` threw, which must be one of the project's (anything else fails the property); undefined when it returned. */
export function sandboxErrorOf(make: () => unknown): SandboxError | undefined {
  try {
    make();
  } catch (error) {
    if (!SandboxError.isInstance(error)) throw error;
    expect(error.message).not.toBe("");
    return error;
  }
  return undefined;
}
