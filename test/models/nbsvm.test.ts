import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense } from "../../src/features/csr.js";
import { LinearSVC } from "../../src/models/linear-svc.js";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { NBSVM, binarize, logCountRatio } from "../../src/models/nbsvm.js";
import { classifierFromJSON, createClassifier } from "../../src/models/serialization.js";
import { InvalidParameterError } from "../../src/util/errors.js";
import { maxAbsDiff, randomProblem } from "./helpers.js";

// Terms (good, bad, movie, plot); counts (binarised by NBSVM).
const X = csrFromDense([
  [2, 0, 1, 0], // pos
  [1, 0, 0, 1], // pos
  [0, 3, 1, 0], // neg
  [0, 1, 1, 1], // neg
  [1, 0, 1, 1], // pos
]);
const y = ["pos", "pos", "neg", "neg", "pos"];

test("the log-count ratio r matches a hand computation (α = 1)", () => {
  const m = new NBSVM().fit(X, y);
  assert.deepEqual(m.classes, ["neg", "pos"]);
  // x̂ summed over pos rows: good 3, bad 0, movie 2, plot 2 → p = (4, 1, 3, 3), ‖p‖₁ = 11.
  // over neg rows: good 0, bad 2, movie 2, plot 1 → q = (1, 3, 3, 2), ‖q‖₁ = 9.
  const p = [4, 1, 3, 3];
  const q = [1, 3, 3, 2];
  const expected = p.map((pj, j) => Math.log(pj / 11 / (q[j] / 9)));
  assert.ok(maxAbsDiff(m.ratios[0], expected) < 1e-14, `r = ${Array.from(m.ratios[0])}`);
  const r2 = logCountRatio(binarize(X), Int32Array.from([1, 1, 0, 0, 1]), 1, 0.5);
  const p2 = [3.5, 0.5, 2.5, 2.5];
  const q2 = [0.5, 2.5, 2.5, 1.5];
  assert.ok(
    maxAbsDiff(
      r2,
      p2.map((pj, j) => Math.log(pj / 9 / (q2[j] / 7))),
    ) < 1e-14,
  );
});

test("with β = 1 the model is the base model fitted on r ∘ x̂ (coef = w ∘ r), and binarises its input", () => {
  for (const base of ["svm", "logreg"] as const) {
    const m = new NBSVM({ base, beta: 1, C: 2 }).fit(X, y);
    const r = m.ratios[0];
    const scaled = csrFromDense([
      [r[0], 0, r[2], 0],
      [r[0], 0, 0, r[3]],
      [0, r[1], r[2], 0],
      [0, r[1], r[2], r[3]],
      [r[0], 0, r[2], r[3]],
    ]);
    const ref = base === "svm" ? new LinearSVC({ C: 2 }).fit(scaled, y) : new LogisticRegression({ C: 2 }).fit(scaled, y);
    assert.ok(
      maxAbsDiff(
        m.coef,
        Array.from(ref.coef, (w, j) => w * r[j]),
      ) < 1e-12,
      base,
    );
    assert.ok(Math.abs(m.intercept[0] - ref.intercept[0]) < 1e-12);
    // Counts 5 and 1 score the same once binarised.
    const a = m.decisionFunction(csrFromDense([[5, 0, 1, 0]]));
    const b = m.decisionFunction(csrFromDense([[1, 0, 1, 0]]));
    assert.equal(a[0], b[0]);
    assert.equal(m.probabilistic, base === "logreg");
  }
});

test("interpolation: w' = (1 − β)·mean|w| + β·w, scaled by r", () => {
  const full = new NBSVM({ beta: 1 }).fit(X, y);
  const half = new NBSVM({ beta: 0.5 }).fit(X, y);
  const r = full.ratios[0];
  const w = Array.from(full.coef, (c, j) => c / r[j]);
  const mean = w.reduce((s, v) => s + Math.abs(v), 0) / w.length;
  assert.ok(
    maxAbsDiff(
      half.coef,
      w.map((wj, j) => (0.5 * mean + 0.5 * wj) * r[j]),
    ) < 1e-12,
  );
});

test("one-vs-rest for three classes: probabilities sum to 1 and the training data is separated", () => {
  const { X: Xm, y: ym } = randomProblem(7, 120, 30, 6, ["a", "b", "c"]);
  const m = new NBSVM({ base: "logreg", C: 10 }).fit(Xm, ym);
  assert.equal(m.coefRows, 3);
  const P = m.predictProba(Xm);
  for (let i = 0; i < Xm.rows; i++) assert.ok(Math.abs(P[3 * i] + P[3 * i + 1] + P[3 * i + 2] - 1) < 1e-12);
  const pred = m.predict(Xm);
  const acc = pred.filter((p, i) => p === ym[i]).length / ym.length;
  assert.ok(acc > 0.8, `training accuracy ${acc}`);
});

test("serialisation round trip gives identical predictions; the factory knows 'nbsvm'", () => {
  const { X: Xr, y: yr } = randomProblem(3, 80, 25, 5);
  for (const m of [
    createClassifier("nbsvm", { C: 0.5 }).fit(Xr, yr),
    new NBSVM({ base: "logreg" }).fit(randomProblem(4, 90, 20, 5, ["x", "y", "z"]).X, randomProblem(4, 90, 20, 5, ["x", "y", "z"]).y),
  ]) {
    const json = JSON.parse(JSON.stringify(m.toJSON()));
    assert.equal(json.kind, "nbsvm");
    const back = classifierFromJSON(json);
    assert.ok(back instanceof NBSVM);
    const Xt = m.coefRows === 1 ? Xr : randomProblem(4, 90, 20, 5).X;
    assert.deepEqual(Array.from(back.predictProba(Xt)), Array.from(m.predictProba(Xt)));
    assert.deepEqual(back.toJSON(), m.toJSON());
  }
  assert.throws(() => new NBSVM({ beta: 2 }), InvalidParameterError);
  assert.throws(() => new NBSVM({ base: "tree" as never }), /base/);
});
