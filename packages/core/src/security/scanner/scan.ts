import { getLanguageHandler } from "../../languages/registry.js";
import { Collector, type DynamicCode, type Extraction, type LanguageScanner, type ModuleUse } from "../../languages/scanning.js";
import { type Token, TokenList } from "../../languages/tokens.js";
import { type Lexed, lex, type Reading } from "./lexer.js";

/** Code passed as a literal to an evaluator, scanned in its own language. Offsets are those of the outer scan. */
export interface EmbeddedScan {
  readonly scan: CodeScan;
  readonly start: number;
  readonly end: number;
}

/**
 * What the scanner read in one piece of code. Offsets (of modules, dynamic code, `isCode`, `lineOf`) index the
 * compiler's view of the source (the input, C/C++ with line splices removed, Java with `\uXXXX` translated).
 */
export interface CodeScan {
  /** The language's canonical name. */
  readonly language: string;
  /** The code with comments blanked (Python: identifiers NFKC-normalised, as Python reads them); patterns are matched against it. */
  readonly view: string;
  /** The source offset of a `view` offset. */
  sourceOffset(viewOffset: number): number;
  /** True when the source character at `offset` is code: not inside a comment or a literal's content. */
  isCode(offset: number): boolean;
  /** 1-based line of `offset` in the scanned code. */
  lineOf(offset: number): number;
  /** The scanned code's line at `offset`, trimmed and shortened. */
  snippetAt(offset: number): string;
  readonly modules: readonly ModuleUse[];
  readonly dynamic: readonly DynamicCode[];
  readonly embedded: readonly EmbeddedScan[];
}

/** Evaluated literals inside evaluated literals are followed this deep. */
const MAX_EMBEDDING = 4;
const SNIPPET_LENGTH = 160;

/**
 * Reads code the way its language does: comments and string contents are told apart from code, imports are
 * extracted from their real forms, dynamic imports/evaluations are noted and literal code given to evaluators is
 * read too. Where the syntax is ambiguous without a full parser (JavaScript and Ruby `/`, Ruby `%` and `?`), the
 * code is read both ways and whatever either reading finds is kept, so a wrong guess cannot hide code. Pure.
 */
export function scanCode(code: string, language: string, depth = 0): CodeScan {
  const { name, syntax, scanner } = getLanguageHandler(language);
  const readings: Reading[] = syntax.features.has("regex-literals") || syntax.features.has("ruby") ? ["likely", "alternative"] : ["likely"];
  const lexed = readings.map((reading) => lex(code, syntax, reading));
  const { source, original } = lexed[0]!;
  const prose = new Uint8Array(source.length).fill(1);
  const comment = new Uint8Array(source.length).fill(1);
  for (const reading of lexed) {
    const inComment = commentMask(reading);
    for (let i = 0; i < source.length; i++) {
      prose[i]! &= reading.prose[i]!;
      comment[i]! &= inComment[i]!;
    }
  }
  const { view, viewToSource } = buildView(source, comment, prose, syntax.features.has("nfkc-identifiers"));

  const extractions = lexed.map((reading) => extract(scanner, reading.tokens, source));
  const modules = unique(extractions.flatMap((e) => e.modules), (m) => `${m.start}:${m.module}`);
  const dynamic = unique(extractions.flatMap((e) => e.dynamic), (d) => `${d.start}:${d.kind}:${d.description}`);
  const embeddedCode = unique(extractions.flatMap((e) => e.embedded), (e) => `${e.start}:${e.language}:${e.code}`);
  const embedded: EmbeddedScan[] = [];
  for (const item of embeddedCode) {
    if (depth >= MAX_EMBEDDING) {
      dynamic.push({ kind: "dynamic-eval", description: "code evaluated inside evaluated code, nested too deep to follow", start: item.start, end: item.end });
    } else {
      embedded.push({ scan: scanCode(item.code, item.language, depth + 1), start: item.start, end: item.end });
    }
  }

  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === "\n") lineStarts.push(i + 1);
  const toInput = (offset: number) => (original ? original[Math.min(offset, original.length - 1)]! : offset);
  const lineIndex = (offset: number) => {
    const position = toInput(offset);
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid]! <= position) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  return {
    language: name,
    view,
    sourceOffset: (offset) => (viewToSource ? (viewToSource[offset] ?? source.length) : offset),
    isCode: (offset) => prose[offset] === 0,
    lineOf: (offset) => lineIndex(offset) + 1,
    snippetAt(offset) {
      const line = lineIndex(offset);
      const text = code.slice(lineStarts[line], (lineStarts[line + 1] ?? code.length + 1) - 1).trim();
      return text.length > SNIPPET_LENGTH ? `${text.slice(0, SNIPPET_LENGTH - 1)}…` : text;
    },
    modules,
    dynamic,
    embedded,
  };
}

/**
 * The text patterns read: comments blanked (line breaks kept). Python code is NFKC-normalised as Python reads
 * identifiers (`ｏｓ.ｓｙｓｔｅｍ` is `os.system`); the view then differs in length and maps back to the source.
 */
function buildView(source: string, comment: Uint8Array, prose: Uint8Array, nfkc: boolean): { view: string; viewToSource?: Int32Array } {
  const parts: string[] = [];
  const map: number[] = [];
  let changed = false;
  for (let i = 0; i < source.length; ) {
    const cp = source.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    let out = comment[i] && ch !== "\n" ? " ".repeat(ch.length) : ch;
    if (nfkc && cp > 0x7f && !prose[i]) out = ch.normalize("NFKC");
    if (out.length !== ch.length) changed = true;
    parts.push(out);
    for (let k = 0; k < out.length; k++) map.push(i + Math.min(k, ch.length - 1));
    i += ch.length;
  }
  return { view: parts.join(""), ...(changed ? { viewToSource: Int32Array.from(map) } : {}) };
}

function commentMask({ source, tokens }: Lexed): Uint8Array {
  const mask = new Uint8Array(source.length);
  for (const token of tokens) if (token.kind === "comment") mask.fill(1, token.start, token.end);
  return mask;
}

/** The import and evaluation forms of the language (none without an extractor), read from one reading's tokens. */
function extract(scanner: LanguageScanner | undefined, tokens: readonly Token[], source: string): Extraction {
  const out = new Collector();
  scanner?.extract?.(new TokenList(tokens), out, { tokens, source });
  return out;
}

/** One of each item (by key), in the order of the code. */
function unique<T extends { readonly start: number }>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()].sort((a, b) => a.start - b.start);
}
