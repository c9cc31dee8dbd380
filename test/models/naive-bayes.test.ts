import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense } from "../../src/features/csr.js";
import { MultinomialNB } from "../../src/models/naive-bayes.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";

// Tiny corpus, 3 terms (good, bad, movie): counts per document.
const X = csrFromDense([
  [2, 0, 1], // pos
  [1, 0, 1], // pos
  [0, 3, 1], // neg
]);
const y = ["pos", "pos", "neg"];

test("feature_log_prob = ln((N_cj + α)/(N_c + α·d)) and class priors, computed by hand", () => {
  const m = new MultinomialNB().fit(X, y);
  assert.deepEqual(m.classes, ["neg", "pos"]);
  // neg: counts (0,3,1), N=4, denominator 4+3 = 7 → (1/7, 4/7, 2/7); pos: counts (3,0,2), N=5, denominator 8 → (4/8, 1/8, 3/8).
  const expected = [1 / 7, 4 / 7, 2 / 7, 4 / 8, 1 / 8, 3 / 8].map(Math.log);
  for (let q = 0; q < 6; q++) assert.ok(Math.abs(m.coef[q] - expected[q]) < 1e-15);
  assert.ok(Math.abs(m.intercept[0] - Math.log(1 / 3)) < 1e-15);
  assert.ok(Math.abs(m.intercept[1] - Math.log(2 / 3)) < 1e-15);
});

test("predictProba is the normalised joint likelihood (log-sum-exp), by hand", () => {
  const m = new MultinomialNB().fit(X, y);
  // Document "good movie" = (1, 0, 1): neg ∝ 1/3·1/7·2/7, pos ∝ 2/3·4/8·3/8.
  const neg = (1 / 3) * (1 / 7) * (2 / 7);
  const pos = (2 / 3) * (4 / 8) * (3 / 8);
  const P = m.predictProba(csrFromDense([[1, 0, 1]]));
  assert.ok(Math.abs(P[1] - pos / (neg + pos)) < 1e-15);
  assert.ok(Math.abs(P[0] + P[1] - 1) < 1e-15);
  assert.deepEqual(
    m.predict(
      csrFromDense([
        [1, 0, 1],
        [0, 2, 0],
      ]),
    ),
    ["pos", "neg"],
  );
  // Binary decisionFunction: log-odds of classes[1].
  assert.ok(Math.abs(m.decisionFunction(csrFromDense([[1, 0, 1]]))[0] - Math.log(pos / neg)) < 1e-12);
  // Very long documents must not underflow to NaN.
  const big = m.predictProba(csrFromDense([[5000, 0, 5000]]));
  assert.ok(Number.isFinite(big[0]) && Math.abs(big[1] - 1) < 1e-12);
});

test("alpha, fitPrior=false and classPrior change exactly what sklearn's formulas say", () => {
  const m = new MultinomialNB({ alpha: 0.5, fitPrior: false }).fit(X, y);
  // neg: denominator 4 + 1.5 = 5.5 → (0.5/5.5, 3.5/5.5, 1.5/5.5)
  assert.ok(Math.abs(m.coef[1] - Math.log(3.5 / 5.5)) < 1e-15);
  assert.ok(Math.abs(m.intercept[0] - Math.log(0.5)) < 1e-15);
  const p = new MultinomialNB({ classPrior: [0.9, 0.1] }).fit(X, y);
  assert.ok(Math.abs(p.intercept[0] - Math.log(0.9)) < 1e-15);
  assert.throws(() => new MultinomialNB({ classPrior: [0.2, 0.3, 0.5] }).fit(X, y), /classPrior has 3 entries but the data has 2 classes/);
});

test("negative feature values and bad options are rejected", () => {
  assert.throws(
    () =>
      new MultinomialNB().fit(
        csrFromDense([
          [1, -1],
          [0, 1],
        ]),
        ["a", "b"],
      ),
    (e: unknown) => e instanceof DataError && /non-negative/.test(e.message),
  );
  assert.throws(() => new MultinomialNB({ alpha: -1 }), InvalidParameterError);
  assert.throws(() => new MultinomialNB({ alpha: NaN }), InvalidParameterError);
  assert.throws(() => new MultinomialNB({ smoothing: 1 } as never), /unknown option 'smoothing'/);
  assert.throws(() => new MultinomialNB().fit(X, ["a", "a", "a"]), /needs at least 2 classes, got only 'a'/);
});

test("multi-class: probabilities sum to 1 and the argmax is predicted", () => {
  const Xm = csrFromDense([
    [3, 0, 0],
    [0, 3, 0],
    [0, 0, 3],
    [2, 1, 0],
    [0, 2, 1],
    [1, 0, 2],
  ]);
  const m = new MultinomialNB().fit(Xm, [0, 1, 2, 0, 1, 2]);
  const P = m.predictProba(Xm);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(P[3 * i] + P[3 * i + 1] + P[3 * i + 2] - 1) < 1e-12);
  assert.deepEqual(m.predict(Xm), [0, 1, 2, 0, 1, 2]);
});
