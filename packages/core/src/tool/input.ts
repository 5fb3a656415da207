import { z } from "zod";
import { ToolCallError, ValidationError } from "../errors.js";

/**
 * The code tool's input, the same for every framework. Strict-mode compatible (OpenAI structured outputs, AI SDK
 * `strict`): every field is required, "optional" means nullable, no defaults, no records, no length keywords.
 */
export function toolInputSchema(languages: readonly string[]) {
  const [first, ...rest] = languages;
  if (first === undefined) throw new ValidationError("The code tool needs at least one language");
  return z.strictObject({
    code: z
      .string()
      // A refinement, not minLength: strict mode has no length keywords, and blank code is refused before a sandbox opens.
      .refine((code) => code.trim() !== "", "code must not be empty")
      .describe("The complete program to run. Print what you need to see: only stdout and stderr come back."),
    language: z.enum([first, ...rest]).describe("Language of `code`."),
    libraries: z
      .array(z.string())
      .nullable()
      .describe("Extra packages to install before running (pip for Python, npm for JavaScript/TypeScript), or null. Preinstalled libraries need no install."),
  });
}

export type ToolInputSchema = ReturnType<typeof toolInputSchema>;
export type ToolInput = z.output<ToolInputSchema>;

/** The input schema as draft-07 JSON Schema (`additionalProperties: false`, every property required). */
export function toolInputJsonSchema(languages: readonly string[]): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(toolInputSchema(languages), { target: "draft-07" });
  return schema;
}

/** Validates raw tool arguments (an object, or the JSON text a model sent); a mistake is a `ToolCallError` the model can read. */
export function parseToolInput(raw: unknown, languages: readonly string[]): ToolInput {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new ToolCallError(`Invalid input: the arguments are not valid JSON (${(error as Error).message})`, { cause: error });
    }
  }
  const parsed = toolInputSchema(languages).safeParse(value);
  if (!parsed.success) throw new ToolCallError(`Invalid input:\n${z.prettifyError(parsed.error)}`, { cause: parsed.error });
  return parsed.data;
}
