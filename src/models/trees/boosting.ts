import type { CsrMatrix } from "../../features/csr.js";
import { InvalidParameterError } from "../../util/errors.js";
import { Random } from "../../util/random.js";
import { rejectUnknownOptions, requireInteger, requirePositive } from "../../util/validate.js";
import type { Label } from "../estimator.js";
import { checkFitInput, encodeLabels } from "../labels.js";
import { binaryProba, softmaxRows } from "../linear.js";
import { availableParallelism } from "node:os";
import { sharedInt32 } from "../parallel/split-objective.js";
import { binMatrix } from "./binning.js";
import { startBoostHelper } from "./boost-worker.js";
import { TreeEnsemble, addTreeImportances, finishTree, normalize } from "./ensemble.js";
import { TREE_SHAPE_KEYS, resolveMaxFeatures, validateTreeShape, type TreeShapeOptions, type TreeShapeParams } from "./forest.js";
import { growTree, newGrowBuffers, rowBin, type BinnedRows, type GrownTree } from "./grow.js";

export interface GradientBoostingOptions extends TreeShapeOptions {
  nEstimators?: number;
  learningRate?: number;
  /** Fraction of the training rows drawn (without replacement) for each round. Default 1. */
  subsample?: number;
  /**
   * Early stopping (sklearn's n_iter_no_change): hold out `validationFraction` of the rows
   * (stratified) and stop when the validation log loss has not improved by `tol` for this many
   * rounds. null = off (default, as sklearn).
   */
  nIterNoChange?: number | null;
  validationFraction?: number;
  tol?: number;
  /**
   * Threads finding splits: 1, 2 (a helper thread scans half of each node's features) or
   * 'auto' (2 from 5·10⁷ non-zeros × rounds on 2+ cores). The trees are the same either way. Not stored.
   */
  nJobs?: number | "auto";
}

export interface GradientBoostingParams extends TreeShapeParams {
  nEstimators: number;
  learningRate: number;
  subsample: number;
  nIterNoChange: number | null;
  validationFraction: number;
  tol: number;
}

const KNOWN = ["nEstimators", "learningRate", "subsample", "nIterNoChange", "validationFraction", "tol", ...TREE_SHAPE_KEYS, "nJobs"] as const;

/**
 * Below this many (non-zeros × rounds × classes) 'auto' boosting stays on one thread; nodes
 * with fewer present features too. Since the bound prunes most features, a node's split scan
 * is short and the per-node hand-off to the helper (a futex wake and wait) costs more than
 * the half scan saves: on the bench's UCI matrix (5·10⁶ here) one thread was faster at every
 * seed, load 2.3 (2026-12-02: 0.52 / 0.27 / 0.25 s against 0.61 / 0.34 / 0.29 s with the
 * helper), and used less CPU at load 5–10. Larger fits keep it (not measured here).
 */
const PARALLEL_MIN_WORK = 50_000_000;
const PARALLEL_MIN_FEATURES = 512;

/** Walks a grown tree on a binned row; returns the leaf. */
function leafOfBinned(tree: GrownTree, X: BinnedRows, i: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) node = rowBin(X, i, tree.feature[node]) <= tree.bin[node] ? tree.left[node] : tree.right[node];
  return node;
}

function fraction(name: string, v: number, lo: number, hiInclusive: boolean): number {
  if (typeof v !== "number" || !(v > lo) || !(hiInclusive ? v <= 1 : v < 1))
    throw new InvalidParameterError(`${name} must be in (${lo}, 1${hiInclusive ? "]" : ")"}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Gradient-boosted trees with the logistic loss (scikit-learn's GradientBoostingClassifier):
 * the prior log-odds as the initial score, then per round a regression tree on the residuals
 * y − p with the Friedman MSE criterion and one Newton step per leaf (Σr / Σp(1−p)), shrunk by
 * the learning rate. k > 2 classes: k trees per round on the softmax residuals, leaf values
 * (K−1)/K · Σr / Σ|r|(1−|r|). Splits are histogram-based on sparse input (grow.ts).
 */
export class GradientBoostingClassifier extends TreeEnsemble {
  protected readonly name = "GradientBoostingClassifier";
  protected readonly kind = "gradient_boosting";
  readonly params: GradientBoostingParams;
  /** Rounds actually fitted (fewer than nEstimators after early stopping). */
  nRounds = 0;
  private readonly nJobs: number | "auto";

  constructor(options: GradientBoostingOptions = {}) {
    super();
    rejectUnknownOptions("GradientBoostingClassifier", options, KNOWN);
    const nIter = options.nIterNoChange ?? null;
    this.params = {
      nEstimators: requireInteger("nEstimators", options.nEstimators ?? 100, 1),
      learningRate: requirePositive("learningRate", options.learningRate ?? 0.1),
      subsample: fraction("subsample", options.subsample ?? 1, 0, true),
      nIterNoChange: nIter === null ? null : requireInteger("nIterNoChange", nIter, 1),
      validationFraction: fraction("validationFraction", options.validationFraction ?? 0.1, 0, false),
      tol: requirePositive("tol", options.tol ?? 1e-4),
      ...validateTreeShape("GradientBoostingClassifier", options, { maxDepth: 3, maxFeatures: null }),
    };
    const jobs = options.nJobs ?? "auto";
    this.nJobs = jobs === "auto" ? "auto" : requireInteger("nJobs", jobs, 1, 2);
  }

  protected get scoreColumns(): number {
    return this.classes.length === 2 ? 1 : this.classes.length;
  }

  protected treeColumn(t: number): number {
    return t % this.scoreColumns;
  }

  fit(X: CsrMatrix, y: readonly Label[]): this {
    checkFitInput(X, y, this.name);
    const { classes, codes, counts } = encodeLabels(y);
    const k = classes.length;
    const K = k === 2 ? 1 : k;
    const n = X.rows;
    const p = this.params;
    const { rows: B, thresholds } = binMatrix(X, p.maxBins);
    const rng = new Random(p.seed);

    // Stratified hold-out for early stopping.
    const isValidation = new Uint8Array(n);
    if (p.nIterNoChange !== null) {
      for (let c = 0; c < k; c++) {
        const members: number[] = [];
        for (let i = 0; i < n; i++) if (codes[i] === c) members.push(i);
        rng.shuffle(members);
        const take = Math.round(members.length * p.validationFraction);
        for (let q = 0; q < take; q++) isValidation[members[q]] = 1;
      }
    }
    const trainRows: number[] = [];
    const validRows: number[] = [];
    for (let i = 0; i < n; i++) (isValidation[i] ? validRows : trainRows).push(i);
    const trainCounts = new Float64Array(k);
    for (const i of trainRows) trainCounts[codes[i]]++;
    for (let c = 0; c < k; c++) if (trainCounts[c] === 0) trainCounts[c] = counts[c] > 0 ? 1e-12 : 0;

    const init = new Float64Array(K);
    if (K === 1) init[0] = Math.log(trainCounts[1] / trainCounts[0]);
    else for (let c = 0; c < k; c++) init[c] = Math.log(trainCounts[c] / trainRows.length);
    const F = new Float64Array(n * K);
    for (let i = 0; i < n; i++) for (let c = 0; c < K; c++) F[i * K + c] = init[c];

    const w = new Float64Array(n).fill(1);
    const r = new Float64Array(n);
    const h = new Float64Array(n);
    const prob = new Float64Array(n * K);
    const maxFeatures = resolveMaxFeatures(p.maxFeatures, X.cols);
    const importances = new Float64Array(X.cols);
    const trees: GrownTree[] = [];
    const sampleSize = Math.max(1, Math.round(trainRows.length * p.subsample));
    const trainIdx = Int32Array.from(trainRows);
    let best = Infinity;
    let sinceBest = 0;
    let rounds = 0;
    const work = X.indptr[n] * p.nEstimators * K;
    const jobs = this.nJobs === "auto" ? (work >= PARALLEL_MIN_WORK && availableParallelism() >= 2 ? 2 : 1) : this.nJobs;
    // Every feature is scanned per node only without max_features sampling: the helper's case.
    const helper =
      jobs > 1 && maxFeatures === 0
        ? startBoostHelper(X.cols, B.binOffset[X.cols] * 3, sharedInt32(B.nBins), sharedInt32(B.zeroBin), sharedInt32(B.binOffset), PARALLEL_MIN_FEATURES)
        : null;
    // One histogram and feature lists for every tree of the fit (the helper's are shared memory).
    const leafOf = new Int32Array(n);
    const buffers =
      helper === null
        ? newGrowBuffers(B, 3)
        : { hist: new Float64Array(0), present: new Uint8Array(X.cols), featCount: new Int32Array(0), touched: new Int32Array(0) };
    try {
      for (let m = 0; m < p.nEstimators; m++) {
        computeProbabilities(F, prob, n, K);
        let rows = trainIdx;
        if (sampleSize < trainIdx.length) {
          rows = Int32Array.from(trainIdx);
          for (let q = 0; q < sampleSize; q++) {
            const pick = q + rng.nextInt(rows.length - q);
            const tmp = rows[q];
            rows[q] = rows[pick];
            rows[pick] = tmp;
          }
          rows = rows.slice(0, sampleSize).sort();
        }
        for (let c = 0; c < K; c++) {
          leafOf.fill(-1);
          const target = K === 1 ? 1 : c;
          for (const i of rows) {
            const pi = prob[i * K + c];
            const ri = (codes[i] === target ? 1 : 0) - pi;
            r[i] = ri;
            h[i] = K === 1 ? pi * (1 - pi) : Math.abs(ri) * (1 - Math.abs(ri));
          }
          const tree = growTree(
            B,
            { criterion: 1, k: 1, y: codes, w, r, h },
            rows,
            {
              maxDepth: p.maxDepth ?? 1 << 30,
              minSamplesSplit: p.minSamplesSplit,
              minSamplesLeaf: p.minSamplesLeaf,
              maxFeatures,
              seed: rng.nextUint32() | 0,
            },
            helper?.helper,
            buffers,
            leafOf,
          );
          const scale = p.learningRate * (K === 1 ? 1 : (K - 1) / K);
          for (let t = 0; t < tree.value.length; t++) tree.value[t] *= scale;
          // Rows the tree was grown on: their leaf from its partition; the others (hold-out, not
          // subsampled): walked down the tree.
          for (let i = 0; i < n; i++) F[i * K + c] += tree.value[leafOf[i] >= 0 ? leafOf[i] : leafOfBinned(tree, B, i)];
          addTreeImportances(tree, importances, 1);
          trees.push(tree);
        }
        rounds++;
        if (p.nIterNoChange !== null) {
          computeProbabilities(F, prob, n, K);
          let loss = 0;
          for (const i of validRows) {
            const pc = K === 1 ? (codes[i] === 1 ? prob[i] : 1 - prob[i]) : prob[i * K + codes[i]];
            loss -= Math.log(Math.max(pc, 1e-300));
          }
          loss /= Math.max(1, validRows.length);
          if (loss + p.tol < best) {
            best = loss;
            sinceBest = 0;
          } else if (++sinceBest >= p.nIterNoChange) break;
        }
      }
    } finally {
      helper?.close();
    }
    this.trees = trees.map((g) => finishTree(g, thresholds, B.binOffset));
    this.featureImportances = normalize(importances);
    this.classes = classes;
    this.nFeatures = X.cols;
    this.valueDim = 1;
    this.init = init;
    this.nRounds = rounds;
    this.warnings = [];
    this.fitReport = { iterations: rounds, converged: true };
    return this;
  }

  /** Raw scores: binary n log-odds of classes[1]; multi-class n × k. */
  decisionFunction(X: CsrMatrix): Float64Array {
    return this.treeScores(X, "decisionFunction", false);
  }

  predictProba(X: CsrMatrix): Float64Array {
    const raw = this.treeScores(X, "predictProba", false);
    return this.scoreColumns === 1 ? binaryProba(raw) : softmaxRows(raw, this.classes.length);
  }

  protected options(): Record<string, unknown> {
    return { ...this.params };
  }
}

function computeProbabilities(F: Float64Array, out: Float64Array, n: number, K: number): void {
  if (K === 1) {
    for (let i = 0; i < n; i++) {
      const z = F[i];
      out[i] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }
    return;
  }
  out.set(F);
  softmaxRows(out, K);
}
