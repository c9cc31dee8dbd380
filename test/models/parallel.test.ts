import assert from "node:assert/strict";
import { test } from "node:test";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { binaryLossGradientRows } from "../../src/models/parallel/binary-logistic-kernel.js";
import { SplitBinaryObjective } from "../../src/models/parallel/split-objective.js";
import { InvalidParameterError } from "../../src/util/errors.js";
import { Random } from "../../src/util/random.js";
import { randomProblem } from "./helpers.js";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("the split (main + worker thread) loss and gradient equal the serial kernel's to 1e-12", () => {
  const { X, y } = randomProblem(11, 400, 60, 6);
  const ySign = Float64Array.from(y, (v) => (v === 1 ? 1 : -1));
  const rng = new Random(5);
  const sw = Float64Array.from({ length: X.rows }, () => 0.5 + rng.nextFloat());
  let S = 0;
  for (const s of sw) S += s;
  const data = { indptr: X.indptr, indices: X.indices, data: X.data, ySign, sw, invS: 1 / S };
  const split = new SplitBinaryObjective(data, X.rows, X.cols);
  try {
    for (let trial = 0; trial < 3; trial++) {
      const x = Float64Array.from({ length: X.cols + 1 }, () => rng.nextGaussian());
      const b = x[X.cols];
      const serialGrad = new Float64Array(X.cols);
      const serialOut = new Float64Array(1);
      const serialLoss = binaryLossGradientRows(data, x, b, serialGrad, 0, X.rows, serialOut);
      const grad = new Float64Array(X.cols).fill(123); // evaluate must zero it
      const out = new Float64Array(1);
      const loss = split.evaluate(x, b, grad, out);
      assert.ok(split.parallel, "the worker thread started and answered");
      assert.ok(Math.abs(loss - serialLoss) <= 1e-12 * Math.abs(serialLoss), `loss ${loss} vs ${serialLoss}`);
      assert.ok(maxAbsDiff(grad, serialGrad) <= 1e-12, `gradient differs by ${maxAbsDiff(grad, serialGrad)}`);
      assert.ok(Math.abs(out[0] - serialOut[0]) <= 1e-12);
    }
  } finally {
    split.close();
  }
  assert.equal(split.parallel, false);
});

test("a split evaluation is deterministic: repeated calls give bit-identical results", () => {
  const { X, y } = randomProblem(12, 300, 40, 5);
  const ySign = Float64Array.from(y, (v) => (v === 1 ? 1 : -1));
  const data = { indptr: X.indptr, indices: X.indices, data: X.data, ySign, sw: new Float64Array(X.rows).fill(1), invS: 1 / X.rows };
  const split = new SplitBinaryObjective(data, X.rows, X.cols);
  try {
    const x = Float64Array.from({ length: X.cols }, (_, j) => Math.sin(j));
    const g1 = new Float64Array(X.cols);
    const g2 = new Float64Array(X.cols);
    const out = new Float64Array(1);
    const l1 = split.evaluate(x, 0.3, g1, out);
    const l2 = split.evaluate(x, 0.3, g2, out);
    assert.equal(l1, l2);
    assert.deepEqual(g1, g2);
  } finally {
    split.close();
  }
});

test("LogisticRegression with threads: 2 finds the single-thread solution (L2 and L1, weighted)", () => {
  const { X, y } = randomProblem(13, 500, 80, 8);
  for (const options of [{ C: 1 }, { C: 0.5, penalty: "l1" as const }, { C: 2, classWeight: "balanced" as const }]) {
    const one = new LogisticRegression({ ...options, threads: 1 }).fit(X, y);
    const two = new LogisticRegression({ ...options, threads: 2 }).fit(X, y);
    assert.ok(maxAbsDiff(one.coef, two.coef) <= 1e-6, `${JSON.stringify(options)}: coef differs by ${maxAbsDiff(one.coef, two.coef)}`);
    const f1 = one.fitReport?.objective ?? NaN;
    const f2 = two.fitReport?.objective ?? NaN;
    assert.ok(Math.abs(f1 - f2) <= 1e-9 * Math.abs(f1), `${JSON.stringify(options)}: objective ${f1} vs ${f2}`);
    assert.deepEqual(two.predict(X), one.predict(X));
  }
});

test("OvR fits (one binary problem per class) run on two threads too", () => {
  const { X, y } = randomProblem(14, 300, 30, 5, ["a", "b", "c"]);
  const one = new LogisticRegression({ multiClass: "ovr", threads: 1 }).fit(X, y);
  const two = new LogisticRegression({ multiClass: "ovr", threads: 2 }).fit(X, y);
  assert.ok(maxAbsDiff(one.coef, two.coef) <= 1e-6);
});

test("threads must be 1, 2 or 'auto'", () => {
  assert.throws(() => new LogisticRegression({ threads: 3 }), (e: unknown) => e instanceof InvalidParameterError && /threads/.test(e.message));
  assert.throws(() => new LogisticRegression({ threads: 0 }), (e: unknown) => e instanceof InvalidParameterError);
  assert.doesNotThrow(() => new LogisticRegression({ threads: "auto" }));
});
