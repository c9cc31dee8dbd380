import { InvalidParameterError } from "../util/errors.js";

/**
 * scikit-learn's `token_pattern` tokenisation for raw-string documents. Python's `(?u)\w`
 * matches Unicode letters, numbers and `_`; JavaScript's `\w` and `\b` are ASCII-only even
 * with the `u` flag, so patterns are translated (`\w` → `[\p{L}\p{N}_]`, `\b` → a lookaround
 * boundary on that class). The default pattern gets a hand-written scanner instead: it is
 * the hot path when the vectorizer tokenises for itself.
 */

export const DEFAULT_TOKEN_PATTERN = "(?u)\\b\\w\\w+\\b";

const W = "\\p{L}\\p{N}_";
const BOUNDARY = `(?:(?<=[${W}])(?![${W}])|(?<![${W}])(?=[${W}]))`;
const NON_BOUNDARY = `(?:(?<=[${W}])(?=[${W}])|(?<![${W}])(?![${W}]))`;

/** Translates a Python `re` pattern's character classes to a JavaScript `u`-mode RegExp source. */
export function translatePythonPattern(pattern: string): { source: string; flags: string } {
  let src = pattern;
  let flags = "gu";
  // Leading inline flags, e.g. "(?u)" (Unicode: the default in Python 3) or "(?i)".
  const inline = /^\(\?([aiLmsux]+)\)/.exec(src);
  if (inline) {
    for (const f of inline[1]) {
      if (f === "i" || f === "m" || f === "s") flags += f;
      else if (f !== "u") throw new InvalidParameterError(`tokenPattern: inline flag '${f}' is not supported`);
    }
    src = src.slice(inline[0].length);
  }
  let out = "";
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === "\\" && i + 1 < src.length) {
      const e = src[++i];
      if (e === "w") out += inClass ? W : `[${W}]`;
      else if (e === "W") {
        if (inClass) throw new InvalidParameterError("tokenPattern: \\W inside a character class is not supported");
        out += `[^${W}]`;
      } else if (e === "d") out += inClass ? "\\p{Nd}" : "\\p{Nd}";
      else if (e === "D") {
        if (inClass) throw new InvalidParameterError("tokenPattern: \\D inside a character class is not supported");
        out += "\\P{Nd}";
      } else if (e === "b" && !inClass) out += BOUNDARY;
      else if (e === "B" && !inClass) out += NON_BOUNDARY;
      else out += "\\" + e;
      continue;
    }
    if (ch === "[" && !inClass) inClass = true;
    else if (ch === "]" && inClass) inClass = false;
    out += ch;
  }
  return { source: out, flags };
}

export type Tokenizer = (text: string) => string[];

/** A tokenizer for a token pattern: findall semantics (a single capture group's text is the token, as in sklearn). */
export function compileTokenPattern(pattern: string): Tokenizer {
  if (pattern === DEFAULT_TOKEN_PATTERN) return tokenizeDefault;
  const { source, flags } = translatePythonPattern(pattern);
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (err) {
    throw new InvalidParameterError(`tokenPattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(err as Error).message}`);
  }
  const groups = (new RegExp(`${source}|`, flags.replace("g", "")).exec("") as RegExpExecArray).length - 1;
  if (groups > 1) {
    throw new InvalidParameterError(`tokenPattern ${JSON.stringify(pattern)} has ${groups} capturing groups; at most one is allowed (as in scikit-learn)`);
  }
  return (text: string) => {
    const tokens: string[] = [];
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) re.lastIndex++;
      tokens.push(groups === 1 ? (m[1] ?? "") : m[0]);
    }
    return tokens;
  };
}

// Word-character table for the default pattern: 1 = \w, 0 = not, 255 = not yet classified.
const WORD_TABLE = new Uint8Array(0x10000).fill(255);
for (let c = 0; c < 128; c++) WORD_TABLE[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ? 1 : 0;
const RE_WORD = /^[\p{L}\p{N}_]$/u;

function isWordAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const cp = s.codePointAt(i) as number;
    if (cp > 0xffff) return RE_WORD.test(String.fromCodePoint(cp)) ? 2 : 0;
  }
  let k = WORD_TABLE[c];
  if (k === 255) k = WORD_TABLE[c] = RE_WORD.test(String.fromCharCode(c)) ? 1 : 0;
  return k;
}

/** `(?u)\b\w\w+\b`: maximal runs of word characters that are at least 2 characters long. */
function tokenizeDefault(text: string): string[] {
  const tokens: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const w = isWordAt(text, i);
    if (w === 0) {
      i++;
      continue;
    }
    const start = i;
    let chars = 0;
    let step = w;
    while (step > 0) {
      i += step;
      chars++;
      step = i < n ? isWordAt(text, i) : 0;
    }
    if (chars >= 2) tokens.push(text.slice(start, i));
  }
  return tokens;
}
