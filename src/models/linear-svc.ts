import { csrRowSquaredNorms, type CsrMatrix } from "../features/csr.js";
import { InvalidParameterError } from "../util/errors.js";
import { Random } from "../util/random.js";
import { rejectUnknownOptions, requireInteger, requireOneOf, requirePositive } from "../util/validate.js";
import type { FitReport, Label } from "./estimator.js";
import { checkFitInput, encodeLabels, requireBoolean, resolveClassWeights, validateClassWeight, type ClassWeight } from "./labels.js";
import { LinearClassifierBase, binaryProba, softmaxRows, type ModelJson } from "./linear.js";

export interface LinearSVCOptions {
  C?: number;
  loss?: "squared_hinge" | "hinge";
  /** Stop when the spread of projected gradients max PG − min PG <= tol (liblinear's eps). Default 1e-4. */
  tol?: number;
  /** Maximum passes over the data. Default 1000. */
  maxIter?: number;
  /**
   * Adds a constant feature 1 (liblinear's bias with interceptScaling = 1). Its weight is the
   * intercept and, as in liblinear/sklearn, it IS regularised. Default true.
   */
  fitIntercept?: boolean;
  /** Per-class weights: sample i's C is C·weight(class of i) (in every one-vs-rest subproblem). */
  classWeight?: ClassWeight;
  /** Seed of the coordinate order. Default 0. */
  seed?: number;
  onWarning?: (message: string) => void;
  /**
   * Warm start: the dual variables of a previous fit on the same rows and classes (its
   * `solutions[r].alpha`, one array per subproblem), e.g. the previous C of a path. They are
   * clipped to this C's box; same optimum, fewer passes. Not stored in toJSON.
   */
  initialAlpha?: Float64Array[];
}

export interface LinearSVCParams {
  C: number;
  loss: "squared_hinge" | "hinge";
  tol: number;
  maxIter: number;
  fitIntercept: boolean;
  classWeight: ClassWeight;
  seed: number;
}

/** The solution of one binary dual problem, with what the tests check optimality with. */
export interface SvcDualSolution {
  w: Float64Array;
  bias: number;
  alpha: Float64Array;
  iterations: number;
  converged: boolean;
  primal: number;
  /** The dual objective (to maximise); primal − dual ≥ 0 is the duality gap. */
  dual: number;
}

/**
 * Dual coordinate descent for the L2-regularised hinge / squared-hinge SVM (Hsieh et al.
 * 2008, liblinear's solve_l2r_l1l2_svc), with random permutation each pass and shrinking.
 *   primal: ½‖w̃‖² + Σ C_i·ξ_i (hinge) or Σ C_i·ξ_i² (squared), ξ_i = max(0, 1 − y_i·w̃·x̃_i)
 *   dual:   min_α ½ αᵀ(Q + D)α − Σα,  0 ≤ α_i ≤ U_i; hinge: D = 0, U_i = C_i; squared: D_ii = 1/(2C_i), U = ∞
 * x̃ is x with a trailing 1 when fitIntercept (w̃ = [w, b]).
 */
export function solveSvcDual(X: CsrMatrix, ySign: Float64Array, Ci: Float64Array, params: LinearSVCParams, rng: Random, alpha0?: Float64Array): SvcDualSolution {
  const n = X.rows;
  const d = X.cols;
  const { indptr, indices, data } = X;
  const hinge = params.loss === "hinge";
  const biasTerm = params.fitIntercept ? 1 : 0;
  const QD = csrRowSquaredNorms(X);
  const diag = new Float64Array(n);
  const upper = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    diag[i] = hinge ? 0 : 0.5 / Ci[i];
    upper[i] = hinge ? Ci[i] : Infinity;
    QD[i] += diag[i] + biasTerm;
  }
  const alpha = new Float64Array(n);
  const w = new Float64Array(d);
  let b = 0;
  if (alpha0) {
    // Warm start: w̃ = Σ α_i·y_i·x̃_i for the starting (box-clipped) α.
    for (let i = 0; i < n; i++) {
      const a = Math.min(Math.max(alpha0[i], 0), upper[i]);
      if (!(a > 0)) continue;
      alpha[i] = a;
      const ay = a * ySign[i];
      for (let p = indptr[i]; p < indptr[i + 1]; p++) w[indices[p]] += ay * data[p];
      b += ay * biasTerm;
    }
  }
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  let activeSize = n;
  let pgMaxOld = Infinity;
  let pgMinOld = -Infinity;
  let iter = 0;
  let converged = false;
  while (iter < params.maxIter) {
    let pgMaxNew = -Infinity;
    let pgMinNew = Infinity;
    for (let s = activeSize - 1; s > 0; s--) {
      const j = rng.nextInt(s + 1);
      const t = index[s];
      index[s] = index[j];
      index[j] = t;
    }
    for (let s = 0; s < activeSize; s++) {
      const i = index[s];
      const yi = ySign[i];
      let wx = b * biasTerm;
      const end = indptr[i + 1];
      for (let p = indptr[i]; p < end; p++) wx += w[indices[p]] * data[p];
      const G = yi * wx - 1 + alpha[i] * diag[i];
      const U = upper[i];
      let PG = 0;
      if (alpha[i] === 0) {
        if (G > pgMaxOld) {
          // Shrink: at the lower bound with a gradient pointing out of the box.
          activeSize--;
          index[s] = index[activeSize];
          index[activeSize] = i;
          s--;
          continue;
        } else if (G < 0) PG = G;
      } else if (alpha[i] === U) {
        if (G < pgMinOld) {
          activeSize--;
          index[s] = index[activeSize];
          index[activeSize] = i;
          s--;
          continue;
        } else if (G > 0) PG = G;
      } else PG = G;
      if (PG > pgMaxNew) pgMaxNew = PG;
      if (PG < pgMinNew) pgMinNew = PG;
      if (Math.abs(PG) > 1e-12) {
        const old = alpha[i];
        const a = Math.min(Math.max(old - G / QD[i], 0), U);
        alpha[i] = a;
        const delta = (a - old) * yi;
        for (let p = indptr[i]; p < end; p++) w[indices[p]] += delta * data[p];
        b += delta * biasTerm;
      }
    }
    iter++;
    if (pgMaxNew - pgMinNew <= params.tol) {
      if (activeSize === n) {
        converged = true;
        break;
      }
      // Converged on the shrunk set: re-check every coordinate before stopping.
      activeSize = n;
      pgMaxOld = Infinity;
      pgMinOld = -Infinity;
      continue;
    }
    pgMaxOld = pgMaxNew <= 0 ? Infinity : pgMaxNew;
    pgMinOld = pgMinNew >= 0 ? -Infinity : pgMinNew;
  }
  // Objectives (for the report and the optimality tests).
  let wNorm2 = b * b * biasTerm;
  for (let j = 0; j < d; j++) wNorm2 += w[j] * w[j];
  let lossSum = 0;
  let alphaSum = 0;
  let alphaDiag = 0;
  for (let i = 0; i < n; i++) {
    let wx = b * biasTerm;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) wx += w[indices[p]] * data[p];
    const xi = Math.max(0, 1 - ySign[i] * wx);
    lossSum += Ci[i] * (hinge ? xi : xi * xi);
    alphaSum += alpha[i];
    alphaDiag += diag[i] * alpha[i] * alpha[i];
  }
  const primal = 0.5 * wNorm2 + lossSum;
  const dual = alphaSum - 0.5 * wNorm2 - 0.5 * alphaDiag;
  return { w, bias: b * biasTerm, alpha, iterations: iter, converged, primal, dual };
}

/**
 * Linear support vector classifier (liblinear's L2-regularised dual solvers), one-vs-rest
 * for more than 2 classes. Not a probabilistic model: predictProba returns uncalibrated
 * scores — σ(decision) for binary and softmax(decisions) for multi-class — so that every
 * classifier can be served the same way; use decisionFunction for ROC AUC.
 */
export class LinearSVC extends LinearClassifierBase {
  readonly probabilistic = false;
  protected readonly name = "LinearSVC";
  readonly params: LinearSVCParams;
  private readonly onWarning?: (message: string) => void;
  /** The last fit's per-subproblem solutions (dual variables), for diagnostics and tests. */
  solutions: SvcDualSolution[] = [];
  private readonly initialAlpha?: Float64Array[];

  constructor(options: LinearSVCOptions = {}) {
    super();
    rejectUnknownOptions("LinearSVC", options, ["C", "loss", "tol", "maxIter", "fitIntercept", "classWeight", "seed", "onWarning", "initialAlpha"]);
    this.params = {
      C: requirePositive("C", options.C ?? 1),
      loss: requireOneOf("loss", options.loss ?? "squared_hinge", ["squared_hinge", "hinge"] as const),
      tol: requirePositive("tol", options.tol ?? 1e-4),
      maxIter: requireInteger("maxIter", options.maxIter ?? 1000, 1),
      fitIntercept: requireBoolean("fitIntercept", options.fitIntercept ?? true),
      classWeight: validateClassWeight("LinearSVC", options.classWeight),
      seed: requireInteger("seed", options.seed ?? 0),
    };
    this.onWarning = options.onWarning;
    this.initialAlpha = options.initialAlpha;
  }

  fit(X: CsrMatrix, y: readonly Label[]): this {
    checkFitInput(X, y, "LinearSVC");
    const { classes, codes, counts } = encodeLabels(y);
    const k = classes.length;
    const n = X.rows;
    const d = X.cols;
    const cw = resolveClassWeights(this.params.classWeight, classes, counts);
    const Ci = new Float64Array(n);
    for (let i = 0; i < n; i++) Ci[i] = this.params.C * cw[codes[i]];
    const targets = k === 2 ? [1] : classes.map((_, c) => c);
    const coef = new Float64Array(targets.length * d);
    const intercept = new Float64Array(targets.length);
    const ySign = new Float64Array(n);
    const rng = new Random(this.params.seed);
    const init = this.initialAlpha;
    if (init && (init.length !== targets.length || init.some((a) => a.length !== n))) {
      throw new InvalidParameterError(`LinearSVC: initialAlpha must hold ${targets.length} arrays of ${n} dual variables`);
    }
    this.solutions = [];
    this.warnings = [];
    targets.forEach((target, row) => {
      for (let i = 0; i < n; i++) ySign[i] = codes[i] === target ? 1 : -1;
      const sol = solveSvcDual(X, ySign, Ci, this.params, rng, init?.[row]);
      coef.set(sol.w, row * d);
      intercept[row] = sol.bias;
      this.solutions.push(sol);
    });
    const report: FitReport = {
      iterations: this.solutions.reduce((s, r) => s + r.iterations, 0),
      converged: this.solutions.every((r) => r.converged),
      objective: this.solutions.reduce((s, r) => s + r.primal, 0),
    };
    this.restoreState(classes, coef, intercept, d, report);
    if (!report.converged) {
      this.warn(`LinearSVC did not converge within maxIter=${this.params.maxIter} passes; increase maxIter or tol`, this.onWarning);
    }
    return this;
  }

  /** Uncalibrated: σ(decision) for binary, softmax of the one-vs-rest decisions otherwise (see class doc). */
  predictProba(X: CsrMatrix): Float64Array {
    const raw = this.rawScores(X, "predictProba");
    return this.coefRows === 1 ? binaryProba(raw) : softmaxRows(raw, this.classes.length);
  }

  toJSON(): ModelJson {
    return this.baseJson("linear_svc", { ...this.params });
  }
}
