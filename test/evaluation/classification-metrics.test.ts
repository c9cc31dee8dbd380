import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accuracy,
  confusionMatrix,
  evaluateClassifier,
  logLoss,
  precisionRecallCurve,
  precisionRecallF1,
  rocAuc,
  rocAucOvr,
  rocCurve,
} from "../../src/evaluation/classification-metrics.js";
import { DataError } from "../../src/util/errors.js";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test("accuracy and the confusion matrix (rows true, columns predicted)", () => {
  const t = ["a", "b", "c", "a", "b", "c"];
  const p = ["a", "c", "c", "a", "a", "b"];
  close(accuracy(t, p), 3 / 6);
  assert.deepEqual(confusionMatrix(t, p), {
    labels: ["a", "b", "c"],
    matrix: [
      [2, 0, 0],
      [1, 0, 1],
      [0, 1, 1],
    ],
  });
  // Given labels: others are ignored, order is kept.
  assert.deepEqual(confusionMatrix(t, p, ["c", "a"]).matrix, [
    [1, 0],
    [0, 2],
  ]);
  assert.throws(() => accuracy(["a"], ["a", "b"]), /1 entries but the predictions have 2/);
});

test("binary precision/recall/F1 of posLabel, and zero division gives 0", () => {
  const t = [1, 1, 0, 0, 1];
  const p = [1, 0, 1, 0, 1];
  const s = precisionRecallF1(t, p);
  close(s.precision, 2 / 3);
  close(s.recall, 2 / 3);
  close(s.f1, 2 / 3);
  // Nothing predicted positive: precision 0/0 → 0, F1 → 0, no throw.
  const z = precisionRecallF1([1, 0, 1], [0, 0, 0]);
  assert.deepEqual(z, { precision: 0, recall: 0, f1: 0 });
  const str = precisionRecallF1(["pos", "neg", "pos"], ["pos", "pos", "pos"], { posLabel: "pos" });
  close(str.precision, 2 / 3);
  close(str.recall, 1);
  close(str.f1, 0.8);
  assert.throws(() => precisionRecallF1(["pos", "neg"], ["pos", "neg"]), /posLabel 1 is not one of the labels/);
  assert.throws(() => precisionRecallF1(["a", "b", "c"], ["a", "b", "c"]), /3 labels .* average is 'binary'/);
});

test("multi-class macro, weighted and micro averages by hand", () => {
  const t = ["a", "a", "a", "b", "b", "c"];
  const p = ["a", "a", "b", "b", "c", "c"];
  // a: P 2/2, R 2/3, F 0.8; b: P 1/2, R 1/2, F 0.5; c: P 1/2, R 1, F 2/3. Supports 3, 2, 1.
  const macro = precisionRecallF1(t, p, { average: "macro" });
  close(macro.precision, (1 + 0.5 + 0.5) / 3);
  close(macro.recall, (2 / 3 + 0.5 + 1) / 3);
  close(macro.f1, (0.8 + 0.5 + 2 / 3) / 3);
  const weighted = precisionRecallF1(t, p, { average: "weighted" });
  close(weighted.precision, (3 * 1 + 2 * 0.5 + 0.5) / 6);
  close(weighted.f1, (3 * 0.8 + 2 * 0.5 + 2 / 3) / 6);
  const micro = precisionRecallF1(t, p, { average: "micro" });
  close(micro.f1, 4 / 6);
  // A label only predicted, never true: recall 0/0 → 0, counted in macro with zero support in weighted.
  const extra = precisionRecallF1(["a", "a"], ["a", "z"], { average: "macro" });
  close(extra.recall, (0.5 + 0) / 2);
});

test("ROC AUC with ties counts tied pairs as half (trapezoid over distinct thresholds)", () => {
  // Positives 0.8, 0.4; negatives 0.4, 0.1. Pairs: (0.8>0.4)=1, (0.8>0.1)=1, (0.4=0.4)=½, (0.4>0.1)=1 → 3.5/4.
  close(rocAuc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]), 0.875);
  close(rocAuc([1, 0], [0.5, 0.5]), 0.5);
  close(rocAuc(["p", "n", "n"], [0.1, 0.2, 0.3], { posLabel: "p" }), 0);
  assert.throws(
    () => rocAuc([1, 1], [0.1, 0.2]),
    (e: unknown) => e instanceof DataError && /only one class/.test(e.message),
  );
  assert.throws(() => rocAuc(["p", "n"], [0.1, 0.2]), /pass posLabel/);
  assert.throws(() => rocAuc([1, 0], [NaN, 0.2]), /must be finite/);
});

test("rocCurve: sklearn's points, thresholds and drop_intermediate", () => {
  const y = [0, 0, 1, 1];
  const s = [0.1, 0.4, 0.35, 0.8];
  // sklearn.metrics.roc_curve(y, s): fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1], thresholds [inf, .8, .4, .35, .1]
  assert.deepEqual(rocCurve(y, s), { fpr: [0, 0, 0.5, 0.5, 1], tpr: [0, 0.5, 0.5, 1, 1], thresholds: [Infinity, 0.8, 0.4, 0.35, 0.1] });
  // Collinear points are dropped unless asked to keep them.
  const y2 = [1, 1, 1, 0];
  const s2 = [0.9, 0.8, 0.7, 0.1];
  // sklearn: roc_curve([1,1,1,0], [0.9,0.8,0.7,0.1]) → tpr [0, 1/3, 1, 1] (the point at 0.8 is dropped)
  assert.deepEqual(rocCurve(y2, s2).tpr, [0, 1 / 3, 1, 1]);
  assert.deepEqual(rocCurve(y2, s2, { dropIntermediate: false }).tpr, [0, 1 / 3, 2 / 3, 1, 1]);
});

test("precisionRecallCurve: sklearn's reversed order with the (recall 0, precision 1) end point", () => {
  // sklearn.metrics.precision_recall_curve([0,0,1,1], [0.1,0.4,0.35,0.8]):
  // precision [0.5, 0.6667, 0.5, 1, 1], recall [1, 1, 0.5, 0.5, 0], thresholds [0.1, 0.35, 0.4, 0.8]
  const c = precisionRecallCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
  assert.deepEqual(c.recall, [1, 1, 0.5, 0.5, 0]);
  assert.deepEqual(c.thresholds, [0.1, 0.35, 0.4, 0.8]);
  [0.5, 2 / 3, 0.5, 1, 1].forEach((v, i) => close(c.precision[i], v));
});

test("log loss clips to [eps, 1−eps], renormalises, and averages −ln p(true)", () => {
  const classes = ["a", "b"];
  close(logLoss(["a", "b"], [0.8, 0.2, 0.3, 0.7], classes), -(Math.log(0.8) + Math.log(0.7)) / 2);
  // A zero probability for the true class is clipped to eps = 2.22e-16: −ln(eps) = 36.04.
  close(logLoss(["a"], [0, 1], classes), -Math.log(Number.EPSILON / (Number.EPSILON + 1 - Number.EPSILON)), 1e-9);
  // Rows not summing to 1 are renormalised.
  close(logLoss(["b"], [1, 1], classes), Math.log(2));
  assert.throws(() => logLoss(["c"], [0.5, 0.5], classes), /'c' is not one of the classes/);
  assert.throws(() => logLoss(["a"], [0.5], classes), /expected 1 × 2 = 2 scores/);
});

test("one-vs-rest ROC AUC: macro and prevalence-weighted means of per-class AUCs", () => {
  const y = ["a", "b", "c", "a"];
  const P = [0.7, 0.2, 0.1, 0.3, 0.4, 0.3, 0.2, 0.2, 0.6, 0.4, 0.5, 0.1];
  // a vs rest: scores a=[0.7,0.4], rest=[0.3,0.2] → 1; b: pos 0.4 vs [0.2,0.2,0.5] → 2/3; c: pos 0.6 vs [0.1,0.3,0.1] → 1.
  close(rocAucOvr(y, P, ["a", "b", "c"]), (1 + 2 / 3 + 1) / 3);
  close(rocAucOvr(y, P, ["a", "b", "c"], { average: "weighted" }), (2 * 1 + 2 / 3 + 1) / 4);
  assert.throws(() => rocAucOvr(["a", "a", "b", "b"], new Array(12).fill(1 / 3), ["a", "b", "c"]), /class 'c' has no samples/);
});

test("evaluateClassifier: binary metrics for classes[1] with 2 classes, macro otherwise", () => {
  const classes = ["neg", "pos"];
  const yTrue = ["pos", "pos", "neg", "neg"];
  const yPred = ["pos", "neg", "neg", "neg"];
  const proba = [0.2, 0.8, 0.6, 0.4, 0.7, 0.3, 0.9, 0.1];
  const r = evaluateClassifier(yTrue, yPred, proba, classes);
  assert.equal(r.average, "binary");
  assert.equal(r.posLabel, "pos");
  close(r.precision, 1);
  close(r.recall, 0.5);
  close(r.f1, 2 / 3);
  close(r.accuracy, 0.75);
  close(r.rocAuc as number, 1);
  close(r.logLoss as number, -(Math.log(0.8) + Math.log(0.4) + Math.log(0.7) + Math.log(0.9)) / 4);
  assert.deepEqual(r.confusion.matrix, [
    [2, 0],
    [1, 1],
  ]);
  const noProba = evaluateClassifier(yTrue, yPred, null, classes);
  assert.equal(noProba.rocAuc, null);
  assert.equal(noProba.logLoss, null);
  const scoresOnly = evaluateClassifier(yTrue, yPred, proba, classes, { probabilistic: false });
  assert.equal(scoresOnly.logLoss, null);
  assert.equal(scoresOnly.rocAuc, 1);
  const m = evaluateClassifier(["a", "b", "c"], ["a", "b", "b"], null, ["a", "b", "c"]);
  assert.equal(m.average, "macro");
  close(m.f1, (1 + 2 / 3 + 0) / 3);
});
