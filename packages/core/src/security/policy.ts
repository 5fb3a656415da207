import { InvalidRegexPatternError, type SecurityViolation, ValidationError } from "../errors.js";
import { getLanguageHandler } from "../languages/registry.js";
import { libraryMatches, moduleMatches } from "./scanner/modules.js";
import { type CodeScan, scanCode } from "./scanner/scan.js";

/** How serious a finding is. Ordered: `SAFE < LOW < MEDIUM < HIGH`. */
export const SecurityIssueSeverity = { SAFE: 0, LOW: 1, MEDIUM: 2, HIGH: 3 } as const;
export type SecurityIssueSeverity = (typeof SecurityIssueSeverity)[keyof typeof SecurityIssueSeverity];
export type SeverityName = keyof typeof SecurityIssueSeverity;
/** A severity as a number, or its name in any case (`"high"`), for policies written as data. */
export type SeverityInput = SecurityIssueSeverity | SeverityName | Lowercase<SeverityName>;

const SEVERITY_NAMES = Object.keys(SecurityIssueSeverity) as SeverityName[];

export function severityName(severity: SecurityIssueSeverity): SeverityName {
  return SEVERITY_NAMES[severity]!;
}

function toSeverity(value: SeverityInput, what: string): SecurityIssueSeverity {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 3) return value as SecurityIssueSeverity;
  if (typeof value === "string" && Object.hasOwn(SecurityIssueSeverity, value.toUpperCase())) {
    return SecurityIssueSeverity[value.toUpperCase() as SeverityName];
  }
  throw new ValidationError(`${what}: expected a severity (${SEVERITY_NAMES.join(", ")} or 0-3), got ${JSON.stringify(value)}`);
}

/** Rule scopes name languages as sessions do: the registry resolves them (an unknown one is `LanguageNotSupportedError`). */
function toLanguages(languages: readonly string[] | undefined): readonly string[] | undefined {
  return languages === undefined ? undefined : Object.freeze(languages.map((language) => getLanguageHandler(language).name));
}

/** Rules scoped to a language also cover its dialects ("javascript" covers TypeScript, JavaScript with types). */
function covers(languages: readonly string[] | undefined, language: string): boolean {
  if (!languages) return true;
  const { name, dialectOf } = getLanguageHandler(language);
  return languages.includes(name) || (dialectOf !== undefined && languages.includes(dialectOf));
}

export interface SecurityPatternInit {
  /** A regular expression (JavaScript syntax; Python's `(?P<name>…)` and a leading `(?i)` are accepted too). */
  readonly pattern: string | RegExp;
  readonly description: string;
  readonly severity: SeverityInput;
  /** Languages the pattern applies to; default: all. "javascript" covers TypeScript too. */
  readonly languages?: readonly string[];
  /**
   * A match may begin inside a string literal too (for shell commands passed as strings, such as `rm -rf /`).
   * Default false: a match must begin in code, though it may read on into literals (`open(path, 'w')`).
   */
  readonly inStrings?: boolean;
}

/** A regular expression over code. Validated when created: an invalid one throws `InvalidRegexPatternError`. */
export class SecurityPattern {
  readonly pattern: string;
  readonly description: string;
  readonly severity: SecurityIssueSeverity;
  readonly languages: readonly string[] | undefined;
  readonly inStrings: boolean;
  readonly #regex: RegExp;

  constructor(init: SecurityPatternInit) {
    const source = init.pattern instanceof RegExp ? init.pattern.source : init.pattern;
    if (typeof source !== "string" || source === "" || source === "(?:)") throw new InvalidRegexPatternError(String(source), "empty pattern");
    this.#regex = compile(init.pattern);
    this.pattern = source;
    this.description = String(init.description ?? "");
    this.severity = toSeverity(init.severity, `severity of pattern ${source}`);
    this.languages = toLanguages(init.languages);
    this.inStrings = init.inStrings ?? false;
    Object.freeze(this);
  }

  appliesTo(language: string): boolean {
    return covers(this.languages, language);
  }

  /** Source offset of the first match in the scanned code that begins in code (or in a literal, with `inStrings`). */
  firstMatch(scan: CodeScan): number | undefined {
    const regex = new RegExp(this.#regex); // a copy: checking never changes shared state
    regex.lastIndex = 0;
    for (let match = regex.exec(scan.view); match; match = regex.exec(scan.view)) {
      const offset = scan.sourceOffset(match.index);
      if (this.inStrings || scan.isCode(offset)) return offset;
      regex.lastIndex = match.index + 1;
    }
    return undefined;
  }
}

function compile(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, "") + "g");
  let source = pattern;
  let flags = "gm";
  const inline = /^\(\?([imsx]+)\)/.exec(source);
  if (inline) {
    if (inline[1]!.includes("x")) throw new InvalidRegexPatternError(pattern, "the verbose flag (?x) is not supported");
    flags += inline[1]!.replace("m", "");
    source = source.slice(inline[0].length);
  }
  source = source.replace(/\(\?P<(\w+)>/g, "(?<$1>").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new InvalidRegexPatternError(pattern, (error as Error).message);
  }
}

export interface RestrictedModuleInit {
  /** The module as the language names it: `os`, `child_process`, `java.lang.Runtime`, `os/exec`, `sys/socket.h`, `curl` (bash: a command). */
  readonly name: string;
  readonly description?: string;
  readonly severity: SeverityInput;
  /** Languages the restriction applies to; default: all. "javascript" covers TypeScript too. */
  readonly languages?: readonly string[];
}

/** A module the code must not use: matched against the imports the scanner extracts (submodules included), and against library names to install. */
export class RestrictedModule {
  readonly name: string;
  readonly description: string;
  readonly severity: SecurityIssueSeverity;
  readonly languages: readonly string[] | undefined;

  constructor(init: RestrictedModuleInit) {
    const name = typeof init.name === "string" ? init.name.trim() : "";
    if (!name) throw new ValidationError("A restricted module needs a name");
    this.name = name;
    this.description = init.description ?? `Restricted module: ${name}`;
    this.severity = toSeverity(init.severity, `severity of restricted module ${name}`);
    this.languages = toLanguages(init.languages);
    Object.freeze(this);
  }

  appliesTo(language: string): boolean {
    return covers(this.languages, language);
  }
}

export interface SecurityPolicyInit {
  /** Findings at or above this severity block. `SAFE` (the default) blocks nothing but still reports. */
  readonly severityThreshold?: SeverityInput;
  readonly patterns?: readonly (SecurityPattern | SecurityPatternInit)[];
  readonly restrictedModules?: readonly (RestrictedModule | RestrictedModuleInit)[];
  /**
   * Severity of dynamic code the scanner cannot resolve statically (an import of a computed name, `eval` of a built
   * string, `__builtins__`, a shell command named by a variable). Default: not reported.
   */
  readonly dynamicCodeSeverity?: SeverityInput;
}

export interface SecurityCheckResult {
  /** False when a finding's severity reaches the policy's threshold. */
  readonly safe: boolean;
  /** Every finding, blocking or not, in the order of the code. */
  readonly violations: readonly SecurityViolation[];
}

/**
 * Patterns, restricted modules and a threshold. `check(code, language)` reads the code with the language-aware
 * scanner and never changes the policy; a session with a policy refuses blocked code before it reaches the sandbox.
 */
export class SecurityPolicy {
  severityThreshold: SecurityIssueSeverity;
  patterns: SecurityPattern[];
  restrictedModules: RestrictedModule[];
  dynamicCodeSeverity: SecurityIssueSeverity | undefined;

  constructor(init: SecurityPolicyInit = {}) {
    this.severityThreshold = toSeverity(init.severityThreshold ?? SecurityIssueSeverity.SAFE, "severityThreshold");
    this.patterns = (init.patterns ?? []).map(toPattern);
    this.restrictedModules = (init.restrictedModules ?? []).map(toModule);
    this.dynamicCodeSeverity = init.dynamicCodeSeverity === undefined ? undefined : toSeverity(init.dynamicCodeSeverity, "dynamicCodeSeverity");
  }

  addPattern(pattern: SecurityPattern | SecurityPatternInit): this {
    this.patterns.push(toPattern(pattern));
    return this;
  }

  addRestrictedModule(module: RestrictedModule | RestrictedModuleInit): this {
    this.restrictedModules.push(toModule(module));
    return this;
  }

  /** True when a finding of this severity blocks under this policy's threshold. */
  blocks(severity: number): boolean {
    return this.severityThreshold > SecurityIssueSeverity.SAFE && severity >= this.severityThreshold;
  }

  /** Checks code in a language (name or alias). Pure: the same code gives the same answer, and the policy is untouched. */
  check(code: string, language: string): SecurityCheckResult {
    const violations = this.findings(scanCode(code, language), undefined);
    return { safe: !violations.some((violation) => this.blocks(violation.severity)), violations };
  }

  /** Libraries whose names are restricted modules at a blocking severity (installing them is refused). */
  refusedLibraries(libraries: readonly string[], language: string): SecurityViolation[] {
    const lang = getLanguageHandler(language).name;
    return libraries.flatMap((library) => {
      const module = this.restrictedModules.find((m) => m.appliesTo(lang) && this.blocks(m.severity) && libraryMatches(lang, library, m.name));
      return module
        ? [{ kind: "library" as const, description: `${module.description} (library ${library})`, severity: module.severity, module: module.name, snippet: library }]
        : [];
    });
  }

  /** Every finding in a scan (and in literal code given to evaluators, reported at the evaluator's line). */
  private findings(scan: CodeScan, at: { scan: CodeScan; offset: number } | undefined): SecurityViolation[] {
    const where = (offset: number) => {
      const outer = at ?? { scan, offset };
      return { line: outer.scan.lineOf(outer.offset), snippet: outer.scan.snippetAt(outer.offset) };
    };
    const language = scan.language;
    const found: Array<SecurityViolation & { offset: number }> = [];
    for (const pattern of this.patterns) {
      if (!pattern.appliesTo(language)) continue;
      const offset = pattern.firstMatch(scan);
      if (offset !== undefined) {
        found.push({ kind: "pattern", description: pattern.description, severity: pattern.severity, pattern: pattern.pattern, ...where(offset), offset });
      }
    }
    for (const module of this.restrictedModules) {
      if (!module.appliesTo(language)) continue;
      const use = scan.modules.find((m) => moduleMatches(language, m.module, module.name));
      if (use) {
        found.push({ kind: "module", description: module.description, severity: module.severity, module: module.name, ...where(use.start), offset: use.start });
      }
    }
    if (this.dynamicCodeSeverity !== undefined) {
      for (const dynamic of scan.dynamic) {
        found.push({ kind: dynamic.kind, description: `Dynamic code: ${dynamic.description}`, severity: this.dynamicCodeSeverity, ...where(dynamic.start), offset: dynamic.start });
      }
    }
    const all = found.sort((a, b) => a.offset - b.offset).map(({ offset: _offset, ...violation }) => violation as SecurityViolation);
    const nested = scan.embedded.flatMap((embedded) => this.findings(embedded.scan, at ?? { scan, offset: embedded.start }));
    return dedupe([...all, ...nested]).sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  }
}

/** One finding per rule and line (embedded code repeats what the outer code already reported). */
function dedupe(violations: SecurityViolation[]): SecurityViolation[] {
  const seen = new Set<string>();
  return violations.filter((v) => {
    const key = `${v.kind}|${v.description}|${v.pattern ?? v.module ?? ""}|${v.line}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const toPattern = (pattern: SecurityPattern | SecurityPatternInit) => (pattern instanceof SecurityPattern ? pattern : new SecurityPattern(pattern));
const toModule = (module: RestrictedModule | RestrictedModuleInit) => (module instanceof RestrictedModule ? module : new RestrictedModule(module));

/** The message of a refusal: the blocking findings, each with its line. */
export function describeViolations(policy: SecurityPolicy, violations: readonly SecurityViolation[]): string {
  const blocking = violations.filter((v) => policy.blocks(v.severity));
  const lines = blocking.map((v) => `  - ${v.line ? `line ${v.line}: ` : ""}${v.description} [${severityName(v.severity as SecurityIssueSeverity)}]${v.snippet ? `: ${v.snippet}` : ""}`);
  return `Refused by the security policy (blocks ${severityName(policy.severityThreshold)} and above):\n${lines.join("\n")}`;
}
