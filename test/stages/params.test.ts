import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { LOGISTIC_REGRESSION_DEFAULTS, LogisticRegression } from "../../src/models/logistic-regression.js";
import { DEFAULT_PREPROCESS_CONFIG } from "../../src/text/preprocess.js";
import { flattenParams, loadParams, modelParamsSnapshot, parseParams, parseParamsYaml, renderParamsTable } from "../../src/stages/params.js";
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
    assert.deepEqual(p.preprocess, { ...DEFAULT_PREPROCESS_CONFIG, removeStopwords: true, negationScope: true, wordForm: "porter" });
    assert.deepEqual(p.ingest.labelMap, null);
  });

  const rejects = (raw: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseParams(raw),
      (e: unknown) => e instanceof InvalidParameterError && pattern.test(e.message),
    );

  test("wrong types name the key, the expectation and the value", () => {
    rejects({ featurize: { max_features: "many" } }, /^params\.yaml: featurize\.max_features must be an integer >= 1 or null, got 'many'$/);
    rejects({ featurize: { ngram_range: [2, 1] } }, /featurize\.ngram_range must be \[min_n, max_n\] with 1 <= min_n <= max_n, got \[2,1\]/);
    rejects({ ingest: { test_size: 1.5 } }, /ingest\.test_size must be a fraction in \(0, 1\) or a row count >= 1, got 1\.5/);
    rejects({ ingest: { http: { sha256: "abc" } } }, /ingest\.http\.sha256 must be 64 hex digits/);
    rejects({ promote: { min_accuracy: 2 } }, /promote\.min_accuracy must be a number in \[0, 1\], got 2/);
    rejects({ train: { model: "xgboost" } }, /train\.model must be one of logreg, nb, svm(, [a-z]+)*, got 'xgboost'/);
    rejects({ register: { alias: "latest" } }, /register\.alias must be an alias/);
    rejects({ train: { cv_folds: 1 } }, /train\.cv_folds must be 0 \(off\) or an integer >= 2, got 1/);
  });

  test("unknown keys are rejected with the known ones listed (typos cannot pass silently)", () => {
    rejects(
      { featurize: { max_feature: 10 } },
      /unknown key 'featurize\.max_feature' \(known in featurize: kind, ngram_range, min_df, max_df, max_features, sublinear_tf, binary, lexicon\)/,
    );
    rejects({ evaluation: {} }, /unknown key 'evaluation' \(known in the top level: ingest, preprocess/);
  });

  test("label maps accept either shape from the issue and refuse mixed label types", () => {
    assert.deepEqual(parseParams({ ingest: { label_map: { positive: 1, negative: 0 } } }).ingest.labelMap, { positive: 1, negative: 0 });
    assert.deepEqual(parseParams({ ingest: { label_map: { happiness: "positive", sadness: "negative" } } }).ingest.labelMap, {
      happiness: "positive",
      sadness: "negative",
    });
    rejects({ ingest: { label_map: { a: 1, b: "neg" } } }, /ingest\.label_map must be all-number or all-string labels/);
    rejects({ ingest: { label_map: { a: [1] } } }, /ingest\.label_map must be a mapping of raw label to label .*, got \{"a":\[1\]\}/);
  });

  test("preprocess options are part of the schema: unknown keys and wrong types name the snake_case key", () => {
    rejects({ preprocess: { stop_words: true } }, /unknown key 'preprocess\.stop_words' \(known in preprocess: .*remove_stopwords/);
    rejects({ preprocess: { word_form: "snowball" } }, /preprocess\.word_form must be one of none, porter, lemma, got 'snowball'/);
    assert.equal(parseParams({ preprocess: { word_form: "lemma" } }).preprocess.wordForm, "lemma");
  });

  test("model hyperparameters are checked before any stage runs, naming the key path (issue 9 item 17)", () => {
    rejects({ train: { logreg: { C: 0 } } }, /^params\.yaml: train\.logreg\.C must be a number > 0, got 0$/);
    rejects({ train: { logreg: { C: -1 } } }, /^params\.yaml: train\.logreg\.C must be a number > 0, got -1$/);
    rejects({ train: { logreg: { tol: 0 } } }, /^params\.yaml: train\.logreg\.tol must be a number > 0, got 0$/);
    rejects({ train: { svm: { max_iter: 2.5 } } }, /train\.svm\.max_iter must be an integer >= 1, got 2\.5/);
    rejects({ train: { nb: { alpha: "x" } } }, /train\.nb\.alpha must be a number > 0, got 'x'/);
    rejects({ train: { logreg: { max_iters: 5 } } }, /unknown key 'train\.logreg\.max_iters' \(known in train\.logreg: C, penalty, max_iter, tol/);
    // A block of a model that is not selected is still checked: switching train.model must not reveal old errors.
    rejects({ train: { model: "nb", svm: { C: 0 } } }, /train\.svm\.C must be a number > 0/);
  });

  test("YAML's .nan and .inf are named as such, not as the 'null' JSON would print", () => {
    const raw = parseParamsYaml("train:\n  logreg:\n    C: .nan\n");
    rejects(raw, /train\.logreg\.C must be a number > 0, got NaN \(\.nan\)$/);
    rejects(parseParamsYaml("promote:\n  min_f1: .inf\n"), /promote\.min_f1 must be a number in \[0, 1\], got Infinity \(\.inf\)$/);
  });

  test("every section and key is optional: a missing or empty section takes the defaults", () => {
    const noIngest = parseParams(parseParamsYaml("train:\n  model: nb\n"));
    assert.equal(noIngest.ingest.source, "uci-sentences");
    assert.equal(noIngest.ingest.http.maxBytes, 100 * 1024 * 1024);
    assert.equal(noIngest.train.model, "nb");
    const empty = parseParams(parseParamsYaml("ingest:\npreprocess:\nfeaturize:\n  max_features:\n"));
    assert.equal(empty.ingest.textColumn, "text");
    assert.equal(empty.featurize.maxFeatures, null);
    assert.equal(parseParams(parseParamsYaml("")).train.cvFolds, 5);
  });

  test("a params file that is a directory, binary or not YAML gets one clear line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "polarity-params-"));
    try {
      await mkdir(join(dir, "params.yaml"));
      await assert.rejects(
        loadParams(join(dir, "params.yaml")),
        (e: unknown) => e instanceof InvalidParameterError && /params\.yaml is a directory, not a params file/.test(e.message),
      );
      const bin = join(dir, "bin.yaml");
      const garbage = Buffer.alloc(7500);
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) % 256;
      await writeFile(bin, garbage);
      await assert.rejects(
        loadParams(bin),
        (e: unknown) =>
          e instanceof InvalidParameterError && /bin\.yaml is not a YAML text file \(a NUL byte at character \d+\)$/.test(e.message) && e.message.length < 200,
      );
      const bad = join(dir, "bad.yaml");
      await writeFile(bad, "train: [1, 2\n" + "x".repeat(5000));
      await assert.rejects(loadParams(bad), (e: unknown) => e instanceof InvalidParameterError && /malformed YAML/.test(e.message) && e.message.length < 400);
      await assert.rejects(loadParams(join(dir, "none.yaml")), /none\.yaml not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the LR max_iter default is one number: the model's, shown in the docs table", () => {
    assert.equal(new LogisticRegression().params.maxIter, LOGISTIC_REGRESSION_DEFAULTS.maxIter);
    assert.match(renderParamsTable(), new RegExp(`\\| \`train\\.logreg\\.max_iter\` \\| \`${LOGISTIC_REGRESSION_DEFAULTS.maxIter}\` \\|`));
  });

  test("docs/pipeline.md's params table is the one generated from the schema", async () => {
    const doc = await readFile(join(import.meta.dirname, "..", "..", "docs", "pipeline.md"), "utf8");
    const m = /<!-- params-table:begin[^>]*-->\n([\s\S]*?)<!-- params-table:end -->/.exec(doc);
    assert.ok(m, "docs/pipeline.md has no <!-- params-table:begin --> … <!-- params-table:end --> block");
    assert.equal(m[1], renderParamsTable(), "docs/pipeline.md is stale: run `node --import tsx src/stages/params-doc.ts` to regenerate the table");
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
