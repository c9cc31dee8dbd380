import { DataError, InvalidParameterError, PolarityError } from "../util/errors.js";
import { rejectUnknownOptions } from "../util/validate.js";
import type { CsrMatrix } from "./csr.js";

export type TfidfNorm = "l1" | "l2" | null;

/** scikit-learn's TfidfTransformer options and defaults. */
export interface TfidfTransformerOptions {
  /** Row normalisation after weighting: "l2" (default), "l1" or null. */
  norm?: TfidfNorm;
  /** Multiply by idf (default true). */
  useIdf?: boolean;
  /** idf = ln((1+n)/(1+df)) + 1 (default true); otherwise ln(n/df) + 1. */
  smoothIdf?: boolean;
  /** Replace tf by 1 + ln(tf) (default false). */
  sublinearTf?: boolean;
}

export const TFIDF_OPTION_KEYS = ["norm", "useIdf", "smoothIdf", "sublinearTf"] as const;

export function resolveTfidfOptions(options: TfidfTransformerOptions = {}, where = "TfidfTransformer"): Required<TfidfTransformerOptions> {
  rejectUnknownOptions(where, options, TFIDF_OPTION_KEYS);
  const norm = options.norm === undefined ? "l2" : options.norm;
  if (norm !== null && norm !== "l1" && norm !== "l2")
    throw new InvalidParameterError(`${where}: norm must be 'l1', 'l2' or null, got ${JSON.stringify(norm)}`);
  const bool = (key: "useIdf" | "smoothIdf" | "sublinearTf", dflt: boolean): boolean => {
    const v = options[key];
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") throw new InvalidParameterError(`${where}: ${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  return { norm, useIdf: bool("useIdf", true), smoothIdf: bool("smoothIdf", true), sublinearTf: bool("sublinearTf", false) };
}

/**
 * Inverse document frequencies from a count matrix, as scikit-learn computes them:
 * smooth: idf = ln((1 + n) / (1 + df)) + 1 ("one extra document containing every term");
 * plain:  idf = ln(n / df) + 1.
 * `df` (per column) may be passed when already known, saving a pass over X.
 */
export function computeIdf(X: CsrMatrix, smoothIdf: boolean, df: Int32Array = documentFrequencies(X)): Float64Array {
  return idfFromDocumentFrequencies(X.rows, df, smoothIdf);
}

/** computeIdf from the per-column document frequencies `df` of `rows` documents. */
export function idfFromDocumentFrequencies(rows: number, df: Int32Array, smoothIdf: boolean): Float64Array {
  const s = smoothIdf ? 1 : 0;
  const n = rows + s;
  const idf = new Float64Array(df.length);
  for (let j = 0; j < df.length; j++) {
    if (df[j] + s === 0) {
      throw new DataError(
        `column ${j} occurs in no document and smoothIdf is false, so its idf would be infinite; use smoothIdf or a vocabulary of terms that occur`,
      );
    }
    idf[j] = Math.log(n / (df[j] + s)) + 1;
  }
  return idf;
}

/** Number of rows with a non-zero in each column. */
export function documentFrequencies(X: CsrMatrix): Int32Array {
  const df = new Int32Array(X.cols);
  const { indices, data } = X;
  const nnz = X.indptr[X.rows];
  for (let p = 0; p < nnz; p++) if (data[p] !== 0) df[indices[p]]++;
  return df;
}

/**
 * Applies sublinear tf, idf weights and row normalisation to `data` in place. Zero rows
 * stay zero (scikit-learn's normalize leaves them alone).
 */
export function applyTfidfInPlace(X: CsrMatrix, idf: Float64Array | null, opts: Required<TfidfTransformerOptions>): void {
  // One small kernel per step: each gets optimised on its own (a single function with
  // several long loops deoptimises between them and boxes doubles meanwhile).
  const nnz = X.indptr[X.rows];
  if (opts.sublinearTf) sublinearTfInPlace(X.data, nnz);
  if (idf !== null) scaleColumnsInPlace(X.indices, X.data, nnz, idf);
  if (opts.norm !== null) normalizeRowsInPlace(X, opts.norm);
}

/** tf → 1 + ln(tf) for the stored (non-zero) entries. */
function sublinearTfInPlace(data: Float64Array, nnz: number): void {
  sublinearTfRange(data, 0, nnz);
}

/** sublinear tf for entries [start, end) (the vectorizer's fit weights rows as it builds them). */
export function sublinearTfRange(data: Float64Array, start: number, end: number): void {
  for (let p = start; p < end; p++) if (data[p] !== 0) data[p] = Math.log(data[p]) + 1;
}

/** data[p] *= w[column of p]. */
function scaleColumnsInPlace(indices: Int32Array, data: Float64Array, nnz: number, w: Float64Array): void {
  scaleColumnsRange(indices, data, 0, nnz, w);
}

/** data[p] *= w[column of p] for entries [start, end). */
export function scaleColumnsRange(indices: Int32Array, data: Float64Array, start: number, end: number, w: Float64Array): void {
  for (let p = start; p < end; p++) data[p] *= w[indices[p]];
}

/** Divides each row by its l2 or l1 norm; zero rows stay zero (as scikit-learn's normalize). */
export function normalizeRowsInPlace(X: CsrMatrix, norm: "l1" | "l2"): void {
  const { rows, indptr, data } = X;
  const l2 = norm === "l2";
  for (let i = 0; i < rows; i++) normalizeRange(data, indptr[i], indptr[i + 1], l2);
}

/** Divides entries [start, end) (one row) by their l2 (or l1) norm; a zero row stays zero. */
export function normalizeRange(data: Float64Array, start: number, end: number, l2: boolean): void {
  let s = 0;
  if (l2) for (let p = start; p < end; p++) s += data[p] * data[p];
  else for (let p = start; p < end; p++) s += Math.abs(data[p]);
  if (s === 0) return;
  const scale = 1 / (l2 ? Math.sqrt(s) : s);
  for (let p = start; p < end; p++) data[p] *= scale;
}

/** scikit-learn's TfidfTransformer: fit learns idf from a count matrix; transform weights and normalises a copy. */
export class TfidfTransformer {
  readonly options: Readonly<Required<TfidfTransformerOptions>>;
  private idfValues: Float64Array | null = null;
  private fitted = false;

  constructor(options: TfidfTransformerOptions = {}) {
    this.options = Object.freeze(resolveTfidfOptions(options));
  }

  fit(X: CsrMatrix): this {
    this.idfValues = this.options.useIdf ? computeIdf(X, this.options.smoothIdf) : null;
    this.nCols = X.cols;
    this.fitted = true;
    return this;
  }

  private nCols = 0;

  /** Learned idf per column, or null when useIdf is false. */
  get idf(): Float64Array | null {
    this.requireFitted();
    return this.idfValues;
  }

  /** Sets a previously learned idf (deserialisation). */
  setIdf(idf: Float64Array | null, nCols: number): this {
    if (this.options.useIdf && (idf === null || idf.length !== nCols)) throw new DataError(`idf must have ${nCols} values when useIdf is true`);
    this.idfValues = this.options.useIdf ? idf : null;
    this.nCols = nCols;
    this.fitted = true;
    return this;
  }

  transform(X: CsrMatrix): CsrMatrix {
    this.requireFitted();
    if (X.cols !== this.nCols) throw new DataError(`matrix has ${X.cols} columns, the transformer was fitted on ${this.nCols}`);
    const nnz = X.indptr[X.rows];
    const out: CsrMatrix = { rows: X.rows, cols: X.cols, indptr: X.indptr.slice(), indices: X.indices.slice(0, nnz), data: X.data.slice(0, nnz) };
    applyTfidfInPlace(out, this.idfValues, this.options);
    return out;
  }

  fitTransform(X: CsrMatrix): CsrMatrix {
    return this.fit(X).transform(X);
  }

  private requireFitted(): void {
    if (!this.fitted) throw new PolarityError("BAD_REQUEST", "TfidfTransformer is not fitted yet; call fit() first");
  }
}
