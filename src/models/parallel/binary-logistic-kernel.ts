/**
 * The binary logistic loss and its gradient over a range of CSR rows: the one kernel both the
 * serial objective and the gradient worker run, so a split evaluation does exactly the
 * serial arithmetic on each half.
 */
import { lazyWasmModule, wasmApi } from "../wasm-kernel.js";

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
 * The plain-JS twin of the WebAssembly kernel `scatter` (binary-logistic-kernel.wat).
 */
export function columnScores(colPtr: Int32Array, rowIdx: Int32Array, vals: Float32Array, x: Float64Array, z: Float64Array, c0: number, c1: number): void {
  for (let j = c0; j < c1; j++) {
    const w = x[j];
    if (w === 0) continue;
    const end = colPtr[j + 1];
    for (let q = colPtr[j]; q < end; q++) z[rowIdx[q]] += vals[q] * w;
  }
}

/** g[j] = Σ_i r[i]·X_ij for j ∈ [c0, c1): each gradient entry written once, in order. The plain-JS twin of `gather`. */
export function columnGradient(colPtr: Int32Array, rowIdx: Int32Array, vals: Float32Array, r: Float64Array, g: Float64Array, c0: number, c1: number): void {
  for (let j = c0; j < c1; j++) {
    const end = colPtr[j + 1];
    let s = 0;
    for (let q = colPtr[j]; q < end; q++) s += vals[q] * r[rowIdx[q]];
    g[j] = s;
  }
}

/**
 * `scatter` and `gather` — columnScores and columnGradient with the same arithmetic in the
 * same order (bit-identical results) — compiled from binary-logistic-kernel.wat beside this
 * file (wabt's wat2wasm --enable-threads, base64). WebAssembly runs these gather/scatter
 * loops ~3× faster than V8's code for the plain-JS ones (no bounds checks; 10^5 documents,
 * 2.2 M non-zeros: ~11 ms against ~32 ms of CPU per pass).
 */
const COLUMN_WASM_BASE64 =
  "AGFzbQEAAAABCwFgB39/f39/f38AAhIBA2VudgZtZW1vcnkCAwGAgAQDAwIAAAcUAgZnYXRoZXIAAAdzY2F0dGVyAAEKtwIClAECA38BfCAFIQcgACAHQQJ0aigCACEIAkADQCAHIAZPDQEgACAHQQFqQQJ0aigCACEJRAAAAAAAAAAAIQoCQANAIAggCU8NASAKIAIgCEECdGoqAgC7IAMgASAIQQJ0aigCAEEDdGorAwCioCEKIAhBAWohCAwACwsgBCAHIAVrQQN0aiAKOQMAIAdBAWohBwwACwsLngEDA38BfAF/IAUhBwJAA0AgByAGTw0BIAMgB0EDdGorAwAhCiAKRAAAAAAAAAAAYgRAIAAgB0ECdGooAgAhCCAAIAdBAWpBAnRqKAIAIQkCQANAIAggCU8NASAEIAEgCEECdGooAgBBA3RqIQsgCyALKwMAIAogAiAIQQJ0aioCALuioDkDACAIQQFqIQgMAAsLCyAHQQFqIQcMAAsLCw==";

export interface ColumnWasmExports {
  scatter(colPtr: number, rowIdx: number, vals: number, x: number, z: number, c0: number, c1: number): void;
  gather(colPtr: number, rowIdx: number, vals: number, r: number, g: number, c0: number, c1: number): void;
}

/** The gather/scatter module, compiled on first use (null without WebAssembly). */
const compiledColumnModule = lazyWasmModule(COLUMN_WASM_BASE64);

/** Byte offsets of the arena's arrays in its buffer. */
export interface ColumnLayout {
  n: number;
  d: number;
  nnz: number;
  colPtr: number;
  rowIdx: number;
  vals: number;
  x: number;
  z: number;
  zWorker: number;
  r: number;
  ySign: number;
  sw: number;
  g: number;
  bytes: number;
}

function columnLayout(n: number, d: number, nnz: number): ColumnLayout {
  let at = 0;
  const take = (bytes: number): number => {
    const o = at;
    at += Math.ceil(bytes / 16) * 16;
    return o;
  };
  const colPtr = take((d + 1) * 4);
  const rowIdx = take(nnz * 4);
  const vals = take(nnz * 4);
  // x and g share one slot: an evaluation reads x only while scattering the scores, and both
  // threads have finished that before either gathers the gradient into it (d·8 bytes saved:
  // 20 MB at 10^6 documents). The next evaluation copies x in again.
  const x = take(d * 8);
  const g = x;
  const z = take(n * 8);
  const zWorker = take(n * 8);
  const r = take(n * 8);
  const ySign = take(n * 8);
  const sw = take(n * 8);
  return { n, d, nnz, colPtr, rowIdx, vals, x, z, zWorker, r, ySign, sw, g, bytes: at };
}

/** Typed-array views of an arena's buffer. */
export interface ColumnViews {
  X: CscMatrix32;
  /** The weights being evaluated (a copy; the same memory as g: overwritten by the gradient pass). */
  x: Float64Array;
  /** The main thread's and the worker's parts of the scores. */
  z: Float64Array;
  zWorker: Float64Array;
  /** Residuals. */
  r: Float64Array;
  /** The current problem's ±1 labels and sample weights. */
  ySign: Float64Array;
  sw: Float64Array;
  /** The data term's gradient (in x's memory, see columnLayout). */
  g: Float64Array;
}

export function columnViews(buffer: SharedArrayBuffer, L: ColumnLayout): ColumnViews {
  return {
    X: {
      rows: L.n,
      cols: L.d,
      colPtr: new Int32Array(buffer, L.colPtr, L.d + 1),
      rowIdx: new Int32Array(buffer, L.rowIdx, L.nnz),
      vals: new Float32Array(buffer, L.vals, L.nnz),
    },
    x: new Float64Array(buffer, L.x, L.d),
    z: new Float64Array(buffer, L.z, L.n),
    zWorker: new Float64Array(buffer, L.zWorker, L.n),
    r: new Float64Array(buffer, L.r, L.n),
    ySign: new Float64Array(buffer, L.ySign, L.n),
    sw: new Float64Array(buffer, L.sw, L.n),
    g: new Float64Array(buffer, L.g, L.d),
  };
}

/**
 * X by columns and the column objective's working vectors in one shared buffer — a shared
 * WebAssembly memory when the arena fits in 4 GiB (then `module` runs the kernels), else a
 * SharedArrayBuffer with the plain-JS kernels. A worker thread gets `buffer`, `layout`,
 * `memory` and `module` and runs the same kernels on the same memory.
 */
export interface ColumnArena extends ColumnViews {
  readonly buffer: SharedArrayBuffer;
  readonly layout: ColumnLayout;
  /** The shared WebAssembly.Memory (null: plain-JS kernels). */
  readonly memory: object | null;
  readonly module: object | null;
  /** z += the scores of columns [c0, c1). */
  scores(z: Float64Array, c0: number, c1: number): void;
  /** g[c0..c1) from the residuals r. */
  gradient(c0: number, c1: number): void;
}

const PAGE = 65536;

/** The CSR fields read here (src/features/csr.ts's CsrMatrix). */
export interface CsrLike {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float64Array;
}

/** count[j] += the entries of column j in rows [r0, r1). */
export function countColumns(indptr: Int32Array, indices: Int32Array, r0: number, r1: number, count: Int32Array): void {
  for (let p = indptr[r0]; p < indptr[r1]; p++) count[indices[p]]++;
}

/**
 * colPtr from the per-column counts of the first rows (countA) and of the rest (countB, or
 * null); turns countA into each column's first slot for the first rows and countB into the
 * first slot for the rest (the first rows' entries come first, so rows stay ascending).
 */
export function startsFromCounts(colPtr: Int32Array, countA: Int32Array, countB: Int32Array | null): void {
  const d = countA.length;
  colPtr[0] = 0;
  for (let j = 0; j < d; j++) {
    const a = countA[j];
    const b = countB === null ? 0 : countB[j];
    const start = colPtr[j];
    colPtr[j + 1] = start + a + b;
    countA[j] = start;
    if (countB !== null) countB[j] = start + a;
  }
}

/** Writes rows [r0, r1)'s entries into their columns' next slots (next[j] is advanced); values rounded to float32. */
export function fillColumns(
  indptr: Int32Array,
  indices: Int32Array,
  data: Float64Array,
  r0: number,
  r1: number,
  next: Int32Array,
  rowIdx: Int32Array,
  vals: Float32Array,
): void {
  for (let i = r0; i < r1; i++) {
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const q = next[indices[p]]++;
      rowIdx[q] = i;
      vals[q] = data[p];
    }
  }
}

/**
 * X by columns with single-precision values, in a ColumnArena: O(nnz + d), two passes over X
 * (with fill = false the arena is left empty: ColumnBinaryObjective fills it on two threads).
 * float32 values carry X to 6e-8 relative, far below the solver's tolerance, and make the
 * copy 8 bytes per non-zero.
 */
export function createColumnArena(X: CsrLike, useWasm = true, fill = true): ColumnArena {
  const { rows, cols, indptr, indices, data } = X;
  const nnz = indptr[rows];
  const layout = columnLayout(rows, cols, nnz);
  const mod = useWasm ? compiledColumnModule() : null;
  let memory: { buffer: SharedArrayBuffer } | null = null;
  let kernels: ColumnWasmExports | null = null;
  if (mod !== null && wasmApi !== undefined && layout.bytes <= (65536 - 1) * PAGE) {
    try {
      const pages = Math.max(1, Math.ceil(layout.bytes / PAGE));
      memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
      kernels = new wasmApi.Instance(mod, { env: { memory } }).exports as ColumnWasmExports;
    } catch {
      memory = null;
      kernels = null;
    }
  }
  const buffer = memory?.buffer ?? new SharedArrayBuffer(layout.bytes);
  const views = columnViews(buffer, layout);
  const { colPtr, rowIdx, vals } = views.X;
  if (fill) {
    const next = new Int32Array(cols);
    countColumns(indptr, indices, 0, rows, next);
    startsFromCounts(colPtr, next, null);
    fillColumns(indptr, indices, data, 0, rows, next, rowIdx, vals);
  }
  const L = layout;
  const { x, r, g } = views;
  const scores = kernels
    ? (z: Float64Array, c0: number, c1: number) => (kernels as ColumnWasmExports).scatter(L.colPtr, L.rowIdx, L.vals, L.x, z.byteOffset, c0, c1)
    : (z: Float64Array, c0: number, c1: number) => columnScores(colPtr, rowIdx, vals, x, z, c0, c1);
  const gradient = kernels
    ? (c0: number, c1: number) => (kernels as ColumnWasmExports).gather(L.colPtr, L.rowIdx, L.vals, L.r, L.g + c0 * 8, c0, c1)
    : (c0: number, c1: number) => columnGradient(colPtr, rowIdx, vals, r, g, c0, c1);
  return { ...views, buffer, layout, memory, module: kernels ? mod : null, scores, gradient };
}

/**
 * For rows [i0, i1), from the scores b + z1[i] + z2[i]: returns Σ s_i·loss_i, writes each
 * residual r_i = -s_i·y_i·σ(-y_i·z_i)/S into r and Σ r_i into out[0] (the same arithmetic as
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
  i0: number,
  i1: number,
): number {
  let loss = 0;
  let sumR = 0;
  for (let i = i0; i < i1; i++) {
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
