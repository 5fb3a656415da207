import type { Syntax } from "../../languages/syntax.js";
import type { Token } from "../../languages/tokens.js";
import { BRACKETS, LiteralReader } from "./literals.js";
import { decodeEscapes, findLine, lineAt, safeCodePoint, translate } from "./text.js";

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

const SPACE = /[ \t\r\f\v]/;
/** Punctuation after which an operand (so a literal) must follow. */
const EXPRESSION_START = new Set("(,=:[!&|?{;+-*%<>~^".split(""));
const KEYWORDS_BEFORE_EXPRESSION = new Set([
  "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await",
  "if", "elsif", "unless", "while", "until", "and", "or", "not", "when", "then", "puts", "print", "p",
]);

/** Splits code into words, punctuation, literals and comments, per the language's syntax description. Pure. */
export function lex(input: string, syntax: Syntax, reading: Reading = "likely"): Lexed {
  const translated = translate(input, syntax);
  const lexer = new Lexer(translated?.source ?? input, syntax, reading);
  lexer.code(0);
  return { source: lexer.s, tokens: lexer.tokens, prose: lexer.prose, ...(translated ? { original: translated.original } : {}) };
}

class Lexer extends LiteralReader {
  /** Index of the first token of the innermost code region (an interpolation starts a fresh expression). */
  private regionStart = 0;

  constructor(
    s: string,
    syntax: Syntax,
    private readonly reading: Reading,
  ) {
    super(s, syntax);
  }

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
}
