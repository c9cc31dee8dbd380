import { test } from "node:test";
import assert from "node:assert/strict";
import { SentimentModel, handOverTexts } from "../../src/models/sentiment-model.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";

const texts = [
  "I love this phone, it is great",
  "great battery and a great screen",
  "excellent value, I love it",
  "works great, very happy",
  "terrible, it broke after a day",
  "I hate this, awful quality",
  "awful battery, terrible screen",
  "very disappointed, it does not work",
];
const labels = ["pos", "pos", "pos", "pos", "neg", "neg", "neg", "neg"];

function trainSmall(): SentimentModel {
  return SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 10 } });
}

test("a trained model predicts the classes of clear examples with probabilities that sum to 1", () => {
  const model = trainSmall();
  assert.deepEqual(model.classes, ["neg", "pos"]);
  const preds = model.predict(["I love it, great", "awful and terrible"]);
  assert.equal(preds[0].label, "pos");
  assert.equal(preds[1].label, "neg");
  for (const p of preds) assert.ok(Math.abs(p.probabilities.neg + p.probabilities.pos - 1) < 1e-12);
});

test("toJSON → JSON text → fromJSON reproduces predictions exactly", () => {
  const model = trainSmall();
  const copy = SentimentModel.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
  const probe = ["I love this", "it broke", "nothing in the vocabulary zzz", ""];
  assert.deepEqual(Array.from(copy.predictProba(probe)), Array.from(model.predictProba(probe)));
  assert.deepEqual(copy.preprocessConfig, model.preprocessConfig);
});

test("the bundle carries the preprocessing config, so serving preprocesses exactly as training did", () => {
  const model = SentimentModel.train(texts, labels, {
    preprocess: { wordForm: "porter", negationScope: true },
    features: { kind: "bow" },
    model: { kind: "nb" },
  });
  const json = model.toJSON();
  assert.equal(json.preprocess.wordForm, "porter");
  assert.equal(json.vectorizer.options.preprocess?.negationScope, true);
  // "loving" stems to "love", a training feature: the restored model must see it too.
  const restored = SentimentModel.fromJSON(json);
  assert.ok(restored.vectorize(["loving"]).indptr[1] > 0);
});

test("explain: term weights plus intercept equal the decision score, and word offsets point into the text", () => {
  const model = trainSmall();
  const text = "I love this, but the battery is awful";
  const e = model.explain(text, 100);
  assert.equal(e.towards, "pos");
  const score = model.classifier.decisionFunction(model.vectorize([text]))[0];
  const sum = e.terms.reduce((s, t) => s + t.weight, e.intercept);
  assert.ok(Math.abs(sum - score) < 1e-9, `${sum} vs ${score}`);
  for (const w of e.words) assert.equal(text.slice(w.start, w.end), w.token);
  const love = e.words.find((w) => w.token === "love");
  const awful = e.words.find((w) => w.token === "awful");
  assert.ok(love && love.weight > 0, "love pushes towards pos");
  assert.ok(awful && awful.weight < 0, "awful pushes away from pos");
  assert.equal(model.explain(text, 2).terms.length, 2);
});

test("fromJSON rejects other formats, versions and mismatched parts with specific messages", () => {
  const json = trainSmall().toJSON();
  assert.throws(
    () => SentimentModel.fromJSON({ ...json, format: "other" }),
    (e: unknown) => e instanceof DataError && /format must be 'polarity.sentiment-model'/.test(e.message),
  );
  assert.throws(() => SentimentModel.fromJSON({ ...json, version: 2 }), /unsupported version 2/);
  const other = SentimentModel.train(["a b c d", "e f g h"], [0, 1], { features: { kind: "bow" }, model: { kind: "nb" } }).toJSON();
  assert.throws(() => SentimentModel.fromJSON({ ...json, vectorizer: other.vectorizer }), /features but the classifier expects/);
  assert.throws(() => SentimentModel.fromJSON(null), /expected a JSON object/);
});

test("train rejects bad options and data with clear errors", () => {
  assert.throws(() => SentimentModel.train(texts, labels.slice(1), { features: { kind: "bow" }, model: { kind: "nb" } }), /8 texts but 7 labels/);
  assert.throws(
    () => SentimentModel.train(texts, labels, { features: { kind: "bow", sublinearTf: true }, model: { kind: "nb" } }),
    (e: unknown) => e instanceof InvalidParameterError && /sublinearTf applies to kind 'tfidf' only/.test(e.message),
  );
  assert.throws(
    () => SentimentModel.train(texts, labels, { features: { kind: "word2vec" as never }, model: { kind: "nb" } }),
    /features.kind must be 'bow' or 'tfidf'/,
  );
  assert.throws(
    () => SentimentModel.train(texts, labels, { features: { kind: "bow", maxFeature: 3 } as never, model: { kind: "nb" } }),
    /unknown option 'maxFeature'/,
  );
  assert.throws(() => SentimentModel.train(texts, labels, { features: { kind: "bow" }, model: { kind: "forest" as never } }), /unknown classifier kind/);
  assert.throws(
    () => SentimentModel.train(texts, ["x", "x", "x", "x", "x", "x", "x", "x"], { features: { kind: "bow" }, model: { kind: "logreg" } }),
    /at least 2 classes/,
  );
});

test("multi-class: three labels train, predict and explain towards the predicted class", () => {
  const t = ["happy joy fun", "joy happy smile", "sad tears cry", "cry sad gloom", "angry rage mad", "mad rage fury"];
  const y = ["joy", "joy", "sadness", "sadness", "anger", "anger"];
  const model = SentimentModel.train(t, y, { features: { kind: "tfidf" }, model: { kind: "logreg", C: 10 } });
  assert.deepEqual(model.classes, ["anger", "joy", "sadness"]);
  assert.deepEqual(
    model.predict(["tears and gloom", "rage"]).map((p) => p.label),
    ["sadness", "anger"],
  );
  assert.equal(model.explain("tears and gloom").towards, "sadness");
});

test("an edited top-level preprocess or classes in the bundle is refused on load, not silently ignored", () => {
  const json = trainSmall().toJSON();
  const edited = JSON.parse(JSON.stringify(json)) as { preprocess: Record<string, unknown>; classes: unknown[] };
  edited.preprocess.removeStopwords = !edited.preprocess.removeStopwords;
  assert.throws(
    () => SentimentModel.fromJSON(edited),
    (e: unknown) => e instanceof DataError && /top-level preprocess .* differs from the config the vectorizer was fitted with/.test(e.message),
  );
  const relabelled = JSON.parse(JSON.stringify(json)) as { classes: unknown[] };
  relabelled.classes = ["pos", "neg"];
  assert.throws(
    () => SentimentModel.fromJSON(relabelled),
    (e: unknown) => e instanceof DataError && /top-level classes \["pos","neg"\] differ from the classifier's \["neg","pos"\]/.test(e.message),
  );
  const missing = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
  delete missing.preprocess;
  assert.throws(() => SentimentModel.fromJSON(missing), DataError);
  // Key order does not matter; the untouched bundle loads.
  const reordered = JSON.parse(JSON.stringify(json)) as { preprocess: Record<string, unknown> };
  reordered.preprocess = Object.fromEntries(Object.entries(reordered.preprocess).reverse());
  assert.deepEqual(SentimentModel.fromJSON(reordered).toJSON(), json);
});

test("train on pre-tokenised documents builds the same bundle as train on the raw texts", async () => {
  const { preprocess } = await import("../../src/text/preprocess.js");
  const options = {
    preprocess: { wordForm: "porter" as const },
    features: { kind: "tfidf" as const, ngramRange: [1, 2] as const },
    model: { kind: "logreg" as const, C: 10 },
  };
  const fromText = SentimentModel.train(texts, labels, options);
  const fromTokens = SentimentModel.train(
    texts.map((t) => preprocess(t, options.preprocess)),
    labels,
    options,
  );
  assert.deepEqual(fromTokens.toJSON(), fromText.toJSON());
});

test("SentimentModel.fit on a fitted vectorizer's matrix is the classifier half of train", async () => {
  const { createVectorizer } = await import("../../src/features/factory.js");
  const { resolvePreprocessConfig } = await import("../../src/text/preprocess.js");
  const options = { features: { kind: "bow" as const, ngramRange: [1, 1] as const }, model: { kind: "nb" as const, alpha: 0.5 } };
  const vectorizer = createVectorizer(options.features, resolvePreprocessConfig());
  const X = vectorizer.fitTransform(texts);
  const fitted = SentimentModel.fit(vectorizer, X, labels, { model: options.model, metadata: { note: "x" } });
  const trained = SentimentModel.train(texts, labels, { ...options, metadata: { note: "x" } });
  assert.deepEqual(fitted.toJSON(), trained.toJSON());
  assert.throws(() => SentimentModel.fit(vectorizer, X, labels.slice(1), { model: options.model }), /8 documents but 7 labels/);
  const other = createVectorizer(options.features, resolvePreprocessConfig());
  other.fit(texts.slice(0, 2));
  assert.throws(() => SentimentModel.fit(other, X, labels, { model: options.model }), /the matrix has \d+ columns but the vectorizer has \d+ features/);
});

test("class names travel in the bundle and in every prediction, next to the numeric ids", () => {
  const y = labels.map((l) => (l === "pos" ? 1 : 0));
  const model = SentimentModel.train(texts, y, { features: { kind: "tfidf" }, model: { kind: "logreg", C: 10 }, classNames: { 0: "negative", 1: "positive" } });
  assert.deepEqual(model.classNames, ["negative", "positive"]);
  const [p] = model.predict(["I love it, great"]);
  assert.deepEqual([p.label, p.className], [1, "positive"]);
  assert.equal(model.explain("awful and terrible").prediction.className, "negative");
  const json = model.toJSON();
  assert.deepEqual(json.classNames, ["negative", "positive"]);
  assert.deepEqual(SentimentModel.fromJSON(json).classNames, ["negative", "positive"]);
  // Without names, a class is named by its id; a bundle from before classNames existed loads the same way.
  const { classNames: _n, ...old } = json;
  assert.deepEqual(SentimentModel.fromJSON(old).predict(["great"])[0].className, "1");
  assert.throws(() => SentimentModel.fromJSON({ ...json, classNames: ["negative"] }), /classNames must be 2 non-empty strings/);
  assert.throws(() => SentimentModel.fromJSON({ ...json, classNames: ["x", "x"] }), /classNames must be distinct/);
  const opts = { features: { kind: "tfidf" as const }, model: { kind: "logreg" as const } };
  assert.throws(() => SentimentModel.train(texts, y, { ...opts, classNames: { 2: "neutral" } }), /names class "2", which is not among the classes \[0,1\]/);
  assert.throws(() => SentimentModel.train(texts, y, { ...opts, classNames: { 0: "same", 1: "same" } }), /different name/);
});

test("trainAsync counts on two threads from 20,000 texts and gives train()'s model exactly", async () => {
  const { generateSyntheticCorpus } = await import("../../src/data/synthetic.js");
  const corpus = generateSyntheticCorpus({ n: 24_000, seed: 7 });
  const options = {
    preprocess: { removeStopwords: false, wordForm: "none", negationScope: false },
    features: { kind: "tfidf", ngramRange: [1, 2] },
    model: { kind: "logreg", C: 1 },
  } as const;
  const phases: string[] = [];
  const parallel = await SentimentModel.trainAsync(corpus.texts, corpus.labels, { ...options, onProgress: (e) => phases.push(`${e.phase}:${e.done}`) });
  const serial = SentimentModel.train(corpus.texts, corpus.labels, options);
  assert.equal((parallel.vectorizer as { fitThreads: number }).fitThreads, 2);
  assert.equal((serial.vectorizer as { fitThreads: number }).fitThreads, 1);
  assert.deepEqual(parallel.toJSON(), serial.toJSON());
  assert.deepEqual(phases.slice(0, 2), ["vectorize:0", "vectorize:24000"]);
});

test("trainAsync rejects what train() rejects, before any vectorising", async () => {
  await assert.rejects(() => SentimentModel.trainAsync(texts, labels.slice(1), { features: { kind: "tfidf" }, model: { kind: "logreg" } }), DataError);
  await assert.rejects(
    () => SentimentModel.trainAsync(texts, labels, { features: { kind: "tfidf" }, model: { kind: "logreg" }, bogus: 1 } as never),
    InvalidParameterError,
  );
});

test("handOverTexts: train and trainAsync empty a handed-over array once vectorised, with the same model; other arrays stay", async () => {
  const options = { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 10 } } as const;
  const expected = SentimentModel.train(texts, labels, options).toJSON();
  let seenLength = -1;
  const given = handOverTexts(texts.slice());
  // The documents are still there while vectorising, and gone when the fit starts.
  const model = SentimentModel.train(given, labels, { ...options, onProgress: (e) => e.phase === "fit" && seenLength < 0 && (seenLength = given.length) });
  assert.equal(seenLength, 0);
  assert.equal(given.length, 0);
  assert.deepEqual(model.toJSON(), expected);
  const givenAsync = handOverTexts(texts.slice());
  assert.deepEqual((await SentimentModel.trainAsync(givenAsync, labels, options)).toJSON(), expected);
  assert.equal(givenAsync.length, 0);
  // Not handed over, frozen, or a training that fails before vectorising: left as they are.
  const kept = texts.slice();
  SentimentModel.train(kept, labels, options);
  assert.deepEqual(kept, texts);
  const frozen = handOverTexts(Object.freeze(texts.slice()) as string[]);
  SentimentModel.train(frozen, labels, options);
  assert.equal(frozen.length, texts.length);
  const failed = handOverTexts(texts.slice());
  assert.throws(() => SentimentModel.train(failed, labels.slice(1), options), DataError);
  assert.deepEqual(failed, texts);
});
