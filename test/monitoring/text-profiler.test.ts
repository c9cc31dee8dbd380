import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TextProfiler, type ProfiledModel } from "../../src/monitoring/profile.js";
import { preprocess, type PreprocessConfig } from "../../src/text/preprocess.js";

/**
 * TextProfiler scans with the serving scorer's TokenIdScanner (token codes, a word cache)
 * instead of preprocess() + Sets; its counts must be exactly those of the plain definition:
 * tokens = preprocess(text).length, OOV = tokens that are not vocabulary unigrams, and each
 * top term counted once per document that contains it.
 */

const CORPUS = [
  "I really liked this film, the acting was great!",
  "Don't buy it. Not good at all :( and the battery dies",
  "Wasn't bad... actually quite nice :) 10/10 would recommend",
  "The café's crème brûlée was ＦＵＬＬ-width perfect 😀😀",
  "<b>terrible</b> &amp; awful service, see https://example.com/x or www.example.org",
  "good good good good, never not good",
  "Can't stand it; couldn't care less. Nothing works.",
  "running runners ran quickly; the jumps jumped",
  "42 is the answer, 3.14 is pi, and 2nd place isn't bad",
  "ok",
  "!!! ??? ...",
  "A movie that I would not watch again, no way :-) ;)",
];

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded texts made of the corpus's words in new orders, with repeats (a word twice in one document counts once). */
function shuffledTexts(n: number, seed: number): string[] {
  const rand = mulberry32(seed);
  const words = CORPUS.join(" ").split(/\s+/);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(rand() * 14);
    const parts: string[] = [];
    for (let j = 0; j < len; j++) parts.push(words[Math.floor(rand() * words.length)]);
    out.push(parts.join(rand() < 0.2 ? "  " : " "));
  }
  return out;
}

/** A vocabulary of about half the corpus's tokens (so there are OOV tokens) plus a bigram, and top terms among and outside it. */
function fixture(config: Partial<PreprocessConfig>): { model: ProfiledModel; top: string[]; vocab: Set<string> } {
  const tokens = [...new Set(CORPUS.flatMap((t) => preprocess(t, config)))].sort();
  const vocab = new Set(tokens.filter((_, i) => i % 2 === 0));
  const features = [...vocab, "not good", "the acting"];
  // Top terms: some vocabulary unigrams and one token the vocabulary lacks (the profile never has one, the code must still be exact).
  const top = [...vocab].slice(0, 7).concat(tokens.find((t) => !vocab.has(t)) ?? "zzz");
  const model: ProfiledModel = {
    classes: [0, 1],
    preprocessConfig: config as Readonly<PreprocessConfig>,
    vectorizer: { getFeatureNames: () => features },
    predictProba: () => new Float64Array(0),
    metadata: {},
  };
  return { model, top, vocab };
}

function expected(text: string, config: Partial<PreprocessConfig>, vocab: Set<string>, top: string[]): { tokens: number; oov: number; df: number[] } {
  const toks = preprocess(text, config);
  const present = new Set(toks);
  return { tokens: toks.length, oov: toks.filter((t) => !vocab.has(t)).length, df: top.map((t) => (present.has(t) ? 1 : 0)) };
}

const CONFIGS: Partial<PreprocessConfig>[] = [
  {},
  { negationScope: false },
  { removePunctuation: false },
  { wordForm: "none", removeStopwords: false },
  { removeDigits: true, emoticons: false, emoji: false },
  { lowercase: false, nfkc: false, stripHtml: false, removeUrls: false },
  { minTokenLength: 3, expandNegations: false },
];

describe("TextProfiler", () => {
  for (const config of CONFIGS) {
    test(`counts tokens, OOV tokens and top-term documents exactly as preprocess() + the vocabulary: ${JSON.stringify(config)}`, () => {
      const { model, top, vocab } = fixture(config);
      const profiler = new TextProfiler(model, top);
      // Twice over: the second pass reads the scanner's word cache.
      const texts = [...CORPUS, ...shuffledTexts(200, 7), ...CORPUS];
      const df = new Float64Array(top.length);
      const want = new Array<number>(top.length).fill(0);
      let oovSeen = 0;
      for (const text of texts) {
        const one = new Float64Array(top.length);
        const got = profiler.observe(text, one);
        const e = expected(text, config, vocab, top);
        assert.deepEqual(got, { tokens: e.tokens, oov: e.oov }, text);
        assert.deepEqual([...one], e.df, text);
        for (let j = 0; j < top.length; j++) {
          df[j] += one[j];
          want[j] += e.df[j];
        }
        oovSeen += e.oov;
        profiler.observe(text, df);
        for (let j = 0; j < top.length; j++) want[j] += e.df[j];
      }
      assert.deepEqual([...df], want);
      assert.ok(oovSeen > 0, "the fixture has OOV tokens");
      assert.ok(
        want.some((c) => c > 0),
        "the fixture has top terms",
      );
    });
  }
});
