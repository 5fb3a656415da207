/**
 * What a language tells the security scanner beyond its comment and literal syntax: how its code imports modules
 * and evaluates code, and how its module and package names compare. Data and pure functions; the scanner
 * (`security/scanner/`) reads it from the handler.
 */
import { staticString, type Token, TokenList } from "./tokens.js";

/** A module (package, header, class, command) the code uses, as the language names it. */
export interface ModuleUse {
  readonly module: string;
  readonly start: number;
  readonly end: number;
}

export type DynamicKind = "dynamic-import" | "dynamic-eval";

/** Something the scanner cannot resolve statically: an import or evaluation of a name or code built at run time. */
export interface DynamicCode {
  readonly kind: DynamicKind;
  readonly description: string;
  readonly start: number;
  readonly end: number;
}

/** Code given as a string literal to an evaluator (`exec("…")`, `eval '…'`, `bash -c '…'`): scanned as code too, in `language`. */
export interface EmbeddedCode {
  readonly language: string;
  readonly code: string;
  readonly start: number;
  readonly end: number;
}

export interface Extraction {
  readonly modules: ModuleUse[];
  readonly dynamic: DynamicCode[];
  readonly embedded: EmbeddedCode[];
}

type At = { readonly start: number; readonly end: number };

/** Where an extractor reports what it finds. */
export class Collector implements Extraction {
  readonly modules: ModuleUse[] = [];
  readonly dynamic: DynamicCode[] = [];
  readonly embedded: EmbeddedCode[] = [];

  module(module: string, at: At): void {
    if (module) this.modules.push({ module, start: at.start, end: at.end });
  }

  dynamicCode(kind: DynamicKind, description: string, at: At): void {
    this.dynamic.push({ kind, description, start: at.start, end: at.end });
  }

  embed(language: string, code: string, at: At): void {
    this.embedded.push({ language, code, start: at.start, end: at.end });
  }

  /**
   * An import-like call: a static first argument is a module; anything else cannot be resolved statically.
   * Returns the argument's value when static.
   */
  importCall(tokens: TokenList, name: number, what: string, argument = 0): string | undefined {
    const call = tokens.call(tokens.next(name));
    const at = tokens.at(name)!;
    if (!call) {
      this.dynamicCode("dynamic-import", `${what} used without a literal module name`, at);
      return undefined;
    }
    const value = staticString(call.args[argument] ?? []);
    if (value === undefined) this.dynamicCode("dynamic-import", `${what} with a module name computed at run time`, at);
    else this.module(value, at);
    return value;
  }

  /** An evaluator call: static code is scanned as `language`; anything else cannot be checked. */
  evalCall(tokens: TokenList, name: number, what: string, language: string, argument = 0): void {
    const call = tokens.call(tokens.next(name));
    const at = tokens.at(name)!;
    const code = call ? staticString(call.args[argument] ?? []) : undefined;
    if (code === undefined) this.dynamicCode("dynamic-eval", `${what} of code built at run time`, at);
    else this.embed(language, code, at);
  }
}

/**
 * Reads the import and evaluation forms of a language from one reading's code tokens (`lexed`: the full token
 * list, comments included, and the text its offsets index).
 */
export type Extractor = (tokens: TokenList, out: Collector, lexed: { readonly tokens: readonly Token[]; readonly source: string }) => void;

/** How a language's module and package names compare (restricted modules match their submodules and packages). */
export interface ModuleNames {
  /** What separates a module from its submodules (`os.path`, `fs/promises`); absent: names are flat. */
  readonly separator?: string;
  /** A (trimmed) module name as the language means it: `node:fs` is `fs`, `<cstdlib>` is `stdlib`. Default: as written. */
  canonical?(name: string): string;
  /** The package name in an (trimmed) installer argument, versions and extras removed. Default: up to the first `@`, `:`, `=` or space. */
  libraryName?(spec: string): string;
  /** True when installing `library` installs the restricted module. Default: its package name matches as a module. */
  libraryMatches?(library: string, restricted: string): boolean;
}

/** A language's description for the security scanner, besides its syntax. */
export interface LanguageScanner {
  /** Absent: the scanner tells code from comments and literals but finds no imports. */
  readonly extract?: Extractor;
  readonly modules?: ModuleNames;
}

/** npm and Go name a version after `@` (`@scope/pkg@^1.2`, `github.com/a/b@v1.2.3`). */
export const atVersionedName = (spec: string): string => (spec.startsWith("@") ? `@${spec.slice(1).split("@")[0]}` : spec.split("@")[0]!);
