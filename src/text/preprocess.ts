import { DataError, InvalidParameterError } from "../util/errors.js";
import { rejectUnknownOptions, requireInteger, requireOneOf } from "../util/validate.js";
import { APOSTROPHELESS_NT, ENGLISH_STOP_WORDS, IRREGULAR_NT_STEMS, NEGATION_WORDS } from "./stopwords.js";
import { lemmatize, porterStem } from "./word-forms.js";

/**
 * Text preprocessing: ONE pure, deterministic function from a raw text to its tokens, used
 * by training and by serving alike, so both always see the same features.
 *
 * Order of the steps (each switchable):
 *   1. `nfkc`        Unicode NFKC normalisation (skipped for pure-ASCII text, which it cannot change).
 *   2. `lowercase`   String.prototype.toLowerCase.
 *   3. `stripHtml`   tags `<...>` (a `<` followed by a letter, `/` or `!`) become a space — IMDB
 *                    sentences contain `<br />` — then entities are decoded: `&amp; &lt; &gt; &quot;
 *                    &apos; &nbsp;`, a few typographic ones, and numeric `&#39; &#x27;`.
 *   4. `removeUrls`  `https?://\S+` and `www\.\S+` (case-insensitive) become a space.
 *   5. One scan over char codes that does the rest, slicing tokens out of the string:
 *      - whitespace separates tokens (runs collapse: no empty tokens, ever);
 *      - `emoticons`: `:) :-) =) :] :( :-( :[ :D ;) ;-) :P :p :/ :| :O :'( <3 </3` …
 *        become one canonical token: the nose is dropped, `=` eyes become `:`, `]`/`[`
 *        become `)`/`(`, letter mouths are upper-cased (`:)`, `:(`, `:D`, `;)`, `:P`, `:/`,
 *        `:|`, `:O`, `:'(`, `<3`, `</3`). A letter mouth (`:D`) must not touch a letter or
 *        digit on either side ("re:Design" is not an emoticon); `:/` must not be followed by `/`.
 *        When off, their characters are ordinary punctuation;
 *      - `emoji`: each pictographic character (Unicode Extended_Pictographic) is a token by
 *        itself, e.g. "😀"; joiners, variation selectors and skin-tone modifiers are dropped,
 *        so a ZWJ sequence yields its component emoji. When off, emoji are dropped;
 *      - words are runs of letters, combining marks and digits; an apostrophe (' or ’) between
 *        two word characters stays inside the word;
 *      - `removeDigits`: digits separate tokens instead of belonging to words ("mp3" → "mp");
 *      - `removePunctuation`: any other character (punctuation, symbols, `_`) separates
 *        tokens; when off, each such character is a token by itself ("wow!!" → wow ! !).
 *   6. Per word:
 *      - `expandNegations`: "Xn't" becomes two tokens X + "not" ("don't" → do not,
 *        "isn't" → is not, "can't" → can not, "won't" → will not, "ain't" → is not), and so
 *        do the apostrophe-less spellings "dont", "didnt", "cant", "wont" …; when off they
 *        are kept as one token with the apostrophe removed ("don't" → dont). Other
 *        apostrophes are always removed, joining the word ("it's" → its, "i'm" → im);
 *      - `minTokenLength`: shorter words are dropped (negation words, emoticons, emoji and
 *        punctuation tokens are kept);
 *      - `removeStopwords`: scikit-learn's English list minus negations (see stopwords.ts);
 *        matched on the lowercased word; negation words are never removed;
 *      - `wordForm`: "porter" (Porter stemmer) or "lemma" (WordNet lemma) or "none".
 *        Negation words are left as they are;
 *      - `negationScope`: after a negation word (not, no, never, nor, cannot, nothing, …,
 *        including the "not" of an expanded n't) every following word gets a `not_` prefix
 *        until the next clause punctuation `. , ; : ! ?` (seen in the raw text, before
 *        punctuation is removed), an emoticon, or the end of the text. The negation word
 *        itself is not prefixed; a new negation word restarts the scope. Emoji and
 *        punctuation tokens are never prefixed. Stopwords inside a scope are removed before
 *        prefixing. Example: "not good at all. great" → not not_good not_at not_all great.
 */
export interface PreprocessConfig {
  /** Unicode NFKC normalisation (full-width letters, ligatures, "①" → "1"). Default true. */
  nfkc: boolean;
  /** Lowercase the text. Default true. */
  lowercase: boolean;
  /** Replace HTML tags with a space and decode HTML entities. Default true. */
  stripHtml: boolean;
  /** Replace URLs (`https?://…`, `www.…`) with a space. Default true. */
  removeUrls: boolean;
  /** Treat digits as separators instead of word characters. Default false. */
  removeDigits: boolean;
  /** Punctuation and symbols separate tokens (true) or are kept as one-character tokens (false). Default true. */
  removePunctuation: boolean;
  /** "don't" → do + not, "dont" → do + not. Default true. */
  expandNegations: boolean;
  /** Remove English stopwords (negation words kept). Default true. */
  removeStopwords: boolean;
  /** Reduce words to a base form: "none", "porter" stemming or "lemma" (WordNet lemmatisation). Default "porter". */
  wordForm: WordForm;
  /** Prefix words in a negated clause with `not_`. Default true. */
  negationScope: boolean;
  /** Keep emoticons as canonical tokens like `:)`. Default true. */
  emoticons: boolean;
  /** Keep each emoji as a token (true) or drop it (false). Default true. */
  emoji: boolean;
  /** Drop words shorter than this many UTF-16 code units (1 keeps "i" and "a"). Default 1. */
  minTokenLength: number;
}

export type WordForm = "none" | "porter" | "lemma";
const WORD_FORMS: readonly WordForm[] = ["none", "porter", "lemma"];

/**
 * Defaults chosen by held-out accuracy on the built-in UCI sentences with TF-IDF 1–2-grams
 * + logistic regression (5-fold stratified CV × 3 shuffles, C = 10): negation scope +
 * Porter + stopwords 0.862 ± 0.011, versus 0.835 ± 0.012 with none of the three (the
 * lightest config) and 0.835 ± 0.013 for scikit-learn's own tokenizer. They also halve the
 * tokens per document (≈ 6 instead of ≈ 12), which makes vectorizing faster.
 */
export const DEFAULT_PREPROCESS_CONFIG: Readonly<PreprocessConfig> = Object.freeze({
  nfkc: true,
  lowercase: true,
  stripHtml: true,
  removeUrls: true,
  removeDigits: false,
  removePunctuation: true,
  expandNegations: true,
  removeStopwords: true,
  wordForm: "porter",
  negationScope: true,
  emoticons: true,
  emoji: true,
  minTokenLength: 1,
});

/** Only normalisation and tokenisation: no stopword removal, stemming or negation scope (words as written). */
export const LIGHT_PREPROCESS_CONFIG: Readonly<PreprocessConfig> = Object.freeze({
  ...DEFAULT_PREPROCESS_CONFIG,
  removeStopwords: false,
  wordForm: "none",
  negationScope: false,
});

const CONFIG_KEYS = Object.keys(DEFAULT_PREPROCESS_CONFIG) as (keyof PreprocessConfig)[];
const BOOLEAN_KEYS = CONFIG_KEYS.filter((k) => typeof DEFAULT_PREPROCESS_CONFIG[k] === "boolean");

// Configs that went through resolvePreprocessConfig, so preprocess() can skip re-validation.
const resolvedConfigs = new WeakSet<object>();

/** Validates a partial config (unknown keys and wrong types are InvalidParameterErrors) and fills defaults. Returns a frozen object. */
export function resolvePreprocessConfig(partial?: Partial<PreprocessConfig> | null): Readonly<PreprocessConfig> {
  if (partial === undefined || partial === null) return DEFAULT_PREPROCESS_CONFIG;
  if (resolvedConfigs.has(partial)) return partial as Readonly<PreprocessConfig>;
  if (typeof partial !== "object" || Array.isArray(partial)) {
    throw new InvalidParameterError(`preprocess config must be an object, got ${JSON.stringify(partial)}`);
  }
  rejectUnknownOptions("preprocess config", partial, CONFIG_KEYS);
  const cfg: PreprocessConfig = { ...DEFAULT_PREPROCESS_CONFIG };
  for (const key of BOOLEAN_KEYS) {
    const v = partial[key];
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw new InvalidParameterError(`preprocess config: ${key} must be true or false, got ${JSON.stringify(v)}`);
    (cfg as unknown as Record<string, boolean>)[key] = v;
  }
  if (partial.wordForm !== undefined) cfg.wordForm = requireOneOf("preprocess config: wordForm", partial.wordForm, WORD_FORMS);
  if (partial.minTokenLength !== undefined) cfg.minTokenLength = requireInteger("preprocess config: minTokenLength", partial.minTokenLength, 1, 1000);
  const frozen = Object.freeze(cfg);
  resolvedConfigs.add(frozen);
  return frozen;
}
resolvedConfigs.add(DEFAULT_PREPROCESS_CONFIG);
resolvedConfigs.add(LIGHT_PREPROCESS_CONFIG);

// ---- character classes --------------------------------------------------------------

const C_OTHER = 0; // punctuation, symbols: separators (or tokens if punctuation is kept)
const C_LETTER = 1; // letters and combining marks
const C_DIGIT = 2;
const C_SPACE = 3;
const C_EMOJI = 4;
const C_IGNORE = 5; // ZWJ, variation selectors, skin-tone modifiers, BOM
const C_UNKNOWN = 255;

const RE_LETTER = /^[\p{L}\p{M}]$/u;
const RE_DIGIT = /^\p{N}$/u;
const RE_SPACE = /^\s$/u;
const RE_EMOJI = /^\p{Extended_Pictographic}$/u;

function classifyCodePoint(cp: number): number {
  if (cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x1f3fb && cp <= 0x1f3ff) || cp === 0xfeff || cp === 0x200b || cp === 0x20e3) return C_IGNORE;
  const ch = String.fromCodePoint(cp);
  // Extended_Pictographic includes © and ®; only treat them as emoji above ASCII-adjacent Latin-1.
  if (cp > 0xff && RE_EMOJI.test(ch)) return C_EMOJI;
  if (RE_LETTER.test(ch)) return C_LETTER;
  if (RE_DIGIT.test(ch)) return C_DIGIT;
  if (RE_SPACE.test(ch)) return C_SPACE;
  return C_OTHER;
}

// Lazily filled table for the BMP: one regex test per distinct character, ever.
const BMP_CLASS = new Uint8Array(0x10000).fill(C_UNKNOWN);
for (let c = 0; c < 128; c++) {
  BMP_CLASS[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) ? C_LETTER : c >= 48 && c <= 57 ? C_DIGIT : c <= 32 || c === 127 ? C_SPACE : C_OTHER;
}

function bmpClass(c: number): number {
  let k = BMP_CLASS[c];
  if (k === C_UNKNOWN) k = BMP_CLASS[c] = classifyCodePoint(c);
  return k;
}

// ---- steps done with native string methods --------------------------------------------

const TAG_RE = /<[a-zA-Z/!][^<>]*>/g;
const ENTITY_RE = /&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g;
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  ndash: "–",
  mdash: "—",
  hellip: "…",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  laquo: "«",
  raquo: "»",
  eacute: "é",
  egrave: "è",
  copy: "©",
};
const URL_RE = /https?:\/\/\S+|www\.\S+/gi;
const URL_HINT_RE = /https?:\/\/|www\./i;

function decodeEntity(match: string, body: string): string {
  if (body.charCodeAt(0) === 35 /* # */) {
    const cp = body.charCodeAt(1) === 120 || body.charCodeAt(1) === 88 ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : " ";
  }
  return NAMED_ENTITIES[body.toLowerCase()] ?? match;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

// ---- emoticons ------------------------------------------------------------------------

const NOT_PREFIX = "not_";

function isAsciiAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * If an emoticon starts at s[i], returns its canonical token and sets `emoticonLength`;
 * otherwise returns null. Written as char-code tests: it runs on every ':' ';' '=' '<'.
 */
let emoticonLength = 0;
function matchEmoticon(s: string, i: number): string | null {
  const c0 = s.charCodeAt(i);
  if (c0 === 60 /* < */) {
    if (s.charCodeAt(i + 1) === 51 /* 3 */ && !isAsciiAlnum(s.charCodeAt(i + 2))) {
      emoticonLength = 2;
      return "<3";
    }
    if (s.charCodeAt(i + 1) === 47 /* / */ && s.charCodeAt(i + 2) === 51 && !isAsciiAlnum(s.charCodeAt(i + 3))) {
      emoticonLength = 3;
      return "</3";
    }
    return null;
  }
  const wink = c0 === 59; /* ; */
  let j = i + 1;
  let c = s.charCodeAt(j);
  let tear = false;
  if (c === 45 /* - */) c = s.charCodeAt(++j);
  else if (c === 39 /* ' */ && !wink) {
    tear = true;
    c = s.charCodeAt(++j);
  }
  const next = s.charCodeAt(j + 1);
  let mouth: string | null = null;
  switch (c) {
    case 41:
    case 93:
      mouth = ")";
      break; // ) ]
    case 40:
    case 91:
      mouth = "(";
      break; // ( [
    case 47:
      if (next !== 47) mouth = "/";
      break; // / but not //
    case 124:
      mouth = "|";
      break;
    case 68:
    case 100:
    case 80:
    case 112:
    case 79:
    case 111: {
      // Letter mouths must stand alone: not "re:Design", not "a:p".
      const prev = i > 0 ? s.charCodeAt(i - 1) : 32;
      if (!isAsciiAlnum(prev) && !isAsciiAlnum(next)) mouth = c === 68 || c === 100 ? "D" : c === 80 || c === 112 ? "P" : "O";
      break;
    }
  }
  if (mouth === null) return null;
  if (tear && mouth !== "(" && mouth !== ")") return null;
  if (wink && mouth !== ")" && mouth !== "D" && mouth !== "P") return null;
  if (c0 === 61 /* = */ && mouth !== ")" && mouth !== "(" && mouth !== "D" && mouth !== "P") return null;
  emoticonLength = j + 1 - i;
  return (wink ? ";" : ":") + (tear ? "'" : "") + mouth;
}

// ---- the scanner ----------------------------------------------------------------------

const CLAUSE_END = new Uint8Array(128);
for (const ch of ".,;:!?") CLAUSE_END[ch.charCodeAt(0)] = 1;

/**
 * Turns raw text into tokens with the given config (a partial config is validated and
 * completed with DEFAULT_PREPROCESS_CONFIG). Pure and deterministic: the same input and
 * config always give the same tokens, in training and in serving.
 */
export function preprocess(text: string, config?: Partial<PreprocessConfig> | null): string[] {
  if (typeof text !== "string") throw new DataError(`preprocess: document must be a string, got ${text === null ? "null" : typeof text}`);
  return preprocessResolved(text, resolvePreprocessConfig(config));
}

/** Tokens joined by single spaces: the cleaned text, for display and debugging. */
export function preprocessToString(text: string, config?: Partial<PreprocessConfig> | null): string {
  return preprocess(text, config).join(" ");
}

/** preprocess() over many texts with one config resolution. Throws DataError naming the index of a non-string. */
export function preprocessMany(texts: readonly string[], config?: Partial<PreprocessConfig> | null): string[][] {
  const cfg = resolvePreprocessConfig(config);
  const out = new Array<string[]>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (typeof t !== "string") throw new DataError(`preprocess: document ${i} must be a string, got ${t === null ? "null" : typeof t}`);
    out[i] = preprocessResolved(t, cfg);
  }
  return out;
}

/** A reusable `(text) => tokens` with the config resolved once, for hot loops. */
export function createPreprocessor(config?: Partial<PreprocessConfig> | null): (text: string) => string[] {
  const cfg = resolvePreprocessConfig(config);
  return (text: string) => preprocess(text, cfg);
}

function preprocessResolved(text: string, cfg: Readonly<PreprocessConfig>): string[] {
  return scan(normalizeForScan(text, cfg), cfg);
}

/** Steps 1–4 (native string methods), before the scan: the same for preprocess and TokenIdScanner. */
function normalizeForScan(text: string, cfg: Readonly<PreprocessConfig>): string {
  let s = text;
  const ascii = isAscii(s);
  if (cfg.nfkc && !ascii) s = s.normalize("NFKC");
  if (cfg.lowercase) s = s.toLowerCase();
  if (cfg.stripHtml) {
    if (s.indexOf("<") >= 0) s = s.replace(TAG_RE, " ");
    if (s.indexOf("&") >= 0) s = s.replace(ENTITY_RE, decodeEntity);
  }
  if (cfg.removeUrls && URL_HINT_RE.test(s)) s = s.replace(URL_RE, " ");
  return s;
}

function scan(s: string, cfg: Readonly<PreprocessConfig>): string[] {
  const tokens: string[] = [];
  const n = s.length;
  const keepDigits = !cfg.removeDigits;
  const keepPunct = !cfg.removePunctuation;
  const scoping = cfg.negationScope;
  let negating = false;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    let k: number;
    let cp = c;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      cp = s.codePointAt(i) as number;
      width = cp > 0xffff ? 2 : 1;
      k = width === 2 ? classifyCodePoint(cp) : C_OTHER;
    } else {
      k = c < 128 ? BMP_CLASS[c] : bmpClass(c);
    }

    if (k === C_LETTER || (k === C_DIGIT && keepDigits)) {
      // A word: letters/marks/digits, with apostrophes allowed between word characters.
      const start = i;
      let apostrophe = false;
      i += width;
      while (i < n) {
        const d = s.charCodeAt(i);
        let kd: number;
        let w = 1;
        if (d >= 0xd800 && d <= 0xdbff && i + 1 < n) {
          const dcp = s.codePointAt(i) as number;
          w = dcp > 0xffff ? 2 : 1;
          kd = w === 2 ? classifyCodePoint(dcp) : C_OTHER;
        } else {
          kd = d < 128 ? BMP_CLASS[d] : bmpClass(d);
        }
        if (kd === C_LETTER || (kd === C_DIGIT && keepDigits)) {
          i += w;
        } else if ((d === 39 || d === 0x2019) && i + 1 < n && isWordCode(s.charCodeAt(i + 1), keepDigits)) {
          apostrophe = true;
          i++;
        } else {
          break;
        }
      }
      negating = emitWord(s.slice(start, i), apostrophe, cfg, tokens, negating);
      continue;
    }
    if (k === C_SPACE || k === C_IGNORE || k === C_DIGIT) {
      i += width;
      continue;
    }
    if (k === C_EMOJI) {
      if (cfg.emoji) tokens.push(width === 1 ? s[i] : s.slice(i, i + 2));
      i += width;
      continue;
    }
    // Punctuation or symbol.
    if (cfg.emoticons && (c === 58 || c === 59 || c === 61 || c === 60)) {
      const emoticon = matchEmoticon(s, i);
      if (emoticon !== null) {
        tokens.push(emoticon);
        negating = false;
        i += emoticonLength;
        continue;
      }
    }
    if (scoping && c < 128 && CLAUSE_END[c] === 1) negating = false;
    if (keepPunct) tokens.push(width === 1 ? s[i] : s.slice(i, i + 2));
    i += width;
  }
  return tokens;
}

function isWordCode(c: number, keepDigits: boolean): boolean {
  if (c >= 0xd800 && c <= 0xdfff) return false;
  const k = c < 128 ? BMP_CLASS[c] : bmpClass(c);
  return k === C_LETTER || (k === C_DIGIT && keepDigits);
}

/** Applies the per-word steps and pushes 0–2 tokens. Returns the new negation state. */
function emitWord(raw: string, apostrophe: boolean, cfg: Readonly<PreprocessConfig>, tokens: string[], negating: boolean): boolean {
  let word = raw;
  let negatedStem: string | null = null;
  if (apostrophe) {
    const len = word.length;
    const c3 = word.charCodeAt(len - 3);
    const c2 = word.charCodeAt(len - 2);
    const c1 = word.charCodeAt(len - 1);
    if (cfg.expandNegations && (c3 === 110 || c3 === 78) && (c2 === 39 || c2 === 0x2019) && (c1 === 116 || c1 === 84)) {
      // "Xn't" → X + not
      const stem = word.slice(0, len - 3);
      negatedStem = IRREGULAR_NT_STEMS.get(stem.toLowerCase()) ?? stem;
      word = "";
    }
    if (negatedStem !== null) negatedStem = negatedStem.replace(/['’]/g, "");
    else word = word.replace(/['’]/g, "");
  } else if (cfg.expandNegations && (word.charCodeAt(word.length - 1) | 32) === 116 /* t */ && word.length >= 4) {
    const stem = APOSTROPHELESS_NT.get(cfg.lowercase ? word : word.toLowerCase());
    if (stem !== undefined) {
      negatedStem = stem;
      word = "";
    }
  }
  if (negatedStem !== null) {
    if (negatedStem.length > 0) negating = emitPlainWord(negatedStem, cfg, tokens, negating);
    return emitPlainWord("not", cfg, tokens, negating);
  }
  return emitPlainWord(word, cfg, tokens, negating);
}

function emitPlainWord(word: string, cfg: Readonly<PreprocessConfig>, tokens: string[], negating: boolean): boolean {
  const lower = cfg.lowercase ? word : word.toLowerCase();
  // Every negation word starts with 'n' or 'c': skip the Set lookup for the rest (hot path).
  const c0 = lower.charCodeAt(0);
  if ((c0 === 110 || c0 === 99) && NEGATION_WORDS.has(lower)) {
    tokens.push(word);
    return cfg.negationScope;
  }
  if (word.length < cfg.minTokenLength) return negating;
  if (cfg.removeStopwords && ENGLISH_STOP_WORDS.has(lower)) return negating;
  let form = word;
  if (cfg.wordForm === "porter") form = porterStem(lower);
  else if (cfg.wordForm === "lemma") form = lemmatize(lower);
  tokens.push(negating ? NOT_PREFIX + form : form);
  return negating;
}

// ---- token ids without token strings ---------------------------------------------------

/** Token → id of a fitted vocabulary (NgramIndex.atom with intern false), -1 when unknown. */
export interface TokenIdLookup {
  atom(token: string, intern: false): number;
}

/** Whether a URL that removeUrls would cut starts around s[i] = c: "www." ends here or "http://", "https://" has its ':' here (any case). */
function isUrlStart(s: string, i: number, c: number): boolean {
  if (c === 46) return i >= 3 && (s.charCodeAt(i - 3) | 0x20) === 119 && (s.charCodeAt(i - 2) | 0x20) === 119 && (s.charCodeAt(i - 1) | 0x20) === 119;
  if (c !== 58 || s.charCodeAt(i + 1) !== 47 || s.charCodeAt(i + 2) !== 47) return false;
  let j = i - 1;
  if ((s.charCodeAt(j) | 0x20) === 115) j--;
  return (
    j >= 3 &&
    (s.charCodeAt(j - 3) | 0x20) === 104 &&
    (s.charCodeAt(j - 2) | 0x20) === 116 &&
    (s.charCodeAt(j - 1) | 0x20) === 116 &&
    (s.charCodeAt(j) | 0x20) === 112
  );
}

/** Words remembered before the cache is cleared (a stream of unique garbage cannot grow memory without limit). */
const WORD_CACHE_LIMIT = 1 << 18;
const WORD_CACHE_CHARS_LIMIT = 1 << 23;

/**
 * preprocess() fused with the vocabulary lookup: writes the id of each token preprocess(text)
 * would return (-1 for tokens the vocabulary lacks) into `ids`, without building token strings
 * for words seen before. The scan is preprocess's scan, step for step; a word (a run of word
 * characters) is looked up by its UTF-16 code units in a cache that remembers, for both
 * negation states, exactly what emitWord pushed for it (0–2 tokens, as ids) and the state it
 * left — the first sight of a word runs emitWord itself (stop words, negation expansion,
 * stemming, the `not_` prefix), so the ids equal those of preprocess's tokens by construction
 * (test/features/fused-transform.test.ts compares them on every option).
 *
 * Not thread-safe (scratch state); one per vectorizer and thread.
 */
export class TokenIdScanner {
  /** The ids of the last scan()'s tokens, [0, returned count). */
  ids = new Int32Array(256);
  private n = 0;
  // Open-addressing word cache: per slot [hash, entry + 1] (0 = empty), so a probe that misses
  // reads no entry.
  private slots = new Int32Array(2 << 12);
  // Per entry ENTRY_STRIDE ints: [chars start, length, info, id0a, id0b, id1a, id1b, -]; info
  // holds, per negation state s (0 = not negating, 1 = negating), the token count (2 bits) at
  // bit 3s and the next state at bit 3s + 2; id{s}a, id{s}b are that state's 0–2 token ids.
  private meta: Int32Array = new Int32Array(ENTRY_STRIDE << 11);
  // The short-word table (scanAscii): 8 ints per slot, [lo, hi, length | info << 8, id0a, id0b,
  // id1a, id1b, -]; length 0 = empty. Load at most 1/2; at most SHORT_WORDS_LIMIT words (8 MB).
  private short = new Int32Array(8 << 12);
  private shortEntries = 0;
  private chars = new Uint16Array(1 << 14);
  private charsUsed = 0;
  private entries = 0;
  private readonly scratch: string[] = [];
  private readonly cfg: Readonly<PreprocessConfig>;
  // Per ASCII code under this config: ASCII_SKIP, ASCII_WORD or ASCII_OTHER (see scanAscii).
  private readonly asciiKind = new Uint8Array(128);

  /** `cacheLimit`: words remembered before the cache starts over (tests use a small one). */
  constructor(
    config: Readonly<PreprocessConfig>,
    private readonly lookup: TokenIdLookup,
    private readonly cacheLimit = WORD_CACHE_LIMIT,
  ) {
    this.cfg = resolvePreprocessConfig(config);
    for (let c = 0; c < 128; c++) {
      const k = BMP_CLASS[c];
      this.asciiKind[c] = k === C_LETTER || (k === C_DIGIT && !this.cfg.removeDigits) ? ASCII_WORD : k === C_SPACE || k === C_DIGIT ? ASCII_SKIP : ASCII_OTHER;
    }
  }

  /** Scans one raw text; returns how many token ids were written to `ids`. */
  scan(text: string): number {
    if (typeof text !== "string") throw new DataError(`preprocess: document must be a string, got ${text === null ? "null" : typeof text}`);
    const fast = this.scanAscii(text, 0, text.length);
    return fast >= 0 ? fast : this.scanNormalized(normalizeForScan(text, this.cfg));
  }

  /**
   * scan(joined.slice(start, end)) without the slice when it can: `joined` holds many texts,
   * each followed by "\n" (PredictionPool's packed batches). The scan's look-arounds (emoticons,
   * URLs) stop at that separator exactly as they stop at a text's ends.
   */
  scanRange(joined: string, start: number, end: number): number {
    const fast = this.scanAscii(joined, start, end);
    return fast >= 0 ? fast : this.scanNormalized(normalizeForScan(joined.slice(start, end), this.cfg));
  }

  /**
   * The common case without steps 1–4's string copies: a pure-ASCII text with no `<` or `&`
   * (when stripping HTML) and no URL (when removing URLs) is scanned as it is, lowercasing
   * word characters on the fly (ASCII lowercasing is per character, so the cache keys and the
   * tokens are those of the lowercased text). Returns -1, having written nothing that counts,
   * as soon as the text needs steps 1–4; scanNormalized then does the whole text.
   *
   * A word of at most 8 characters is its own exact key: its code units packed 8 bits each
   * into two ints (`hi`:`lo`, the last unit lowest) plus its length, looked up in the
   * short-word table, where one 32-byte slot holds the key and the ids (one cache line per
   * word: the scan waits on memory more than on arithmetic). Longer words go through the
   * general word cache (hash + code units). The lookup is written out here rather than called:
   * this loop is the scoring path's largest cost.
   */
  private scanAscii(s: string, start: number, n: number): number {
    if (n - start + 4 > this.ids.length) this.ids = new Int32Array(Math.max(n - start + 4, this.ids.length * 2));
    const cfg = this.cfg;
    const kind = this.asciiKind;
    const fold = cfg.lowercase ? 0x20 : 0;
    const ids = this.ids;
    let m = 0;
    let negating = 0;
    let i = start;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 128) return -1;
      const k = kind[c];
      if (k === ASCII_WORD) {
        const from = i;
        let lo = c | fold;
        let hi = 0;
        let len = 1;
        i++;
        while (i < n) {
          const d = s.charCodeAt(i);
          if (d >= 128) return -1;
          let ch = d | fold;
          if (kind[d] !== ASCII_WORD) {
            if (d !== 39 || i + 1 >= n) break;
            const e = s.charCodeAt(i + 1);
            if (e >= 128) return -1;
            if (kind[e] !== ASCII_WORD) break;
            ch = 39;
          }
          // The last 8 code units, 8 bits each, shifted through hi:lo without a branch.
          hi = (hi << 8) | (lo >>> 24);
          lo = (lo << 8) | ch;
          len++;
          i++;
        }
        let table: Int32Array;
        let base: number;
        if (len <= 8) {
          table = this.short;
          const mask = (table.length >> 3) - 1;
          let h = Math.imul(lo ^ Math.imul(hi ^ len, 0x9e3779b1), 0x85ebca77);
          let p = (h ^ (h >>> 15)) & mask;
          for (;;) {
            base = p << 3;
            const key = table[base + 2] & 0xff;
            if (key === len && table[base] === lo && table[base + 1] === hi) break;
            if (key === 0) {
              base = this.learnShort(s, from, i, lo, hi, len, fold);
              table = this.short;
              break;
            }
            p = (p + 1) & mask;
          }
          h = table[base + 2] >> (8 + 3 * negating);
          ids[m] = table[base + 3 + 2 * negating];
          ids[m + 1] = table[base + 4 + 2 * negating];
          // Both id slots are written whatever the count (ids has room for 2 more): no branch on it.
          m += h & 3;
          negating = (h >> 2) & 1;
        } else {
          let h = 0x811c9dc5;
          for (let q = from; q < i; q++) h = Math.imul(h ^ (s.charCodeAt(q) | fold), 0x01000193);
          let e = this.find(s, from, len, h, fold);
          if (e < 0) e = this.learn(s, from, i, h, fold);
          table = this.meta;
          base = e * ENTRY_STRIDE;
          const info = table[base + 2] >> (3 * negating);
          ids[m] = table[base + 3 + 2 * negating];
          ids[m + 1] = table[base + 4 + 2 * negating];
          m += info & 3;
          negating = (info >> 2) & 1;
        }
        continue;
      }
      if (k === ASCII_SKIP) {
        i++;
        continue;
      }
      if ((c === 60 || c === 38) && cfg.stripHtml) return -1;
      if ((c === 46 || c === 58) && cfg.removeUrls && isUrlStart(s, i, c)) return -1;
      if (cfg.emoticons && (c === 58 || c === 59 || c === 61 || c === 60)) {
        const emoticon = matchEmoticon(s, i);
        if (emoticon !== null) {
          // The emoticon's own characters may not end the text's ASCII part: a later non-ASCII character still bails out.
          ids[m++] = this.lookup.atom(emoticon, false);
          negating = 0;
          i += emoticonLength;
          continue;
        }
      }
      if (CLAUSE_END[c] === 1 && cfg.negationScope) negating = 0;
      if (!cfg.removePunctuation) ids[m++] = this.lookup.atom(s[i], false);
      i++;
    }
    this.n = m;
    return m;
  }

  /**
   * First sight of a short ASCII word (key lo, hi, len: see scanAscii): its ids in both
   * negation states into a free slot of the short-word table; returns the slot's offset.
   */
  private learnShort(s: string, start: number, end: number, lo: number, hi: number, len: number, fold: number): number {
    if (this.shortEntries >= Math.min(this.cacheLimit, SHORT_WORDS_LIMIT)) this.clearShort();
    if (2 * (this.shortEntries + 1) > this.short.length >> 3) {
      // Keep the load at most 1/2 (a miss probes until an empty slot): grow and re-insert.
      const old = this.short;
      this.short = new Int32Array(old.length * 2);
      for (let b = 0; b < old.length; b += 8)
        if ((old[b + 2] & 0xff) !== 0) this.short.set(old.subarray(b, b + 8), this.shortSlot(old[b], old[b + 1], old[b + 2] & 0xff));
    }
    const base = this.shortSlot(lo, hi, len);
    const t = this.short;
    t[base] = lo;
    t[base + 1] = hi;
    t[base + 2] = len | (this.wordIds(s, start, end, fold, t, base + 3) << 8);
    this.shortEntries++;
    return base;
  }

  /** The offset of the slot key (lo, hi, len) is in or would go to (the first empty one on its probe path). */
  private shortSlot(lo: number, hi: number, len: number): number {
    const t = this.short;
    const mask = (t.length >> 3) - 1;
    const h = Math.imul(lo ^ Math.imul(hi ^ len, 0x9e3779b1), 0x85ebca77);
    let p = (h ^ (h >>> 15)) & mask;
    while ((t[(p << 3) + 2] & 0xff) !== 0 && !(t[p << 3] === lo && t[(p << 3) + 1] === hi && (t[(p << 3) + 2] & 0xff) === len)) p = (p + 1) & mask;
    return p << 3;
  }

  private clearShort(): void {
    this.short.fill(0);
    this.shortEntries = 0;
  }

  private scanNormalized(s: string): number {
    // A text of n code units yields at most n + 1 tokens (a word yields at most 2 and has 2+ units, or is "xnt" → 2).
    if (s.length + 2 > this.ids.length) this.ids = new Int32Array(Math.max(s.length + 2, this.ids.length * 2));
    this.n = 0;
    const cfg = this.cfg;
    const n = s.length;
    const keepDigits = !cfg.removeDigits;
    const keepPunct = !cfg.removePunctuation;
    const scoping = cfg.negationScope;
    let negating = false;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      let k: number;
      let width = 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const cp = s.codePointAt(i) as number;
        width = cp > 0xffff ? 2 : 1;
        k = width === 2 ? classifyCodePoint(cp) : C_OTHER;
      } else {
        k = c < 128 ? BMP_CLASS[c] : bmpClass(c);
      }

      if (k === C_LETTER || (k === C_DIGIT && keepDigits)) {
        const start = i;
        let h = Math.imul(0x811c9dc5 ^ c, 0x01000193);
        if (width === 2) h = Math.imul(h ^ s.charCodeAt(i + 1), 0x01000193);
        i += width;
        while (i < n) {
          const d = s.charCodeAt(i);
          let kd: number;
          let w = 1;
          if (d >= 0xd800 && d <= 0xdbff && i + 1 < n) {
            const dcp = s.codePointAt(i) as number;
            w = dcp > 0xffff ? 2 : 1;
            kd = w === 2 ? classifyCodePoint(dcp) : C_OTHER;
          } else {
            kd = d < 128 ? BMP_CLASS[d] : bmpClass(d);
          }
          if (kd === C_LETTER || (kd === C_DIGIT && keepDigits)) {
            h = Math.imul(h ^ d, 0x01000193);
            if (w === 2) h = Math.imul(h ^ s.charCodeAt(i + 1), 0x01000193);
            i += w;
          } else if ((d === 39 || d === 0x2019) && i + 1 < n && isWordCode(s.charCodeAt(i + 1), keepDigits)) {
            h = Math.imul(h ^ d, 0x01000193);
            i++;
          } else {
            break;
          }
        }
        negating = this.word(s, start, i, h, negating);
        continue;
      }
      if (k === C_SPACE || k === C_IGNORE || k === C_DIGIT) {
        i += width;
        continue;
      }
      if (k === C_EMOJI) {
        if (cfg.emoji) this.ids[this.n++] = this.lookup.atom(width === 1 ? s[i] : s.slice(i, i + 2), false);
        i += width;
        continue;
      }
      if (cfg.emoticons && (c === 58 || c === 59 || c === 61 || c === 60)) {
        const emoticon = matchEmoticon(s, i);
        if (emoticon !== null) {
          this.ids[this.n++] = this.lookup.atom(emoticon, false);
          negating = false;
          i += emoticonLength;
          continue;
        }
      }
      if (scoping && c < 128 && CLAUSE_END[c] === 1) negating = false;
      if (keepPunct) this.ids[this.n++] = this.lookup.atom(width === 1 ? s[i] : s.slice(i, i + 2), false);
      i += width;
    }
    return this.n;
  }

  /** Emits the ids of word s[start, end) (hash h of its code units) for the negation state; returns the next state. */
  private word(s: string, start: number, end: number, h: number, negating: boolean): boolean {
    let e = this.find(s, start, end - start, h, 0);
    if (e < 0) e = this.learn(s, start, end, h, 0);
    const state = negating ? 1 : 0;
    const base = e * ENTRY_STRIDE;
    const info = this.meta[base + 2] >> (3 * state);
    const count = info & 3;
    if (count > 0) {
      this.ids[this.n++] = this.meta[base + 3 + 2 * state];
      if (count > 1) this.ids[this.n++] = this.meta[base + 4 + 2 * state];
    }
    return ((info >> 2) & 1) === 1;
  }

  /** The entry of the word s[start, start + len) (its code units OR-ed with `fold`, see learn), or -1. */
  private find(s: string, start: number, len: number, h: number, fold: number): number {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    let p = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const v = slots[2 * p + 1];
      if (v === 0) return -1;
      if (slots[2 * p] === h) {
        const base = (v - 1) * ENTRY_STRIDE;
        if (this.meta[base + 1] === len) {
          const at = this.meta[base];
          let q = 0;
          while (q < len && this.chars[at + q] === (s.charCodeAt(start + q) | fold)) q++;
          if (q === len) return v - 1;
        }
      }
      p = (p + 1) & mask;
    }
  }

  /**
   * First sight of a word: runs preprocess's own per-word step in both negation states and
   * remembers the ids. `fold` is 0x20 only for the ASCII scan with lowercasing: a word there
   * holds only letters, digits and `'`, and OR-ing 0x20 lowercases A–Z while leaving digits
   * (0x30–0x39) and `'` (0x27) as they are.
   */
  private learn(s: string, start: number, end: number, h: number, fold: number): number {
    const len = end - start;
    if (this.entries >= this.cacheLimit || this.charsUsed + len > WORD_CACHE_CHARS_LIMIT) this.clear();
    if (4 * (this.entries + 1) > this.slots.length) this.growSlots();
    const e = this.entries++;
    if ((e + 1) * ENTRY_STRIDE > this.meta.length) {
      const grown = new Int32Array(this.meta.length * 2);
      grown.set(this.meta);
      this.meta = grown;
    }
    if (this.charsUsed + len > this.chars.length) {
      const grown = new Uint16Array(Math.max(this.charsUsed + len, this.chars.length * 2));
      grown.set(this.chars.subarray(0, this.charsUsed));
      this.chars = grown;
    }
    for (let q = 0; q < len; q++) this.chars[this.charsUsed + q] = s.charCodeAt(start + q) | fold;
    const base = e * ENTRY_STRIDE;
    const meta = this.meta;
    meta[base] = this.charsUsed;
    meta[base + 1] = len;
    this.charsUsed += len;
    meta[base + 2] = this.wordIds(s, start, end, fold, meta, base + 3);
    this.insertSlot(e, h);
    return e;
  }

  /**
   * What emitWord pushes for the word s[start, end) in each negation state, as ids: state 0's
   * 0–2 ids at out[at], out[at + 1], state 1's at out[at + 2], out[at + 3]. Returns the info
   * bits: per state s, the count at bit 3s and the next state at bit 3s + 2.
   */
  private wordIds(s: string, start: number, end: number, fold: number, out: Int32Array, at: number): number {
    // With fold set the text is ASCII and lowercasing is wanted: lowercasing the word equals lowercasing the text.
    const raw = fold !== 0 ? s.slice(start, end).toLowerCase() : s.slice(start, end);
    const apostrophe = raw.indexOf("'") >= 0 || raw.indexOf("\u2019") >= 0;
    let info = 0;
    for (let state = 0; state < 2; state++) {
      const tokens = this.scratch;
      tokens.length = 0;
      const next = emitWord(raw, apostrophe, this.cfg, tokens, state === 1);
      info |= (tokens.length | (next ? 4 : 0)) << (3 * state);
      for (let t = 0; t < 2; t++) out[at + 2 * state + t] = t < tokens.length ? this.lookup.atom(tokens[t], false) : -1;
    }
    return info;
  }

  private insertSlot(e: number, h: number): void {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    let p = (h ^ (h >>> 15)) & mask;
    while (slots[2 * p + 1] !== 0) p = (p + 1) & mask;
    slots[2 * p] = h;
    slots[2 * p + 1] = e + 1;
  }

  private growSlots(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    for (let p = 0; p < old.length; p += 2) if (old[p + 1] !== 0) this.insertSlot(old[p + 1] - 1, old[p]);
  }

  private clear(): void {
    this.slots.fill(0);
    this.entries = 0;
    this.charsUsed = 0;
  }
}

/** Short words remembered before the short-word table starts over (its slots then take 8 MB). */
const SHORT_WORDS_LIMIT = 1 << 17;
/** Ints per word-cache entry (TokenIdScanner.meta). */
const ENTRY_STRIDE = 8;
/** TokenIdScanner.asciiKind: a separator (whitespace; a digit with removeDigits), a word character, anything else. */
const ASCII_SKIP = 0;
const ASCII_WORD = 1;
const ASCII_OTHER = 2;
