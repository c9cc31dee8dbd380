/**
 * The shortcuts of growTree's split search give the tree the plain algorithm grows:
 * - the bound that skips features (pruneBelow: unit-weight MSE, gradient boosting) never
 *   skips the winner nor a feature that would tie with it;
 * - the column-wise root histogram equals the row-wise one.
 * Text-like data: many features stored in one or two rows (the ones the bound skips), a few
 * common ones that carry the signal, bin codes from real TF-IDF-like values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense, type CsrMatrix } from "../../src/features/csr.js";
import { binMatrix } from "../../src/models/trees/binning.js";
import { growTree, newGrowBuffers, rowBin, type GrownTree } from "../../src/models/trees/grow.js";
import { Random } from "../../src/util/random.js";

function textLike(seed: number, n: number, rare: number, common: number): { X: CsrMatrix; label: Int32Array } {
  const rng = new Random(seed);
  const d = rare + common;
  const dense: number[][] = [];
  const label = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(d).fill(0);
    let s = rng.nextGaussian() * 0.7;
    for (let j = 0; j < common; j++) {
      if (rng.nextFloat() < 0.25) {
        row[rare + j] = 0.1 + rng.nextFloat();
        s += (j % 3 === 0 ? 1 : -0.5) * row[rare + j];
      }
    }
    // Rare features: 2–5 per row, each in about one or two rows of the data.
    const m = rare > 0 ? 2 + rng.nextInt(4) : 0;
    for (let t = 0; t < m; t++) row[rng.nextInt(rare)] = 0.2 + rng.nextFloat();
    label[i] = s > 0 ? 1 : 0;
    dense.push(row);
  }
  return { X: csrFromDense(dense), label };
}

/** Residuals of a boosting round: early (all about ±0.5) or late (most small, a few large). */
function residuals(rng: Random, label: Int32Array, late: boolean): { r: Float64Array; h: Float64Array } {
  const n = label.length;
  const r = new Float64Array(n);
  const h = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Late: fitted rows near their label, 8 % misfit near the other one.
    const fit = late ? (label[i] ? 0.8 : 0.01) + 0.19 * rng.nextFloat() : 0.4 + 0.2 * rng.nextFloat();
    const pi = late && rng.nextFloat() < 0.08 ? 1 - fit : fit;
    r[i] = label[i] - pi;
    h[i] = pi * (1 - pi);
  }
  return { r, h };
}

function assertSameTree(a: GrownTree, b: GrownTree, exactValues: boolean, what: string): void {
  assert.deepEqual(Array.from(a.feature), Array.from(b.feature), `${what}: split features`);
  assert.deepEqual(Array.from(a.bin), Array.from(b.bin), `${what}: split bins`);
  assert.deepEqual(Array.from(a.left), Array.from(b.left), `${what}: left children`);
  assert.deepEqual(Array.from(a.right), Array.from(b.right), `${what}: right children`);
  if (exactValues) {
    assert.deepEqual(Array.from(a.value), Array.from(b.value), `${what}: values`);
    assert.deepEqual(Array.from(a.improvement), Array.from(b.improvement), `${what}: improvements`);
  } else {
    for (let t = 0; t < a.value.length; t++) assert.ok(Math.abs(a.value[t] - b.value[t]) <= 1e-9 * (1 + Math.abs(b.value[t])), `${what}: value ${t}`);
    for (let t = 0; t < a.improvement.length; t++)
      assert.ok(Math.abs(a.improvement[t] - b.improvement[t]) <= 1e-9 * (1 + Math.abs(b.improvement[t])), `${what}: improvement ${t}`);
  }
}

test("boosting's split-search bound skips only features that cannot win or tie: the same trees as the full scan", () => {
  for (const seed of [1, 2, 3]) {
    const { X, label } = textLike(seed, 400, 1500, 12);
    const B = binMatrix(X, 32).rows;
    const rng = new Random(100 + seed);
    for (const late of [false, true]) {
      const { r, h } = residuals(rng, label, late);
      const w = new Float64Array(X.rows).fill(1);
      // Not every row (a subsample), so the root is built row-wise on both sides.
      const rows = Int32Array.from({ length: X.rows }, (_, i) => i).filter((i) => i % 7 !== 3);
      for (const maxDepth of [3, 8]) {
        const target = { criterion: 1, k: 1, y: label, w, r, h };
        const params = { maxDepth, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures: 0, seed: 0 };
        const pruned = growTree(B, target, rows, params);
        const full = growTree(B, target, rows, { ...params, reference: true });
        assert.ok(full.feature.length > 7, "the tree splits");
        assertSameTree(pruned, full, true, `seed ${seed}, ${late ? "late" : "early"} residuals, depth ${maxDepth}`);
      }
    }
  }
});

test("duplicated rare columns (exact ties) are broken the same way with and without the bound", () => {
  // Features 0..9 each stored in one row and copied into a twin column: every split on one of
  // them ties with its twin; the first in scan order must win on both sides.
  const n = 60;
  const dense = Array.from({ length: n }, (_, i) => {
    const row = new Array<number>(24).fill(0);
    if (i < 10) {
      row[i] = 1;
      row[10 + i] = 1;
    }
    if (i % 2 === 0) row[20] = 0.5 + (i % 5) / 10;
    if (i % 3 === 0) row[21] = 1;
    return row;
  });
  const X = csrFromDense(dense);
  const B = binMatrix(X, 32).rows;
  const y = Int32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const r = Float64Array.from({ length: n }, (_, i) => (i < 10 ? 3 - i / 10 : y[i] - 0.5));
  const h = new Float64Array(n).fill(0.25);
  const w = new Float64Array(n).fill(1);
  const rows = Int32Array.from({ length: n - 1 }, (_, i) => i + 1);
  const target = { criterion: 1, k: 1, y, w, r, h };
  const params = { maxDepth: 6, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures: 0, seed: 0 };
  assertSameTree(growTree(B, target, rows, params), growTree(B, target, rows, { ...params, reference: true }), true, "ties");
});

test("the column-wise root histogram grows the tree the row-wise one grows", () => {
  // Common features with continuous values only: no two features tie (the column-wise root
  // lists features in column order, the row-wise one in order of first appearance).
  for (const seed of [4, 5]) {
    const { X, label } = textLike(seed, 300, 0, 40);
    const B = binMatrix(X, 32).rows;
    const { r, h } = residuals(new Random(seed), label, false);
    const w = new Float64Array(X.rows).fill(1);
    const rows = Int32Array.from({ length: X.rows }, (_, i) => i);
    const target = { criterion: 1, k: 1, y: label, w, r, h };
    const params = { maxDepth: 4, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures: 0, seed: 0 };
    // Scores are sums in another order (the features listed in column order): equal up to rounding.
    assertSameTree(growTree(B, target, rows, params), growTree(B, target, rows, { ...params, reference: true }), false, `seed ${seed}`);
  }
});

test("the MSE split scan finds the brute-force best split (multi-bin features, zero bin in the middle)", () => {
  // Values from a small set (negative ones too), so every distinct value is a bin and the zero
  // bin sits between others; the best friedman_mse split is found by enumerating thresholds.
  const levels = [-2, -0.5, 0.3, 1, 1.7, 4];
  for (const seed of [5, 6, 7, 8]) {
    const rng = new Random(seed);
    const n = 60;
    const d = 5;
    const dense = Array.from({ length: n }, () => Array.from({ length: d }, () => (rng.nextFloat() < 0.45 ? levels[rng.nextInt(levels.length)] : 0)));
    const X = csrFromDense(dense);
    const B = binMatrix(X, 32);
    const r = Float64Array.from({ length: n }, () => rng.nextGaussian());
    const h = new Float64Array(n).fill(0.25);
    const w = new Float64Array(n).fill(1);
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const R = r.reduce((a, b) => a + b, 0);
    let best = -Infinity;
    let bestFeature = -1;
    let bestThreshold = NaN;
    for (let j = 0; j < d; j++) {
      const values = [...new Set(dense.map((row) => row[j]))].sort((a, b) => a - b);
      for (let v = 0; v + 1 < values.length; v++) {
        let rL = 0;
        let nL = 0;
        for (let i = 0; i < n; i++) {
          if (dense[i][j] <= values[v]) {
            rL += r[i];
            nL++;
          }
        }
        const diff = rL * (n - nL) - (R - rL) * nL;
        const score = (diff * diff) / (nL * (n - nL));
        if (score > best * (1 + 1e-12)) {
          best = score;
          bestFeature = j;
          bestThreshold = (values[v] + values[v + 1]) / 2;
        }
      }
    }
    for (const reference of [false, true]) {
      const tree = growTree(B.rows, { criterion: 1, k: 1, y: new Int32Array(n), w, r, h }, all, {
        maxDepth: 1,
        minSamplesSplit: 2,
        minSamplesLeaf: 1,
        maxFeatures: 0,
        seed: 0,
        reference,
      });
      assert.equal(tree.feature[0], bestFeature, `seed ${seed}: feature`);
      assert.ok(Math.abs(B.thresholds[B.rows.binOffset[bestFeature] + tree.bin[0]] - bestThreshold) < 1e-12, `seed ${seed}: threshold`);
      // improvement = score / (weight · root weight) = score / n².
      assert.ok(Math.abs(tree.improvement[0] - best / (n * n)) <= 1e-12 * (best / (n * n)), `seed ${seed}: improvement`);
    }
  }
});

test("growTree with reused buffers grows the trees it grows with fresh ones, and leaves the buffers zero", () => {
  const { X, label } = textLike(4, 300, 800, 10);
  const B = binMatrix(X, 32).rows;
  const rng = new Random(44);
  const buffers = newGrowBuffers(B, 3);
  for (const late of [false, true, false]) {
    const { r, h } = residuals(rng, label, late);
    const w = new Float64Array(X.rows).fill(1);
    for (const rows of [Int32Array.from({ length: X.rows }, (_, i) => i), Int32Array.from({ length: X.rows }, (_, i) => i).filter((i) => i % 5 !== 1)]) {
      const target = { criterion: 1, k: 1, y: label, w, r, h };
      const params = { maxDepth: 4, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures: 0, seed: 0 };
      assertSameTree(growTree(B, target, rows, params, undefined, buffers), growTree(B, target, rows, params), true, `late ${late}, ${rows.length} rows`);
      assert.ok(
        buffers.hist.every((v) => v === 0) && buffers.featCount.every((v) => v === 0) && buffers.present.every((v) => v === 0),
        "buffers zero after the tree",
      );
    }
  }
});

test("growTree's leafOut gives each grown row the leaf its bins lead to, and leaves other rows untouched", () => {
  const { X, label } = textLike(9, 300, 600, 12);
  const B = binMatrix(X, 32).rows;
  const { r, h } = residuals(new Random(9), label, true);
  const w = new Float64Array(X.rows).fill(1);
  const rows = Int32Array.from({ length: X.rows }, (_, i) => i).filter((i) => i % 4 !== 2);
  for (const maxDepth of [1, 3, 6]) {
    const leafOut = new Int32Array(X.rows).fill(-7);
    const tree = growTree(
      B,
      { criterion: 1, k: 1, y: label, w, r, h },
      rows,
      { maxDepth, minSamplesSplit: 2, minSamplesLeaf: 3, maxFeatures: 0, seed: 0 },
      undefined,
      undefined,
      leafOut,
    );
    assert.ok(tree.feature[0] >= 0, "the tree splits");
    const inRows = new Set(rows);
    for (let i = 0; i < X.rows; i++) {
      if (!inRows.has(i)) {
        assert.equal(leafOut[i], -7, `row ${i} not grown on: untouched`);
        continue;
      }
      let node = 0;
      while (tree.feature[node] >= 0) node = rowBin(B, i, tree.feature[node]) <= tree.bin[node] ? tree.left[node] : tree.right[node];
      assert.equal(leafOut[i], node, `depth ${maxDepth}: row ${i}`);
    }
  }
});
