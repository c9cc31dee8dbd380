import { csrRowSquaredNorms, type CsrMatrix } from "../features/csr.js";
import { InvalidParameterError } from "../util/errors.js";
import { Random } from "../util/random.js";
import { rejectUnknownOptions, requireInteger, requireOneOf, requirePositive } from "../util/validate.js";
import type { FitReport, Label } from "./estimator.js";
import { checkFitInput, encodeLabels, requireBoolean, resolveClassWeights, validateClassWeight, type ClassWeight } from "./labels.js";
import { LinearClassifierBase, binaryProba, softmaxRows, type ModelJson } from "./linear.js";
import { KERNEL_MAX_BYTES, threadKernel } from "./wasm-kernel.js";

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
 * The dual solver's vectors for one problem (n rows, d columns, nnz stored values), f64 and i32
 * views of one memory: X's rows (indptr, indices, data), the labels y, the diagonal QD, D and the
 * upper bounds, the dual variables α, the weights w, the coordinate order and three f64 outputs of
 * a pass. In the thread's WebAssembly memory when the kernel is available (the offsets are what
 * it takes), else plain arrays.
 */
interface SvcDualWorkspace {
  index: Int32Array;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
  w: Float64Array;
  alpha: Float64Array;
  qd: Float64Array;
  diag: Float64Array;
  upper: Float64Array;
  y: Float64Array;
  out: Float64Array;
  kernel: SvcDualKernel | null;
}

/** svc-dual.wat beside this file, assembled by wabt's wat2wasm (base64; test/models/wasm-sources.test.ts checks it). */
const SVC_DUAL_WASM_BASE64 =
  "AGFzbQEAAAABFQFgEH98fHx8f39/f39/f39/f38BfwIPAQNlbnYGbWVtb3J5AgABAwIBAAcIAQRwYXNzAAAK5gQB4wQCBn8KfEQAAAAAAADw/yEeRAAAAAAAAPB/IR8CQANAIBAgAE4NASAFIBBBAnRqKAIAIREgDiARQQN0aisDACEWIAYgEUECdGooAgAhFCAGIBFBAnRqKAIEIRMgAyAEoiEXIBQhEgJAA0AgEiATTg0BIBcgCSAHIBJBAnRqKAIAQQN0aisDACAIIBJBA3RqKwMAoqAhFyASQQFqIRIMAAsLIAogEUEDdGorAwAhGyAWIBeiRAAAAAAAAPA/oSAbIAwgEUEDdGorAwCioCEYIA0gEUEDdGorAwAhGUQAAAAAAAAAACEaAkAgG0QAAAAAAAAAAGEEQCAYIAFkBEAgAEEBayEAIAUgAEECdGohFSAFIBBBAnRqIBUoAgA2AgAgFSARNgIADAMLIBhEAAAAAAAAAABjBEAgGCEaCwwBCyAbIBlhBEAgGCACYwRAIABBAWshACAFIABBAnRqIRUgBSAQQQJ0aiAVKAIANgIAIBUgETYCAAwDCyAYRAAAAAAAAAAAZARAIBghGgsMAQsgGCEaCyAaIB5kBEAgGiEeCyAaIB9jBEAgGiEfCyAamUQR6i2BmZdxPWQEQCAbIBggCyARQQN0aisDAKOhRAAAAAAAAAAApSAZpCEcIAogEUEDdGogHDkDACAcIBuhIBaiIR0gFCESAkADQCASIBNODQEgCSAHIBJBAnRqKAIAQQN0aiEVIBUgFSsDACAdIAggEkEDdGorAwCioDkDACASQQFqIRIMAAsLIAMgHSAEoqAhAwsgEEEBaiEQDAALCyAPIB45AwAgDyAfOQMIIA8gAzkDECAACw==";

interface SvcDualKernel {
  pass(
    active: number,
    pgMaxOld: number,
    pgMinOld: number,
    b: number,
    bias: number,
    index: number,
    indptr: number,
    indices: number,
    data: number,
    w: number,
    alpha: number,
    qd: number,
    diag: number,
    upper: number,
    y: number,
    out: number,
  ): number;
}

/** The thread's dual-pass kernel (src/models/wasm-kernel.ts: one memory per thread, reused by every fit after the first; tune fits 60 SVMs per fold worker). */
const svcDualKernel = threadKernel<SvcDualKernel>(SVC_DUAL_WASM_BASE64);

/**
 * A workspace for X: its rows copied into the kernel's memory (renumbered from 0), or, when
 * `useKernel` is false, there is no kernel or the problem is too big, X's own arrays and plain ones.
 */
function svcDualWorkspace(X: CsrMatrix, useKernel: boolean): SvcDualWorkspace {
  const n = X.rows;
  const d = X.cols;
  const base = X.indptr[0];
  const nnz = X.indptr[n] - base;
  // f64 arrays first (8-byte aligned), then the i32 ones.
  const f64Bytes = 8 * (nnz + d + 5 * n + 3);
  const bytes = f64Bytes + 4 * (n + n + 1 + nnz);
  const k = useKernel && bytes <= KERNEL_MAX_BYTES ? svcDualKernel() : null;
  if (k == null) {
    return {
      index: new Int32Array(n),
      indptr: X.indptr,
      indices: X.indices,
      data: X.data,
      w: new Float64Array(d),
      alpha: new Float64Array(n),
      qd: new Float64Array(n),
      diag: new Float64Array(n),
      upper: new Float64Array(n),
      y: new Float64Array(n),
      out: new Float64Array(3),
      kernel: null,
    };
  }
  const { f64: f, i32: i } = k.layout(bytes);
  const ws = {
    data: f(nnz),
    w: f(d),
    alpha: f(n),
    qd: f(n),
    diag: f(n),
    upper: f(n),
    y: f(n),
    out: f(3),
    index: i(n),
    indptr: i(n + 1),
    indices: i(nnz),
    kernel: k.kernel,
  };
  ws.w.fill(0);
  ws.alpha.fill(0);
  for (let r = 0; r <= n; r++) ws.indptr[r] = X.indptr[r] - base;
  ws.indices.set(X.indices.subarray(base, base + nnz));
  ws.data.set(X.data.subarray(base, base + nnz));
  return ws;
}

/** One pass of the coordinate descent over index[0, active) in JavaScript: svc-dual.wat's pass, the same arithmetic in the same order. */
function svcDualPassJs(ws: SvcDualWorkspace, active: number, pgMaxOld: number, pgMinOld: number, b: number, biasTerm: number): number {
  const { index, indptr, indices, data, w, alpha, qd, diag, upper, y } = ws;
  let pgMaxNew = -Infinity;
  let pgMinNew = Infinity;
  for (let s = 0; s < active; s++) {
    const i = index[s];
    const yi = y[i];
    let wx = b * biasTerm;
    const end = indptr[i + 1];
    for (let p = indptr[i]; p < end; p++) wx += w[indices[p]] * data[p];
    const G = yi * wx - 1 + alpha[i] * diag[i];
    const U = upper[i];
    let PG = 0;
    if (alpha[i] === 0) {
      if (G > pgMaxOld) {
        // Shrink: at the lower bound with a gradient pointing out of the box.
        active--;
        index[s] = index[active];
        index[active] = i;
        s--;
        continue;
      } else if (G < 0) PG = G;
    } else if (alpha[i] === U) {
      if (G < pgMinOld) {
        active--;
        index[s] = index[active];
        index[active] = i;
        s--;
        continue;
      } else if (G > 0) PG = G;
    } else PG = G;
    if (PG > pgMaxNew) pgMaxNew = PG;
    if (PG < pgMinNew) pgMinNew = PG;
    if (Math.abs(PG) > 1e-12) {
      const old = alpha[i];
      const a = Math.min(Math.max(old - G / qd[i], 0), U);
      alpha[i] = a;
      const delta = (a - old) * yi;
      for (let p = indptr[i]; p < end; p++) w[indices[p]] += delta * data[p];
      b += delta * biasTerm;
    }
  }
  ws.out[0] = pgMaxNew;
  ws.out[1] = pgMinNew;
  ws.out[2] = b;
  return active;
}

/**
 * Dual coordinate descent for the L2-regularised hinge / squared-hinge SVM (Hsieh et al.
 * 2008, liblinear's solve_l2r_l1l2_svc), with random permutation each pass and shrinking.
 *   primal: ½‖w̃‖² + Σ C_i·ξ_i (hinge) or Σ C_i·ξ_i² (squared), ξ_i = max(0, 1 − y_i·w̃·x̃_i)
 *   dual:   min_α ½ αᵀ(Q + D)α − Σα,  0 ≤ α_i ≤ U_i; hinge: D = 0, U_i = C_i; squared: D_ii = 1/(2C_i), U = ∞
 * x̃ is x with a trailing 1 when fitIntercept (w̃ = [w, b]).
 *
 * The passes run in WebAssembly (svc-dual.wat: no bounds checks; about half the time of the
 * JavaScript passes on tune's folds) on a copy of X in the thread's kernel memory, up to
 * KERNEL_MAX_BYTES; bigger problems, and `useKernel` false, run the same passes in JavaScript on
 * X itself (tests: both give the same solution bit for bit).
 */
export function solveSvcDual(
  X: CsrMatrix,
  ySign: Float64Array,
  Ci: Float64Array,
  params: LinearSVCParams,
  rng: Random,
  alpha0?: Float64Array,
  useKernel = true,
): SvcDualSolution {
  const n = X.rows;
  const d = X.cols;
  const ws = svcDualWorkspace(X, useKernel);
  const { indptr, indices, data, w, alpha, diag, upper, index } = ws;
  const hinge = params.loss === "hinge";
  const biasTerm = params.fitIntercept ? 1 : 0;
  const QD = ws.qd;
  QD.set(csrRowSquaredNorms(X));
  ws.y.set(ySign);
  for (let i = 0; i < n; i++) {
    diag[i] = hinge ? 0 : 0.5 / Ci[i];
    upper[i] = hinge ? Ci[i] : Infinity;
    QD[i] += diag[i] + biasTerm;
  }
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
  for (let i = 0; i < n; i++) index[i] = i;
  const kernel = ws.kernel;
  const off = (v: Int32Array | Float64Array): number => v.byteOffset;
  let activeSize = n;
  let pgMaxOld = Infinity;
  let pgMinOld = -Infinity;
  let iter = 0;
  let converged = false;
  while (iter < params.maxIter) {
    for (let s = activeSize - 1; s > 0; s--) {
      const j = rng.nextInt(s + 1);
      const t = index[s];
      index[s] = index[j];
      index[j] = t;
    }
    activeSize =
      kernel === null
        ? svcDualPassJs(ws, activeSize, pgMaxOld, pgMinOld, b, biasTerm)
        : kernel.pass(
            activeSize,
            pgMaxOld,
            pgMinOld,
            b,
            biasTerm,
            off(index),
            off(indptr),
            off(indices),
            off(data),
            off(w),
            off(alpha),
            off(QD),
            off(diag),
            off(upper),
            off(ws.y),
            off(ws.out),
          );
    const pgMaxNew = ws.out[0];
    const pgMinNew = ws.out[1];
    b = ws.out[2];
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
  // Copies: the workspace serves the thread's next fit.
  return { w: w.slice(), bias: b * biasTerm, alpha: alpha.slice(), iterations: iter, converged, primal, dual };
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
