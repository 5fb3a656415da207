import type { Feature, Interpolation, Syntax } from "../../languages/syntax.js";
import type { Token, TokenKind } from "../../languages/tokens.js";

export interface Lexed {
  /** The text the tokens index: the input, or the input after translation (C/C++ line splices, Java `\uXXXX`). */
  readonly source: string;
  readonly tokens: readonly Token[];
  /** 1 where a character is prose: inside a comment or inside a literal's content (interpolated code is not prose). */
  readonly prose: Uint8Array;
  /** Offset in the input of each `source` index, when they differ. */
  readonly original?: Int32Array;
}

/**
 * How to read constructs whose meaning depends on context the lexer does not model (is `/` a division or the start
 * of a regular expression? Ruby's `%` and `?` likewise): where the previous token decides, both readings agree;
 * where it only suggests, "likely" follows the suggestion and "alternative" takes the other meaning. The scanner
 * reads ambiguous code both ways and keeps what either finds, so a wrong guess cannot hide code.
 */
export type Reading = "likely" | "alternative";

const BRACKETS: Readonly<Record<string, string>> = { "(": ")", "[": "]", "{": "}", "<": ">" };
const SPACE = /[ \t\r\f\v]/;
/** Punctuation after which an operand (so a literal) must follow. */
const EXPRESSION_START = new Set("(,=:[!&|?{;+-*%<>~^".split(""));
const KEYWORDS_BEFORE_EXPRESSION = new Set([
  "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await",
  "if", "elsif", "unless", "while", "until", "and", "or", "not", "when", "then", "puts", "print", "p",
]);

interface PendingHeredoc {
  readonly token: Token;
  readonly id: string;
  /** The terminator may be indented. */
  readonly indented: boolean;
  readonly interpolation: Interpolation | undefined;
}

interface LiteralOptions {
  readonly escapes: boolean;
  readonly decode: boolean;
  readonly interpolation: Interpolation | undefined;
  /** Bracket pair that nests inside the literal (Ruby `%q(a(b)c)`). */
  readonly nest?: readonly [string, string];
}

/** Splits code into words, punctuation, literals and comments, per the language's syntax description. Pure. */
export function lex(input: string, syntax: Syntax, reading: Reading = "likely"): Lexed {
  const translated = translate(input, syntax);
  const lexer = new Lexer(translated?.source ?? input, syntax, reading);
  lexer.code(0);
  return { source: lexer.s, tokens: lexer.tokens, prose: lexer.prose, ...(translated ? { original: translated.original } : {}) };
}

class Lexer {
  readonly tokens: Token[] = [];
  readonly prose: Uint8Array;
  private heredocs: PendingHeredoc[] = [];
  /** Index of the first token of the innermost code region (an interpolation starts a fresh expression). */
  private regionStart = 0;

  constructor(
    readonly s: string,
    private readonly syntax: Syntax,
    private readonly reading: Reading,
  ) {
    this.prose = new Uint8Array(s.length);
  }

  private has(feature: Feature): boolean {
    return this.syntax.features.has(feature);
  }

  private push(kind: TokenKind, text: string, start: number, end: number): Token {
    const token: Token = { kind, text, start, end };
    this.tokens.push(token);
    return token;
  }

  /** Reads code from `i` to the end, or to just after `closer` at bracket depth 0; returns where it stopped. */
  code(i: number, closer?: ")" | "}" | "`"): number {
    const { s } = this;
    const outerRegion = this.regionStart;
    this.regionStart = this.tokens.length;
    const opener = closer === ")" ? "(" : closer === "}" ? "{" : undefined;
    let depth = 0;
    try {
      while (i < s.length) {
        const c = s[i]!;
        if (c === "\n") {
          this.push("newline", "\n", i, i + 1);
          i = this.afterNewline(i + 1);
          continue;
        }
        if (SPACE.test(c)) {
          i++;
          continue;
        }
        const consumed = this.literalOrComment(i);
        if (consumed !== undefined) {
          i = consumed;
          continue;
        }
        if (closer && c === closer && (opener === undefined || depth === 0)) return i + 1;
        if (opener && c === opener) depth++;
        else if (opener && c === closer) depth--;
        if (this.isWordChar(i) || (this.has("shell") && c === "\\") || (this.has("identifier-escapes") && s.startsWith("\\u", i))) {
          i = this.word(i);
          continue;
        }
        if (this.has("digraphs") && s.startsWith("%:", i)) {
          this.push("punct", "#", i, i + 2);
          i += 2;
          continue;
        }
        this.push("punct", c, i, i + 1);
        i++;
      }
      return i;
    } finally {
      this.regionStart = outerRegion;
    }
  }

  private isWordChar(i: number): boolean {
    const cp = this.s.codePointAt(i);
    return cp !== undefined && this.syntax.word.test(String.fromCodePoint(cp));
  }

  private word(i: number): number {
    const { s } = this;
    const start = i;
    let text = "";
    let escaped = false;
    const shell = this.has("shell");
    while (i < s.length) {
      const escape = this.has("identifier-escapes") ? /^\\u(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(s.slice(i, i + 10)) : null;
      if (escape) {
        text += safeCodePoint(parseInt(escape[1] ?? escape[2]!, 16));
        escaped = true;
        i += escape[0].length;
        continue;
      }
      if (shell && s[i] === "\\") {
        if (s[i + 1] === "\n") i += 2; // line continuation inside a word: bash joins it
        else {
          text += s[i + 1] ?? "";
          i += 2;
        }
        continue;
      }
      if (this.has("digit-separators") && s[i] === "'" && /^\d/.test(text) && /[0-9A-Za-z]/.test(s[i + 1] ?? "")) {
        i++;
        continue;
      }
      if (!this.isWordChar(i)) break;
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      text += ch;
      i += ch.length;
    }
    const token = this.push("word", this.has("nfkc-identifiers") ? text.normalize("NFKC") : text, start, i);
    if (escaped) token.escaped = true;
    return i;
  }

  /** The last token of the current code region that is not a comment or a line break. */
  private previous(): Token | undefined {
    for (let k = this.tokens.length - 1; k >= this.regionStart; k--) {
      const token = this.tokens[k]!;
      if (token.kind !== "comment" && token.kind !== "newline") return token;
    }
    return undefined;
  }

  /**
   * True where an ambiguous literal (`/…/`, Ruby `%w[…]`, `?c`) starts at `i`. Decided by the previous token where
   * it can; where it only suggests (after `)`, `]`, `}`, and after a name in Ruby), the reading picks a side.
   */
  private literalStartsHere(i: number): boolean {
    const prev = this.previous();
    let suggestion: boolean;
    if (!prev) return true;
    if (prev.kind === "punct") {
      if (EXPRESSION_START.has(prev.text)) return true;
      if (!")]}".includes(prev.text)) return false;
      suggestion = prev.text === "}" && !this.has("ruby"); // a block ends before a statement
    } else if (prev.kind === "word") {
      if (KEYWORDS_BEFORE_EXPRESSION.has(prev.text)) return true;
      if (!this.has("ruby") || /^\d/.test(prev.text)) return false;
      // Ruby reads `foo /x/` and `puts %w[a]` as a call with a literal argument: space before, none after.
      suggestion = prev.end < i && !SPACE.test(this.s[i + 1] ?? " ") && this.s[i + 1] !== "=";
    } else {
      return false;
    }
    return this.reading === "likely" ? suggestion : !suggestion;
  }

  private literalOrComment(i: number): number | undefined {
    const { s } = this;
    const c = s[i]!;
    const lineStart = i === 0 || s[i - 1] === "\n";
    if (i === 0 && this.has("hashbang") && s.startsWith("#!")) return this.lineComment(i);
    if (this.has("ruby") && lineStart) {
      if (s.startsWith("=begin", i) && /[\s]/.test(s[i + 6] ?? "\n")) {
        return this.comment(i, findLine(s, i, (line) => /^=end(\s|$)/.test(line)));
      }
      if (/^__END__\r?$/.test(lineAt(s, i))) return this.comment(i, s.length);
    }
    if (this.has("shell") ? c === "#" && this.atShellWordStart(i) : this.syntax.lineComments.some((m) => s.startsWith(m, i))) {
      return this.lineComment(i);
    }
    for (const [open, close] of this.syntax.blockComments) {
      if (s.startsWith(open, i)) {
        const end = s.indexOf(close, i + open.length);
        return this.comment(i, end < 0 ? s.length : end + close.length);
      }
    }
    if ((this.has("ruby") || this.has("shell")) && s.startsWith("<<", i) && s[i + 2] !== "<") {
      const heredoc = this.heredoc(i);
      if (heredoc !== undefined) return heredoc;
    }
    if (this.has("shell") && c === "$" && (s[i + 1] === "'" || s[i + 1] === '"')) {
      return this.quoted(i, 2, s[i + 1]!, { escapes: true, decode: true, interpolation: s[i + 1] === "'" ? undefined : "shell", multiline: true });
    }
    if (this.has("regex-literals") && c === "/" && s[i + 1] !== "/" && s[i + 1] !== "*" && this.literalStartsHere(i)) return this.regex(i);
    if (this.has("ruby") && c === "%" && this.literalStartsHere(i)) {
      const literal = this.percentLiteral(i);
      if (literal !== undefined) return literal;
    }
    if (this.has("ruby") && c === "?" && this.literalStartsHere(i)) {
      const m = /^\?(\\.|[^\s\\])(?![\p{ID_Continue}])/u.exec(s.slice(i, i + 4));
      if (m) return this.literalToken(i, i + m[0].length, 1, decodeEscapes(m[1]!), i + m[0].length);
    }
    if (this.has("python-prefixes")) {
      const m = /^([rRbBuUfF]{1,2})(?='|")/.exec(s.slice(i, i + 3));
      if (m && /^(?:[rR][bBfF]?|[bBfF][rR]?|[uU])$/.test(m[1]!) && (i === 0 || !this.isWordChar(i - 1))) {
        const prefix = m[1]!.toLowerCase();
        const quote = this.syntax.quotes.find((q) => s.startsWith(q.open, i + prefix.length))!;
        return this.quoted(i, prefix.length + quote.open.length, quote.close, {
          escapes: true,
          decode: !prefix.includes("r"),
          interpolation: prefix.includes("f") ? "brace" : undefined,
          multiline: quote.multiline,
        });
      }
    }
    if (this.has("cpp-raw-strings")) {
      const m = /^(?:u8|[uUL])?R"([^()\\\s]{0,16})\(/.exec(s.slice(i, i + 24));
      if (m && (i === 0 || !this.isWordChar(i - 1))) return this.rawString(i, m[0].length, `)${m[1]}"`);
    }
    if (this.has("r-raw-strings")) {
      const m = /^[rR](["'])(-*)([[({])/.exec(s.slice(i, i + 40));
      if (m && (i === 0 || !this.isWordChar(i - 1))) return this.rawString(i, m[0].length, `${BRACKETS[m[3]!]}${m[2]}${m[1]}`);
    }
    if (this.has("backtick-names") && c === "`") {
      const end = s.indexOf("`", i + 1);
      const close = end < 0 ? s.length : end;
      this.push("word", s.slice(i + 1, close), i, close + 1);
      return Math.min(s.length, close + 1);
    }
    for (const quote of this.syntax.quotes) {
      if (s.startsWith(quote.open, i)) {
        return this.quoted(i, quote.open.length, quote.close, {
          escapes: quote.escapes,
          decode: quote.decode ?? quote.escapes,
          interpolation: quote.interpolation,
          multiline: quote.multiline,
        });
      }
    }
    return undefined;
  }

  private atShellWordStart(i: number): boolean {
    return i === 0 || /[\s;&|()<>]/.test(this.s[i - 1]!);
  }

  private lineComment(i: number): number {
    const end = this.s.indexOf("\n", i);
    return this.comment(i, end < 0 ? this.s.length : end);
  }

  private comment(start: number, end: number): number {
    this.push("comment", this.s.slice(start, end), start, end);
    this.prose.fill(1, start, end);
    return end;
  }

  /** A literal without interpolation: content [contentStart, contentEnd) is prose. */
  private literalToken(start: number, end: number, openLength: number, value: string | undefined, contentEnd = end - 1): number {
    const token = this.push("string", this.s.slice(start, start + openLength), start, end);
    token.value = value;
    this.prose.fill(1, start + openLength, Math.max(start + openLength, contentEnd));
    return end;
  }

  /** A raw literal (C++ `R"d(…)d"`, R `r"(…)"`): no escapes, no interpolation, ends at the first `terminator`. */
  private rawString(start: number, openLength: number, terminator: string): number {
    const end = this.s.indexOf(terminator, start + openLength);
    const close = end < 0 ? this.s.length : end;
    return this.literalToken(start, end < 0 ? this.s.length : end + terminator.length, openLength, this.s.slice(start + openLength, close), close);
  }

  /** A quoted literal opened at `start` (`openLength` characters) and closed by `close`. */
  private quoted(start: number, openLength: number, close: string, options: LiteralOptions & { multiline: boolean }): number {
    const token = this.push("string", this.s.slice(start, start + openLength), start, start + openLength);
    const { end, dynamic, contentEnd } = this.literalBody(start + openLength, options, (j) => {
      if (this.s.startsWith(close, j)) return close.length;
      return !options.multiline && this.s[j] === "\n" ? 0 : undefined;
    });
    token.end = end;
    token.value = dynamic ? undefined : decodeBody(this.s.slice(start + openLength, contentEnd), options.decode);
    return end;
  }

  /**
   * Walks a literal's content from `j`, marking it prose and reading interpolated code as code, until `stop` says
   * the literal ends here (returning the terminator's length, 0 to end without consuming).
   */
  private literalBody(j: number, options: LiteralOptions, stop: (j: number) => number | undefined) {
    const { s } = this;
    let dynamic = false;
    let segment = j;
    let depth = 0;
    const endSegment = (to: number) => this.prose.fill(1, segment, Math.max(segment, to));
    while (j < s.length) {
      if (depth === 0) {
        const terminator = stop(j);
        if (terminator !== undefined) {
          endSegment(j);
          return { end: j + terminator, contentEnd: j, dynamic };
        }
      }
      const c = s[j]!;
      if (options.nest) {
        if (c === options.nest[0]) depth++;
        else if (c === options.nest[1]) depth--;
      }
      if (c === "\\" && options.escapes) {
        j += 2;
        continue;
      }
      const code = this.interpolationAt(j, options.interpolation);
      if (code) {
        endSegment(j);
        dynamic = true;
        j = code.reads ? this.code(j + code.open, code.reads) : j + code.open;
        segment = j;
        continue;
      }
      j++;
    }
    endSegment(s.length);
    return { end: s.length, contentEnd: s.length, dynamic };
  }

  /** Code (or a variable) interpolated at `j`: how long its opener is and what closes the code, if any. */
  private interpolationAt(j: number, style: Interpolation | undefined): { open: number; reads?: ")" | "}" | "`" } | undefined {
    const { s } = this;
    switch (style) {
      case "dollar-brace":
        return s.startsWith("${", j) ? { open: 2, reads: "}" } : undefined;
      case "brace":
        if (s.startsWith("{{", j)) return undefined;
        return s[j] === "{" ? { open: 1, reads: "}" } : undefined;
      case "hash-brace":
        if (s.startsWith("#{", j)) return { open: 2, reads: "}" };
        return /^#[@$][A-Za-z_]/.test(s.slice(j, j + 3)) ? { open: 1 } : undefined;
      case "shell":
        if (s.startsWith("$(", j)) return { open: 2, reads: ")" };
        if (s.startsWith("${", j)) return { open: 2, reads: "}" };
        if (s[j] === "`") return { open: 1, reads: "`" };
        return /^\$[\w@*#?$!-]/.test(s.slice(j, j + 2)) ? { open: 1 } : undefined;
      default:
        return undefined;
    }
  }

  private regex(i: number): number {
    const { s } = this;
    const token = this.push("string", "/", i, i + 1);
    let inClass = false;
    const { end, contentEnd } = this.literalBody(
      i + 1,
      { escapes: true, decode: false, interpolation: this.has("ruby") ? "hash-brace" : undefined },
      (j) => {
        const c = s[j];
        if (c === "\n" && !this.has("ruby")) return 0;
        if (c === "[") inClass = true;
        else if (c === "]") inClass = false;
        else if (c === "/" && !inClass) return 1;
        return undefined;
      },
    );
    let flagsEnd = end;
    while (flagsEnd < s.length && /[a-z]/.test(s[flagsEnd]!)) flagsEnd++;
    token.end = flagsEnd;
    token.value = s.slice(i + 1, contentEnd);
    return flagsEnd;
  }

  /** Ruby `%q(…)`, `%w[…]`, `%x{…}`, `%(…)` …; undefined when `%` is an operator here. */
  private percentLiteral(i: number): number | undefined {
    const { s } = this;
    const m = /^%([qQwWiIxrs]?)([^\p{ID_Continue}\s=])/u.exec(s.slice(i, i + 3));
    if (!m) return undefined;
    const [opener, type, delimiter] = [m[0], m[1]!, m[2]!];
    const closer = BRACKETS[delimiter] ?? delimiter;
    const interpolates = !"qwis".includes(type) || type === "";
    const token = this.push("string", opener, i, i + opener.length);
    const { end, dynamic, contentEnd } = this.literalBody(
      i + opener.length,
      {
        escapes: true,
        decode: interpolates,
        interpolation: interpolates ? "hash-brace" : undefined,
        ...(closer !== delimiter ? { nest: [delimiter, closer] as const } : {}),
      },
      (j) => (s[j] === closer ? 1 : undefined),
    );
    token.end = end;
    token.value = dynamic ? undefined : decodeBody(s.slice(i + opener.length, contentEnd), interpolates);
    return end;
  }

  /** Ruby `<<~ID`, `<<-ID`, `<<ID`, `<<'ID'`; bash `<<ID`, `<<-ID`, `<< 'ID'`, `<<\ID`. The body starts on the next line. */
  private heredoc(i: number): number | undefined {
    const { s } = this;
    const rest = s.slice(i, i + 80);
    const m = this.has("shell")
      ? /^<<(-?)[ \t]*(?:(['"])([^'"\n]+)\2|\\?([A-Za-z_][\w]*))/.exec(rest)
      : /^<<([~-]?)(?:(['"`])([^'"`\n]+)\2|([A-Za-z_]\w*))/.exec(rest);
    if (!m) return undefined;
    const [, indent, quote, quotedId, bareId] = m;
    // Ruby `a << B` (append) vs `<<B` (heredoc): a bare heredoc needs an uppercase name and no space after `<<`.
    if (this.has("ruby") && !indent && !quote && !/^[A-Z]/.test(bareId ?? "")) return undefined;
    const quoted = Boolean(quote) || rest.startsWith("<<\\") || /^<<-?[ \t]*\\/.test(rest);
    const token = this.push("string", m[0], i, i + m[0].length);
    this.heredocs.push({
      token,
      id: (quotedId ?? bareId)!,
      indented: Boolean(indent),
      interpolation: quoted || quote === "'" ? undefined : this.has("shell") ? "shell" : "hash-brace",
    });
    return i + m[0].length;
  }

  /** After a line break: the bodies of heredocs opened on the line just ended. */
  private afterNewline(i: number): number {
    while (this.heredocs.length) {
      const heredoc = this.heredocs.shift()!;
      const { s } = this;
      const { end, dynamic, contentEnd } = this.literalBody(
        i,
        { escapes: heredoc.interpolation !== undefined, decode: false, interpolation: heredoc.interpolation },
        (j) => {
          if (j !== i && s[j - 1] !== "\n") return undefined;
          const line = lineAt(s, j).replace(/\r$/, "");
          return (heredoc.indented ? line.trim() : line) === heredoc.id ? line.length : undefined;
        },
      );
      heredoc.token.value = dynamic ? undefined : s.slice(i, contentEnd);
      i = end;
    }
    return i;
  }
}

/**
 * What the compiler does before it reads tokens: C/C++ drop backslash-newline (even inside identifiers, strings and
 * `//` comments); Java replaces `\uXXXX` escapes (a `\u000a` in a comment ends it). Undefined when nothing changes.
 */
function translate(input: string, syntax: Syntax): { source: string; original: Int32Array } | undefined {
  const splices = syntax.features.has("line-splices");
  const unicode = syntax.features.has("unicode-translation");
  if (!(splices && /\\\r?\n/.test(input)) && !(unicode && /\\u/.test(input))) return undefined;
  let source = "";
  const original: number[] = [];
  for (let i = 0; i < input.length; i++) {
    if (input[i] === "\\") {
      if (splices) {
        const skip = input[i + 1] === "\n" ? 2 : input[i + 1] === "\r" && input[i + 2] === "\n" ? 3 : 0;
        if (skip) {
          i += skip - 1;
          continue;
        }
      }
      if (unicode) {
        // An escape only when the backslash is not itself escaped (preceded by an even number of backslashes).
        let run = 0;
        for (let k = i - 1; k >= 0 && input[k] === "\\"; k--) run++;
        const m = run % 2 === 0 ? /^\\u+([0-9a-fA-F]{4})/.exec(input.slice(i, i + 16)) : null;
        if (m) {
          source += String.fromCharCode(parseInt(m[1]!, 16));
          original.push(i);
          i += m[0].length - 1;
          continue;
        }
      }
    }
    source += input[i];
    original.push(i);
  }
  original.push(input.length);
  return { source, original: Int32Array.from(original) };
}

function lineAt(s: string, i: number): string {
  const end = s.indexOf("\n", i);
  return s.slice(i, end < 0 ? s.length : end);
}

/** Index just past the first line (starting after `from`'s line) that satisfies `test`; the end when none does. */
function findLine(s: string, from: number, test: (line: string) => boolean): number {
  let i = s.indexOf("\n", from);
  while (i >= 0) {
    const line = lineAt(s, i + 1);
    if (test(line)) return i + 1 + line.length;
    i = s.indexOf("\n", i + 1);
  }
  return s.length;
}

function decodeBody(raw: string, decode: boolean): string {
  return decode ? decodeEscapes(raw) : raw;
}

/** Backslash escapes common to these languages (`\n`, `\x41`, `\u0041`, `\u{41}`, `\U00000041`, octal, line continuation). */
export function decodeEscapes(raw: string): string {
  return raw.replace(
    /\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{1,3})|(\r?\n)|(.))/gs,
    (_whole, hex?: string, brace?: string, u4?: string, u8?: string, octal?: string, newline?: string, other?: string) => {
      const code = hex ?? brace ?? u4 ?? u8;
      if (code) return safeCodePoint(parseInt(code, 16));
      if (octal) return safeCodePoint(parseInt(octal, 8));
      if (newline) return "";
      return ESCAPES[other!] ?? other!;
    },
  );
}

const ESCAPES: Readonly<Record<string, string>> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", e: "\x1b" };

function safeCodePoint(code: number): string {
  return code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
}
