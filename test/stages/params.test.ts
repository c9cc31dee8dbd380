import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { flattenParams, modelParamsSnapshot, parseParams } from "../../src/stages/params.js";
import { resolvePreprocessParams } from "../../src/stages/preprocess.js";
import { InvalidParameterError } from "../../src/util/errors.js";

describe("params.yaml schema", () => {
  test("an empty file gives every default", () => {
    const p = parseParams({});
    assert.equal(p.ingest.source, "uci-sentences");
    assert.equal(p.ingest.testSize, 0.25);
    assert.deepEqual(p.featurize.ngramRange, [1, 2]);
    assert.equal(p.featurize.kind, "tfidf");
    assert.equal(p.train.model, "logreg");
    assert.equal(p.train.cvFolds, 5);
    assert.equal(p.register.modelName, "sentiment");
    assert.equal(p.register.alias, "staging");
    assert.equal(p.promote.to, "production");
    assert.equal(p.tracking.uri, null);
  });

  test("the repo's params.yaml parses, and the chosen model hyperparameters are camelCased for the model", async () => {
    const raw = parseYaml(await readFile(join(import.meta.dirname, "..", "..", "params.yaml"), "utf8"));
    const p = parseParams(raw);
    assert.deepEqual(p.train.hyperparameters, { C: 10, penalty: "l2", maxIter: 1000 });
    assert.deepEqual(p.preprocess, { removeStopwords: true, negationScope: true, wordForm: "porter" });
    assert.deepEqual(p.ingest.labelMap, null);
  });

  const rejects = (raw: unknown, pattern: RegExp) => assert.throws(() => parseParams(raw), (e: unknown) => e instanceof InvalidParameterError && pattern.test(e.message));

  test("wrong types name the key, the expectation and the value", () => {
    rejects({ featurize: { max_features: "many" } }, /^params\.yaml: featurize\.max_features must be an integer >= 1 or null, got 'many'$/);
    rejects({ featurize: { ngram_range: [2, 1] } }, /featurize\.ngram_range must be \[min_n, max_n\] with 1 <= min_n <= max_n, got \[2,1\]/);
    rejects({ ingest: { test_size: 1.5 } }, /ingest\.test_size must be a fraction in \(0, 1\) or a row count >= 1, got 1\.5/);
    rejects({ ingest: { http: { sha256: "abc" } } }, /ingest\.http\.sha256 must be 64 hex digits/);
    rejects({ promote: { min_accuracy: 2 } }, /promote\.min_accuracy must be a number in \[0, 1\], got 2/);
    rejects({ train: { model: "xgboost" } }, /train\.model must be one of logreg, nb, svm, got 'xgboost'/);
    rejects({ register: { alias: "latest" } }, /register\.alias must be an alias/);
    rejects({ train: { cv_folds: 1 } }, /train\.cv_folds must be 0 \(off\) or at least 2/);
  });

  test("unknown keys are rejected with the known ones listed (typos cannot pass silently)", () => {
    rejects({ featurize: { max_feature: 10 } }, /unknown key 'featurize\.max_feature' \(known in featurize: kind, ngram_range, min_df, max_df, max_features, sublinear_tf, binary\)/);
    rejects({ evaluation: {} }, /unknown key 'evaluation' \(known in the top level: ingest, preprocess/);
  });

  test("label maps accept either shape from the issue and refuse mixed label types", () => {
    assert.deepEqual(parseParams({ ingest: { label_map: { positive: 1, negative: 0 } } }).ingest.labelMap, { positive: 1, negative: 0 });
    assert.deepEqual(parseParams({ ingest: { label_map: { happiness: "positive", sadness: "negative" } } }).ingest.labelMap, { happiness: "positive", sadness: "negative" });
    rejects({ ingest: { label_map: { a: 1, b: "neg" } } }, /ingest\.label_map must be all-number or all-string labels/);
    rejects({ ingest: { label_map: { a: [1] } } }, /ingest\.label_map\.a must be a label/);
  });

  test("preprocess options are validated by src/text, with errors in params.yaml's snake_case", () => {
    assert.throws(() => resolvePreprocessParams({ stopWords: true }), /params\.yaml: preprocess: unknown option 'stop_words' \(known: .*remove_stopwords/);
    assert.equal(resolvePreprocessParams({ wordForm: "porter" }).wordForm, "porter");
  });

  test("the params snapshot flattens to MLflow param keys", () => {
    const p = parseParams({ train: { logreg: { C: 3 } } });
    const flat = flattenParams(modelParamsSnapshot(p, { lowercase: true }));
    assert.equal(flat["train.logreg.C"], "3");
    assert.equal(flat["featurize.ngram_range"], "[1,2]");
    assert.equal(flat["ingest.http.timeout_ms"], "30000");
    assert.equal(flat["preprocess.lowercase"], "true");
    assert.equal(flat["ingest.label_map"], "null");
  });
});
