import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createVectorizer, featureOptionsOf } from "../../src/features/factory.js";
import { LexiconFeaturizer, LEXICON_FEATURE_NAMES, afinnLexicon, vaderLexicon, vaderLexiconOf, vaderScores } from "../../src/features/lexicon.js";
import { LexiconTfidfVectorizer } from "../../src/features/lexicon-vectorizer.js";
import { csrToDense } from "../../src/features/csr.js";
import { vectorizerFromJSON } from "../../src/features/vectorizer.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG, preprocess, type PreprocessConfig } from "../../src/text/preprocess.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";

// The reference's published output (README.rst of github.com/cjhutto/vaderSentiment, "Output
// for the above example code" and the demo's tricky sentences): [neg, neu, pos, compound].
// That README predates the tokeniser keeping one-letter words: its two sentences with "a" are
// compared on compound only (their pos/neu counted one word fewer).
const REFERENCE: [string, number[]][] = [
  ["VADER is smart, handsome, and funny.", [0.0, 0.254, 0.746, 0.8316]],
  ["VADER is smart, handsome, and funny!", [0.0, 0.248, 0.752, 0.8439]],
  ["VADER is very smart, handsome, and funny.", [0.0, 0.299, 0.701, 0.8545]],
  ["VADER is VERY SMART, handsome, and FUNNY.", [0.0, 0.246, 0.754, 0.9227]],
  ["VADER is VERY SMART, handsome, and FUNNY!!!", [0.0, 0.233, 0.767, 0.9342]],
  ["VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", [0.0, 0.294, 0.706, 0.9469]],
  ["VADER is not smart, handsome, nor funny.", [0.646, 0.354, 0.0, -0.7424]],
  ["The book was good.", [0.0, 0.508, 0.492, 0.4404]],
  ["The book was only kind of good.", [0.0, 0.697, 0.303, 0.3832]],
  ["The plot was good, but the characters are uncompelling and the dialog is not great.", [0.327, 0.579, 0.094, -0.7042]],
  ["Today SUX!", [0.779, 0.221, 0.0, -0.5461]],
  ["Today only kinda sux! But I'll get by, lol", [0.127, 0.556, 0.317, 0.5249]],
  ["Make sure you :) or :D today!", [0.0, 0.294, 0.706, 0.8633]],
  ["Not bad at all", [0.0, 0.513, 0.487, 0.431]],
  ["Sentiment analysis has never been good.", [0.325, 0.675, 0.0, -0.3412]],
  ["Sentiment analysis has never been this good!", [0.0, 0.621, 0.379, 0.5672]],
  ["Most automated sentiment analysis tools are shit.", [0.375, 0.625, 0.0, -0.5574]],
  ["With VADER, sentiment analysis is the shit!", [0.0, 0.583, 0.417, 0.6476]],
  ["Other sentiment analysis tools can be quite bad.", [0.351, 0.649, 0.0, -0.5849]],
  ["On the other hand, VADER is quite bad ass!", [0.0, 0.414, 0.586, 0.8172]],
  ["Roger Dodger is one of the most compelling variations on this theme.", [0.0, 0.834, 0.166, 0.2944]],
  ["Roger Dodger is one of the least compelling variations on this theme.", [0.132, 0.868, 0.0, -0.1695]],
  ["VERY BAD movie!", [0.735, 0.265, 0.0, -0.7616]],
];
const REFERENCE_COMPOUND: [string, number][] = [
  ["At least it isn't a horrible book.", 0.431],
  ["Roger Dodger is at least compelling as a variation on the theme.", 0.2263],
  ["It was one of the worst movies I've seen, despite good reviews.", -0.7584],
  ["Unbelievably bad acting!!", -0.6572],
  ["Poor direction.", -0.4767],
  ["VERY poor production.", -0.6281],
  ["The movie was bad.", -0.5423],
  ["Very bad movie.", -0.5849],
];

const r = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

describe("VADER rules (port of vaderSentiment.py)", { timeout: 30_000 }, () => {
  test("reproduce the reference's published scores: negation, boosters, capitals, '!', 'but', 'kind of', idioms, 'least', emoticons", () => {
    const lex = vaderLexiconOf(vaderLexicon());
    assert.ok(lex.valence.size > 7000, `VADER's lexicon: ${lex.valence.size} entries`);
    for (const [text, want] of REFERENCE) {
      const s = vaderScores(text, lex, { referenceButCheck: true });
      assert.deepEqual([r(s.neg, 3), r(s.neu, 3), r(s.pos, 3), r(s.compound, 4)], want, text);
    }
    for (const [text, want] of REFERENCE_COMPOUND) assert.equal(r(vaderScores(text, lex, { referenceButCheck: true }).compound, 4), want, text);
  });

  test("the reference's 'but' rule looks sentiments up by value; the positional rule scales each word once", () => {
    const lex = vaderLexiconOf(
      new Map([
        ["good", 1.9],
        ["ok", 0.95],
      ]),
    );
    // [1.9, 0, 0.95]: "good" is halved to 0.95, then "ok"'s lookup by value finds that 0.95
    // first and halves it again, leaving "ok" unscaled: 0.475 + 0.95. By position: 0.95 + 1.425.
    const norm = (x: number) => x / Math.sqrt(x * x + 15);
    assert.equal(r(vaderScores("good but ok", lex, { referenceButCheck: true }).compound, 9), r(norm(0.475 + 0.95), 9));
    assert.equal(r(vaderScores("good but ok", lex).compound, 9), r(norm(0.95 + 1.425), 9));
  });
});

describe("the lexicon feature block", { timeout: 60_000 }, () => {
  const block = (kind: "afinn" | "vader", text: string, config: Readonly<PreprocessConfig> = LIGHT_PREPROCESS_CONFIG): number[] => {
    const f = new LexiconFeaturizer(kind, config);
    const out = new Float64Array(f.width);
    f.featuresInto(preprocess(text, config), out, 0);
    return Array.from(out);
  };

  test("AFINN-165 and the emoji scores come from the sentiment package", () => {
    const lex = afinnLexicon();
    assert.equal(lex.get("wonderful"), 4);
    assert.equal(lex.get("horrible"), -3);
    assert.equal(lex.get("😍"), 3);
    assert.equal(lex.get(":("), -1.9 / 0.8);
    assert.ok(lex.size > 3000, `${lex.size} entries`);
    assert.equal(vaderLexicon().get("gorgeous"), 3, "VADER has 'gorgeous', AFINN-165 does not");
  });

  test("negation flips, with and without negation scope", () => {
    for (const config of [LIGHT_PREPROCESS_CONFIG, DEFAULT_PREPROCESS_CONFIG]) {
      for (const kind of ["afinn", "vader"] as const) {
        const good = block(kind, "The food was good.", config);
        const notGood = block(kind, "The food was not good.", config);
        assert.ok(good[0] > 0 && good[1] === 0, `${kind} good ${good}`);
        assert.ok(notGood[1] > 0 && notGood[0] === 0, `${kind} not good ${notGood} (${config.negationScope ? "scope" : "look-back"})`);
      }
    }
  });

  test("stems and lemmas find their lexicon words: 'gorgeous' and 'amazing' under Porter stems", () => {
    assert.deepEqual(preprocess("gorgeous amazing", DEFAULT_PREPROCESS_CONFIG), ["gorgeou", "amaz"]);
    assert.ok(block("vader", "the screen is gorgeous", DEFAULT_PREPROCESS_CONFIG)[0] > 0, "vader, porter");
    assert.ok(block("afinn", "the screen is amazing", DEFAULT_PREPROCESS_CONFIG)[0] > 0, "afinn, porter");
    assert.ok(block("vader", "the screens are gorgeous", { ...LIGHT_PREPROCESS_CONFIG, wordForm: "lemma" })[0] > 0, "vader, lemma");
  });

  test("intensifiers raise, dampeners lower, 'but' shifts, '!' and capitals add only when the preprocessing keeps them", () => {
    const [, , good] = block("vader", "it is good");
    const [, , veryGood] = block("vader", "it is very good");
    const [, , slightlyGood] = block("vader", "it is slightly good");
    assert.ok(veryGood > good && slightlyGood < good, `good ${good}, very good ${veryGood}, slightly good ${slightlyGood}`);
    const butBad = block("vader", "it is good but the service is bad");
    assert.ok(butBad[3] > 0, "after 'but' the negative clause dominates");
    const keep = { ...LIGHT_PREPROCESS_CONFIG, removePunctuation: false, lowercase: false };
    assert.ok(block("vader", "it is good!!!", keep)[2] > block("vader", "it is good", keep)[2], "'!' kept");
    assert.ok(block("vader", "it is GOOD", keep)[2] > block("vader", "it is good", keep)[2], "capitals kept");
    assert.equal(block("vader", "it is GOOD!!!")[2], good, "lowercased, punctuation dropped: nothing to see");
  });

  test("emoji and emoticons carry polarity", () => {
    assert.ok(block("afinn", "😍")[0] > 0, "afinn emoji");
    assert.ok(block("vader", "😍")[0] > 0, "vader emoji");
    assert.ok(block("vader", "ok :(")[1] > 0, "vader emoticon");
    assert.ok(block("afinn", "ok :(")[1] > 0, "afinn emoticon");
  });

  test("appended after the n-grams; raw text and token arrays give the same row; the bundle round-trips it", () => {
    const texts = ["I love this, gorgeous screen 😍", "Not good at all.", "The battery died after a day, awful.", "Great value, very happy!"];
    for (const config of [LIGHT_PREPROCESS_CONFIG, DEFAULT_PREPROCESS_CONFIG]) {
      for (const kind of ["bow", "tfidf"] as const) {
        const v = createVectorizer({ kind, ngramRange: [1, 2], lexicon: "vader" }, config);
        const Xraw = v.fitTransform(texts);
        const names = v.getFeatureNames();
        assert.equal(Xraw.cols, v.nFeatures);
        assert.deepEqual(names.slice(-4), LEXICON_FEATURE_NAMES.vader);
        const Xtok = v.transform(texts.map((t) => preprocess(t, config)));
        assert.deepEqual(csrToDense(Xtok), csrToDense(Xraw));
        const back = vectorizerFromJSON(JSON.parse(JSON.stringify(v.toJSON())));
        assert.equal(back.nFeatures, v.nFeatures);
        assert.deepEqual(csrToDense(back.transform(texts)), csrToDense(Xraw));
        assert.deepEqual(featureOptionsOf(back).lexicon, "vader");
      }
    }
    const tfidf = createVectorizer({ kind: "tfidf", lexicon: "afinn" }, LIGHT_PREPROCESS_CONFIG);
    assert.ok(tfidf instanceof LexiconTfidfVectorizer, "tfidf + lexicon");
    const X = tfidf.fitTransform(texts);
    // TF-IDF's row norm covers the n-grams only: the n-gram part of each row has unit length.
    for (let i = 0; i < X.rows; i++) {
      let ss = 0;
      for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) if (X.indices[p] < X.cols - 2) ss += X.data[p] ** 2;
      assert.ok(Math.abs(ss - 1) < 1e-12, `row ${i}: n-gram norm² ${ss}`);
    }
  });

  test("a model with the block: serving computes the training features (bundle round trip), and the block moves predictions", () => {
    const texts = ["good movie", "bad movie", "great film", "awful film", "nice plot", "terrible plot", "fine acting", "poor acting"];
    const labels = [1, 0, 1, 0, 1, 0, 1, 0];
    const m = SentimentModel.train(texts, labels, {
      preprocess: LIGHT_PREPROCESS_CONFIG,
      features: { kind: "bow", lexicon: "afinn" },
      model: { kind: "logreg", C: 10 },
    });
    const back = SentimentModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    const probe = ["a gorgeous, wonderful screen", "a horrible, disgusting smell"];
    assert.deepEqual(Array.from(back.predictProba(probe)), Array.from(m.predictProba(probe)));
    // Unseen words: only the lexicon block can tell these apart.
    const [p0, p1] = [m.predictProba(probe)[1], m.predictProba(probe)[3]];
    assert.ok(p0 > 0.5 && p1 < 0.5, `${p0} ${p1}`);
    const nb = SentimentModel.train(texts, labels, { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "bow", lexicon: "vader" }, model: { kind: "nb" } });
    assert.equal(nb.predict(["good"])[0].label, 1, "block values are non-negative, so multinomial NB takes them");
  });

  test("bad options and bad JSON are clear errors", () => {
    assert.throws(() => createVectorizer({ kind: "tfidf", lexicon: "sentiwordnet" as never }, LIGHT_PREPROCESS_CONFIG), InvalidParameterError);
    assert.equal(featureOptionsOf(createVectorizer({ kind: "bow", lexicon: "none" }, LIGHT_PREPROCESS_CONFIG)).lexicon, undefined);
    const v = createVectorizer({ kind: "bow", lexicon: "afinn" }, LIGHT_PREPROCESS_CONFIG);
    v.fit(["good day", "bad day"]);
    const json = JSON.parse(JSON.stringify(v.toJSON()));
    assert.throws(
      () => vectorizerFromJSON({ ...json, lexicon: "sentiwordnet" }),
      (e: unknown) => e instanceof DataError && /lexicon must be one of none, afinn, vader/.test((e as Error).message),
    );
  });
});

test("emoticons with capitals (':D') score under lowercasing configs too", () => {
  for (const kind of ["afinn", "vader"] as const) {
    for (const config of [LIGHT_PREPROCESS_CONFIG, { ...LIGHT_PREPROCESS_CONFIG, lowercase: false }]) {
      const f = new LexiconFeaturizer(kind, config);
      const out = new Float64Array(f.width);
      const tokens = preprocess("ok :D", config);
      assert.ok(tokens.includes(":D"), JSON.stringify(tokens));
      f.featuresInto(tokens, out, 0);
      assert.ok(out[0] > 0, `${kind} lowercase=${config.lowercase}: ${Array.from(out)}`);
    }
  }
});

test("a search space can switch the lexicon block on and off (train.search / polarity tune)", async () => {
  const { expandSpace, featuresKey } = await import("../../src/tuning/space.js");
  const configs = expandSpace({ preprocess: ["light"], features: [{ kind: "tfidf", lexicon: ["none", "afinn", "vader"] }], model: [{ kind: "logreg" }] });
  assert.deepEqual(
    configs.map((c) => c.features.lexicon),
    ["none", "afinn", "vader"],
  );
  assert.equal(new Set(configs.map((c) => featuresKey(c.features))).size, 3, "each lexicon gets its own fold matrices");
  const widths = configs.map((c) => createVectorizer(c.features, c.preprocess).fit(["good day", "bad day"]).nFeatures);
  assert.deepEqual(widths, [widths[0], widths[0] + 2, widths[0] + 4]);
});
