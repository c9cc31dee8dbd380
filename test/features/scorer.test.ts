import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadUciSentences } from "../../src/data/builtin.js";
import type { FeatureOptions } from "../../src/features/factory.js";
import { FusedScorer } from "../../src/features/scorer.js";
import { SentimentModel, type ClassifierOptions } from "../../src/models/sentiment-model.js";
import { LIGHT_PREPROCESS_CONFIG, preprocessMany, type PreprocessConfig } from "../../src/text/preprocess.js";
import { Random } from "../../src/util/random.js";

/**
 * The fused scorer (src/features/scorer.ts, wired into SentimentModel.predictProba /
 * predictProbaInto / predictProbaPacked) must give bit for bit what the classic path gives:
 * preprocess → token arrays → vectorizer.transform (a CSR matrix) → classifier.predictProba,
 * on every feature option, every linear classifier and link, and on odd input.
 */

const { texts: uci, labels: uciLabels } = loadUciSentences();

/** Unicode, emoji, markup, URLs, emoticons, negations, empty and very long texts. */
const HOSTILE = [
  "",
  " ",
  "\n",
  "a",
  "Don't DON'T dont can't won’t ain't isn’t it's I'm rock'n'roll 'quoted' end'",
  "Not GOOD at all. Great!!! never, ever; fine: ok? no good good good bad bad",
  "nothing good :) not bad :( :D :-) ;) :P :/ http://x.y :| :O :'( <3 </3 =) re:Design",
  "<b>Bold</b> &amp; &lt;tag&gt; &#39;quoted&#39; &nbsp;&eacute;t&eacute; <br /> a < b & c",
  "Visit WWW.Example.COM or HTTPS://foo.bar/x?y=1 or http:/x www-not.url",
  "mp3 2024 R2D2 4ever 3.14 ①②③ ５０ ｆｕｌｌｗｉｄｔｈ ﬁne",
  "Café naïve résumé ÉCOLE straße İstanbul ΣΊΣΥΦΟΣ",
  "日本語のテキスト 中文 한국어 العربية עברית हिन्दी",
  "emoji 😀😃 👍🏽 👨‍👩‍👧 ❤️ ✨ 🇫🇷 © ® 1️⃣ \ufeff",
  "lone \ud800 surrogate \udc00 x\ud83dy \ud83d",
  "tabs\tand\nnewlines\r\nand\u00a0nbsp",
  "good ".repeat(3000),
  "x".repeat(5000),
  Array.from({ length: 2000 }, (_, i) => `word${i % 97} not good${i % 5 === 0 ? "." : ""} bad`).join(" "),
];

/** Seeded random texts: UCI words and odd pieces glued in random order and spacing. */
function randomTexts(seed: number, n: number): string[] {
  const rng = new Random(seed);
  const words = uci.slice(0, 300).join(" ").split(/\s+/);
  const odd = ["😀", "é", "İ", ":)", ":(", "not", "n't", "<b>", "&amp;", "www.x.y", "!", ",", ".", "\ud800", "  ", "\t", "GOOD", "Bad"];
  return Array.from({ length: n }, () => {
    const len = rng.nextInt(30);
    let t = "";
    for (let i = 0; i < len; i++) {
      t += rng.nextInt(4) === 0 ? odd[rng.nextInt(odd.length)] : words[rng.nextInt(words.length)];
      if (rng.nextInt(5) !== 0) t += " ";
    }
    return t;
  });
}

const PROBE = [...uci.slice(2000, 2600), ...HOSTILE, ...randomTexts(11, 400)];

/** The classic path's probabilities (token arrays, a CSR matrix, the classifier's own predictProba). */
function classic(model: SentimentModel, texts: readonly string[]): Float64Array {
  return model.classifier.predictProba(model.vectorizer.transform(preprocessMany(texts, model.preprocessConfig)));
}

function assertSameBits(got: Float64Array, want: Float64Array, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}: entry ${i} is ${got[i]}, the classic path gives ${want[i]}`);
  }
}

function usesFused(model: SentimentModel): boolean {
  model.predictProba(["warm up"]);
  return (model as unknown as { fused: unknown }).fused !== null;
}

/** Labels for k classes: the UCI labels, with every third text moved to class 2 when k = 3. */
function labelsFor(k: number): number[] {
  return uciLabels.map((l, i) => (k === 3 && i % 3 === 0 ? 2 : l));
}

interface Case {
  name: string;
  preprocess?: Partial<PreprocessConfig>;
  features: FeatureOptions;
  model: ClassifierOptions;
  classes: 2 | 3;
}

/** Every feature option value at least once, over every linear classifier and link. */
const CASES: Case[] = [
  {
    name: "tfidf 1-2 sublinear + logreg (sigmoid)",
    features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true },
    model: { kind: "logreg", C: 10 },
    classes: 2,
  },
  { name: "tfidf 1-1 l1 + logreg ovr (3 classes)", features: { kind: "tfidf", norm: "l1" }, model: { kind: "logreg", multiClass: "ovr" }, classes: 3 },
  {
    name: "tfidf 1-2 + logreg multinomial (3 classes)",
    features: { kind: "tfidf", ngramRange: [1, 2] },
    model: { kind: "logreg", multiClass: "multinomial" },
    classes: 3,
  },
  { name: "tfidf + logreg multinomial (2 classes)", features: { kind: "tfidf" }, model: { kind: "logreg", multiClass: "multinomial" }, classes: 2 },
  {
    name: "tfidf 1-3 norm none, no idf + logreg",
    features: { kind: "tfidf", ngramRange: [1, 3], norm: null, useIdf: false },
    model: { kind: "logreg" },
    classes: 2,
  },
  {
    name: "tfidf 2-3 smoothIdf false, minDf 2 + logreg",
    features: { kind: "tfidf", ngramRange: [2, 3], smoothIdf: false, minDf: 2 },
    model: { kind: "logreg" },
    classes: 2,
  },
  {
    name: "tfidf binary sublinear l1 + svm (sigmoid)",
    features: { kind: "tfidf", binary: true, sublinearTf: true, norm: "l1" },
    model: { kind: "svm" },
    classes: 2,
  },
  { name: "tfidf 1-2 + svm (3 classes, softmax)", features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "svm" }, classes: 3 },
  { name: "bow 1-2 + nb", features: { kind: "bow", ngramRange: [1, 2] }, model: { kind: "nb" }, classes: 2 },
  { name: "bow binary 1-3 + nb (3 classes)", features: { kind: "bow", ngramRange: [1, 3], binary: true }, model: { kind: "nb" }, classes: 3 },
  { name: "bow maxFeatures 500 + logreg", features: { kind: "bow", maxFeatures: 500 }, model: { kind: "logreg" }, classes: 2 },
  { name: "bow 1-2 + nbsvm (binarised, sigmoid)", features: { kind: "bow", ngramRange: [1, 2] }, model: { kind: "nbsvm" }, classes: 2 },
  { name: "tfidf 1-2 + nbsvm (3 classes, one-vs-rest)", features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "nbsvm" }, classes: 3 },
  {
    name: "light, punctuation kept, no lowercase + tfidf 1-2",
    preprocess: { ...LIGHT_PREPROCESS_CONFIG, removePunctuation: false, lowercase: false },
    features: { kind: "tfidf", ngramRange: [1, 2] },
    model: { kind: "logreg" },
    classes: 2,
  },
  {
    name: "lemma, minTokenLength 3, digits removed + bow",
    preprocess: { wordForm: "lemma", minTokenLength: 3, removeDigits: true },
    features: { kind: "bow" },
    model: { kind: "nb" },
    classes: 2,
  },
  {
    name: "no html/url/nfkc steps, no emoji/emoticons + tfidf",
    preprocess: { stripHtml: false, removeUrls: false, nfkc: false, emoji: false, emoticons: false, expandNegations: false },
    features: { kind: "tfidf", ngramRange: [1, 2] },
    model: { kind: "logreg" },
    classes: 2,
  },
];

describe("the fused scorer equals the classic path bit for bit", { timeout: 240_000 }, () => {
  for (const c of CASES) {
    test(c.name, () => {
      const y = labelsFor(c.classes);
      const model = SentimentModel.train(uci.slice(0, 1500), y.slice(0, 1500), { preprocess: c.preprocess, features: c.features, model: c.model });
      assert.ok(usesFused(model), "this model takes the fused path");
      const want = classic(model, PROBE);
      assertSameBits(model.predictProba(PROBE), want, "predictProba");
      // predictProbaInto at an offset, into a caller's buffer.
      const k = model.classes.length;
      const out = new Float64Array((PROBE.length + 3) * k).fill(7);
      model.predictProbaInto(PROBE, 10, PROBE.length, out, 3);
      assertSameBits(out.subarray(3 * k, (3 + PROBE.length - 10) * k), want.subarray(10 * k), "predictProbaInto");
      assert.deepEqual(Array.from(out.subarray(0, 3 * k)), new Array(3 * k).fill(7), "rows before outRow untouched");
      // Packed texts, read in place.
      const packed = SentimentModel.packTexts(PROBE);
      const outPacked = new Float64Array(PROBE.length * k);
      model.predictProbaPacked(packed.joined, packed.starts, outPacked, 0);
      assertSameBits(outPacked, want, "predictProbaPacked");
      // A model rebuilt from its binary file (typed-array views) scores the same.
      assertSameBits(SentimentModel.fromBinary(model.toBinary()).predictProba(PROBE), want, "after toBinary/fromBinary");
    });
  }

  test("seeded random option combinations", () => {
    const rng = new Random(2024);
    const pick = <T>(xs: readonly T[]): T => xs[rng.nextInt(xs.length)];
    for (let round = 0; round < 8; round++) {
      const lo = 1 + rng.nextInt(2);
      const features: FeatureOptions = pick<FeatureOptions>([
        { kind: "bow", ngramRange: [lo, lo + rng.nextInt(2)], binary: rng.nextInt(2) === 0 },
        {
          kind: "tfidf",
          ngramRange: [lo, lo + rng.nextInt(2)],
          binary: rng.nextInt(2) === 0,
          sublinearTf: rng.nextInt(2) === 0,
          norm: pick(["l1", "l2", null] as const),
          useIdf: rng.nextInt(3) !== 0,
          smoothIdf: rng.nextInt(2) === 0,
        },
      ]);
      const model: ClassifierOptions = pick<ClassifierOptions>([
        { kind: "logreg", C: 3 },
        { kind: "nb" },
        { kind: "svm" },
        { kind: "nbsvm" },
        { kind: "logreg", multiClass: "ovr" },
      ]);
      const classes = rng.nextInt(2) === 0 ? 2 : 3;
      const preprocess: Partial<PreprocessConfig> = rng.nextInt(2) === 0 ? {} : { ...LIGHT_PREPROCESS_CONFIG, negationScope: rng.nextInt(2) === 0 };
      const what = JSON.stringify({ features, model, classes, preprocess });
      const y = labelsFor(classes);
      const m = SentimentModel.train(uci.slice(0, 1200), y.slice(0, 1200), { preprocess, features, model });
      assert.ok(usesFused(m), what);
      assertSameBits(m.predictProba(PROBE), classic(m, PROBE), what);
    }
  });

  test("token arrays and strings mixed in one call: token arrays take the CSR path, rows stay in place", () => {
    const model = SentimentModel.train(uci.slice(0, 1500), uciLabels.slice(0, 1500), {
      features: { kind: "tfidf", ngramRange: [1, 2] },
      model: { kind: "logreg" },
    });
    const texts = uci.slice(2000, 2100);
    const tokens = preprocessMany(texts, model.preprocessConfig);
    const mixed = texts.map((t, i) => (i % 2 === 0 ? t : tokens[i]));
    assertSameBits(model.predictProba(mixed), classic(model, texts), "mixed");
    assert.throws(() => model.predictProba(["fine", 42 as unknown as string]), /document 1 must be a string or an array of tokens/);
  });

  test("replacing the classifier's coefficients rebuilds the scorer", () => {
    const model = SentimentModel.train(uci.slice(0, 1500), uciLabels.slice(0, 1500), { features: { kind: "tfidf" }, model: { kind: "logreg" } });
    const before = model.predictProba(PROBE);
    const clf = model.classifier as unknown as { coef: Float64Array; intercept: Float64Array };
    clf.coef = clf.coef.map((w) => -2 * w);
    clf.intercept = clf.intercept.map((b) => b + 1);
    const after = model.predictProba(PROBE);
    assertSameBits(after, classic(model, PROBE), "after the coefficients changed");
    assert.notDeepEqual(Array.from(after), Array.from(before));
  });

  test("models the scorer does not reproduce score through the CSR path, unchanged", () => {
    const lexicon = SentimentModel.train(uci.slice(0, 1000), uciLabels.slice(0, 1000), {
      features: { kind: "tfidf", ngramRange: [1, 2], lexicon: "afinn" },
      model: { kind: "logreg" },
    });
    assert.equal(usesFused(lexicon), false, "the lexicon block reads token strings");
    assertSameBits(lexicon.predictProba(PROBE), classic(lexicon, PROBE), "lexicon");
    const forest = SentimentModel.train(uci.slice(0, 600), uciLabels.slice(0, 600), {
      features: { kind: "tfidf" },
      model: { kind: "rf", nEstimators: 5, seed: 1 },
    });
    assert.equal(usesFused(forest), false, "tree ensembles are not linear");
    assertSameBits(forest.predictProba(PROBE), classic(forest, PROBE), "random forest");
  });

  test("FusedScorer.create refuses a head that does not fit the vectorizer's columns", () => {
    const model = SentimentModel.train(uci.slice(0, 500), uciLabels.slice(0, 500), { features: { kind: "tfidf" }, model: { kind: "logreg" } });
    const d = model.nFeatures;
    const ok = { coef: new Float64Array(d), intercept: new Float64Array(1), rows: 1, nFeatures: d, binarize: false };
    assert.ok(FusedScorer.create(model.vectorizer, ok) !== null);
    assert.equal(FusedScorer.create(model.vectorizer, { ...ok, nFeatures: d + 1 }), null);
    assert.equal(FusedScorer.create(model.vectorizer, { ...ok, coef: new Float64Array(d - 1) }), null);
    assert.equal(FusedScorer.create(model.vectorizer, { ...ok, rows: 2 }), null);
  });
});
