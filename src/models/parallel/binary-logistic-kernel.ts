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
