import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinearSVC } from "../../src/models/linear-svc.js";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { loadUciSentences } from "../../src/data/builtin.js";
import { expandSpace } from "../../src/tuning/space.js";
import { FoldScorer } from "../../src/tuning/trials.js";
import { randomProblem } from "../models/helpers.js";

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("warm start along the C path", { timeout: 60_000 }, () => {
  it("LogisticRegression from the previous C's coefficients reaches the cold fit's optimum (binary, wide: columns renumbered)", () => {
    // The start is given in X's own column order, whatever the solver's internal renumbering.
    const { X, y } = randomProblem(3, 300, 600, 8);
    const prev = new LogisticRegression({ C: 1, tol: 1e-8, maxIter: 1000, threads: 1 }).fit(X, y);
    const cold = new LogisticRegression({ C: 4, tol: 1e-8, maxIter: 1000, threads: 1 }).fit(X, y);
    const warm = new LogisticRegression({ C: 4, tol: 1e-8, maxIter: 1000, threads: 1, initialCoef: { coef: prev.coef, intercept: prev.intercept } }).fit(X, y);
    assert.ok(maxAbsDiff(warm.coef, cold.coef) < 1e-5, `coef differ by ${maxAbsDiff(warm.coef, cold.coef)}`);
    assert.ok(maxAbsDiff(warm.intercept, cold.intercept) < 1e-5);
    // Started at the optimum itself, the solver has nothing to do: the start is really used.
    const again = new LogisticRegression({ C: 4, tol: 1e-8, maxIter: 1000, threads: 1, initialCoef: { coef: cold.coef, intercept: cold.intercept } }).fit(X, y);
    assert.equal(again.fitReport?.iterations, 0);
    assert.ok(maxAbsDiff(again.coef, cold.coef) < 1e-12);
  });

  it("LogisticRegression warm start: multinomial and one-vs-rest, and a wrong shape is refused", () => {
    const { X, y } = randomProblem(5, 240, 40, 6, ["a", "b", "c"]);
    for (const multiClass of ["multinomial", "ovr"] as const) {
      const prev = new LogisticRegression({ C: 0.5, tol: 1e-8, maxIter: 1000, multiClass }).fit(X, y);
      const cold = new LogisticRegression({ C: 2, tol: 1e-8, maxIter: 1000, multiClass }).fit(X, y);
      const warm = new LogisticRegression({ C: 2, tol: 1e-8, maxIter: 1000, multiClass, initialCoef: { coef: prev.coef, intercept: prev.intercept } }).fit(
        X,
        y,
      );
      assert.ok(maxAbsDiff(warm.coef, cold.coef) < 1e-5, `${multiClass}: coef differ by ${maxAbsDiff(warm.coef, cold.coef)}`);
    }
    const bad = new LogisticRegression({ initialCoef: { coef: new Float64Array(3), intercept: new Float64Array(1) } });
    assert.throws(() => bad.fit(X, y), /initialCoef has 3 coefficients/);
  });

  it("LinearSVC from the previous C's dual variables reaches the cold fit's optimum (hinge and squared hinge)", () => {
    const { X, y } = randomProblem(7, 300, 80, 6);
    for (const loss of ["squared_hinge", "hinge"] as const) {
      const prev = new LinearSVC({ C: 0.5, loss, tol: 1e-6, maxIter: 5000 }).fit(X, y);
      const cold = new LinearSVC({ C: 2, loss, tol: 1e-6, maxIter: 5000 }).fit(X, y);
      const warm = new LinearSVC({ C: 2, loss, tol: 1e-6, maxIter: 5000, initialAlpha: prev.solutions.map((s) => s.alpha) }).fit(X, y);
      // Same strictly convex primal: the primal objectives agree and so do the weights.
      const pc = cold.solutions[0].primal;
      assert.ok(Math.abs(warm.solutions[0].primal - pc) <= 1e-4 * Math.max(1, pc), `${loss}: primal ${warm.solutions[0].primal} vs ${pc}`);
      assert.ok(maxAbsDiff(warm.coef, cold.coef) < 1e-2, `${loss}: coef differ by ${maxAbsDiff(warm.coef, cold.coef)}`);
    }
    assert.throws(() => new LinearSVC({ initialAlpha: [new Float64Array(2)] }).fit(X, y), /initialAlpha must hold 1 arrays of 300/);
  });
});

describe("FoldScorer warm-starts along the C path", { timeout: 120_000 }, () => {
  it("scores each C's folds like a cold scorer (logreg, svm and nbsvm, C increasing)", () => {
    const { texts, labels } = loadUciSentences();
    const sub = { texts: texts.slice(0, 900), labels: labels.slice(0, 900) };
    const configs = expandSpace({
      preprocess: ["light"],
      features: [{ kind: "tfidf", ngram_range: [1, 2] }],
      model: [
        { kind: "logreg", C: [1, 10, 100] },
        { kind: "svm", C: [0.1, 1] },
        { kind: "nbsvm", C: [0.1, 1] },
      ],
    });
    const warm = new FoldScorer(sub.texts, sub.labels, 3, 7);
    const cold = new FoldScorer(sub.texts, sub.labels, 3, 7, 6, false);
    for (const config of configs) {
      for (let f = 0; f < 3; f++) {
        const a = warm.scoreFold(config, f);
        const b = cold.scoreFold(config, f);
        // Same optimum within the solver's tolerance (gradient ≤ tol): weakly regularised fits
        // (C = 100) stop at slightly different points, so a few of the 300 test rows may flip.
        assert.ok(typeof a.accuracy === "number" && typeof b.accuracy === "number");
        assert.ok(Math.abs(a.accuracy - b.accuracy) <= 5 / 300, `${JSON.stringify(config.model)} fold ${f}: ${a.accuracy} vs ${b.accuracy}`);
        assert.ok(Math.abs((a.logLoss ?? 0) - (b.logLoss ?? 0)) < 1e-2, `${JSON.stringify(config.model)} fold ${f}: log loss ${a.logLoss} vs ${b.logLoss}`);
      }
    }
  });
});
