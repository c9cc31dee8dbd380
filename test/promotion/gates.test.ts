import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { cleanLabelledData } from "../../src/data/clean.js";
import { loadSource } from "../../src/data/sources.js";
import type { Prediction } from "../../src/models/sentiment-model.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { checkInvariance, checkSignature, runGates, sentimentPolarity, type Predictor } from "../../src/promotion/gates.js";
import type { HeldOutMetrics } from "../../src/evaluation/held-out.js";
import { parseParams } from "../../src/stages/params.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

const metrics = (over: Partial<HeldOutMetrics> = {}): HeldOutMetrics => ({
  accuracy: 0.86,
  precision: 0.86,
  recall: 0.86,
  f1: 0.86,
  roc_auc: 0.93,
  log_loss: 0.34,
  f1_macro: 0.86,
  f1_weighted: 0.86,
  n_test: 745,
  average: "binary",
  pos_label: 1,
  ...over,
});

async function fixtureModel(file: string, textColumn: string, labelColumn: string, labelMap: Record<string, string | number> | null): Promise<SentimentModel> {
  const { table } = await loadSource({
    source: file,
    format: "auto",
    header: true,
    encoding: "utf-8",
    http: { timeoutMs: 1000, maxBytes: 1 << 20, sha256: null },
    baseDir: FIXTURES,
  });
  const data = cleanLabelledData(table, { textColumn, labelColumn, labelMap, where: file });
  return SentimentModel.train(data.texts, data.labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 10 } });
}

describe("promotion gates", () => {
  let binary: SentimentModel;
  const params = parseParams({
    promote: {
      positive_examples: ["A wonderful film with a great story.", "Brilliant writing and a lovely ending."],
      negative_examples: ["Boring plot and awful acting.", "Terrible film, do not waste your money."],
      invariance_examples: ["A wonderful film with a great story.", "Boring plot and awful acting."],
    },
  }).promote;

  before(async () => {
    binary = await fixtureModel("seed-reviews.csv", "review", "sentiment", { positive: 1, negative: 0 });
  });

  test("a good model passes every gate; no_regression is skipped with nothing in production", () => {
    const results = runGates({ candidate: binary, candidateMetrics: metrics(), production: null, params });
    assert.deepEqual(
      results.map((g) => [g.name, g.passed, g.skipped]),
      [
        ["min_accuracy", true, false],
        ["min_f1", true, false],
        ["min_roc_auc", true, false],
        ["no_regression", true, true],
        ["signature", true, false],
        ["behaviour_positive", true, false],
        ["behaviour_negative", true, false],
        ["invariance_filler", true, false],
      ],
    );
  });

  test("thresholds and regression against production fail with the measured values", () => {
    const results = runGates({
      candidate: binary,
      candidateMetrics: metrics({ accuracy: 0.79, f1: 0.85, roc_auc: 0.89 }),
      production: { version: "3", metrics: metrics({ accuracy: 0.84, f1: 0.86, roc_auc: 0.9 }) },
      params,
    });
    const failed = Object.fromEntries(results.filter((g) => !g.passed).map((g) => [g.name, g.detail]));
    assert.deepEqual(Object.keys(failed), ["min_accuracy", "min_roc_auc", "no_regression"]);
    assert.equal(failed.min_accuracy, "accuracy 0.7900 < 0.8200");
    assert.equal(failed.no_regression, "worse than production v3: accuracy 0.7900 < 0.8400 − 0.02");
  });

  test("an undefined AUC fails its gate rather than passing silently", () => {
    const g = runGates({ candidate: binary, candidateMetrics: metrics({ roc_auc: null }), production: null, params }).find((r) => r.name === "min_roc_auc");
    assert.equal(g?.passed, false);
  });

  test("the signature gate catches a wrong number of predictions and probabilities that do not sum to 1", () => {
    const short: Predictor = { classes: [0, 1], predict: (texts) => binary.predict(texts).slice(1) };
    assert.match(checkSignature(short, ["a", "b"]).detail, /a batch of 2 strings gave 1 predictions/);
    const skewed: Predictor = {
      classes: [0, 1],
      predict: (texts) => texts.map((): Prediction => ({ label: 1, className: "1", probabilities: { "0": 0.5, "1": 0.6 } })),
    };
    assert.match(checkSignature(skewed, ["a"]).detail, /probabilities sum to 1\.1/);
    const unknown: Predictor = {
      classes: [0, 1],
      predict: (texts) => texts.map((): Prediction => ({ label: 2, className: "2", probabilities: { "0": 0.5, "1": 0.5 } })),
    };
    assert.equal(checkSignature(unknown, ["a"]).passed, false);
  });

  test("filler invariance reports each flipped example", () => {
    // A predictor whose label depends on the text length flips when filler is appended.
    const byLength: Predictor = {
      classes: [0, 1],
      predict: (texts) =>
        texts.map((t): Prediction => ({ label: t.length > 20 ? 1 : 0, className: t.length > 20 ? "1" : "0", probabilities: { "0": 0.5, "1": 0.5 } })),
    };
    const r = checkInvariance(byLength, ["short one", "this sentence is long enough"], "The weather is mild.");
    assert.equal(r.passed, false);
    assert.match(r.detail, /flipped 1\/2: "short one": 0 → 1/);
  });

  test("positive/negative classes are inferred from 1/0 and positive/negative labels, else behaviour gates are skipped", async () => {
    assert.deepEqual(sentimentPolarity([0, 1], { positiveLabel: null, negativeLabel: null }), { positive: 1, negative: 0 });
    assert.deepEqual(sentimentPolarity(["negative", "positive"], { positiveLabel: null, negativeLabel: null }), { positive: "positive", negative: "negative" });
    assert.equal(sentimentPolarity(["anger", "joy", "sadness"], { positiveLabel: null, negativeLabel: null }), null);
    const emotions = await fixtureModel("emotions.jsonl", "text", "emotion", null);
    const results = runGates({ candidate: emotions, candidateMetrics: metrics({ average: "macro", pos_label: null }), production: null, params });
    const behaviour = results.filter((g) => g.name.startsWith("behaviour_"));
    assert.ok(behaviour.every((g) => g.skipped && g.passed && /no obvious positive\/negative pair/.test(g.detail)));
    assert.equal(results.find((g) => g.name === "signature")?.passed, true);
  });
});
