/** Source text before and inside tokens: what compilers translate first, escape decoding, lines. */
import type { Syntax } from "../../languages/syntax.js";


/**
 * What the compiler does before it reads tokens: C/C++ drop backslash-newline (even inside identifiers, strings and
 * `//` comments); Java replaces `\uXXXX` escapes (a `\u000a` in a comment ends it). Undefined when nothing changes.
 */
export function translate(input: string, syntax: Syntax): { source: string; original: Int32Array } | undefined {
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

export function lineAt(s: string, i: number): string {
  const end = s.indexOf("\n", i);
  return s.slice(i, end < 0 ? s.length : end);
}

/** Index just past the first line (starting after `from`'s line) that satisfies `test`; the end when none does. */
export function findLine(s: string, from: number, test: (line: string) => boolean): number {
  let i = s.indexOf("\n", from);
  while (i >= 0) {
    const line = lineAt(s, i + 1);
    if (test(line)) return i + 1 + line.length;
    i = s.indexOf("\n", i + 1);
  }
  return s.length;
}

export function decodeBody(raw: string, decode: boolean): string {
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

export function safeCodePoint(code: number): string {
  return code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
}
