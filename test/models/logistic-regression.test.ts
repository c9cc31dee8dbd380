import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense } from "../../src/features/csr.js";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";
import { FIXED_X, FIXED_Y_BINARY, FIXED_Y_MULTI, denseBinaryGradient, denseMultinomialGradient, maxAbsDiff, norm2, randomProblem } from "./helpers.js";

const ones = (n: number): number[] => new Array<number>(n).fill(1);
const maxAbs = (v: number[]): number => Math.max(...v.map(Math.abs));
/**
 * Optimality is judged relative to the gradient at w = 0: the solver stops on the scaled
 * objective (as sklearn: max |gradient| <= tol, or a relative decrease <= 64·eps, which is
 * what ends these tight-tolerance fits), so the unscaled gradient's size grows with C·n.
 */
function relativeGradient(g: number[], g0: number[]): number {
  return maxAbs(g) / maxAbs(g0);
}
const RELATIVE_GRADIENT_TOL = 1e-6;

test("L2 binary: the full gradient of C·Σ loss + ½‖w‖² is ~0 at the solution", () => {
  const { X, dense, y } = randomProblem(1, 200, 30, 6);
  for (const C of [0.1, 1, 10]) {
    const m = new LogisticRegression({ C, tol: 1e-10, maxIter: 1000 }).fit(X, y);
    assert.equal(m.fitReport?.converged, true);
    const g = denseBinaryGradient(dense, y, 1, m.coef, m.intercept[0], C, ones(200), true);
    const g0 = denseBinaryGradient(dense, y, 1, new Float64Array(30), 0, C, ones(200), true);
    assert.ok(relativeGradient(g, g0) < RELATIVE_GRADIENT_TOL, `C=${C}: relative gradient ${relativeGradient(g, g0)}`);
    // The check has teeth: nudging one weight by 1e-3 breaks it.
    const nudged = Float64Array.from(m.coef);
    nudged[0] += 1e-3;
    assert.ok(relativeGradient(denseBinaryGradient(dense, y, 1, nudged, m.intercept[0], C, ones(200), true), g0) > 10 * RELATIVE_GRADIENT_TOL);
  }
});

test("L2 binary matches scikit-learn's lbfgs on a fixed problem", () => {
  // Produced with scikit-learn 1.2.1: LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(FIXED_X, FIXED_Y_BINARY)
  // and LogisticRegression(C=10.0, class_weight="balanced", tol=1e-12, max_iter=10000). sklearn's lbfgs stops on its
  // relative-decrease test with a gradient of ~2e-5 there, hence the 1e-5 agreement.
  const X = csrFromDense(FIXED_X);
  const m = new LogisticRegression({ tol: 1e-12, maxIter: 1000 }).fit(X, FIXED_Y_BINARY);
  assert.deepEqual(m.classes, ["neg", "pos"]);
  assert.ok(maxAbsDiff(m.coef, [0.18113729190398012, -0.987114842299968, 0.2671127825424098]) < 1e-5);
  assert.ok(Math.abs(m.intercept[0] - 0.5045931130931303) < 1e-5);
  const b = new LogisticRegression({ C: 10, classWeight: "balanced", tol: 1e-12, maxIter: 1000 }).fit(X, FIXED_Y_BINARY);
  assert.ok(maxAbsDiff(b.coef, [0.07129902781055349, -1.7363452577207135, 0.3291897310750418]) < 1e-5);
  assert.ok(Math.abs(b.intercept[0] - 1.1302649431564238) < 1e-5);
});

test("multinomial: gradient ~0 and scikit-learn's coefficients on the fixed problem", () => {
  // scikit-learn 1.2.1: LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(FIXED_X, FIXED_Y_MULTI) (multinomial by default).
  // sklearn stops there with a gradient of 1.5e-4 (its relative-decrease test), so it agrees to 1e-4; scipy's BFGS on the
  // same objective with gtol=1e-13 gives the reference optimum below, which we match to 1e-6.
  const X = csrFromDense(FIXED_X);
  const m = new LogisticRegression({ tol: 1e-12, maxIter: 1000 }).fit(X, FIXED_Y_MULTI);
  assert.deepEqual(m.classes, ["neg", "neu", "pos"]);
  const skCoef = [
    -0.6124794010530621, 0.9571220327800654, -0.5453503543014593, -0.04093547727476014, -0.35015444326457373, 0.6316722249573298, 0.6534148783278212,
    -0.6069675895154927, -0.08632187065587026,
  ];
  assert.ok(maxAbsDiff(m.coef, skCoef) < 1e-4, `coef ${Array.from(m.coef)}`);
  assert.ok(maxAbsDiff(m.intercept, [-0.1436587492240025, 0.11725488313856915, 0.026403866085432305]) < 1e-4);
  const bfgsCoef = [
    -0.6124834646274733, 0.9571343069752483, -0.545376132915924, -0.040938881036721886, -0.35016139598883106, 0.6316998802088718, 0.6534223456641952,
    -0.6069729109864166, -0.08632374729294806,
  ];
  assert.ok(maxAbsDiff(m.coef, bfgsCoef) < 1e-6);
  assert.ok(maxAbsDiff(m.intercept, [-0.1436741864914223, 0.11727368629144505, 0.026400500199974024]) < 1e-6);
  const g = denseMultinomialGradient(FIXED_X, FIXED_Y_MULTI, m.classes, m.coef, m.intercept, 1, ones(12));
  assert.ok(maxAbs(g) < 1e-6, `max |gradient| ${maxAbs(g)}`);
  const P = m.predictProba(X);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(P[3 * i] + P[3 * i + 1] + P[3 * i + 2] - 1) < 1e-12);
});

test("multinomial on a random 4-class problem with class weights: gradient ~0", () => {
  const classes = ["a", "b", "c", "d"];
  const { X, dense, y } = randomProblem(2, 300, 25, 5, classes);
  const weights = { a: 2, c: 0.5 };
  const m = new LogisticRegression({ C: 3, classWeight: weights, tol: 1e-10, maxIter: 2000 }).fit(X, y);
  const sw = y.map((l) => (l === "a" ? 2 : l === "c" ? 0.5 : 1));
  const g = denseMultinomialGradient(dense, y, classes, m.coef, m.intercept, 3, sw);
  const g0 = denseMultinomialGradient(dense, y, classes, new Float64Array(100), new Float64Array(4), 3, sw);
  assert.ok(relativeGradient(g, g0) < RELATIVE_GRADIENT_TOL, `relative gradient ${relativeGradient(g, g0)}`);
});

test("one-vs-rest fits k binary problems, each at its optimum; probabilities are normalised", () => {
  const classes = [1, 2, 3];
  const { X, dense, y } = randomProblem(3, 150, 12, 4, classes);
  const m = new LogisticRegression({ multiClass: "ovr", tol: 1e-10, maxIter: 1000 }).fit(X, y);
  assert.equal(m.coef.length, 3 * 12);
  for (let c = 0; c < 3; c++) {
    const g = denseBinaryGradient(dense, y, classes[c], m.coef.subarray(c * 12, (c + 1) * 12), m.intercept[c], 1, ones(150), true);
    const g0 = denseBinaryGradient(dense, y, classes[c], new Float64Array(12), 0, 1, ones(150), true);
    assert.ok(relativeGradient(g, g0) < RELATIVE_GRADIENT_TOL, `class ${c}: ${relativeGradient(g, g0)}`);
  }
  const P = m.predictProba(X);
  for (let i = 0; i < 150; i++) assert.ok(Math.abs(P[3 * i] + P[3 * i + 1] + P[3 * i + 2] - 1) < 1e-12);
});

test("binary with multiClass 'multinomial' gives the same log-odds as the binary model", () => {
  const { X, y } = randomProblem(4, 120, 10, 4);
  // Symmetric softmax with ½(‖w0‖²+‖w1‖²) at w0 = −w1 = v/2 equals the binary model with penalty ¼‖v‖², i.e. C' = 2C.
  const multi = new LogisticRegression({ multiClass: "multinomial", tol: 1e-11, maxIter: 1000 }).fit(X, y);
  const bin = new LogisticRegression({ C: 2, tol: 1e-11, maxIter: 1000 }).fit(X, y);
  assert.equal(multi.coef.length, 10);
  assert.ok(maxAbsDiff(multi.coef, bin.coef) < 1e-6);
  assert.ok(Math.abs(multi.intercept[0] - bin.intercept[0]) < 1e-6);
});

test("L1 (OWL-QN) satisfies the KKT conditions and gives sparse weights", () => {
  const { X, dense, y } = randomProblem(5, 300, 40, 6);
  const C = 0.5;
  const m = new LogisticRegression({ penalty: "l1", C, tol: 1e-10, maxIter: 5000 }).fit(X, y);
  // Smooth part h = C·Σ loss; KKT for h + ‖w‖₁: ∂_j h = −sign(w_j) if w_j ≠ 0, |∂_j h| ≤ 1 if w_j = 0; ∂_b h = 0.
  const g = denseBinaryGradient(dense, y, 1, m.coef, m.intercept[0], C, ones(300), false);
  let zeros = 0;
  for (let j = 0; j < 40; j++) {
    if (m.coef[j] === 0) {
      zeros++;
      assert.ok(Math.abs(g[j]) <= 1 + 1e-5, `feature ${j}: |∂h| = ${Math.abs(g[j])}`);
    } else {
      assert.ok(Math.abs(g[j] + Math.sign(m.coef[j])) < 1e-5, `feature ${j}: ∂h = ${g[j]}, w = ${m.coef[j]}`);
    }
  }
  assert.ok(Math.abs(g[40]) < 1e-5, `intercept gradient ${g[40]}`);
  assert.ok(zeros > 0, "some weights are exactly zero");
});

test("L1 matches scikit-learn (saga, tol 1e-14) on the fixed problem", () => {
  // scikit-learn 1.2.1: LogisticRegression(penalty="l1", solver="saga", C=1.0, tol=1e-14, max_iter=1000000).fit(FIXED_X, FIXED_Y_BINARY)
  const m = new LogisticRegression({ penalty: "l1", tol: 1e-12, maxIter: 1000 }).fit(csrFromDense(FIXED_X), FIXED_Y_BINARY);
  assert.equal(m.coef[0], 0);
  assert.equal(m.coef[2], 0);
  assert.ok(Math.abs(m.coef[1] - -1.1073916554316736) < 1e-6);
  assert.ok(Math.abs(m.intercept[0] - 0.9606889683586) < 1e-6);
});

test("classWeight: a weight of 2 is exactly the same objective as duplicating those samples; 'balanced' is n/(k·count)", () => {
  const { X, dense, y } = randomProblem(6, 80, 8, 3, ["neg", "pos"]);
  const weighted = new LogisticRegression({ classWeight: { neg: 2 }, tol: 1e-11, maxIter: 1000 }).fit(X, y);
  const dupRows = dense.concat(dense.filter((_, i) => y[i] === "neg"));
  const dupY = y.concat(y.filter((l) => l === "neg"));
  const dup = new LogisticRegression({ tol: 1e-11, maxIter: 1000 }).fit(csrFromDense(dupRows), dupY);
  assert.ok(maxAbsDiff(weighted.coef, dup.coef) < 1e-6);
  assert.ok(Math.abs(weighted.intercept[0] - dup.intercept[0]) < 1e-6);
  const plain = new LogisticRegression({ tol: 1e-11, maxIter: 1000 }).fit(X, y);
  assert.ok(maxAbsDiff(weighted.coef, plain.coef) > 1e-3, "weights change the solution");

  const nNeg = y.filter((l) => l === "neg").length;
  const nPos = y.length - nNeg;
  const balanced = new LogisticRegression({ classWeight: "balanced", tol: 1e-11, maxIter: 1000 }).fit(X, y);
  const mapped = new LogisticRegression({ classWeight: { neg: 80 / (2 * nNeg), pos: 80 / (2 * nPos) }, tol: 1e-11, maxIter: 1000 }).fit(X, y);
  assert.ok(maxAbsDiff(balanced.coef, mapped.coef) < 1e-9);
  const sw = y.map((l) => (l === "neg" ? 80 / (2 * nNeg) : 80 / (2 * nPos)));
  const g = denseBinaryGradient(dense, y, "pos", balanced.coef, balanced.intercept[0], 1, sw, true);
  const g0 = denseBinaryGradient(dense, y, "pos", new Float64Array(8), 0, 1, sw, true);
  assert.ok(relativeGradient(g, g0) < RELATIVE_GRADIENT_TOL);
});

test("fitIntercept=false: zero intercept and zero gradient with respect to w", () => {
  const { X, dense, y } = randomProblem(7, 100, 10, 4);
  const m = new LogisticRegression({ fitIntercept: false, tol: 1e-10, maxIter: 1000 }).fit(X, y);
  assert.equal(m.intercept[0], 0);
  const g = denseBinaryGradient(dense, y, 1, m.coef, 0, 1, ones(100), true);
  const g0 = denseBinaryGradient(dense, y, 1, new Float64Array(10), 0, 1, ones(100), true);
  assert.ok(relativeGradient(g.slice(0, 10), g0.slice(0, 10)) < RELATIVE_GRADIENT_TOL);
});

test("larger C means weaker regularisation: ‖w‖ grows with C", () => {
  const { X, y } = randomProblem(8, 100, 10, 4);
  const norms = [0.01, 0.1, 1, 10].map((C) => norm2(new LogisticRegression({ C, tol: 1e-8 }).fit(X, y).coef));
  for (let i = 1; i < norms.length; i++) assert.ok(norms[i] > norms[i - 1], `norms ${norms}`);
});

test("penalty 'none' reaches a zero gradient of the unpenalised loss", () => {
  const { X, dense, y } = randomProblem(9, 200, 5, 3);
  const m = new LogisticRegression({ penalty: "none", tol: 1e-9, maxIter: 1000 }).fit(X, y);
  const g = denseBinaryGradient(dense, y, 1, m.coef, m.intercept[0], 1, ones(200), false);
  const g0 = denseBinaryGradient(dense, y, 1, new Float64Array(5), 0, 1, ones(200), false);
  assert.ok(relativeGradient(g, g0) < RELATIVE_GRADIENT_TOL);
});

test("reports fit progress, objective and non-convergence as a warning (not console output)", () => {
  const { X, y } = randomProblem(10, 100, 10, 4);
  const progress: number[] = [];
  const warnings: string[] = [];
  const m = new LogisticRegression({ maxIter: 2, tol: 1e-12, onProgress: (_it, f) => progress.push(f), onWarning: (w) => warnings.push(w) }).fit(X, y);
  assert.equal(m.fitReport?.converged, false);
  assert.equal(m.fitReport?.iterations, 2);
  assert.equal(progress.length, 2);
  assert.ok(progress[1] < progress[0]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /did not converge within maxIter=2/);
  assert.deepEqual(m.warnings, warnings);
  const full = new LogisticRegression({ tol: 1e-10 }).fit(X, y);
  assert.equal(full.fitReport?.converged, true);
  assert.ok((full.fitReport?.objective as number) < progress[1]);
});

test("labels: numbers sort before strings, predictions use the original labels", () => {
  const X = csrFromDense([
    [1, 0],
    [0, 1],
    [1, 0.1],
    [0.1, 1],
    [2, 0],
    [0, 2],
  ]);
  const m = new LogisticRegression().fit(X, ["b", 10, "b", 10, "a", "a"]);
  assert.deepEqual(m.classes, [10, "a", "b"]);
  assert.equal(m.predict(X).length, 6);
  for (const p of m.predict(X)) assert.ok([10, "a", "b"].includes(p));
});

test("bad input is rejected with specific errors", () => {
  const X = csrFromDense([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  assert.throws(
    () => new LogisticRegression().fit(X, ["pos", "pos", "pos"]),
    (e: unknown) => e instanceof DataError && /needs at least 2 classes, got only 'pos'/.test(e.message),
  );
  assert.throws(
    () => new LogisticRegression().fit(X, ["a", "b"]),
    (e: unknown) => e instanceof DataError && /3 rows but y has 2 labels/.test(e.message),
  );
  assert.throws(() => new LogisticRegression({ C: NaN }), InvalidParameterError);
  assert.throws(() => new LogisticRegression({ tol: Infinity }), InvalidParameterError);
  assert.throws(
    () => new LogisticRegression({ maxIters: 5 } as never),
    (e: unknown) => e instanceof InvalidParameterError && /unknown option 'maxIters'/.test(e.message),
  );
  assert.throws(() => new LogisticRegression({ penalty: "elasticnet" } as never), InvalidParameterError);
  const m = new LogisticRegression().fit(X, ["a", "b", "a"]);
  assert.throws(
    () => m.predict(csrFromDense([[1, 0, 0]])),
    (e: unknown) => e instanceof DataError && /3 features but the model was fitted with 2/.test(e.message),
  );
  assert.throws(() => new LogisticRegression().predict(X), DataError);
  assert.throws(() => new LogisticRegression({ classWeight: { c: 1 } }).fit(X, ["a", "b", "a"]), /classWeight names labels not in the data: 'c'/);
  assert.throws(() => new LogisticRegression({ classWeight: { a: 0, b: 0 } }).fit(X, ["a", "b", "a"]), /every sample has weight 0/);
  assert.throws(
    () =>
      new LogisticRegression().fit(
        csrFromDense([
          [1, NaN],
          [0, 1],
        ]),
        ["a", "b"],
      ),
    (e: unknown) => e instanceof DataError && /non-finite value \(NaN\)/.test(e.message),
  );
});
