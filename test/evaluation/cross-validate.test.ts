import { test } from "node:test";
import assert from "node:assert/strict";
import { csrSelectRows } from "../../src/features/csr.js";
import { crossValidate, crossValidateBy, crossValidateByAsync, summarizeFolds } from "../../src/evaluation/cross-validate.js";
import { accuracy } from "../../src/evaluation/classification-metrics.js";
import { LinearSVC } from "../../src/models/linear-svc.js";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { MultinomialNB } from "../../src/models/naive-bayes.js";
import { randomProblem } from "../models/helpers.js";

test("summarizeFolds: mean and sample standard deviation, skipping undefined values", () => {
  const r = summarizeFolds([
    { acc: 0.8, auc: null },
    { acc: 0.9, auc: 0.7 },
    { acc: 1.0, auc: 0.9 },
  ]);
  assert.ok(Math.abs(r.mean.acc - 0.9) < 1e-12);
  assert.ok(Math.abs(r.sd.acc - 0.1) < 1e-12);
  assert.ok(Math.abs(r.mean.auc - 0.8) < 1e-12);
  assert.ok(Math.abs(r.sd.auc - Math.sqrt(0.02)) < 1e-12);
});

test("crossValidate fits a fresh model per fold and reports per-fold metrics, deterministic by seed", () => {
  const { X, y } = randomProblem(31, 300, 20, 5, ["neg", "pos"]);
  const seen: number[] = [];
  const r = crossValidate(X, y, () => new LogisticRegression(), { folds: 5, seed: 1, onFold: (f) => seen.push(f) });
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  assert.equal(r.folds.length, 5);
  for (const f of r.folds) {
    assert.ok((f.accuracy as number) > 0.6, `fold accuracy ${f.accuracy}`);
    assert.ok((f.rocAuc as number) > 0.6);
    assert.ok((f.logLoss as number) > 0);
  }
  assert.ok(r.sd.accuracy > 0);
  const again = crossValidate(X, y, () => new LogisticRegression(), { folds: 5, seed: 1 });
  assert.deepEqual(again, r);
});

test("crossValidate with a non-probabilistic model ranks by decision values and skips log loss", () => {
  const { X, y } = randomProblem(32, 150, 15, 4, ["a", "b", "c"]);
  const r = crossValidate(X, y, () => new LinearSVC(), { folds: 3, seed: 2 });
  for (const f of r.folds) {
    assert.equal(f.logLoss, null);
    assert.ok(typeof f.rocAuc === "number");
  }
  assert.equal(r.mean.logLoss, undefined);
  const nb = crossValidate(X, y, () => new MultinomialNB(), { folds: 3, seed: 2 });
  assert.ok(nb.mean.logLoss > 0);
});

test("crossValidateBy hands disjoint, covering train/test indices to the callback", () => {
  const { X, y } = randomProblem(33, 120, 10, 4);
  const tested = new Array<number>(120).fill(0);
  const r = crossValidateBy(y, { folds: 4, seed: 3 }, (train, testIdx, foldIndex) => {
    assert.equal(train.length + testIdx.length, 120);
    for (const i of testIdx) tested[i]++;
    const model = new LogisticRegression().fit(
      csrSelectRows(X, train),
      Array.from(train, (i) => y[i]),
    );
    const pred = model.predict(csrSelectRows(X, testIdx));
    return {
      accuracy: accuracy(
        Array.from(testIdx, (i) => y[i]),
        pred,
      ),
      fold: foldIndex,
    };
  });
  assert.ok(tested.every((c) => c === 1));
  assert.deepEqual(
    r.folds.map((f) => f.fold),
    [0, 1, 2, 3],
  );
  assert.ok(r.mean.accuracy > 0.6);
});

test("crossValidateByAsync awaits each fold in order and gives the same folds as the sync form", async () => {
  const y = randomProblem(34, 60, 5, 2).y;
  const order: number[] = [];
  const asyncResult = await crossValidateByAsync(y, { folds: 3, seed: 5 }, async (_train, testIdx, f) => {
    await Promise.resolve();
    order.push(f);
    return { first: testIdx[0] };
  });
  const syncResult = crossValidateBy(y, { folds: 3, seed: 5 }, (_train, testIdx) => ({ first: testIdx[0] }));
  assert.deepEqual(order, [0, 1, 2]);
  assert.deepEqual(asyncResult, syncResult);
});
