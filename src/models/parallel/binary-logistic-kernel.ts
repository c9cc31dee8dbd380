/**
 * The binary logistic loss and its gradient over a range of CSR rows: the one kernel both the
 * serial objective and the gradient worker run, so a split evaluation does exactly the
 * serial arithmetic on each half.
 */

/** Inputs of the binary logistic objective that do not change during a fit. */
export interface BinaryLogisticData {
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float64Array;
  /** Labels as ±1. */
  readonly ySign: Float64Array;
  /** Sample weights. */
  readonly sw: Float64Array;
  /** 1 / Σ sw. */
  readonly invS: number;
}

/**
 * For rows [start, end): adds each row's residual r_i = -s_i·y_i·σ(-y_i·z_i)/S times the row
 * into `grad` (which the caller zeroes), and returns Σ s_i·loss_i; `out[0]` receives Σ r_i
 * (the intercept's gradient). z_i = x·row_i + b.
 *
 * One fused pass: each row's margin, loss and residual, then its scatter into the gradient
 * while the row is still in cache (separate X·w and Xᵀ·r passes read X twice).
 */
export function binaryLossGradientRows(
  D: BinaryLogisticData,
  x: Float64Array,
  b: number,
  grad: Float64Array,
  start: number,
  end: number,
  out: Float64Array,
): number {
  const { indptr, indices, data, ySign, sw, invS } = D;
  let loss = 0;
  let sumR = 0;
  for (let i = start; i < end; i++) {
    const rowStart = indptr[i];
    const rowEnd = indptr[i + 1];
    let z = b;
    for (let p = rowStart; p < rowEnd; p++) z += data[p] * x[indices[p]];
    const yi = ySign[i];
    const m = yi * z;
    let li: number;
    let sig: number; // σ(-m)
    if (m > 0) {
      const e = Math.exp(-m);
      li = Math.log1p(e);
      sig = e / (1 + e);
    } else {
      const e = Math.exp(m);
      li = -m + Math.log1p(e);
      sig = 1 / (1 + e);
    }
    const si = sw[i];
    loss += si * li;
    const ri = -si * yi * sig * invS;
    sumR += ri;
    for (let p = rowStart; p < rowEnd; p++) grad[indices[p]] += ri * data[p];
  }
  out[0] = sumR;
  return loss;
}

/**
 * X by columns (CSC) with single-precision values, the layout of the column objective
 * (split-objective.ts): column j's entries are rowIdx[colPtr[j]..colPtr[j+1]) with values
 * vals[same range], rows ascending.
 */
export interface CscMatrix32 {
  readonly rows: number;
  readonly cols: number;
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
  readonly vals: Float32Array;
}

/**
 * z[i] += Σ_{j ∈ [c0, c1)} x[j]·X_ij: the columns' part of the scores, scattered into the
 * n-sized z (which stays in cache, unlike the d-sized weights a row-wise pass reads at random).
 */
export function columnScores(colPtr: Int32Array, rowIdx: Int32Array, vals: Float32Array, x: Float64Array, z: Float64Array, c0: number, c1: number): void {
  for (let j = c0; j < c1; j++) {
    const w = x[j];
    if (w === 0) continue;
    const end = colPtr[j + 1];
    for (let q = colPtr[j]; q < end; q++) z[rowIdx[q]] += vals[q] * w;
  }
}

/** g[j − offset] = Σ_i r[i]·X_ij for j ∈ [c0, c1): each gradient entry written once, in order. */
export function columnGradient(colPtr: Int32Array, rowIdx: Int32Array, vals: Float32Array, r: Float64Array, g: Float64Array, c0: number, c1: number, offset: number): void {
  for (let j = c0; j < c1; j++) {
    const end = colPtr[j + 1];
    let s = 0;
    for (let q = colPtr[j]; q < end; q++) s += vals[q] * r[rowIdx[q]];
    g[j - offset] = s;
  }
}

/**
 * From the scores b + z1[i] + z2[i]: returns Σ s_i·loss_i, writes each residual
 * r_i = -s_i·y_i·σ(-y_i·z_i)/S into r and Σ r_i into out[0] (the same arithmetic as
 * binaryLossGradientRows). z2 may be null (one part).
 */
export function lossAndResiduals(
  z1: Float64Array,
  z2: Float64Array | null,
  b: number,
  ySign: Float64Array,
  sw: Float64Array,
  invS: number,
  r: Float64Array,
  out: Float64Array,
): number {
  let loss = 0;
  let sumR = 0;
  const n = z1.length;
  for (let i = 0; i < n; i++) {
    const z = z2 === null ? b + z1[i] : b + z1[i] + z2[i];
    const yi = ySign[i];
    const m = yi * z;
    let li: number;
    let sig: number;
    if (m > 0) {
      const e = Math.exp(-m);
      li = Math.log1p(e);
      sig = e / (1 + e);
    } else {
      const e = Math.exp(m);
      li = -m + Math.log1p(e);
      sig = 1 / (1 + e);
    }
    const si = sw[i];
    loss += si * li;
    const ri = -si * yi * sig * invS;
    r[i] = ri;
    sumR += ri;
  }
  out[0] = sumR;
  return loss;
}
