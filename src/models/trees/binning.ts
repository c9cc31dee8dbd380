import type { CsrMatrix } from "../../features/csr.js";
import type { BinnedRows } from "./grow.js";

/** The binned matrix plus the split threshold after each bin (thresholds[binOffset[j] + b]). */
export interface Binning {
  rows: BinnedRows;
  thresholds: Float64Array;
}

/**
 * Quantises each feature's values into at most `maxBins` (≤ 255) bins. A feature with at most
 * maxBins distinct values (zero included when some row lacks it) gets one bin per value, so
 * splits are exact there; otherwise bins of about equal row counts over the sorted values.
 * The threshold after bin b is the midpoint between its largest value and the next bin's
 * smallest (scikit-learn's threshold), so `x ≤ threshold` sends exactly bins 0..b left.
 */
export function binMatrix(X: CsrMatrix, maxBins: number): Binning {
  const { rows: n, cols: d, indptr, indices, data } = X;
  const nnz = indptr[n];
  // Column-wise copy of the values (counting sort by feature), to sort each feature's values.
  const colStart = new Int32Array(d + 1);
  for (let p = 0; p < nnz; p++) colStart[indices[p] + 1]++;
  for (let j = 0; j < d; j++) colStart[j + 1] += colStart[j];
  const colValues = new Float64Array(nnz);
  const fill = colStart.slice(0, d);
  for (let p = 0; p < nnz; p++) colValues[fill[indices[p]]++] = data[p];

  const nBins = new Int32Array(d);
  const zeroBin = new Int32Array(d);
  const binOffset = new Int32Array(d + 1);
  const thresholdList: number[] = [];
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let j = 0; j < d; j++) {
    const vals = colValues.subarray(colStart[j], colStart[j + 1]).sort();
    const implicitZeros = n - vals.length;
    distinct.length = 0;
    counts.length = 0;
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
    // Bin upper/lower values: one per distinct value, or merged into ~equal-count bins.
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
    nBins[j] = lows.length;
    binOffset[j + 1] = binOffset[j] + lows.length;
    let zb = lows.length - 1;
    for (let b = 0; b < lows.length; b++) {
      thresholdList.push(b + 1 < lows.length ? highs[b] / 2 + lows[b + 1] / 2 : Infinity);
      if (zb === lows.length - 1 && 0 <= highs[b]) zb = b;
    }
    zeroBin[j] = zb;
  }
  const thresholds = Float64Array.from(thresholdList);
  const codes = new Uint8Array(nnz);
  for (let p = 0; p < nnz; p++) {
    const j = indices[p];
    const off = binOffset[j];
    let lo = 0;
    let hi = nBins[j] - 1;
    // First bin whose threshold is ≥ the value.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (data[p] <= thresholds[off + mid]) hi = mid;
      else lo = mid + 1;
    }
    codes[p] = lo;
  }
  // The column-wise copy (CSC) with the bin codes, for the forest's column-wise draw.
  const colptr = colStart;
  const colRows = new Int32Array(nnz);
  const colCodes = new Uint8Array(nnz);
  fill.set(colStart.subarray(0, d));
  for (let i = 0; i < n; i++) {
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const q = fill[indices[p]]++;
      colRows[q] = i;
      colCodes[q] = codes[p];
    }
  }
  return { rows: { n, d, indptr, indices, codes, nBins, zeroBin, binOffset, colptr, colRows, colCodes }, thresholds };
}
