import type { CsrMatrix } from "../features/csr.js";
import { InvalidParameterError } from "../util/errors.js";
import { rejectUnknownOptions, requireFinite, requireInteger, requireOneOf, requirePositive } from "../util/validate.js";
import type { FitReport, Label } from "./estimator.js";
import { checkFitInput, encodeLabels } from "./labels.js";
import { LinearClassifierBase, binaryProba, ovrProbaRow, type Contributions, type ModelJson } from "./linear.js";
import { LinearSVC } from "./linear-svc.js";
import { LogisticRegression } from "./logistic-regression.js";

export interface NBSVMOptions {
  /** The linear model fitted on the r-scaled binary features: 'svm' (squared hinge, the paper's) or 'logreg'. Default 'svm'. */
  base?: "svm" | "logreg";
  /** The base model's C. Default 1. */
  C?: number;
  /** Smoothing α of the count vectors p and q. Default 1. */
  alpha?: number;
  /**
   * Interpolation w' = (1 − β)·w̄ + β·w with w̄ = ‖w‖₁/d (Wang & Manning's trust in NB vs the
   * SVM). Default 0.25 with base 'svm', 1 (no interpolation) with 'logreg'.
   */
  beta?: number;
  tol?: number;
  maxIter?: number;
  seed?: number;
  onWarning?: (message: string) => void;
  /**
   * Warm start (base 'svm'): the `dualVariables` of a previous fit on the same rows and classes
   * (e.g. the previous C of a path), passed to LinearSVC's initialAlpha. Not stored.
   */
  initialDual?: Float64Array[];
}

export interface NBSVMParams {
  base: "svm" | "logreg";
  C: number;
  alpha: number;
  beta: number;
  tol: number;
  maxIter: number;
  seed: number;
}

const KNOWN = ["base", "C", "alpha", "beta", "tol", "maxIter", "seed", "onWarning", "initialDual"] as const;

/** The same sparsity pattern with every stored value 1 (the paper's binarised x̂ = 1{x > 0}). */
export function binarize(X: CsrMatrix): CsrMatrix {
  const nnz = X.indptr[X.rows];
  const data = new Float64Array(nnz);
  for (let p = 0; p < nnz; p++) data[p] = X.data[p] > 0 ? 1 : 0;
  return { rows: X.rows, cols: X.cols, indptr: X.indptr, indices: X.indices, data };
}

/**
 * Wang & Manning's log-count ratio for `target` against the rest:
 *   p = α + Σ_{i: y_i = target} x̂_i,  q = α + Σ_{i: y_i ≠ target} x̂_i,  r = ln((p/‖p‖₁) / (q/‖q‖₁)).
 */
export function logCountRatio(Xb: CsrMatrix, codes: Int32Array, target: number, alpha: number): Float64Array {
  const d = Xb.cols;
  const p = new Float64Array(d).fill(alpha);
  const q = new Float64Array(d).fill(alpha);
  const { indptr, indices, data } = Xb;
  for (let i = 0; i < Xb.rows; i++) {
    const acc = codes[i] === target ? p : q;
    for (let k = indptr[i]; k < indptr[i + 1]; k++) acc[indices[k]] += data[k];
  }
  let sp = 0;
  let sq = 0;
  for (let j = 0; j < d; j++) {
    sp += p[j];
    sq += q[j];
  }
  const r = new Float64Array(d);
  const shift = Math.log(sq) - Math.log(sp);
  for (let j = 0; j < d; j++) r[j] = Math.log(p[j]) - Math.log(q[j]) + shift;
  return r;
}

/**
 * NBSVM (Wang & Manning 2012, "Baselines and Bigrams"): a linear model fitted on binarised
 * features scaled by the naive-Bayes log-count ratio r, with the weights interpolated towards
 * their mean magnitude. Because the score (β·w + (1−β)·w̄)·(r ∘ x̂) + b is linear in x̂, the model
 * is stored like the other linear models with coef = w' ∘ r, and binarises its input before
 * scoring. Binary: one row (the score for classes[1]); k > 2: one-vs-rest, one row per class.
 */
export class NBSVM extends LinearClassifierBase {
  readonly probabilistic: boolean;
  protected readonly name = "NBSVM";
  readonly params: NBSVMParams;
  /** r per row (kept for inspection; not serialised: it is folded into coef). */
  ratios: Float64Array[] = [];
  /** The base SVM's dual variables per subproblem after fit (base 'svm'; empty for 'logreg'): a warm start for the next C. */
  dualVariables: Float64Array[] = [];
  private readonly onWarning?: (message: string) => void;
  private readonly initialDual?: Float64Array[];

  constructor(options: NBSVMOptions = {}) {
    super();
    rejectUnknownOptions("NBSVM", options, KNOWN);
    const base = requireOneOf("base", options.base ?? "svm", ["svm", "logreg"] as const);
    const beta = requireFinite("beta", options.beta ?? (base === "svm" ? 0.25 : 1));
    if (beta < 0 || beta > 1) throw new InvalidParameterError(`NBSVM: beta must be in [0, 1], got ${beta}`);
    this.params = {
      base,
      C: requirePositive("C", options.C ?? 1),
      alpha: requirePositive("alpha", options.alpha ?? 1),
      beta,
      tol: requirePositive("tol", options.tol ?? 1e-4),
      maxIter: requireInteger("maxIter", options.maxIter ?? (base === "svm" ? 1000 : 100), 1),
      seed: requireInteger("seed", options.seed ?? 0),
    };
    this.probabilistic = base === "logreg" && beta === 1;
    this.onWarning = options.onWarning;
    this.initialDual = options.initialDual;
  }

  fit(X: CsrMatrix, y: readonly Label[]): this {
    checkFitInput(X, y, "NBSVM");
    const { classes, codes } = encodeLabels(y);
    const k = classes.length;
    const d = X.cols;
    const Xb = binarize(X);
    const targets = k === 2 ? [1] : classes.map((_, c) => c);
    const coef = new Float64Array(targets.length * d);
    const intercept = new Float64Array(targets.length);
    const scaledData = new Float64Array(Xb.data.length);
    const scaled: CsrMatrix = { ...Xb, data: scaledData };
    const yBinary: number[] = new Array(X.rows);
    const report: FitReport = { iterations: 0, converged: true };
    this.warnings = [];
    this.ratios = [];
    this.dualVariables = [];
    targets.forEach((target, row) => {
      const r = logCountRatio(Xb, codes, target, this.params.alpha);
      this.ratios.push(r);
      for (let p = 0; p < scaledData.length; p++) scaledData[p] = Xb.data[p] * r[Xb.indices[p]];
      for (let i = 0; i < X.rows; i++) yBinary[i] = codes[i] === target ? 1 : 0;
      const onWarning = (m: string): void => this.warn(`NBSVM (class ${String(classes[target])}): ${m}`, this.onWarning);
      const { C, tol, maxIter, seed } = this.params;
      const start = this.initialDual?.[row];
      const model =
        this.params.base === "svm"
          ? new LinearSVC({ C, tol, maxIter, seed, onWarning, ...(start ? { initialAlpha: [start] } : {}) })
          : new LogisticRegression({ C, tol, maxIter, onWarning, threads: 1 });
      model.fit(scaled, yBinary);
      if (model instanceof LinearSVC) this.dualVariables.push(model.solutions[0].alpha);
      const w = model.coef;
      let meanMagnitude = 0;
      for (let j = 0; j < d; j++) meanMagnitude += Math.abs(w[j]);
      meanMagnitude /= d;
      const beta = this.params.beta;
      for (let j = 0; j < d; j++) coef[row * d + j] = ((1 - beta) * meanMagnitude + beta * w[j]) * r[j];
      intercept[row] = model.intercept[0];
      report.iterations += model.fitReport?.iterations ?? 0;
      report.converged &&= model.fitReport?.converged ?? true;
    });
    this.restoreState(classes, coef, intercept, d, report);
    return this;
  }

  protected override rawScores(X: CsrMatrix, where: string): Float64Array {
    return super.rawScores(binarize(X), where);
  }

  predictProba(X: CsrMatrix): Float64Array {
    const raw = this.rawScores(X, "predictProba");
    const k = this.classes.length;
    if (this.coefRows === 1) return binaryProba(raw);
    for (let i = 0; i < X.rows; i++) ovrProbaRow(raw, i * k, k);
    return raw;
  }

  /** Contributions of the binarised features (each present term counts once, as in scoring). */
  override linearContributions(rowIndices: ArrayLike<number>, rowValues: ArrayLike<number>, classIndex?: number): Contributions {
    return super.linearContributions(
      rowIndices,
      Array.from(rowValues, (v) => (v > 0 ? 1 : 0)),
      classIndex,
    );
  }

  toJSON(): ModelJson {
    return this.baseJson("nbsvm", { ...this.params });
  }
}
