import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense } from "../../src/features/csr.js";
import { LinearSVC, solveSvcDual } from "../../src/models/linear-svc.js";
import { InvalidParameterError } from "../../src/util/errors.js";
import { Random } from "../../src/util/random.js";
import { FIXED_X, FIXED_Y_BINARY, FIXED_Y_MULTI, maxAbsDiff, randomProblem } from "./helpers.js";

function margins(dense: number[][], y: (string | number)[], positive: string | number, w: ArrayLike<number>, b: number): number[] {
  return dense.map((row, i) => (y[i] === positive ? 1 : -1) * (row.reduce((s, v, j) => s + v * w[j], 0) + b));
}

test("hinge loss: dual box constraints, KKT conditions and a tiny duality gap", () => {
  const { X, dense, y } = randomProblem(11, 200, 20, 5);
  const C = 0.5;
  const m = new LinearSVC({ loss: "hinge", C, tol: 1e-8, maxIter: 100000 }).fit(X, y);
  const sol = m.solutions[0];
  assert.equal(sol.converged, true);
  const marg = margins(dense, y, 1, m.coef, m.intercept[0]);
  for (let i = 0; i < 200; i++) {
    const a = sol.alpha[i];
    assert.ok(a >= 0 && a <= C);
    if (a === 0) assert.ok(marg[i] >= 1 - 1e-6, `α=0 but margin ${marg[i]}`);
    else if (a === C) assert.ok(marg[i] <= 1 + 1e-6, `α=C but margin ${marg[i]}`);
    else assert.ok(Math.abs(marg[i] - 1) < 1e-6, `0<α<C but margin ${marg[i]}`);
  }
  assert.ok(sol.primal - sol.dual >= -1e-9);
  assert.ok(sol.primal - sol.dual < 1e-6 * sol.primal, `gap ${sol.primal - sol.dual}`);
});

test("squared hinge: α_i = 2·C·max(0, 1 − margin_i) at the optimum and the gap closes", () => {
  const { X, dense, y } = randomProblem(12, 200, 20, 5);
  const C = 2;
  const m = new LinearSVC({ C, tol: 1e-9, maxIter: 100000 }).fit(X, y);
  const sol = m.solutions[0];
  const marg = margins(dense, y, 1, m.coef, m.intercept[0]);
  for (let i = 0; i < 200; i++) assert.ok(Math.abs(sol.alpha[i] - 2 * C * Math.max(0, 1 - marg[i])) < 1e-6);
  assert.ok(sol.primal - sol.dual < 1e-7 * sol.primal);
  assert.equal(m.fitReport?.objective, sol.primal);
});

test("matches scikit-learn's LinearSVC (liblinear) on the fixed problem, binary and one-vs-rest", () => {
  // scikit-learn 1.2.1: LinearSVC(C=1.0, tol=1e-10, max_iter=1000000) and LinearSVC(loss="hinge", ...) on FIXED_X.
  const X = csrFromDense(FIXED_X);
  const sq = new LinearSVC({ tol: 1e-10, maxIter: 1000000 }).fit(X, FIXED_Y_BINARY);
  assert.ok(maxAbsDiff(sq.coef, [0.07199844327310542, -0.6362327301085432, 0.16376726989906232]) < 1e-7);
  assert.ok(Math.abs(sq.intercept[0] - 0.34676007004909454) < 1e-7);
  const hinge = new LinearSVC({ loss: "hinge", tol: 1e-10, maxIter: 1000000 }).fit(X, FIXED_Y_BINARY);
  assert.ok(maxAbsDiff(hinge.coef, [0.15789473684234157, -0.9999999999979862, 0.47368421052627624]) < 1e-7);
  assert.ok(Math.abs(hinge.intercept[0] - 0.5263157894737237) < 1e-7);
  const multi = new LinearSVC({ tol: 1e-10, maxIter: 1000000 }).fit(X, FIXED_Y_MULTI);
  const skCoef = [
    -0.7949599083485646, 0.8751431844141783, -0.7949599083664716, -0.13971589804093926, -0.2875267561788805, 0.5124732438183421, 0.4215349370049091,
    -0.5158163714937847, -0.20812406379421178,
  ];
  assert.ok(maxAbsDiff(multi.coef, skCoef) < 1e-7);
  assert.ok(maxAbsDiff(multi.intercept, [-0.12371134021434518, -0.28371278458538957, -0.20618556700041313]) < 1e-7);
});

test("the intercept is regularised as liblinear's bias feature; fitIntercept=false gives none", () => {
  const { X, y } = randomProblem(13, 100, 10, 4);
  const m = new LinearSVC({ fitIntercept: false, tol: 1e-8, maxIter: 10000 }).fit(X, y);
  assert.equal(m.intercept[0], 0);
  const w = new LinearSVC({ tol: 1e-8, maxIter: 10000 }).fit(X, y);
  // The bias weight is b = Σ α_i y_i (the gradient of ½b² + loss in b vanishes), not a free parameter.
  const sol = w.solutions[0];
  let s = 0;
  for (let i = 0; i < 100; i++) s += sol.alpha[i] * (y[i] === 1 ? 1 : -1);
  assert.ok(Math.abs(s - w.intercept[0]) < 1e-9);
});

test("same seed, same model; predictProba is the documented σ/softmax of decisions", () => {
  const { X, y } = randomProblem(14, 120, 10, 4, ["a", "b", "c"]);
  const a = new LinearSVC({ seed: 3, maxIter: 50 }).fit(X, y);
  const b = new LinearSVC({ seed: 3, maxIter: 50 }).fit(X, y);
  assert.deepEqual(Array.from(a.coef), Array.from(b.coef));
  assert.equal(a.probabilistic, false);
  const D = a.decisionFunction(X);
  const P = a.predictProba(X);
  const e = [0, 1, 2].map((c) => Math.exp(D[c]));
  assert.ok(Math.abs(P[0] - e[0] / (e[0] + e[1] + e[2])) < 1e-12);
});

test("class weights scale C per sample; bad options are rejected; non-convergence warns", () => {
  const { X, y } = randomProblem(15, 100, 10, 4);
  const weighted = new LinearSVC({ loss: "hinge", classWeight: { 1: 3 }, tol: 1e-8, maxIter: 10000 }).fit(X, y);
  const plain = new LinearSVC({ loss: "hinge", tol: 1e-8, maxIter: 10000 }).fit(X, y);
  assert.ok(maxAbsDiff(weighted.coef, plain.coef) > 1e-3);
  // Hinge box: 0 ≤ α_i ≤ C·weight(y_i); class 1's upper bound is 3.
  const alpha = weighted.solutions[0].alpha;
  assert.ok(alpha.every((a, i) => a >= 0 && a <= (y[i] === 1 ? 3 : 1)));
  assert.ok(
    alpha.some((a, i) => y[i] === 1 && a > 1),
    "some class-1 multiplier uses the larger bound",
  );
  assert.throws(() => new LinearSVC({ C: -1 }), InvalidParameterError);
  assert.throws(() => new LinearSVC({ loss: "log" } as never), InvalidParameterError);
  assert.throws(() => new LinearSVC({ penalty: "l1" } as never), /unknown option 'penalty'/);
  const warnings: string[] = [];
  const m = new LinearSVC({ maxIter: 1, tol: 1e-12, onWarning: (w) => warnings.push(w) }).fit(X, y);
  assert.equal(m.fitReport?.converged, false);
  assert.match(warnings[0], /did not converge within maxIter=1/);
});

test("the WebAssembly passes give the JavaScript passes' solution bit for bit (both losses, warm starts, rows starting at an offset, a smaller problem after a bigger one)", () => {
  const cases = [
    { seed: 21, n: 300, d: 40, nnz: 6, loss: "squared_hinge" as const, C: 1 },
    { seed: 22, n: 120, d: 15, nnz: 4, loss: "hinge" as const, C: 0.3 },
    { seed: 23, n: 500, d: 80, nnz: 9, loss: "squared_hinge" as const, C: 2 },
    { seed: 24, n: 60, d: 7, nnz: 3, loss: "hinge" as const, C: 5 },
  ];
  for (const c of cases) {
    const { X: full, y } = randomProblem(c.seed, c.n + 1, c.d, c.nnz);
    // Drop the first row by moving indptr: the stored values then start at an offset.
    const X = { rows: c.n, cols: c.d, indptr: full.indptr.subarray(1), indices: full.indices, data: full.data };
    const ySign = Float64Array.from(y.slice(1), (v) => (v === 1 ? 1 : -1));
    const Ci = new Float64Array(c.n).fill(c.C);
    const params = { C: c.C, loss: c.loss, tol: 1e-6, maxIter: 2000, fitIntercept: true, classWeight: null, seed: 0 };
    let startWasm: Float64Array | undefined;
    let startJs: Float64Array | undefined;
    for (const scale of [0.1, 1]) {
      const Cs = Ci.map((v) => v * scale);
      const wasm = solveSvcDual(X, ySign, Cs, params, new Random(3), startWasm, true);
      const js = solveSvcDual(X, ySign, Cs, params, new Random(3), startJs, false);
      assert.equal(wasm.iterations, js.iterations, `case ${c.seed}`);
      assert.ok(wasm.iterations > 2 && wasm.converged, `case ${c.seed}: ${wasm.iterations} passes`);
      assert.deepEqual(Array.from(wasm.w), Array.from(js.w), `case ${c.seed}: w`);
      assert.deepEqual(Array.from(wasm.alpha), Array.from(js.alpha), `case ${c.seed}: alpha`);
      assert.equal(wasm.bias, js.bias);
      assert.equal(wasm.primal, js.primal);
      startWasm = wasm.alpha;
      startJs = js.alpha;
    }
  }
});
