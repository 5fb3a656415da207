import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectPrototypeUntouched, hostileKeys } from "../../../../test/helpers/fuzz.js";
import { SandboxError, ToolCallError } from "../errors.js";
import { ExecutionResult } from "../result.js";
import type { SandboxSession } from "../session/session.js";
import { executeTool } from "./execute.js";
import { parseToolInput, type ToolInput } from "./input.js";
import type { SandboxInfo, SessionProvider } from "./providers.js";

const LANGUAGES = ["python", "javascript"];
const numRuns = 200;

const validInput: fc.Arbitrary<ToolInput> = fc.record({
  code: fc.string({ unit: "grapheme", maxLength: 40 }).filter((code) => code.trim() !== ""),
  language: fc.constantFrom(...LANGUAGES),
  libraries: fc.option(fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }), { nil: null }),
});

const hostileKey = fc.constantFrom(...hostileKeys);

/** JSON text as a model might send it: valid, cut short, with a character dropped or added, or with extra keys. */
const modelText = fc.oneof(
  validInput.map((input) => JSON.stringify(input)),
  validInput.chain((input) => {
    const text = JSON.stringify(input);
    return fc.nat({ max: text.length }).map((at) => text.slice(0, at));
  }),
  fc.tuple(validInput, fc.nat(), fc.string({ maxLength: 2 })).map(([input, at, insert]) => {
    const text = JSON.stringify(input);
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + 1);
  }),
  fc.tuple(validInput, hostileKey, fc.jsonValue({ maxDepth: 2 })).map(
    ([input, key, value]) => `{${JSON.stringify(key)}:${JSON.stringify(value)},${JSON.stringify(input).slice(1)}`,
  ),
  fc.json({ maxDepth: 3 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.constantFrom("", "null", "[]", "{}", '"code"', "1e999", "-0", '{"code":"x","language":"python","libraries":null}}', `${"[".repeat(5000)}${"]".repeat(5000)}`),
);

/** Values handed over as objects (LangChain, the AI SDK, MCP give parsed arguments): every field of any type. */
const modelObject = fc.oneof(
  fc.record(
    { code: fc.anything(), language: fc.anything(), libraries: fc.anything() },
    { requiredKeys: [] },
  ),
  fc.tuple(validInput, hostileKey, fc.anything()).map(([input, key, value]) => {
    const object: Record<string, unknown> = { ...input };
    Object.defineProperty(object, key, { value, enumerable: true, configurable: true, writable: true });
    return object;
  }),
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true }),
);

/** Whatever `raw` is, parsing returns exactly the valid input it holds or throws a ToolCallError for the model. */
function checkParse(raw: unknown): void {
  let parsed: ToolInput;
  try {
    parsed = parseToolInput(raw, LANGUAGES);
  } catch (error) {
    expect(ToolCallError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Invalid input/);
    return;
  }
  const value = typeof raw === "string" ? JSON.parse(raw) : raw;
  expect(Object.keys(value).sort()).toEqual(["code", "language", "libraries"]);
  expect(parsed).toEqual({ code: value.code, language: value.language, libraries: value.libraries });
  expect(typeof parsed.code === "string" && parsed.code.trim() !== "").toBe(true);
  expect(LANGUAGES).toContain(parsed.language);
  expect(parsed.libraries === null || parsed.libraries.every((library) => typeof library === "string")).toBe(true);
}

describe("tool input from a model (property)", () => {
  it("valid input round-trips as an object and as JSON text", () => {
    fc.assert(
      fc.property(validInput, (input) => {
        expect(parseToolInput(input, LANGUAGES)).toEqual(input);
        expect(parseToolInput(JSON.stringify(input), LANGUAGES)).toEqual(input);
      }),
      { numRuns },
    );
  });

  it("any JSON text: the input it holds, or a ToolCallError; extra keys (__proto__ too) are refused", () => {
    fc.assert(
      fc.property(modelText, (text) => {
        checkParse(text);
        expectPrototypeUntouched();
      }),
      { numRuns: 500 },
    );
  });

  it("any object: the input it holds, or a ToolCallError", () => {
    fc.assert(
      fc.property(modelObject, (object) => {
        checkParse(object);
        expectPrototypeUntouched();
      }),
      { numRuns: 500 },
    );
  });

  it("executeTool runs exactly the validated code, and nothing for input it refuses", async () => {
    const info = { languages: LANGUAGES.map((name) => ({ name })) } as unknown as SandboxInfo;
    await fc.assert(
      fc.asyncProperty(fc.oneof(modelText, modelObject), async (raw) => {
        const runs: Array<{ code: string; libraries: unknown; language: string }> = [];
        const provider = {
          info,
          withSession: (language: string, use: (session: SandboxSession) => Promise<ExecutionResult>) =>
            use({ run: async (code: string, options: { libraries: unknown }) => (runs.push({ code, language, libraries: options.libraries }), new ExecutionResult({ exitCode: 0 })) } as unknown as SandboxSession),
        } as unknown as SessionProvider;
        let expected: ToolInput | undefined;
        try {
          expected = parseToolInput(raw, LANGUAGES);
        } catch {
          // refused below as well
        }
        const outcome = await executeTool(raw, provider).then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
        if (expected) {
          expect(outcome).toHaveProperty("result");
          expect(runs).toEqual([{ code: expected.code, language: expected.language, libraries: expected.libraries ?? [] }]);
        } else {
          expect("error" in outcome && ToolCallError.isInstance(outcome.error) && SandboxError.isInstance(outcome.error)).toBe(true);
          expect(runs).toEqual([]);
        }
      }),
      { numRuns },
    );
  });
});
