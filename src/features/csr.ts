import { collectGarbage } from "../util/collect-garbage.js";
import { DataError } from "../util/errors.js";

/**
 * Compressed sparse row matrix, scipy's layout: row i's entries are
 * indices[indptr[i]..indptr[i+1]) with values data[same range]. Column indices within a
 * row are sorted ascending and unique (every constructor here guarantees it).
 */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float64Array;
}

/** Matrices whose arrays the next fit that copies them may release (handOverToFit). */
const HANDED_OVER = new WeakSet<CsrMatrix>();

/**
 * Gives `X` away to the next estimator fit: a fit that makes its own copy of X (LogisticRegression
 * by columns, from PARALLEL_MIN_NNZ non-zeros or with 2 threads) then empties X — indptr, indices
 * and data become the arrays of a 0 × cols matrix — as soon as the copy exists, so X's memory can be
 * freed during the fit instead of being held twice (bench/core.ts's from-file lines: ~270 MB at 10^6
 * documents). Only for a caller that does not read X again; a fit that makes no copy leaves X as it
 * is, and so does a failed fit that had not yet copied it. Returns X.
 */
export function handOverToFit<M extends CsrMatrix>(X: M): M {
  HANDED_OVER.add(X);
  return X;
}

/** Whether X was handed over (handOverToFit) and not yet released. */
export function isHandedOver(X: CsrMatrix): boolean {
  return HANDED_OVER.has(X);
}

/**
 * Empties X if it was handed over (handOverToFit) and returns whether it did: for a fit that
 * holds its own copy of X's contents.
 */
export function releaseHandedOver(X: CsrMatrix): boolean {
  if (!HANDED_OVER.delete(X) || Object.isFrozen(X)) return false;
  const m = X as { rows: number; indptr: Int32Array; indices: Int32Array; data: Float64Array };
  const bytes = bufferBytes(m);
  m.rows = 0;
  m.indptr = new Int32Array(1);
  m.indices = new Int32Array(0);
  m.data = new Float64Array(0);
  // The arrays live outside V8's heap, and only a garbage collection that finds them unreferenced
  // returns them; V8 does not run one soon by itself (its heap is small), so the fit's next
  // allocations (the optimiser's vectors) would come on top of them. bench/core.ts, from file,
  // 10^6 documents: peak RSS 1,053 MB with X still resident at the first L-BFGS iteration,
  // ~1,000 MB with this collection (~0.1 s). At 10^5 documents (39 MB of arrays) it takes
  // ~10 ms, and LogisticRegression's worker then faults the optimiser's arena in, which would
  // otherwise come on top of X (peak RSS 314 MB instead of 268 MB).
  if (bytes >= COLLECT_AFTER_RELEASE_BYTES) collectGarbage();
  return true;
}

/**
 * For a fit about to copy a handed-over X: collects garbage first when X is large, so what the
 * caller dropped before handing X over (the texts X was built from: ~110 MB of V8 heap at 10^6
 * documents, bench/core.ts) is returned before the copy is allocated beside X rather than
 * whenever V8 next collects. Nothing for a matrix that was not handed over.
 */
export function collectBeforeCopy(X: CsrMatrix): void {
  if (HANDED_OVER.has(X) && bufferBytes(X) >= COLLECT_BEFORE_COPY_BYTES) collectGarbage();
}

function bufferBytes(X: Pick<CsrMatrix, "indptr" | "indices" | "data">): number {
  return X.indptr.buffer.byteLength + X.indices.buffer.byteLength + X.data.buffer.byteLength;
}

/** From this many bytes of arrays released, releaseHandedOver collects garbage at once. */
const COLLECT_AFTER_RELEASE_BYTES = 16 << 20;

/** From this many bytes of arrays, collectBeforeCopy collects garbage. */
const COLLECT_BEFORE_COPY_BYTES = 64 << 20;

export function csrNnz(X: CsrMatrix): number {
  return X.indptr[X.rows];
}

/** Checks the structural invariants; used at I/O edges (deserialisation), not in hot paths. */
export function assertValidCsr(X: CsrMatrix, where = "matrix"): void {
  const { rows, cols, indptr, indices, data } = X;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) throw new DataError(`${where}: bad shape ${rows}x${cols}`);
  if (indptr.length !== rows + 1) throw new DataError(`${where}: indptr has ${indptr.length} entries, expected rows+1 = ${rows + 1}`);
  if (indptr[0] !== 0) throw new DataError(`${where}: indptr[0] must be 0`);
  const nnz = indptr[rows];
  if (indices.length < nnz || data.length < nnz) throw new DataError(`${where}: indices/data shorter than nnz ${nnz}`);
  for (let i = 0; i < rows; i++) {
    const start = indptr[i];
    const end = indptr[i + 1];
    if (end < start) throw new DataError(`${where}: indptr decreases at row ${i}`);
    let prev = -1;
    for (let p = start; p < end; p++) {
      const j = indices[p];
      if (j <= prev || j >= cols) throw new DataError(`${where}: row ${i} has column ${j} out of order or out of range [0, ${cols})`);
      prev = j;
    }
  }
}

/** y = X·w (+ b). `out` has X.rows entries. */
export function csrMatVec(X: CsrMatrix, w: Float64Array, out: Float64Array, bias = 0): Float64Array {
  const { rows, indptr, indices, data } = X;
  for (let i = 0; i < rows; i++) {
    let s = bias;
    const end = indptr[i + 1];
    for (let p = indptr[i]; p < end; p++) s += data[p] * w[indices[p]];
    out[i] = s;
  }
  return out;
}

/** out = Xᵀ·v, overwriting out (X.cols entries). */
export function csrTransposeMatVec(X: CsrMatrix, v: Float64Array, out: Float64Array): Float64Array {
  const { rows, indptr, indices, data } = X;
  out.fill(0);
  for (let i = 0; i < rows; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    const end = indptr[i + 1];
    for (let p = indptr[i]; p < end; p++) out[indices[p]] += data[p] * vi;
  }
  return out;
}

/**
 * Out = X·W for a row-major dense W (cols × k), giving rows × k row-major. Used by the
 * multinomial model, where W holds one column of weights per class.
 */
export function csrMatMulDense(X: CsrMatrix, W: Float64Array, k: number, out: Float64Array): Float64Array {
  const { rows, indptr, indices, data } = X;
  out.fill(0);
  for (let i = 0; i < rows; i++) {
    const o = i * k;
    const end = indptr[i + 1];
    for (let p = indptr[i]; p < end; p++) {
      const v = data[p];
      const wBase = indices[p] * k;
      for (let c = 0; c < k; c++) out[o + c] += v * W[wBase + c];
    }
  }
  return out;
}

/** Out = Xᵀ·G for G rows × k row-major, giving cols × k row-major. */
export function csrTransposeMatMulDense(X: CsrMatrix, G: Float64Array, k: number, out: Float64Array): Float64Array {
  const { rows, indptr, indices, data } = X;
  out.fill(0);
  for (let i = 0; i < rows; i++) {
    const g = i * k;
    const end = indptr[i + 1];
    for (let p = indptr[i]; p < end; p++) {
      const v = data[p];
      const oBase = indices[p] * k;
      for (let c = 0; c < k; c++) out[oBase + c] += v * G[g + c];
    }
  }
  return out;
}

/** The sub-matrix of the given rows, in the order given (used by splits and cross-validation). */
export function csrSelectRows(X: CsrMatrix, rowIds: ArrayLike<number>): CsrMatrix {
  const n = rowIds.length;
  const indptr = new Int32Array(n + 1);
  let nnz = 0;
  for (let r = 0; r < n; r++) {
    const i = rowIds[r];
    if (i < 0 || i >= X.rows) throw new DataError(`row ${i} out of range [0, ${X.rows})`);
    nnz += X.indptr[i + 1] - X.indptr[i];
    indptr[r + 1] = nnz;
  }
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  for (let r = 0; r < n; r++) {
    const i = rowIds[r];
    const start = X.indptr[i];
    const end = X.indptr[i + 1];
    indices.set(X.indices.subarray(start, end), indptr[r]);
    data.set(X.data.subarray(start, end), indptr[r]);
  }
  return { rows: n, cols: X.cols, indptr, indices, data };
}

/** Per-column sums of squares etc. are computed by callers; this gives each row's squared L2 norm. */
export function csrRowSquaredNorms(X: CsrMatrix, out = new Float64Array(X.rows)): Float64Array {
  const { rows, indptr, data } = X;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const end = indptr[i + 1];
    for (let p = indptr[i]; p < end; p++) s += data[p] * data[p];
    out[i] = s;
  }
  return out;
}

/** Builds a CSR matrix from a dense row-major array of arrays; zeros are dropped. For tests and small inputs. */
export function csrFromDense(dense: readonly (readonly number[])[], cols?: number): CsrMatrix {
  const rows = dense.length;
  const width = cols ?? (rows > 0 ? dense[0].length : 0);
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < rows; i++) {
    const row = dense[i];
    if (row.length !== width) throw new DataError(`row ${i} has ${row.length} values, expected ${width}`);
    for (let j = 0; j < width; j++) {
      if (row[j] !== 0) {
        idx.push(j);
        vals.push(row[j]);
      }
    }
    indptr[i + 1] = idx.length;
  }
  return { rows, cols: width, indptr, indices: Int32Array.from(idx), data: Float64Array.from(vals) };
}

export function csrToDense(X: CsrMatrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < X.rows; i++) {
    const row = new Array<number>(X.cols).fill(0);
    for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) row[X.indices[p]] = X.data[p];
    out.push(row);
  }
  return out;
}

/** Stacks CSR matrices with the same column count vertically (scipy's sparse.vstack). */
export function csrVStack(parts: readonly CsrMatrix[]): CsrMatrix {
  if (parts.length === 0) throw new DataError("csrVStack: no matrices to stack");
  const cols = parts[0].cols;
  let rows = 0;
  let nnz = 0;
  for (const P of parts) {
    if (P.cols !== cols) throw new DataError(`csrVStack: matrices have ${cols} and ${P.cols} columns`);
    rows += P.rows;
    nnz += P.indptr[P.rows];
  }
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  let r = 0;
  let offset = 0;
  for (const P of parts) {
    const pn = P.indptr[P.rows];
    indices.set(P.indices.subarray(0, pn), offset);
    data.set(P.data.subarray(0, pn), offset);
    for (let i = 0; i < P.rows; i++) indptr[r + i + 1] = offset + P.indptr[i + 1];
    r += P.rows;
    offset += pn;
  }
  return { rows, cols, indptr, indices, data };
}
