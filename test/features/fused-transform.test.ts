import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadUciSentences } from "../../src/data/builtin.js";
import { createVectorizer, type FeatureOptions } from "../../src/features/factory.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import {
  DEFAULT_PREPROCESS_CONFIG,
  LIGHT_PREPROCESS_CONFIG,
  TokenIdScanner,
  preprocess,
  preprocessMany,
  resolvePreprocessConfig,
  type PreprocessConfig,
} from "../../src/text/preprocess.js";
import { Random } from "../../src/util/random.js";

/**
 * The fused transform (TokenIdScanner: token ids straight from the characters, with a word
 * cache) must give exactly what preprocess + the token-array transform give, for every
 * preprocessing option and on odd input.
 */

const { texts: uci } = loadUciSentences();

const ODD = [
  "",
  "   ",
  "a",
  "I",
  "Don't DON'T dont DONT can't won’t ain't isn’t it's I'm o'clock rock'n'roll 'quoted' end'",
  "Not GOOD at all. Great!!! never, ever; fine: ok? no",
  "nothing good :) not bad :( :D :-) ;) :P :p :/ http://x.y :| :O :'( <3 </3 =) =] :] :[ re:Design a:p :DD x:Dy",
  "<b>Bold</b> &amp; &lt;tag&gt; &#39;quoted&#39; &#x27;x&#x27; &nbsp;&eacute;t&eacute; &bogus; <br /> a < b & c",
  "Visit WWW.Example.COM or HTTPS://foo.bar/x?y=1 or http:/x or xhttps://y.z and www-not.url wwW.x httpss://q Https://Z",
  "mp3 2024 R2D2 4ever 3.14 1,000,000 ①②③ ５０ ｆｕｌｌｗｉｄｔｈ ﬁne ligatures",
  "Café naïve résumé ÉCOLE straße İstanbul ΣΊΣΥΦΟΣ Ωmega ǅemal",
  "日本語のテキスト 中文 한국어 العربية עברית हिन्दी",
  "emoji 😀😃 👍🏽 👨‍👩‍👧 ❤️ ✨ 🇫🇷 © ® ™ 1️⃣ ‍ ‌ \ufeff",
  "lone \ud800 surrogate \udc00 x\ud83dy \ud83d",
  "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em\u3000ideographic",
  'under_score hyphen-ated slash/ed dot.ted (paren) [bracket] {brace} "quote" `tick` ~tilde^ |pipe| \\back',
  "NOT not_already not! never.never nor cannot CANNOT Cannot nobody nowhere none neither",
  "The the THE tHe a an and of was were is be being been have has had",
  "running runs ran easily fairly cats caresses ponies generously",
  "x".repeat(5000),
  Array.from({ length: 3000 }, (_, i) => `word${i % 97} not${i % 5 === 0 ? "." : ""}`).join(" "),
];

/** Seeded random texts over an alphabet of the characters preprocessing treats specially. */
function randomTexts(seed: number, n: number): string[] {
  const rng = new Random(seed);
  const pieces = [
    "a",
    "B",
    "not",
    "don't",
    "DONT",
    "good",
    "bad",
    "the",
    "é",
    "İ",
    "ß",
    "😀",
    "👍🏽",
    "\u200d",
    "\ufe0f",
    ":",
    ")",
    "(",
    "D",
    "<",
    ">",
    "&",
    "amp;",
    "#39;",
    "/",
    "www.",
    "http://",
    "HTTPS://",
    ".",
    ",",
    "!",
    "?",
    ";",
    "'",
    "’",
    "3",
    "mp3",
    " ",
    " ",
    " ",
    "\t",
    "\n",
    "_",
    "-",
    "ｆ",
    "ﬁ",
    "\ud800",
    "\udc00",
    "<b>",
  ];
  return Array.from({ length: n }, () => {
    let t = "";
    const len = rng.nextInt(40);
    for (let i = 0; i < len; i++) t += pieces[rng.nextInt(pieces.length)];
    return t;
  });
}

const CORPUS = [...uci.slice(0, 400), ...ODD, ...randomTexts(5, 600)];

/** Every option moved away from the default once, plus the light and a few combined configs. */
function configs(): Array<[string, Partial<PreprocessConfig>]> {
  const out: Array<[string, Partial<PreprocessConfig>]> = [
    ["default", {}],
    ["light", { ...LIGHT_PREPROCESS_CONFIG }],
    ["lemma", { wordForm: "lemma" }],
    ["minTokenLength 3", { minTokenLength: 3 }],
    ["light, keep punctuation, no lowercase", { ...LIGHT_PREPROCESS_CONFIG, removePunctuation: false, lowercase: false }],
  ];
  for (const [key, value] of Object.entries(DEFAULT_PREPROCESS_CONFIG)) {
    if (typeof value === "boolean") out.push([`${key}: ${!value}`, { [key]: !value }]);
  }
  return out;
}

/** A lookup that knows every token it is asked for: ids then name the exact token sequence. */
function internAll(): { atom(t: string, intern: false): number; names: string[] } {
  const ids = new Map<string, number>();
  const names: string[] = [];
  return {
    names,
    atom(t: string): number {
      let id = ids.get(t);
      if (id === undefined) {
        id = names.length;
        ids.set(t, id);
        names.push(t);
      }
      return id;
    },
  };
}

describe("TokenIdScanner gives preprocess's tokens exactly", { timeout: 120_000 }, () => {
  for (const [name, partial] of configs()) {
    test(`${name}: token for token, every text, twice (the second time from the word cache)`, () => {
      const cfg = resolvePreprocessConfig(partial);
      const lookup = internAll();
      const scanner = new TokenIdScanner(cfg, lookup);
      for (let round = 0; round < 2; round++) {
        for (const text of CORPUS) {
          const n = scanner.scan(text);
          const got = Array.from(scanner.ids.subarray(0, n), (id) => lookup.names[id]);
          assert.deepEqual(got, preprocess(text, cfg), JSON.stringify(text.slice(0, 200)));
        }
      }
    });
  }

  test("a word cache that is cleared when full still gives the same tokens", () => {
    const cfg = resolvePreprocessConfig({});
    const lookup = internAll();
    const scanner = new TokenIdScanner(cfg, lookup, 64);
    const many = Array.from({ length: 2000 }, (_, i) => `w${i} Not W${i % 300} good${i % 7}, bad`);
    for (const text of many) {
      const n = scanner.scan(text);
      assert.deepEqual(
        Array.from(scanner.ids.subarray(0, n), (id) => lookup.names[id]),
        preprocess(text, cfg),
      );
    }
  });

  test("a non-string document is the same DataError as preprocess's", () => {
    const scanner = new TokenIdScanner(resolvePreprocessConfig({}), internAll());
    assert.throws(() => scanner.scan(null as unknown as string), /preprocess: document must be a string, got null/);
  });
});

describe("the fused transform equals the token-array transform", { timeout: 120_000 }, () => {
  const FEATURES: FeatureOptions[] = [
    { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true },
    { kind: "bow", ngramRange: [1, 3], binary: true },
    { kind: "tfidf", ngramRange: [2, 2], norm: "l1", minDf: 2 },
  ];
  for (const [name, partial] of configs()) {
    test(`${name}: same matrices, and transformRange's blocks equal transform's rows`, () => {
      const cfg = resolvePreprocessConfig(partial);
      for (const features of FEATURES) {
        const v = createVectorizer(features, cfg);
        v.fit(preprocessMany(uci.slice(0, 1500), cfg));
        const fused = v.transform(CORPUS);
        const classic = v.transform(preprocessMany(CORPUS, cfg));
        assert.deepEqual(Array.from(fused.indptr), Array.from(classic.indptr));
        assert.deepEqual(Array.from(fused.indices), Array.from(classic.indices));
        assert.deepEqual(Array.from(fused.data), Array.from(classic.data));
        const block = v.transformRange(CORPUS, 100, 300);
        const a = classic.indptr[100];
        assert.deepEqual(Array.from(block.indices), Array.from(classic.indices.subarray(a, classic.indptr[300])));
        assert.deepEqual(Array.from(block.data), Array.from(classic.data.subarray(a, classic.indptr[300])));
      }
    });
  }
});

describe("SentimentModel.predictProba (fused, in blocks) equals the classic path bit for bit", { timeout: 120_000 }, () => {
  const { texts, labels } = loadUciSentences();
  const models: Array<[string, Parameters<typeof SentimentModel.train>[2]]> = [
    ["default + tfidf 1-2 + logreg", { features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }, model: { kind: "logreg", C: 10 } }],
    ["light + bow + nb", { preprocess: { ...LIGHT_PREPROCESS_CONFIG }, features: { kind: "bow", ngramRange: [1, 2] }, model: { kind: "nb" } }],
    ["lemma + tfidf + svm (3 classes)", { preprocess: { wordForm: "lemma" }, features: { kind: "tfidf" }, model: { kind: "svm" } }],
    ["afinn block + logreg", { features: { kind: "tfidf", ngramRange: [1, 2], lexicon: "afinn" }, model: { kind: "logreg" } }],
  ];
  for (const [name, options] of models) {
    test(name, () => {
      const y = name.includes("3 classes") ? labels.map((l, i) => (i % 3 === 0 ? 2 : l)) : labels;
      const model = SentimentModel.train(texts.slice(0, 2000), y.slice(0, 2000), options);
      const probe = [...texts.slice(2000), ...ODD, ...randomTexts(9, 500)];
      const classic = model.classifier.predictProba(model.vectorizer.transform(preprocessMany(probe, model.preprocessConfig)));
      const fused = model.predictProba(probe);
      assert.equal(fused.length, classic.length);
      for (let i = 0; i < fused.length; i++) assert.ok(Object.is(fused[i], classic[i]), `entry ${i}: ${fused[i]} vs ${classic[i]}`);
      // Packed for a worker (one string, texts read in place): the same, also where one text's
      // end and the next one's start would make an emoticon, a URL or a word if they touched.
      const edges = ["not :", ") good", "www", ".com great", "http:", "//x.y bad", "<", "3 love", "i don", "'t like", "HTTP", "S://a.b", "<b", ">x"];
      const all = [...probe, ...edges, "line\nbreak", ""];
      const packed = SentimentModel.packTexts(all);
      const out = new Float64Array(all.length * model.classes.length);
      model.predictProbaPacked(packed.joined, packed.starts, out, 0);
      const one = all.map((t) => Array.from(model.predictProba([t])));
      assert.deepEqual(Array.from(out), one.flat());
    });
  }
});
