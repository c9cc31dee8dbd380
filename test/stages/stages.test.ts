import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readDatasetCsv } from "../../src/data/files.js";
import { generateSyntheticCorpus } from "../../src/data/synthetic.js";
import { crossValidateTexts } from "../../src/evaluation/cross-validate-text.js";
import { SentimentModel, type SentimentModelJSON } from "../../src/models/sentiment-model.js";
import { loadStageContext, type StageContext } from "../../src/stages/context.js";
import { featureOptionsFromParams, runFeaturizeStage } from "../../src/stages/featurize.js";
import { runIngestStage } from "../../src/stages/ingest.js";
import { runPreprocessStage } from "../../src/stages/preprocess.js";
import { runTrainStage } from "../../src/stages/train.js";
import { createReporter } from "../../src/util/progress.js";

/**
 * The seam between the pipeline's stages and the library: ingest → preprocess → featurize →
 * train, called as functions in a temp project, must give the bundle a user gets from
 * SentimentModel.train on the same training split (one training path).
 */
describe("stages ingest → train (one training path)", { timeout: 120_000 }, () => {
  let dir: string;
  let ctx: StageContext;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "polarity-stages-"));
    const corpus = generateSyntheticCorpus({ n: 300, seed: 11 });
    await writeFile(join(dir, "reviews.csv"), "text,label\n" + corpus.texts.map((t, i) => `${t},${corpus.labels[i]}`).join("\n") + "\n");
    await writeFile(
      join(dir, "params.yaml"),
      [
        "ingest: {source: reviews.csv, test_size: 0.2, seed: 3}",
        "preprocess: {word_form: porter, remove_stopwords: true}",
        "featurize: {kind: tfidf, ngram_range: [1, 2], min_df: 2, sublinear_tf: true}",
        "train: {model: logreg, logreg: {C: 3, max_iter: 200}, cv_folds: 3, seed: 5}",
      ].join("\n") + "\n",
    );
    ctx = await loadStageContext(dir, { reporter: createReporter({ quiet: true }) });
    await runIngestStage(ctx);
    await runPreprocessStage(ctx);
    await runFeaturizeStage(ctx);
    await runTrainStage(ctx);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("models/model.json is SentimentModel.train on the raw training split, plus the run's metadata", async () => {
    const bundle = JSON.parse(await readFile(join(dir, "models", "model.json"), "utf8")) as SentimentModelJSON;
    const raw = await readDatasetCsv(join(dir, "data", "raw", "train.csv"));
    const p = ctx.params;
    const library = SentimentModel.train(raw.texts, raw.labels, {
      preprocess: p.preprocess,
      features: featureOptionsFromParams(p.featurize),
      model: { kind: p.train.model, ...p.train.hyperparameters },
    }).toJSON();
    const { metadata, ...rest } = bundle;
    const { metadata: _none, ...expected } = library;
    assert.deepEqual(rest, expected);
    assert.equal(metadata.trainingRows, raw.texts.length);
    assert.deepEqual((metadata.params as { train: unknown }).train, { model: "logreg", logreg: { C: 3, max_iter: 200 }, cv_folds: 3, seed: 5 });
  });

  test("the bundle's CV figures are crossValidateTexts on the raw training split, without timings", async () => {
    const bundle = JSON.parse(await readFile(join(dir, "models", "model.json"), "utf8")) as SentimentModelJSON;
    const raw = await readDatasetCsv(join(dir, "data", "raw", "train.csv"));
    const p = ctx.params;
    const cv = await crossValidateTexts(
      raw.texts,
      raw.labels,
      { preprocess: p.preprocess, features: featureOptionsFromParams(p.featurize), model: { kind: p.train.model, ...p.train.hyperparameters } },
      { folds: 3, seed: 5 },
    );
    const stored = bundle.metadata.cv as { folds: number; mean: Record<string, number>; sd: Record<string, number> };
    assert.equal(stored.folds, 3);
    const { fitSeconds: _t, ...mean } = cv.mean;
    assert.deepEqual(stored.mean, mean);
    assert.equal("fitSeconds" in stored.sd, false);
  });

  test("the train stage is deterministic: a rerun writes the same bytes", async () => {
    const before = await readFile(join(dir, "models", "model.json"));
    await runTrainStage(ctx);
    assert.ok(before.equals(await readFile(join(dir, "models", "model.json"))));
  });
});

describe("train.cv_folds against the data", { timeout: 60_000 }, () => {
  test("a cv_folds larger than the smallest training class fails in ingest, naming the key, before data/raw is written", async () => {
    const dir = await mkdtemp(join(tmpdir(), "polarity-stages-folds-"));
    try {
      const corpus = generateSyntheticCorpus({ n: 60, seed: 2 });
      await writeFile(join(dir, "reviews.csv"), "text,label\n" + corpus.texts.map((t, i) => `${t},${corpus.labels[i]}`).join("\n") + "\n");
      await writeFile(join(dir, "params.yaml"), "ingest: {source: reviews.csv}\ntrain: {cv_folds: 5000}\n");
      const ctx = await loadStageContext(dir, { reporter: createReporter({ quiet: true }) });
      await assert.rejects(
        runIngestStage(ctx),
        /^InvalidParameterError: params\.yaml: train\.cv_folds is 5000, but the training split has only \d+ rows of class "\d"/,
      );
      await assert.rejects(readFile(join(dir, "data", "raw", "train.csv")), /ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("params errors surface when the stage context loads, before any stage runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "polarity-stages-params-"));
    try {
      await writeFile(join(dir, "params.yaml"), "train:\n  logreg:\n    C: 0\n");
      await assert.rejects(loadStageContext(dir), /params\.yaml: train\.logreg\.C must be a number > 0, got 0/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
