/**
 * The words a language uses to tell the security presets (`security/presets.ts`) what is risky in it. Data only:
 * the presets give each capability a severity and build the policies.
 */

export const SECURITY_PRESETS = ["minimal", "development", "educational", "data_science", "web_scraping", "production", "strict"] as const;
export type PresetName = (typeof SECURITY_PRESETS)[number];

/** Severities as policies written as data name them. */
export type RuleSeverity = "low" | "medium" | "high";

/** What code can do that a preset may restrict. */
export type Capability =
  | "wipe" | "shell" | "native" | "escalation" | "destructive" | "processes" | "http" | "sockets" | "env" | "eval"
  | "fileWrite" | "serialization" | "introspection";

/** How one capability looks in one language: modules (bash: commands) that offer it and patterns that use it. */
export interface CapabilityRules {
  readonly modules?: readonly string[];
  readonly patterns?: readonly string[];
}

export interface PresetPattern {
  readonly pattern: string;
  readonly description: string;
  readonly severity: RuleSeverity;
  /** A match may begin inside a string literal (shell commands in strings). */
  readonly inStrings?: boolean;
}

export interface PresetModule {
  readonly name: string;
  readonly description: string;
  readonly severity: RuleSeverity;
}

/** One preset's rules for one language. */
export interface PresetRuleSet {
  readonly patterns: readonly PresetPattern[];
  readonly modules: readonly PresetModule[];
}

/** A language's part in the security presets: described by capability, or (Python) its own rules per preset. */
export interface LanguagePresetRules {
  /**
   * What each capability looks like in this language; each preset gives the capabilities their severities. A
   * language described this way also gets the presets' language-independent patterns (`rm -rf /` and the like).
   */
  readonly capabilities?: Partial<Record<Capability, CapabilityRules>>;
  /** What its modules are called in findings (bash: "command"); default "module". */
  readonly moduleNoun?: string;
  /** The language's own rules for a preset, instead of capabilities. */
  rulesFor?(preset: PresetName): PresetRuleSet;
}
