export type TokenKind = "word" | "punct" | "string" | "newline" | "comment";

/** One token of code, as the security scanner's lexer reads it from the language's syntax description. */
export interface Token {
  readonly kind: TokenKind;
  /** word: the identifier (shell: escapes removed); punct: one character; string: the opening delimiter; comment: its text. */
  readonly text: string;
  readonly start: number;
  end: number;
  /** string: the decoded value; undefined when the literal interpolates code or variables (its value is not static). */
  value?: string | undefined;
  /** word: spelled with escapes (`\u0072equire`). */
  escaped?: boolean;
}

/**
 * The code tokens of one reading (comments dropped, line breaks kept) with the small look-around helpers the
 * import extractors share.
 */
export class TokenList {
  readonly list: readonly Token[];

  constructor(tokens: readonly Token[]) {
    this.list = tokens.filter((token) => token.kind !== "comment");
  }

  get length(): number {
    return this.list.length;
  }

  at(i: number): Token | undefined {
    return this.list[i];
  }

  /** Index of the next token after `i` that is not a line break (`length` when none). */
  next(i: number): number {
    let j = i + 1;
    while (j < this.list.length && this.list[j]!.kind === "newline") j++;
    return j;
  }

  /** Index of the previous token before `i` that is not a line break (-1 when none). */
  prev(i: number): number {
    let j = i - 1;
    while (j >= 0 && this.list[j]!.kind === "newline") j--;
    return j;
  }

  isWord(i: number, ...texts: string[]): boolean {
    const token = this.list[i];
    return token?.kind === "word" && (texts.length === 0 || texts.includes(token.text));
  }

  isPunct(i: number, text: string): boolean {
    const token = this.list[i];
    return token?.kind === "punct" && token.text === text;
  }

  /** True when `i` is preceded by `.` (a member access such as `obj.require`). */
  afterDot(i: number): boolean {
    return this.isPunct(this.prev(i), ".");
  }

  /** True when tokens `i` and `i + 1` touch (no space between them). */
  touching(i: number): boolean {
    const a = this.list[i];
    const b = this.list[i + 1];
    return a !== undefined && b !== undefined && a.end === b.start;
  }

  /**
   * The arguments of a call whose `(` is at `open`: top-level comma-separated token groups (line breaks dropped),
   * and the index of the closing `)`. Undefined when `open` is not a `(`.
   */
  call(open: number): { args: Token[][]; close: number } | undefined {
    if (!this.isPunct(open, "(")) return undefined;
    return this.group(open, ")");
  }

  /** Tokens between the bracket at `open` and its partner `close`, split at top-level commas. */
  group(open: number, close: string): { args: Token[][]; close: number } {
    const args: Token[][] = [[]];
    let depth = 0;
    let j = open + 1;
    for (; j < this.list.length; j++) {
      const token = this.list[j]!;
      if (token.kind === "newline") continue;
      if (token.kind === "punct") {
        if ("([{".includes(token.text)) depth++;
        else if (")]}".includes(token.text)) {
          if (depth === 0 && token.text === close) break;
          depth--;
        } else if (token.text === "," && depth === 0) {
          args.push([]);
          continue;
        }
      }
      args.at(-1)!.push(token);
    }
    return { args: args.length === 1 && args[0]!.length === 0 ? [] : args, close: j };
  }
}

/**
 * The value of an argument made only of string literals: one literal, literals joined by `+` (or written side by
 * side, as Python, C and Ruby allow), optionally in parentheses. Undefined when any part is not a static literal.
 */
export function staticString(tokens: readonly Token[]): string | undefined {
  let parts = tokens;
  while (parts.length >= 2 && parts[0]!.kind === "punct" && parts[0]!.text === "(" && parts.at(-1)!.kind === "punct" && parts.at(-1)!.text === ")") {
    parts = parts.slice(1, -1);
  }
  if (parts.length === 0) return undefined;
  let value = "";
  let expectString = true;
  for (const token of parts) {
    if (token.kind === "string") {
      if (token.value === undefined) return undefined;
      value += token.value;
      expectString = false;
    } else if (token.kind === "punct" && token.text === "+" && !expectString) {
      expectString = true;
    } else {
      return undefined;
    }
  }
  return expectString ? undefined : value;
}

/** Reads a dotted name (`a.b.c`) starting at word `i`; returns it and the index after it. */
export function dottedName(tokens: TokenList, i: number, separator = "."): { name: string; end: number } | undefined {
  if (!tokens.isWord(i)) return undefined;
  let name = tokens.at(i)!.text;
  let j = i + 1;
  while (tokens.isPunct(j, separator) && tokens.isWord(j + 1)) {
    name += separator + tokens.at(j + 1)!.text;
    j += 2;
  }
  return { name, end: j };
}

/** The comma-separated clauses of the rest of a statement (to the end of the line or `;`). */
export function splitStatement(tokens: TokenList, from: number): Token[][] {
  const clauses: Token[][] = [[]];
  for (let j = from; j < tokens.length; j++) {
    const token = tokens.at(j)!;
    if (token.kind === "newline" || (token.kind === "punct" && token.text === ";")) break;
    if (token.kind === "punct" && token.text === ",") clauses.push([]);
    else clauses.at(-1)!.push(token);
  }
  return clauses;
}
