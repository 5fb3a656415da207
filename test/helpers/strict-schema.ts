import { toStrictJsonSchema } from "openai/lib/transform";

/**
 * The OpenAI SDK's own strict-mode normalisation of a JSON Schema (it throws for schemas strict mode cannot
 * express). A schema that comes back unchanged was already valid for `strict: true`.
 */
export function openAiStrictParameters(schema: Record<string, unknown>): Record<string, unknown> {
  return toStrictJsonSchema(structuredClone(schema) as Parameters<typeof toStrictJsonSchema>[0]) as Record<string, unknown>;
}
