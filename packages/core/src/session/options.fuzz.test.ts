import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectPrototypeUntouched, hostileObject, hostileValue, sandboxErrorOf } from "../../../../test/helpers/fuzz.js";
import { MAX_TIMER_SECONDS } from "../internal/timers.js";
import { createSession } from "./create-session.js";
import { runtimeConfigsSchema, sessionOptionsSchema } from "./options.js";
import { SandboxSession } from "./session.js";

/** Docker create-request keys the unsafe-settings check reads, with values of any shape. */
const passthrough = hostileObject(["Privileged", "Binds", "Mounts", "CapDrop", "SecurityOpt", "NetworkMode", "HostConfig", "Devices", "MaskedPaths"]);
const runtimeConfigs = hostileObject(Object.keys(runtimeConfigsSchema.shape), fc.oneof(hostileValue, passthrough));
/** What `isContainerSource` accepts: a pooled session reads its defaults and never acquires before open(). */
const fakePool = fc.record({
  acquire: fc.constant(async () => {
    throw new Error("not acquired in a unit test");
  }),
  language: fc.constantFrom("python", "javascript"),
  sessionDefaults: fc.oneof(hostileObject(["lang", "backend", "image"]), fc.constant(undefined)),
});
const sessionOptions = hostileObject(Object.keys(sessionOptionsSchema.shape), fc.oneof({ weight: 4, arbitrary: hostileValue }, runtimeConfigs));
const pooledOptions = fc
  .tuple(hostileObject(["lang", "backend", "libraries", "image", "defaultTimeout"]), fakePool)
  .map(([options, pool]) => ({ ...options, pool }));

const bare = () => Object.create(null) as object;
/** Cases once found here, always run. */
const regressions: Array<[unknown]> = [
  [{ backend: Number.NaN }],
  [{ backend: "constructor" }],
  [{ backend: "__proto__" }],
  [null],
  [42],
  [{ runtimeConfigs: { passthrough: { Binds: [10n] } } }],
  [{ runtimeConfigs: { passthrough: { HostConfig: { SecurityOpt: [bare()] } } } }],
  [{ runtimeConfigs: { passthrough: { Mounts: [{ Type: bare() }] } } }],
];

const isSeconds = (value: unknown) => typeof value === "number" && value > 0 && value <= MAX_TIMER_SECONDS;
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0;

describe("session options from an untyped caller (property)", () => {
  it("createSession gives a session whose limits are sane, or a SandboxError; never pollutes prototypes", () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: sessionOptions }, hostileValue), (options) => {
        let session: unknown;
        const error = sandboxErrorOf(() => (session = createSession(options as never)));
        expectPrototypeUntouched();
        if (error) return;
        expect(session).toBeInstanceOf(SandboxSession);
        const { limits, options: parsed } = session as SandboxSession;
        for (const seconds of [limits.executionTimeout, limits.defaultTimeout, limits.installTimeout]) expect(isSeconds(seconds)).toBe(true);
        for (const count of [limits.maxOutputBytes, limits.maxPlotsPerRun, limits.maxPlotBytes]) expect(isCount(count)).toBe(true);
        expect(limits.memoryBytes === undefined || isCount(limits.memoryBytes)).toBe(true);
        expect(parsed.workdir.startsWith("/") && !parsed.workdir.split("/").includes("..")).toBe(true);
        for (const library of parsed.libraries) expect(library).toMatch(/^[^\s\0-][^\s\0]*$/);
        // Records keep an own "__proto__" key at most as data: the prototype of what comes out is never replaced.
        const { env, passthrough } = parsed.runtimeConfigs;
        for (const record of [parsed, parsed.runtimeConfigs, parsed.labels, env ?? {}, passthrough ?? {}]) {
          expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
        }
      }),
      { numRuns: 300, examples: regressions },
    );
  });

  it("a pooled session's options: a session or a SandboxError, whatever the pool's defaults and the session's own", () => {
    fc.assert(
      fc.property(pooledOptions, (options) => {
        let session: unknown;
        if (!sandboxErrorOf(() => (session = createSession(options as never)))) expect(session).toBeInstanceOf(SandboxSession);
        expectPrototypeUntouched();
      }),
      {
        numRuns: 300,
        examples: [
          [{ pool: { acquire: async () => {}, language: "python" } }],
          [{ lang: bare(), pool: { acquire: async () => {}, language: "python", sessionDefaults: {} } }],
          ...[5, bare(), Symbol("docker"), "PODMAN"].map((backend): [unknown] => [{ backend, pool: { acquire: async () => {}, language: "python", sessionDefaults: {} } }]),
        ],
      },
    );
  });
});
