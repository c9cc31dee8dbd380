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
  // Every feature has at most (stored values + 1) bins: one buffer for all thresholds, and
  // per-feature scratch (distinct values, their counts, bin bounds) reused: no per-feature allocation.
  const thresholdBuf = new Float64Array(nnz + d);
  let nThresholds = 0;
  let maxCol = 0;
  for (let j = 0; j < d; j++) maxCol = Math.max(maxCol, colStart[j + 1] - colStart[j]);
  const distinct = new Float64Array(maxCol + 1);
  const counts = new Float64Array(maxCol + 1);
  const lows = new Float64Array(maxCol + 1);
  const highs = new Float64Array(maxCol + 1);
  for (let j = 0; j < d; j++) {
    const c0 = colStart[j];
    const c1 = colStart[j + 1];
    if (c1 - c0 > 1) colValues.subarray(c0, c1).sort();
    const implicitZeros = n - (c1 - c0);
    // Distinct values in increasing order with their row counts, the implicit zeros included.
    let m = 0;
    let zeroAdded = implicitZeros === 0;
    for (let q = c0; q <= c1; q++) {
      let v: number;
      let c: number;
      if (!zeroAdded && (q === c1 || colValues[q] > 0)) {
        v = 0;
        c = implicitZeros;
        zeroAdded = true;
        q--; // this stored value (if any) comes next
      } else if (q === c1) break;
      else {
        v = colValues[q];
        c = 1;
      }
      if (m > 0 && distinct[m - 1] === v) counts[m - 1] += c;
      else {
        distinct[m] = v;
        counts[m++] = c;
      }
    }
    // Bin lower/upper values: one per distinct value, or merged into ~equal-count bins.
    let nb = 0;
    if (m <= maxBins) {
      for (let q = 0; q < m; q++) {
        lows[q] = distinct[q];
        highs[q] = distinct[q];
      }
      nb = m;
    } else {
      const target = n / maxBins;
      let acc = 0;
      let low = distinct[0];
      for (let q = 0; q < m; q++) {
        acc += counts[q];
        const remainingValues = m - q - 1;
        const remainingBins = maxBins - nb - 1;
        if (q === m - 1 || (acc >= target && remainingBins > 0) || remainingValues === remainingBins) {
          lows[nb] = low;
          highs[nb++] = distinct[q];
          acc = 0;
          if (q + 1 < m) low = distinct[q + 1];
        }
      }
    }
    nBins[j] = nb;
    binOffset[j + 1] = binOffset[j] + nb;
    let zb = nb - 1;
    for (let b = 0; b < nb; b++) {
      thresholdBuf[nThresholds++] = b + 1 < nb ? highs[b] / 2 + lows[b + 1] / 2 : Infinity;
      if (zb === nb - 1 && 0 <= highs[b]) zb = b;
    }
    zeroBin[j] = zb;
  }
  const thresholds = thresholdBuf.slice(0, nThresholds);
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
  return binned({ n, d, indptr, indices, codes, nBins, zeroBin, binOffset, colptr, colRows, colCodes }, thresholds);
}

/**
 * The result object, built outside binMatrix's body: binMatrix gets optimised (on-stack) only
 * in a process's second fit, and when its optimised code built these objects, V8 discarded the
 * tree kernels' optimised code at the start of that fit (traced with --trace-deopt: growTree
 * twice, rowBin, the root build; built here: growTree once). The first trees of the second fit
 * run several times slower than later ones while the kernels are recompiled.
 */
function binned(rows: BinnedRows, thresholds: Float64Array): Binning {
  const { n, d, indptr, indices, codes, nBins, zeroBin, binOffset, colptr, colRows, colCodes } = rows;
  return { rows: { n, d, indptr, indices, codes, nBins, zeroBin, binOffset, colptr, colRows, colCodes }, thresholds };
}
