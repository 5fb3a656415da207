import { describeSandboxTool } from "./description.js";
import type { ModelFormatOptions } from "./format.js";
import { toolInputJsonSchema, toolInputSchema, type ToolInputSchema } from "./input.js";
import { perCall, type SessionProvider } from "./providers.js";

/** Options every framework adapter's `sandboxTool()` accepts. */
export interface SandboxToolOptions extends ModelFormatOptions {
  /** Where sessions come from: `perCall()` (the default), `persistent()`, a pool, or your own provider. You close it. */
  sessions?: SessionProvider;
  /** The name the model calls. Default "execute_code". */
  name?: string;
  /** Replaces the generated description (see `describeSandboxTool`). */
  description?: string;
}

/** Everything an adapter needs to declare the tool, resolved once from the options. */
export interface SandboxToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly provider: SessionProvider;
  readonly languages: readonly string[];
  readonly inputSchema: ToolInputSchema;
  /** The input schema as strict draft-07 JSON Schema. */
  readonly parameters: Record<string, unknown>;
  readonly format: ModelFormatOptions;
}

export const DEFAULT_TOOL_NAME = "execute_code";

export function sandboxToolDefinition(options: SandboxToolOptions = {}): SandboxToolDefinition {
  const provider = options.sessions ?? perCall();
  const languages = provider.info.languages.map((language) => language.name);
  return {
    name: options.name ?? DEFAULT_TOOL_NAME,
    description: options.description ?? describeSandboxTool(provider.info),
    provider,
    languages,
    inputSchema: toolInputSchema(languages),
    parameters: toolInputJsonSchema(languages),
    format: options.maxOutputChars === undefined ? {} : { maxOutputChars: options.maxOutputChars },
  };
}
