/**
 * How a language writes comments and literals — what the security scanner needs to tell code from text. Each
 * language handler holds its own description (`LanguageHandler.syntax`); the scanner reads it.
 */
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

export const quote = (open: string, init: Partial<Quote> = {}): Quote => ({ open, close: open, escapes: true, multiline: false, ...init });
export const features = (...list: Feature[]): ReadonlySet<Feature> => new Set(list);
/** Line comments with `//`, block comments between slash-star and star-slash (C, C++, Java, JavaScript, Go). */
export const C_COMMENTS = { lineComments: ["//"], blockComments: [["/*", "*/"]] as const };
/** `#` to the end of the line (Python, R, Ruby, shells). */
export const HASH_COMMENTS = { lineComments: ["#"], blockComments: [] as const };
/** Identifier characters of languages that allow `$` in names (Java, JavaScript). */
export const DOLLAR_IDENTIFIER = /[\p{ID_Continue}$]/u;
export const IDENTIFIER = /[\p{ID_Continue}]/u;
