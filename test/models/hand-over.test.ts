import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { handOverToFit, releaseHandedOver, type CsrMatrix } from "../../src/features/csr.js";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { createColumnArena } from "../../src/models/parallel/binary-logistic-kernel.js";
import { ColumnBinaryObjective, sharedFloat64, sharedInt32 } from "../../src/models/parallel/split-objective.js";
import { DataError } from "../../src/util/errors.js";
import { randomProblem } from "./helpers.js";

/**
 * handOverToFit: a caller that will not read X again lets the fit release X's arrays once it
 * has its own (column) copy. The fit's result must not change, X must be emptied only on that
 * path, and never before the copy exists.
 */

function copy(X: CsrMatrix, shared: boolean): CsrMatrix {
  return shared
    ? { rows: X.rows, cols: X.cols, indptr: sharedInt32(X.indptr.slice()), indices: sharedInt32(X.indices.slice()), data: sharedFloat64(X.data.slice()) }
    : { rows: X.rows, cols: X.cols, indptr: X.indptr.slice(), indices: X.indices.slice(), data: X.data.slice() };
}

function assertEmptied(X: CsrMatrix, cols: number): void {
  assert.equal(X.rows, 0);
  assert.equal(X.cols, cols);
  assert.deepEqual(Array.from(X.indptr), [0]);
  assert.equal(X.indices.length, 0);
  assert.equal(X.data.length, 0);
}

describe("handOverToFit", { timeout: 60_000 }, () => {
  const { X, y } = randomProblem(21, 600, 80, 7);

  for (const [threads, shared] of [
    [2, true],
    [2, false],
  ] as const) {
    it(`LogisticRegression by columns (${threads} threads, X ${shared ? "in shared memory" : "in plain memory"}) gives the same fit and empties X`, () => {
      const kept = copy(X, shared);
      const given = handOverToFit(copy(X, shared));
      const a = new LogisticRegression({ threads }).fit(kept, y);
      const b = new LogisticRegression({ threads }).fit(given, y);
      assert.deepEqual(Array.from(b.coef), Array.from(a.coef));
      assert.equal(b.coef.length, X.cols, "one binary problem: d coefficients (a view of the solution)");
      assert.deepEqual(Array.from(b.intercept), Array.from(a.intercept));
      assert.deepEqual(b.fitReport, a.fitReport);
      assertEmptied(given, X.cols);
      // The matrix the caller kept is untouched.
      assert.deepEqual(Array.from(kept.data), Array.from(X.data));
      // The emptied matrix is refused as training data, not silently fitted.
      assert.throws(() => new LogisticRegression({ threads }).fit(given, y), DataError);
    });
  }

  it("the column objective built for a released X runs on a fresh worker, bit-identical to the worker that built it", () => {
    const shared = copy(X, true);
    const ySign = Float64Array.from(y, (v) => (v === 1 ? 1 : -1));
    const sw = new Float64Array(X.rows).fill(1);
    const objectives = [false, true].map((releaseX) => new ColumnBinaryObjective(createColumnArena(shared, true, false), 2, shared, releaseX, 0));
    try {
      const grads = objectives.map(() => new Float64Array(X.cols));
      const outs = objectives.map(() => new Float64Array(1));
      const w = Float64Array.from({ length: X.cols }, (_, j) => Math.sin(j));
      const losses = objectives.map((o, k) => {
        assert.equal(o.parallel, true);
        o.setRows(ySign, sw);
        return o.evaluate(w, 0.25, 1 / X.rows, grads[k], outs[k]);
      });
      assert.equal(losses[1], losses[0]);
      assert.deepEqual(Array.from(grads[1]), Array.from(grads[0]));
      assert.equal(outs[1][0], outs[0][0]);
      assert.equal(objectives[1].parallel, true, "the fresh worker answered");
    } finally {
      for (const o of objectives) o.close();
    }
  });

  it("one-vs-rest fits every class from the copy after X is released", () => {
    const multi = randomProblem(22, 500, 60, 6, ["a", "b", "c"]);
    const a = new LogisticRegression({ threads: 2, multiClass: "ovr" }).fit(copy(multi.X, true), multi.y);
    const given = handOverToFit(copy(multi.X, true));
    const b = new LogisticRegression({ threads: 2, multiClass: "ovr" }).fit(given, multi.y);
    assert.deepEqual(Array.from(b.coef), Array.from(a.coef));
    assertEmptied(given, multi.X.cols);
  });

  it("a fit that makes no copy (row-wise, multinomial) leaves X as it is", () => {
    for (const options of [{ threads: 1 }, { threads: 2, multiClass: "multinomial" as const }]) {
      const given = handOverToFit(copy(X, false));
      new LogisticRegression(options).fit(given, y);
      assert.equal(given.rows, X.rows);
      assert.deepEqual(Array.from(given.data), Array.from(X.data));
    }
  });

  it("a fit refused before the copy leaves X as it is", () => {
    const given = handOverToFit(copy(X, true));
    assert.throws(() => new LogisticRegression({ threads: 2 }).fit(given, y.slice(1)), DataError);
    assert.equal(given.rows, X.rows);
    assert.equal(given.indices.length, X.indices.length);
  });

  it("only a handed-over, unfrozen matrix is released, and only once", () => {
    const plain = copy(X, false);
    assert.equal(releaseHandedOver(plain), false);
    assert.equal(plain.rows, X.rows);
    const frozen = Object.freeze(copy(X, false));
    assert.equal(releaseHandedOver(handOverToFit(frozen)), false);
    assert.equal(frozen.rows, X.rows);
    const given = handOverToFit(copy(X, false));
    assert.equal(releaseHandedOver(given), true);
    assertEmptied(given, X.cols);
    assert.equal(releaseHandedOver(given), false);
  });
});

describe("releaseHandedOver of a large matrix", () => {
  it("runs a garbage collection at once, so the matrix's buffers (outside V8's heap) are returned before the fit allocates more", () => {
    const nnz = 6_000_000; // 72 MB of indices and values: above the collection threshold
    const big: CsrMatrix = {
      rows: 1,
      cols: nnz,
      indptr: sharedInt32(Int32Array.of(0, nnz)),
      indices: sharedInt32(new Int32Array(nnz)),
      data: sharedFloat64(new Float64Array(nnz)),
    };
    // The buffers themselves are freed by V8's background sweeper a little later; what the
    // release must do synchronously is the collection, seen here on ~48 MB of JS-heap garbage.
    let garbage: number[] | null = new Array<number>(6_000_000).fill(0.5);
    const before = process.memoryUsage().heapUsed;
    garbage = null;
    assert.equal(releaseHandedOver(handOverToFit(big)), true);
    const after = process.memoryUsage().heapUsed;
    assert.equal(garbage, null);
    assert.ok(before - after >= 40 * 2 ** 20, `heap ${(before / 2 ** 20).toFixed(0)} MB before the release, ${(after / 2 ** 20).toFixed(0)} MB after`);
  });
});
