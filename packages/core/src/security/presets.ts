import { ValidationError } from "../errors.js";
import { type Capability, type PresetName, SECURITY_PRESETS } from "../languages/preset-rules.js";
import { languageHandlers } from "../languages/registry.js";
import { type RestrictedModuleInit, SecurityIssueSeverity, SecurityPolicy, type SecurityPatternInit } from "./policy.js";

export { type PresetName, SECURITY_PRESETS } from "../languages/preset-rules.js";

const { LOW: L, MEDIUM: M, HIGH: H } = SecurityIssueSeverity;
type Severity = SecurityIssueSeverity;

/**
 * What each capability means. How it looks in each language is the language's own description
 * (`presetRules.capabilities` of its handler); a language with its own rules per preset (Python) describes none.
 */
const CAPABILITIES: Readonly<Record<Capability, string>> = {
  wipe: "Destroys the system",
  shell: "Runs other programs",
  native: "Loads native code or touches raw memory",
  escalation: "Tries to gain privileges or leave the sandbox",
  destructive: "Deletes files",
  processes: "Starts background processes, workers or forks",
  http: "Makes web requests",
  sockets: "Opens network sockets",
  env: "Reads or changes environment variables",
  eval: "Evaluates code from strings",
  fileWrite: "Writes files",
  serialization: "Deserialises objects (can run code)",
  introspection: "Reaches objects and functions by name",
};

/**
 * Patterns of destruction that read the same in every language described by capabilities, matched inside string
 * literals too (shell commands in strings).
 */
const ANY_LANGUAGE: Partial<Record<Capability, readonly string[]>> = {
  wipe: [
    "\\brm\\s+(?=(?:[^\\n;|&]*\\s)?-[a-zA-Z]*[rR])(?:-\\S+\\s+)*(?:--\\s+)?[\"']?(?:/\\*?|~/?|\\$\\{?HOME\\}?/?)(?=[\\s;|&'\")]|$)",
    "--no-preserve-root",
    "\\bmkfs(?:\\.\\w+)?\\s",
    "\\bdd\\s[^\\n]*\\bof=/dev/(?:sd|hd|nvme|xvd|vd|mmcblk)",
    "\\bformat\\s+[A-Za-z]:[/\\\\]",
    ":\\s*\\(\\s*\\)\\s*\\{\\s*:\\s*\\|\\s*:\\s*&\\s*\\}",
  ],
};

// ── The presets ───────────────────────────────────────────────────────────────────────────────────────────────

interface PresetDefinition {
  readonly description: string;
  readonly threshold: Severity;
  readonly dynamicCode?: Severity;
  readonly capabilities: Partial<Record<Capability, Severity>>;
}

const CONTAINMENT = { wipe: H, shell: H, escalation: H } as const;

const PRESETS: Readonly<Record<PresetName, PresetDefinition>> = {
  minimal: { description: "Blocks only system destruction and native code", threshold: H, capabilities: { wipe: H, native: H } },
  development: { description: "Blocks shell commands, native code and system destruction", threshold: H, capabilities: { ...CONTAINMENT, native: H } },
  educational: {
    description: "For learners: blocks shell commands and deletions, reports network and eval",
    threshold: M,
    dynamicCode: L,
    capabilities: { ...CONTAINMENT, destructive: H, native: M, sockets: L, http: L, eval: L },
  },
  data_science: {
    description: "For analysis: blocks shell commands, deletions and sockets, reports web access and file writes",
    threshold: M,
    dynamicCode: L,
    capabilities: { ...CONTAINMENT, destructive: H, native: M, sockets: M, http: L, fileWrite: L, serialization: L },
  },
  web_scraping: {
    description: "For scraping: web requests allowed (reported), shell commands, deletions and raw sockets blocked",
    threshold: M,
    dynamicCode: L,
    capabilities: { ...CONTAINMENT, destructive: H, native: H, sockets: M, http: L, fileWrite: L },
  },
  production: {
    description: "Blocks everything risky: shell, deletions, native code, sockets, eval, file writes, dynamic code",
    threshold: L,
    dynamicCode: H,
    capabilities: { ...CONTAINMENT, destructive: H, native: H, eval: M, fileWrite: M, env: L, sockets: M, http: L, processes: M },
  },
  strict: {
    description: "Pure computation only",
    threshold: L,
    dynamicCode: H,
    capabilities: {
      ...CONTAINMENT, destructive: H, native: H, eval: H, fileWrite: M, env: H, sockets: M, http: M, processes: M,
      serialization: L, introspection: L,
    },
  },
};

interface Rules {
  readonly patterns: SecurityPatternInit[];
  readonly modules: RestrictedModuleInit[];
}

/** Every registered language's rules for a preset, each scoped to its language. */
function presetRules(name: PresetName, capabilities: PresetDefinition["capabilities"]): Rules {
  const patterns: SecurityPatternInit[] = [];
  const modules: RestrictedModuleInit[] = [];
  for (const { name: language, presetRules } of languageHandlers()) {
    const own = presetRules?.rulesFor?.(name);
    patterns.push(...(own?.patterns ?? []).map((pattern) => ({ ...pattern, languages: [language] })));
    modules.push(...(own?.modules ?? []).map((module) => ({ ...module, languages: [language] })));
  }
  const described = languageHandlers().flatMap(({ name: language, presetRules }) =>
    presetRules?.capabilities ? [{ language, rules: presetRules.capabilities, noun: presetRules.moduleNoun ?? "module" }] : [],
  );
  for (const [capability, severity] of Object.entries(capabilities) as [Capability, Severity][]) {
    const description = CAPABILITIES[capability];
    const everywhere = described.map(({ language }) => language);
    for (const pattern of ANY_LANGUAGE[capability] ?? []) patterns.push({ pattern, description, severity, languages: everywhere, inStrings: true });
    for (const { language, rules, noun } of described) {
      for (const pattern of rules[capability]?.patterns ?? []) patterns.push({ pattern, description, severity, languages: [language] });
      for (const module of rules[capability]?.modules ?? []) {
        modules.push({ name: module, description: `${description} (${noun} ${module})`, severity, languages: [language] });
      }
    }
  }
  return { patterns, modules };
}

/** The names of the presets `getSecurityPolicy` knows. */
export function listSecurityPresets(): PresetName[] {
  return [...SECURITY_PRESETS];
}

/** A short description of each preset (for docs and tool descriptions). */
export function describeSecurityPreset(name: PresetName): string {
  return PRESETS[name].description;
}

/**
 * A fresh policy for a preset (`minimal`, `development`, `educational`, `data_science`, `web_scraping`,
 * `production`, `strict`), covering every language. Each call returns a new object: changing it changes nothing else.
 */
export function getSecurityPolicy(name: string): SecurityPolicy {
  const key = String(name).trim().toLowerCase().replace(/-/g, "_");
  if (!(SECURITY_PRESETS as readonly string[]).includes(key)) {
    throw new ValidationError(`Unknown preset '${name}'. Available presets: ${SECURITY_PRESETS.join(", ")}`);
  }
  const preset = PRESETS[key as PresetName];
  const rules = presetRules(key as PresetName, preset.capabilities);
  return new SecurityPolicy({
    severityThreshold: preset.threshold,
    ...(preset.dynamicCode !== undefined ? { dynamicCodeSeverity: preset.dynamicCode } : {}),
    patterns: rules.patterns,
    restrictedModules: rules.modules,
  });
}
