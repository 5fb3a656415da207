import type { SupportedLanguage } from "../../enums.js";

/** How code inside a string literal is marked: JS `${…}`, Python f-string `{…}`, Ruby `#{…}`, shell `$(…)`/`` `…` ``/`${…}`. */
export type Interpolation = "dollar-brace" | "brace" | "hash-brace" | "shell";

/** A quoted literal the lexer reads the same way in every language that lists it. */
export interface Quote {
  readonly open: string;
  readonly close: string;
  /** A backslash escapes the next character (the literal cannot end on `\"`). */
  readonly escapes: boolean;
  /** Backslash escapes are decoded in the value (false for raw literals, whose backslashes stay). */
  readonly decode?: boolean;
  readonly multiline: boolean;
  readonly interpolation?: Interpolation;
}

/**
 * The quirks a language adds to plain comments and quotes. Each is read by one small reader in the lexer, so a
 * language is a list of these plus its comment markers and quotes.
 */
export type Feature =
  /** `#!…` on the first line is a comment (JavaScript, TypeScript). */
  | "hashbang"
  /** String prefixes r/b/u/f (raw, f-string fields are code). */
  | "python-prefixes"
  /** Identifiers compare after NFKC normalisation (Python: `ｏｓ` is `os`). */
  | "nfkc-identifiers"
  /** `/…/` after an operator is a regular expression (read both ways when unsure). */
  | "regex-literals"
  /** C++ `R"delim(…)delim"`. */
  | "cpp-raw-strings"
  /** C++14 `1'000'000`: a quote inside a number is not a character literal. */
  | "digit-separators"
  /** C/C++ backslash-newline joins lines before anything else (also inside identifiers and comments). */
  | "line-splices"
  /** C/C++ `%:` is `#`. */
  | "digraphs"
  /** Java translates `\uXXXX` anywhere in the source before anything else (even in comments: `\u000a` ends one). */
  | "unicode-translation"
  /** JavaScript identifiers may be spelled with `\uXXXX` escapes (`\u0072equire` is `require`). */
  | "identifier-escapes"
  /** R 4 raw strings `r"(…)"`, `R"[…]"`, `r"--{…}--"`. */
  | "r-raw-strings"
  /** R `` `name` `` is an identifier, not a string. */
  | "backtick-names"
  /** Ruby: `%q()`/`%w[]`/`%x{}`… literals, `?c` characters, `=begin`/`=end`, `__END__`, heredocs, `:sym`. */
  | "ruby"
  /** Bash: `#` only at a word's start, backslash escapes in words, `$'…'`, heredocs, `$(…)` and backticks in `"…"`. */
  | "shell";

export interface Syntax {
  readonly lineComments: readonly string[];
  readonly blockComments: readonly (readonly [open: string, close: string])[];
  /** Longest opener first. */
  readonly quotes: readonly Quote[];
  /** Characters of identifiers (and numbers). */
  readonly word: RegExp;
  readonly features: ReadonlySet<Feature>;
}

const q = (open: string, init: Partial<Quote> = {}): Quote => ({ open, close: open, escapes: true, multiline: false, ...init });
const features = (...list: Feature[]): ReadonlySet<Feature> => new Set(list);
const C_COMMENTS = { lineComments: ["//"], blockComments: [["/*", "*/"]] as const };
const IDENTIFIER = /[\p{ID_Continue}$]/u;

const javascript: Syntax = {
  ...C_COMMENTS,
  quotes: [q("'"), q('"'), q("`", { multiline: true, interpolation: "dollar-brace" })],
  word: IDENTIFIER,
  features: features("hashbang", "regex-literals", "identifier-escapes"),
};

/** Comment and string syntax per language: all the scanner knows about a language besides its import forms. */
export const SYNTAX: Readonly<Record<SupportedLanguage, Syntax>> = {
  python: {
    lineComments: ["#"],
    blockComments: [],
    quotes: [q("'''", { multiline: true }), q('"""', { multiline: true }), q("'"), q('"')],
    word: /[\p{ID_Continue}]/u,
    features: features("python-prefixes", "nfkc-identifiers"),
  },
  javascript,
  typescript: javascript,
  java: {
    ...C_COMMENTS,
    quotes: [q('"""', { multiline: true }), q('"'), q("'")],
    word: IDENTIFIER,
    features: features("unicode-translation"),
  },
  cpp: {
    ...C_COMMENTS,
    quotes: [q('"'), q("'")],
    word: /[\p{ID_Continue}]/u,
    features: features("cpp-raw-strings", "digit-separators", "line-splices", "digraphs"),
  },
  go: {
    ...C_COMMENTS,
    quotes: [q('"'), q("'"), q("`", { escapes: false, decode: false, multiline: true })],
    word: /[\p{ID_Continue}]/u,
    features: features(),
  },
  r: {
    lineComments: ["#"],
    blockComments: [],
    quotes: [q('"', { multiline: true }), q("'", { multiline: true })],
    word: /[\p{ID_Continue}.]/u,
    features: features("r-raw-strings", "backtick-names"),
  },
  ruby: {
    lineComments: ["#"],
    blockComments: [],
    quotes: [
      q('"', { multiline: true, interpolation: "hash-brace" }),
      q("'", { multiline: true }),
      q("`", { multiline: true, interpolation: "hash-brace" }),
    ],
    word: /[\p{ID_Continue}]/u,
    features: features("ruby", "regex-literals"),
  },
  bash: {
    lineComments: ["#"],
    blockComments: [],
    quotes: [q("'", { escapes: false, decode: false, multiline: true }), q('"', { multiline: true, interpolation: "shell" })],
    word: /[^\s|&;()<>'"`$\\]/u,
    features: features("shell"),
  },
};
