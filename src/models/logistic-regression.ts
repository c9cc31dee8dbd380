import { collectBeforeCopy, isHandedOver, releaseHandedOver, type CsrMatrix } from "../features/csr.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { rejectUnknownOptions, requireInteger, requireOneOf, requirePositive } from "../util/validate.js";
import type { FitReport, Label } from "./estimator.js";
import { checkFitInput, encodeLabels, requireBoolean, resolveClassWeights, validateClassWeight, type ClassWeight } from "./labels.js";
import { LinearClassifierBase, binaryProba, ovrProbaRow, softmaxRows, type ModelJson } from "./linear.js";
import { minimizeLbfgs, type ObjectiveFn, type OptimResult, type Preconditioner } from "./optim/lbfgs.js";
import { createLbfgsArena, type LbfgsArena } from "./optim/lbfgs-simd.js";
import { minimizeOwlqn } from "./optim/owlqn.js";
import { binaryLossGradientRows, createColumnArena, type BinaryLogisticData, type CscMatrix32 } from "./parallel/binary-logistic-kernel.js";
import { ColumnBinaryObjective, PARALLEL_MIN_NNZ, resolveThreads } from "./parallel/split-objective.js";
import { logisticRows } from "./logistic-rows.js";

export interface LogisticRegressionOptions {
  /** 'l2' (L-BFGS), 'l1' (OWL-QN) or 'none'. Default 'l2'. */
  penalty?: "l2" | "l1" | "none";
  /** Inverse regularisation strength. Default 1. */
  C?: number;
  fitIntercept?: boolean;
  classWeight?: ClassWeight;
  /** Stopping tolerance on the max-abs (pseudo-)gradient of the scaled objective (see below). Default 1e-4. */
  tol?: number;
  maxIter?: number;
  /** 'auto' = binary for 2 classes, multinomial otherwise. Default 'auto'. */
  multiClass?: "auto" | "multinomial" | "ovr";
  onProgress?: (iteration: number, objective: number) => void;
  onWarning?: (message: string) => void;
  /**
   * Threads for the binary loss/gradient pass: 1, 2 (main + one worker), or 'auto' (2 when the
   * matrix has at least PARALLEL_MIN_NNZ non-zeros and the machine 2+ cores). Same solution
   * either way (to rounding). Not a hyperparameter: not stored in toJSON. Default 'auto'.
   */
  threads?: number | "auto";
  /**
   * Warm start: the solver starts from these coefficients (the `coef` and `intercept` of a
   * model fitted on the same columns and classes, e.g. the previous C of a path) instead of 0.
   * Same optimum, fewer iterations. Not stored in toJSON. Ignored for 2 classes with
   * multiClass 'multinomial' (the stored coefficients are a difference there).
   */
  initialCoef?: { coef: Float64Array; intercept: Float64Array };
}

const KNOWN = ["penalty", "C", "fitIntercept", "classWeight", "tol", "maxIter", "multiClass", "onProgress", "onWarning", "threads", "initialCoef"] as const;

/** The hyperparameters as stored in toJSON (callbacks are not). */
export interface LogisticRegressionParams {
  penalty: "l2" | "l1" | "none";
  C: number;
  fitIntercept: boolean;
  classWeight: ClassWeight;
  tol: number;
  maxIter: number;
  multiClass: "auto" | "multinomial" | "ovr";
}

/** scikit-learn's LogisticRegression defaults: the one place they are written (params.yaml's schema reads them). */
export const LOGISTIC_REGRESSION_DEFAULTS: Readonly<LogisticRegressionParams> = Object.freeze({
  penalty: "l2",
  C: 1,
  fitIntercept: true,
  classWeight: null,
  tol: 1e-4,
  maxIter: 100,
  multiClass: "auto",
});

/**
 * One optimisation problem: a smooth objective in the scaled form sklearn minimises,
 *   F(w, b) = (1/S)·Σ s_i·loss_i + (1/(2·C·S))·‖w‖²   (S = Σ s_i),
 * which has the same minimiser as C·Σ s_i·loss_i + ½‖w‖²; the tolerance applies to F's
 * gradient (as sklearn's gtol). `scale` = C·S converts F back to the unscaled objective.
 */
interface Problem {
  fg: ObjectiveFn;
  nParams: number;
  /** Parameters carrying the penalty: the first nPenalized (the intercepts come last). */
  nPenalized: number;
  /** The L1 weight in the scaled objective (0 for L2 / none). */
  l1: number;
  scale: number;
  /**
   * Writes the inverse of the Hessian's diagonal at w = 0, the optimiser's preconditioner, into
   * its argument (nParams zeros): computed where the optimiser keeps it, never held twice.
   */
  precond: Preconditioner;
}

/**
 * Inverse diagonal of the scaled objective's Hessian at w = 0: for feature j,
 * l2 + (1/S)·Σ_i s_i·v·x_ij² with v the loss curvature at 0 (¼ for the logistic loss,
 * (k−1)/k² per class for softmax). Text features' frequencies differ by orders of
 * magnitude, so this diagonal scaling is what makes L-BFGS competitive with liblinear's
 * Newton method (measured in bench/models.ts). `reps` copies each value (one per class).
 * Written into `out` (d·reps (+ reps) zeros).
 */
function inverseHessianDiagonal(
  X: CsrMatrix,
  sw: Float64Array,
  S: number,
  curvature: number,
  l2: number,
  reps: number,
  fitIntercept: boolean,
  out: Float64Array,
): void {
  const d = X.cols;
  // The diagonal is accumulated in out[0..d) and expanded in place (from the end, so no value
  // is overwritten before it is read): no second d-sized array (d = 2.3 M at 10^6 documents).
  const { indptr, indices, data } = X;
  for (let i = 0; i < X.rows; i++) {
    const wi = (sw[i] * curvature) / S;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) out[indices[p]] += wi * data[p] * data[p];
  }
  for (let j = d - 1; j >= 0; j--) {
    const hj = out[j] + l2;
    const inv = hj > 0 ? 1 / hj : 1;
    for (let c = reps - 1; c >= 0; c--) out[j * reps + c] = inv;
  }
  if (fitIntercept) for (let c = 0; c < reps; c++) out[d * reps + c] = 1 / curvature;
}

/** inverseHessianDiagonal's binary case (one class) from X by columns: a sequential pass per column. */
function inverseHessianDiagonalColumns(
  X: CscMatrix32,
  sw: Float64Array,
  S: number,
  curvature: number,
  l2: number,
  fitIntercept: boolean,
  out: Float64Array,
): void {
  const d = X.cols;
  const { colPtr, rowIdx, vals } = X;
  // Equal sample weights (no class weights): a sequential pass over the values only.
  let uniform = true;
  for (let i = 1; i < sw.length && uniform; i++) uniform = sw[i] === sw[0];
  const f = curvature / S;
  for (let j = 0; j < d; j++) {
    let h = 0;
    if (uniform) {
      for (let q = colPtr[j]; q < colPtr[j + 1]; q++) h += vals[q] * vals[q];
      h *= sw.length > 0 ? sw[0] : 0;
    } else {
      for (let q = colPtr[j]; q < colPtr[j + 1]; q++) h += sw[rowIdx[q]] * vals[q] * vals[q];
    }
    const hj = h * f + l2;
    out[j] = hj > 0 ? 1 / hj : 1;
  }
  if (fitIntercept) out[d] = 1 / curvature;
}

/**
 * The scaled objective's constants: S = Σ s_i, the data term's 1/S, `scale` = C·S (S without
 * a penalty) that converts the scaled objective back to C·Σ s_i·loss_i + ½‖w‖², and the L2
 * and L1 weights 1/(C·S) (each 0 unless it is the penalty).
 */
function objectiveScaling(sw: Float64Array, p: LogisticRegressionParams): { S: number; invS: number; scale: number; l2: number; l1: number } {
  let S = 0;
  for (let i = 0; i < sw.length; i++) S += sw[i];
  const penaltyWeight = 1 / (p.C * S);
  return { S, invS: 1 / S, scale: p.penalty === "none" ? S : p.C * S, l2: p.penalty === "l2" ? penaltyWeight : 0, l1: p.penalty === "l1" ? penaltyWeight : 0 };
}

/**
 * Binary logistic loss with labels ±1. Parameters: w (d) then b (if fitIntercept).
 * With `columns` (big problems, or 2 threads) the loss/gradient pass runs by columns on
 * X's float32 CSC copy (ColumnBinaryObjective: on the main thread and possibly one worker,
 * fixed summation order, so deterministic); otherwise one fused row-wise pass over X (in WebAssembly on a copy of the rows when it fits: logistic-rows.ts).
 */
function binaryProblem(X: CsrMatrix, columns: ColumnPath | null, ySign: Float64Array, sw: Float64Array, p: LogisticRegressionParams): Problem {
  // On the column path X itself may have been released (handOverToFit): only its copy is read.
  const n = columns !== null ? columns.X.rows : X.rows;
  const d = columns !== null ? columns.X.cols : X.cols;
  const { S, invS, scale, l2, l1 } = objectiveScaling(sw, p);
  const fitIntercept = p.fitIntercept;
  // Row-wise: in WebAssembly on a copy of the rows (logistic-rows.ts) up to its size limit, else in JavaScript on X.
  const rows = columns !== null ? null : logisticRows(X, ySign, sw, invS);
  const kernelData: BinaryLogisticData | null =
    columns !== null || rows !== null ? null : { indptr: X.indptr, indices: X.indices, data: X.data, ySign, sw, invS };
  const sumR = new Float64Array(1);
  columns?.objective.setRows(ySign, sw);
  const fg: ObjectiveFn = (x, grad) => {
    const b = fitIntercept ? x[d] : 0;
    const gw = grad.length === d ? grad : grad.subarray(0, d);
    let loss: number;
    if (columns !== null) {
      loss = columns.objective.evaluate(x, b, invS, gw, sumR);
    } else if (rows !== null) {
      loss = rows.evaluate(x, b, gw, sumR);
    } else {
      gw.fill(0);
      loss = binaryLossGradientRows(kernelData as BinaryLogisticData, x, b, gw, 0, n, sumR);
    }
    const reg = l2 !== 0 ? addL2Gradient(x, grad, d, l2) : 0;
    if (fitIntercept) grad[d] = sumR[0];
    return loss * invS + 0.5 * l2 * reg;
  };
  const precond = (out: Float64Array): void =>
    columns !== null
      ? inverseHessianDiagonalColumns(columns.X, sw, S, 0.25, l2, fitIntercept, out)
      : inverseHessianDiagonal(X, sw, S, 0.25, l2, 1, fitIntercept, out);
  return { fg, nParams: d + (fitIntercept ? 1 : 0), nPenalized: d, l1, scale, precond };
}

/** X by columns and the objective that evaluates on it (its worker, if any, serves every binary problem of a fit). */
interface ColumnPath {
  X: CscMatrix32;
  objective: ColumnBinaryObjective;
  /** The objective's own label and weight vectors (setRows with these copies nothing). */
  ySign: Float64Array;
  sw: Float64Array;
}

/** out[i] = the class weight of sample i; returns out. */
function sampleWeights(codes: ArrayLike<number>, cw: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = cw[codes[i]];
  return out;
}

/**
 * Whether binary problems are evaluated by columns (ColumnBinaryObjective): from
 * PARALLEL_MIN_NNZ non-zeros (there a by-column pass costs about half the CPU of the
 * row-wise one, bench/core.ts) and whenever a worker thread is used.
 */
function useColumns(nnz: number, threads: number): boolean {
  return threads > 1 || nnz >= PARALLEL_MIN_NNZ;
}

/** grad[j] += l2·x[j] for j < d; returns ‖x[0..d)‖². */
function addL2Gradient(x: Float64Array, grad: Float64Array, d: number, l2: number): number {
  let reg = 0;
  for (let j = 0; j < d; j++) {
    const wj = x[j];
    grad[j] += l2 * wj;
    reg += wj * wj;
  }
  return reg;
}

/**
 * Multinomial (softmax) loss with k weight vectors, all penalised (sklearn's symmetric
 * parameterisation). Parameters: W as d × k row-major, then k intercepts.
 */
function multinomialProblem(X: CsrMatrix, codes: Int32Array, k: number, sw: Float64Array, p: LogisticRegressionParams): Problem {
  const n = X.rows;
  const d = X.cols;
  const { S, invS, scale, l2, l1 } = objectiveScaling(sw, p);
  const G = new Float64Array(k);
  const fitIntercept = p.fitIntercept;
  const dk = d * k;
  const { indptr, indices, data } = X;
  const z = new Float64Array(k);
  // Fused like the binary case: per row, the k scores, the softmax residuals, then the scatter.
  const fg: ObjectiveFn = (x, grad) => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const start = indptr[i];
      const end = indptr[i + 1];
      for (let c = 0; c < k; c++) z[c] = fitIntercept ? x[dk + c] : 0;
      for (let p = start; p < end; p++) {
        const v = data[p];
        const base = indices[p] * k;
        for (let c = 0; c < k; c++) z[c] += v * x[base + c];
      }
      let max = -Infinity;
      for (let c = 0; c < k; c++) if (z[c] > max) max = z[c];
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp(z[c] - max);
        G[c] = e;
        sum += e;
      }
      const yi = codes[i];
      const si = sw[i];
      loss += si * (max + Math.log(sum) - z[yi]);
      const f = (si * invS) / sum;
      for (let c = 0; c < k; c++) G[c] *= f;
      G[yi] -= si * invS;
      for (let p = start; p < end; p++) {
        const v = data[p];
        const base = indices[p] * k;
        for (let c = 0; c < k; c++) grad[base + c] += v * G[c];
      }
      if (fitIntercept) for (let c = 0; c < k; c++) grad[dk + c] += G[c];
    }
    let reg = 0;
    if (l2 !== 0) {
      for (let j = 0; j < dk; j++) {
        const wj = x[j];
        grad[j] += l2 * wj;
        reg += wj * wj;
      }
    }
    return loss * invS + 0.5 * l2 * reg;
  };
  const precond = (out: Float64Array): void => inverseHessianDiagonal(X, sw, S, (k - 1) / (k * k), l2, k, fitIntercept, out);
  return { fg, nParams: dk + (fitIntercept ? k : 0), nPenalized: dk, l1, scale, precond };
}

/** L-BFGS's history: the curvature pairs kept (scipy's and sklearn's default, 10). */
const LBFGS_HISTORY = 10;

/** From this many parameters the L-BFGS iterates live outside its arena (see LogisticRegression.solve). */
const ITERATES_OUTSIDE_ARENA_MIN = 1 << 21;

/** From this many columns LogisticRegression.fit renumbers them by frequency for the solver (see fit). */
export const REORDER_MIN_COLUMNS = 1 << 16;

/**
 * Columns by decreasing document frequency (ties: ascending index), as the two maps between
 * the old and new numbering; null below REORDER_MIN_COLUMNS. Counting sort: O(nnz + d).
 */
function frequencyOrder(X: CsrMatrix): { newOfOld: Int32Array; oldOfNew: Int32Array } | null {
  const d = X.cols;
  if (d < REORDER_MIN_COLUMNS) return null;
  const { indptr, indices } = X;
  const df = new Int32Array(d);
  for (let p = indptr[0]; p < indptr[X.rows]; p++) df[indices[p]]++;
  let maxDf = 0;
  for (let j = 0; j < d; j++) if (df[j] > maxDf) maxDf = df[j];
  // Bucket k = maxDf - df: the most frequent first.
  const start = new Int32Array(maxDf + 2);
  for (let j = 0; j < d; j++) start[maxDf - df[j] + 1]++;
  for (let k = 1; k <= maxDf + 1; k++) start[k] += start[k - 1];
  const newOfOld = new Int32Array(d);
  const oldOfNew = new Int32Array(d);
  for (let j = 0; j < d; j++) {
    const r = start[maxDf - df[j]]++;
    newOfOld[j] = r;
    oldOfNew[r] = j;
  }
  return { newOfOld, oldOfNew };
}

/** indices[p] = map[indices[p]] over X's non-zeros, in place. */
function renumberColumns(X: CsrMatrix, map: Int32Array): void {
  const { indices } = X;
  for (let p = X.indptr[0]; p < X.indptr[X.rows]; p++) indices[p] = map[indices[p]];
}

/**
 * Logistic regression with sklearn's lbfgs objective: minimise C·Σ s_i·loss_i + ½‖w‖²
 * (L2), C·Σ s_i·loss_i + ‖w‖₁ (L1, via OWL-QN) or Σ s_i·loss_i (none); the intercept is
 * never penalised; s_i is the class weight of sample i.
 *
 * Binary problems use one weight vector (score for classes[1]). Multinomial uses k vectors;
 * for k = 2 with multiClass 'multinomial' the fitted symmetric pair is stored as the single
 * row w₁ − w₀ (the true log-odds, i.e. twice sklearn's coef_ in that case).
 */
export class LogisticRegression extends LinearClassifierBase {
  readonly probabilistic = true;
  protected readonly name = "LogisticRegression";
  readonly params: LogisticRegressionParams;
  private readonly onProgress?: (iteration: number, objective: number) => void;
  private readonly onWarning?: (message: string) => void;
  private readonly threads: number | "auto";
  private readonly initialCoef?: { coef: Float64Array; intercept: Float64Array };

  constructor(options: LogisticRegressionOptions = {}) {
    super();
    rejectUnknownOptions("LogisticRegression", options, KNOWN);
    this.params = {
      penalty: requireOneOf("penalty", options.penalty ?? LOGISTIC_REGRESSION_DEFAULTS.penalty, ["l2", "l1", "none"] as const),
      C: requirePositive("C", options.C ?? LOGISTIC_REGRESSION_DEFAULTS.C),
      fitIntercept: requireBoolean("fitIntercept", options.fitIntercept ?? LOGISTIC_REGRESSION_DEFAULTS.fitIntercept),
      classWeight: validateClassWeight("LogisticRegression", options.classWeight),
      tol: requirePositive("tol", options.tol ?? LOGISTIC_REGRESSION_DEFAULTS.tol),
      maxIter: requireInteger("maxIter", options.maxIter ?? LOGISTIC_REGRESSION_DEFAULTS.maxIter, 1),
      multiClass: requireOneOf("multiClass", options.multiClass ?? LOGISTIC_REGRESSION_DEFAULTS.multiClass, ["auto", "multinomial", "ovr"] as const),
    };
    this.onProgress = options.onProgress;
    this.onWarning = options.onWarning;
    const threads = options.threads ?? "auto";
    this.threads = threads === "auto" ? "auto" : requireInteger("threads", threads, 1, 2);
    this.initialCoef = options.initialCoef;
  }

  /** The warm-start vector for coefficient rows × d (null: cold start); `oldOfNew` as in fitColumns. */
  private startingPoint(
    rows: number,
    d: number,
    nParams: number,
    oldOfNew: Int32Array | null,
    layout: (row: number, col: number) => number,
  ): Float64Array | null {
    const init = this.initialCoef;
    if (!init) return null;
    if (init.coef.length !== rows * d || init.intercept.length !== rows) {
      throw new InvalidParameterError(
        `LogisticRegression: initialCoef has ${init.coef.length} coefficients and ${init.intercept.length} intercepts, expected ${rows * d} and ${rows}`,
      );
    }
    const x0 = new Float64Array(nParams);
    for (let row = 0; row < rows; row++) {
      for (let r = 0; r < d; r++) x0[layout(row, r)] = init.coef[row * d + (oldOfNew === null ? r : oldOfNew[r])];
      if (this.params.fitIntercept) x0[layout(row, d)] = init.intercept[row];
    }
    return x0;
  }

  /** 'binary' | 'multinomial' | 'ovr' for k classes. */
  private mode(k: number): "binary" | "multinomial" | "ovr" {
    if (this.params.multiClass === "multinomial") return "multinomial";
    if (k === 2) return "binary";
    return this.params.multiClass === "ovr" ? "ovr" : "multinomial";
  }

  /**
   * Fits on X. From REORDER_MIN_COLUMNS columns, X's column indices are renumbered in place by
   * decreasing frequency for the fit (the weights and gradient the solver gathers and scatters
   * then sit together in cache: ~20 % less CPU per pass at 10^6 documents, bench/core.ts) and
   * restored before fit returns, so X must not be read by another thread meanwhile. The
   * coefficients come out in X's own column order; only the summation order of the solver's
   * dot products differs, i.e. the result differs from an unordered fit by rounding.
   */
  fit(X: CsrMatrix, y: readonly Label[]): this {
    checkFitInput(X, y, "LogisticRegression");
    // The by-column path reads no d-sized vector at random: no renumbering there.
    const k = encodeLabels(y).classes.length;
    const nnz = X.indptr[X.rows];
    const order = this.mode(k) !== "multinomial" && useColumns(nnz, resolveThreads(this.threads, nnz)) ? null : frequencyOrder(X);
    if (order === null) return this.fitColumns(X, y, null);
    renumberColumns(X, order.newOfOld);
    try {
      return this.fitColumns(X, y, order.oldOfNew);
    } finally {
      renumberColumns(X, order.oldOfNew);
    }
  }

  /** The fit on X's columns as they are numbered now; `oldOfNew` maps them back to the caller's (null: the same). */
  private fitColumns(X: CsrMatrix, y: readonly Label[], oldOfNew: Int32Array | null): this {
    const { classes, codes, counts } = encodeLabels(y);
    const k = classes.length;
    const cw = resolveClassWeights(this.params.classWeight, classes, counts);
    const n = X.rows;
    const d = X.cols;
    const threads = resolveThreads(this.threads, X.indptr[n]);
    let totalWeight = 0;
    for (let i = 0; i < n; i++) totalWeight += cw[codes[i]];
    if (!(totalWeight > 0)) throw new DataError("LogisticRegression.fit: every sample has weight 0 (check classWeight)");
    const mode = this.mode(k);
    this.warnings = [];

    if (mode === "multinomial") {
      const sw = sampleWeights(codes, cw, new Float64Array(n));
      const problem = multinomialProblem(X, codes, k, sw, this.params);
      const x0 = k > 2 ? this.startingPoint(k, d, problem.nParams, oldOfNew, (c, j) => (j === d ? d * k + c : j * k + c)) : null;
      const res = this.solve(problem, x0);
      const coef = new Float64Array(k * d);
      for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) coef[c * d + j] = res.x[j * k + c];
      const intercept = new Float64Array(k);
      if (this.params.fitIntercept) for (let c = 0; c < k; c++) intercept[c] = res.x[d * k + c];
      if (k === 2) {
        const diff = new Float64Array(d);
        for (let j = 0; j < d; j++) diff[j] = coef[d + j] - coef[j];
        this.setState(classes, diff, Float64Array.of(intercept[1] - intercept[0]), d, [res], [problem], oldOfNew);
      } else {
        this.setState(classes, coef, intercept, d, [res], [problem], oldOfNew);
      }
      return this;
    }

    const targets = mode === "binary" ? [1] : classes.map((_, c) => c);
    // One problem: the coefficients are the solution's first d entries (a view, no second d-sized array).
    let coef: Float64Array | null = targets.length === 1 ? null : new Float64Array(targets.length * d);
    const intercept = new Float64Array(targets.length);
    const results: OptimResult[] = [];
    const problems: Problem[] = [];
    const start = this.initialCoef ? this.startingPoint(targets.length, d, targets.length * (d + 1), oldOfNew, (row, j) => row * (d + 1) + j) : null;
    let columns: ColumnPath | null = null;
    // One L2 problem on the column path with a worker: its optimiser's arena is made now, so
    // the worker can fault its pages in before the iterations write them (~4 ms per MB on this
    // thread otherwise: 64 MB at 10^5 documents; ColumnBinaryObjective's prefault).
    let lbfgsArena: LbfgsArena | null = null;
    if (useColumns(X.indptr[n], threads)) {
      collectBeforeCopy(X);
      const arena = createColumnArena(X, true, false);
      const nParams = d + (this.params.fitIntercept ? 1 : 0);
      if (targets.length === 1 && this.params.penalty !== "l1" && threads > 1) lbfgsArena = createLbfgsArena(nParams, LBFGS_HISTORY, true);
      // The iterates of a big problem live outside the arena (solve's allocate): their slots stay untouched.
      const prefault =
        lbfgsArena === null
          ? []
          : [{ buffer: lbfgsArena.buffer, start: nParams >= ITERATES_OUTSIDE_ARENA_MIN ? lbfgsArena.g[0].byteOffset : 0, end: lbfgsArena.bytes }];
      columns = {
        X: arena.X,
        objective: new ColumnBinaryObjective(arena, threads, X, isHandedOver(X), undefined, prefault),
        ySign: arena.ySign,
        sw: arena.sw,
      };
      // The copy exists: a matrix the caller handed over is emptied now, so it can be freed during the fit;
      // only then may the worker fault the optimiser's arena in (its pages on top of X's would raise the peak).
      releaseHandedOver(X);
      columns.objective.openPrefault();
    }
    // On the column path the labels and weights are written where the objective reads them.
    const sw = sampleWeights(codes, cw, columns?.sw ?? new Float64Array(n));
    const ySign = columns?.ySign ?? new Float64Array(n);
    try {
      targets.forEach((target, row) => {
        for (let i = 0; i < n; i++) ySign[i] = codes[i] === target ? 1 : -1;
        const problem = binaryProblem(X, columns, ySign, sw, this.params);
        const res = this.solve(problem, start === null ? null : start.slice(row * (d + 1), row * (d + 1) + problem.nParams), lbfgsArena);
        if (coef === null) coef = res.x.subarray(0, d);
        else coef.set(res.x.subarray(0, d), row * d);
        if (this.params.fitIntercept) intercept[row] = res.x[d];
        results.push(res);
        problems.push(problem);
      });
    } finally {
      columns?.objective.close();
    }
    this.setState(classes, coef ?? new Float64Array(0), intercept, d, results, problems, oldOfNew);
    return this;
  }

  private solve(problem: Problem, start: Float64Array | null = null, arena: LbfgsArena | null = null): OptimResult {
    const x0 = start ?? new Float64Array(problem.nParams);
    const onIteration = this.onProgress ? (it: number, f: number) => this.onProgress?.(it, f * problem.scale) : undefined;
    // Big problems keep their iterates in plain arrays, so the solution needs no copy out of the
    // optimiser's arena at the end, when that copy would add to the fit's peak memory (10^6
    // documents: 20 MB on ~1 GB); the optimiser's push and step then run in plain JS (~2 % of the fit).
    const allocate = problem.nParams >= ITERATES_OUTSIDE_ARENA_MIN ? (length: number) => new Float64Array(length) : undefined;
    const opts = {
      maxIter: this.params.maxIter,
      gtol: this.params.tol,
      m: LBFGS_HISTORY,
      onIteration,
      preconditioner: problem.precond,
      allocate,
      arena: arena ?? undefined,
    };
    return this.params.penalty === "l1" ? minimizeOwlqn(problem.fg, x0, problem.l1, problem.nPenalized, opts) : minimizeLbfgs(problem.fg, x0, opts);
  }

  private setState(
    classes: Label[],
    fitted: Float64Array,
    intercept: Float64Array,
    d: number,
    results: OptimResult[],
    problems: Problem[],
    oldOfNew: Int32Array | null,
  ): void {
    let coef = fitted;
    if (oldOfNew !== null) {
      coef = new Float64Array(fitted.length);
      for (let row = 0; row < fitted.length / d; row++) for (let r = 0; r < d; r++) coef[row * d + oldOfNew[r]] = fitted[row * d + r];
    }
    const report: FitReport = {
      iterations: results.reduce((s, r) => s + r.iterations, 0),
      converged: results.every((r) => r.converged),
      objective: results.reduce((s, r, i) => s + r.f * problems[i].scale, 0),
      evaluations: results.reduce((s, r) => s + r.evaluations, 0),
    };
    this.restoreState(classes, coef, intercept, d, report);
    for (const r of results) {
      if (!r.converged) {
        const why =
          r.reason === "maxIter" ? `did not converge within maxIter=${this.params.maxIter} iterations` : "stopped: the line search found no further decrease";
        this.warn(
          `LogisticRegression ${why} (max |gradient| ${r.gradMaxAbs.toExponential(2)} > tol ${this.params.tol}); increase maxIter or scale the features`,
          this.onWarning,
        );
      }
    }
  }

  predictProba(X: CsrMatrix): Float64Array {
    const k = this.classes.length;
    const raw = this.rawScores(X, "predictProba");
    if (this.coefRows === 1) return binaryProba(raw);
    if (this.mode(k) === "ovr") {
      for (let i = 0; i < X.rows; i++) ovrProbaRow(raw, i * k, k);
      return raw;
    }
    return softmaxRows(raw, k);
  }

  toJSON(): ModelJson {
    return this.baseJson("logreg", { ...this.params });
  }
}
