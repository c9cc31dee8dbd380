/**
 * binMatrix against the straightforward binning it replaced (arrays per feature, a closure,
 * kept here as the reference): the same bins, zero bins, thresholds and codes on data with
 * negative values, stored zeros, duplicates, and features with more distinct values than bins.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense, type CsrMatrix } from "../../src/features/csr.js";
import { binMatrix } from "../../src/models/trees/binning.js";
import { Random } from "../../src/util/random.js";

/** The per-feature bins (nBins, zeroBin, thresholds) of the earlier implementation. */
function referenceBins(X: CsrMatrix, maxBins: number): { nBins: number[]; zeroBin: number[]; thresholds: number[] } {
  const { rows: n, cols: d, indptr, indices, data } = X;
  const columns: number[][] = Array.from({ length: d }, () => []);
  for (let i = 0; i < n; i++) for (let p = indptr[i]; p < indptr[i + 1]; p++) columns[indices[p]].push(data[p]);
  const nBins: number[] = [];
  const zeroBin: number[] = [];
  const thresholds: number[] = [];
  for (let j = 0; j < d; j++) {
    const vals = Float64Array.from(columns[j]).sort();
    const implicitZeros = n - vals.length;
    const distinct: number[] = [];
    const counts: number[] = [];
    let zeroAdded = implicitZeros === 0;
    const push = (v: number, c: number): void => {
      const last = distinct.length - 1;
      if (last >= 0 && distinct[last] === v) counts[last] += c;
      else {
        distinct.push(v);
        counts.push(c);
      }
    };
    for (let q = 0; q < vals.length; q++) {
      if (!zeroAdded && vals[q] > 0) {
        push(0, implicitZeros);
        zeroAdded = true;
      }
      push(vals[q], 1);
    }
    if (!zeroAdded) push(0, implicitZeros);
    const lows: number[] = [];
    const highs: number[] = [];
    if (distinct.length <= maxBins) {
      for (const v of distinct) {
        lows.push(v);
        highs.push(v);
      }
    } else {
      const target = n / maxBins;
      let acc = 0;
      let low = distinct[0];
      for (let q = 0; q < distinct.length; q++) {
        acc += counts[q];
        const remainingValues = distinct.length - q - 1;
        const remainingBins = maxBins - lows.length - 1;
        if (q === distinct.length - 1 || (acc >= target && remainingBins > 0) || remainingValues === remainingBins) {
          lows.push(low);
          highs.push(distinct[q]);
          acc = 0;
          if (q + 1 < distinct.length) low = distinct[q + 1];
        }
      }
    }
    nBins.push(lows.length);
    let zb = lows.length - 1;
    for (let b = 0; b < lows.length; b++) {
      thresholds.push(b + 1 < lows.length ? highs[b] / 2 + lows[b + 1] / 2 : Infinity);
      if (zb === lows.length - 1 && 0 <= highs[b]) zb = b;
    }
    zeroBin.push(zb);
  }
  return { nBins, zeroBin, thresholds };
}

test("binMatrix bins as the reference binning: nBins, zero bins, thresholds, and each stored value's code", () => {
  for (const seed of [1, 2, 3]) {
    const rng = new Random(seed);
    const n = 120;
    const kinds = 9;
    const dense = Array.from({ length: n }, () =>
      Array.from({ length: kinds * 3 }, (_, j) => {
        const kind = j % kinds;
        const u = rng.nextFloat();
        if (kind === 0) return u < 0.02 ? 0.7 : 0; // one or two rows, one value
        if (kind === 1) return u < 0.5 ? Math.round(rng.nextFloat() * 4) - 2 : 0; // negatives, duplicates, stored zeros
        if (kind === 2) return u < 0.9 ? rng.nextGaussian() : 0; // many distinct, both signs
        if (kind === 3) return rng.nextFloat() + 0.1; // dense: no implicit zero
        if (kind === 4) return u < 0.3 ? -rng.nextFloat() : 0; // negative only
        if (kind === 5) return 0; // empty column
        if (kind === 6) return u < 0.6 ? rng.nextFloat() : 0; // many distinct, positive
        if (kind === 7) return u < 0.8 ? [0.1, 0.2, 0.3][rng.nextInt(3)] : 0;
        return u < 0.05 ? rng.nextFloat() : 0;
      }),
    );
    const X = csrFromDense(dense);
    // csrFromDense drops zeros: store a few explicit ones too.
    const withZeros: CsrMatrix = { ...X, data: X.data.map((v, p) => (p % 17 === 0 && X.indices[p] % kinds === 1 ? 0 : v)) };
    for (const M of [withZeros, X]) {
      for (const maxBins of [2, 5, 32, 255]) {
        const { rows, thresholds } = binMatrix(M, maxBins);
        const ref = referenceBins(M, maxBins);
        assert.deepEqual(Array.from(rows.nBins), ref.nBins, `seed ${seed} maxBins ${maxBins}: nBins`);
        assert.deepEqual(Array.from(rows.zeroBin), ref.zeroBin, `seed ${seed} maxBins ${maxBins}: zero bins`);
        assert.deepEqual(Array.from(thresholds), ref.thresholds, `seed ${seed} maxBins ${maxBins}: thresholds`);
        for (let i = 0; i < M.rows; i++) {
          for (let p = M.indptr[i]; p < M.indptr[i + 1]; p++) {
            const j = M.indices[p];
            const th = thresholds.subarray(rows.binOffset[j], rows.binOffset[j + 1]);
            const code = rows.codes[p];
            // The code is the first bin whose threshold is ≥ the value.
            assert.ok(M.data[p] <= th[code] && (code === 0 || M.data[p] > th[code - 1]), `seed ${seed}: code of (${i}, ${j})`);
          }
        }
      }
    }
  }
});
