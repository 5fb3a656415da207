import type { Feature, Interpolation, Syntax } from "../../languages/syntax.js";
import type { Token, TokenKind } from "../../languages/tokens.js";
import { decodeBody, lineAt } from "./text.js";

export const BRACKETS: Readonly<Record<string, string>> = { "(": ")", "[": "]", "{": "}", "<": ">" };

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

/**
 * The lexer's literal readers: quotes, raw strings, interpolation (whose code the lexer reads back as code),
 * regular expressions, Ruby `%` literals and heredocs. Each marks a literal's content as prose.
 */
export abstract class LiteralReader {
  readonly tokens: Token[] = [];
  readonly prose: Uint8Array;
  private heredocs: PendingHeredoc[] = [];

  constructor(
    readonly s: string,
    protected readonly syntax: Syntax,
  ) {
    this.prose = new Uint8Array(s.length);
  }

  /** Reads code from `i` to the end, or to just after `closer` at bracket depth 0; returns where it stopped. */
  abstract code(i: number, closer?: ")" | "}" | "`"): number;

  protected has(feature: Feature): boolean {
    return this.syntax.features.has(feature);
  }

  protected push(kind: TokenKind, text: string, start: number, end: number): Token {
    const token: Token = { kind, text, start, end };
    this.tokens.push(token);
    return token;
  }

  /** A literal without interpolation: content [contentStart, contentEnd) is prose. */
  protected literalToken(start: number, end: number, openLength: number, value: string | undefined, contentEnd = end - 1): number {
    const token = this.push("string", this.s.slice(start, start + openLength), start, end);
    token.value = value;
    this.prose.fill(1, start + openLength, Math.max(start + openLength, contentEnd));
    return end;
  }

  /** A raw literal (C++ `R"d(…)d"`, R `r"(…)"`): no escapes, no interpolation, ends at the first `terminator`. */
  protected rawString(start: number, openLength: number, terminator: string): number {
    const end = this.s.indexOf(terminator, start + openLength);
    const close = end < 0 ? this.s.length : end;
    return this.literalToken(start, end < 0 ? this.s.length : end + terminator.length, openLength, this.s.slice(start + openLength, close), close);
  }

  /** A quoted literal opened at `start` (`openLength` characters) and closed by `close`. */
  protected quoted(start: number, openLength: number, close: string, options: LiteralOptions & { multiline: boolean }): number {
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
  protected literalBody(j: number, options: LiteralOptions, stop: (j: number) => number | undefined) {
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
  protected interpolationAt(j: number, style: Interpolation | undefined): { open: number; reads?: ")" | "}" | "`" } | undefined {
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

  protected regex(i: number): number {
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
  protected percentLiteral(i: number): number | undefined {
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
  protected heredoc(i: number): number | undefined {
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
  protected afterNewline(i: number): number {
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
