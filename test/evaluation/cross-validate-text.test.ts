import { test } from "node:test";
import assert from "node:assert/strict";
import { crossValidateTexts } from "../../src/evaluation/cross-validate-text.js";
import { accuracy } from "../../src/evaluation/classification-metrics.js";
import { stratifiedKFold } from "../../src/util/stratified-split.js";
import { generateSyntheticCorpus } from "../../src/data/synthetic.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { preprocess } from "../../src/text/preprocess.js";

const corpus = generateSyntheticCorpus({ n: 400, seed: 3 });
const train = {
  preprocess: { wordForm: "porter" as const, negationScope: true },
  features: { kind: "tfidf" as const, ngramRange: [1, 2] as const, sublinearTf: true },
  model: { kind: "logreg" as const, C: 3 },
};
const untimed = (m: Record<string, number | null>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== "fitSeconds"));

test("crossValidateTexts: each fold is SentimentModel.train on the fold's training rows, scored on its test rows", async () => {
  const r = await crossValidateTexts(corpus.texts, corpus.labels, train, { folds: 4, seed: 9 });
  const splits = stratifiedKFold(corpus.labels, { k: 4, shuffle: true, seed: 9 });
  assert.equal(r.folds.length, 4);
  splits.forEach((s, f) => {
    const model = SentimentModel.train(
      Array.from(s.train, (i) => corpus.texts[i]),
      Array.from(s.train, (i) => corpus.labels[i]),
      train,
    );
    const testTexts = Array.from(s.test, (i) => corpus.texts[i]);
    const predicted = model.predict(testTexts).map((p) => p.label);
    assert.equal(
      r.folds[f].accuracy,
      accuracy(
        Array.from(s.test, (i) => corpus.labels[i]),
        predicted,
      ),
    );
    assert.ok((r.folds[f].fitSeconds ?? -1) >= 0);
  });
});

test("crossValidateTexts reuses tokenised documents: token arrays give the same folds as the raw texts", async () => {
  const fromText = await crossValidateTexts(corpus.texts, corpus.labels, train, { folds: 3, seed: 1 });
  const tokens = corpus.texts.map((t) => preprocess(t, train.preprocess));
  const fromTokens = await crossValidateTexts(tokens, corpus.labels, train, { folds: 3, seed: 1 });
  assert.deepEqual(fromTokens.folds.map(untimed), fromText.folds.map(untimed));
  assert.ok(fromText.mean.accuracy > 0.5, `accuracy ${fromText.mean.accuracy}`);
});

test("crossValidateTexts refuses mismatched lengths", async () => {
  await assert.rejects(crossValidateTexts(corpus.texts.slice(1), corpus.labels, train, { folds: 3, seed: 1 }), /399 texts but 400 labels/);
});
