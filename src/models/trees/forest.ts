import { availableParallelism } from "node:os";
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";
import type { CsrMatrix } from "../../features/csr.js";
import { InvalidParameterError } from "../../util/errors.js";
import { Random } from "../../util/random.js";
import { rejectUnknownOptions, requireInteger } from "../../util/validate.js";
import type { Label } from "../estimator.js";
import { checkFitInput, encodeLabels, requireBoolean } from "../labels.js";
import { sharedInt32 } from "../parallel/split-objective.js";
import { binMatrix } from "./binning.js";
import { TreeEnsemble, addTreeImportances, finishTree, normalize } from "./ensemble.js";
import { CTRL_FAILED, CTRL_FAILED_TREE, CTRL_FINISHED, CTRL_NEXT, forestWorkerSource, type ForestWorkerData } from "./forest-worker.js";
import { forestScratch, growBootstrapTree, type BinnedRows, type GrownTree } from "./grow.js";

export type MaxFeatures = "sqrt" | "log2" | number | null;

export interface TreeShapeOptions {
  /** null = grow until pure or minSamples* stop it. */
  maxDepth?: number | null;
  minSamplesSplit?: number;
  minSamplesLeaf?: number;
  /** Features evaluated per node: 'sqrt', 'log2', a fraction in (0, 1], an integer ≥ 1, or null (all). */
  maxFeatures?: MaxFeatures;
  /** Bins per feature (≤ 255); features with at most this many distinct values split exactly. */
  maxBins?: number;
  seed?: number;
}

export interface RandomForestOptions extends TreeShapeOptions {
  nEstimators?: number;
  bootstrap?: boolean;
  /** Threads growing trees: 1, 2 (main + one worker) or 'auto' (2 for bigger fits on 2+ cores). Not stored. */
  nJobs?: number | "auto";
}

export interface TreeShapeParams {
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  maxFeatures: MaxFeatures;
  maxBins: number;
  seed: number;
}

/** Below this many (non-zeros × trees) the forest stays on one thread (a worker costs ~30 ms to start). */
const PARALLEL_MIN_WORK = 2_000_000;

/** The option names of TreeShapeOptions, which both ensembles accept (validateTreeShape reads them). */
export const TREE_SHAPE_KEYS = ["maxDepth", "minSamplesSplit", "minSamplesLeaf", "maxFeatures", "maxBins", "seed"] as const;

export function validateTreeShape(where: string, o: TreeShapeOptions, defaults: { maxDepth: number | null; maxFeatures: MaxFeatures }): TreeShapeParams {
  const maxDepth = o.maxDepth === undefined ? defaults.maxDepth : o.maxDepth === null ? null : requireInteger("maxDepth", o.maxDepth, 1);
  const maxFeatures = o.maxFeatures === undefined ? defaults.maxFeatures : o.maxFeatures;
  if (!(
    maxFeatures === null ||
    maxFeatures === "sqrt" ||
    maxFeatures === "log2" ||
    (typeof maxFeatures === "number" && maxFeatures > 0 && (maxFeatures <= 1 || Number.isInteger(maxFeatures)))
  )) {
    throw new InvalidParameterError(
      `${where}: maxFeatures must be 'sqrt', 'log2', a fraction in (0, 1], an integer >= 1 or null, got ${JSON.stringify(maxFeatures)}`,
    );
  }
  return {
    maxDepth,
    minSamplesSplit: requireInteger("minSamplesSplit", o.minSamplesSplit ?? 2, 2),
    minSamplesLeaf: requireInteger("minSamplesLeaf", o.minSamplesLeaf ?? 1, 1),
    maxFeatures,
    maxBins: requireInteger("maxBins", o.maxBins ?? 32, 2, 255),
    seed: requireInteger("seed", o.seed ?? 0),
  };
}

/** sklearn's max_features resolution: sqrt/log2 → max(1, ⌊·⌋), fraction → max(1, ⌊f·d⌋), null → d (0 = all here). */
export function resolveMaxFeatures(m: MaxFeatures, d: number): number {
  if (m === null) return 0;
  if (m === "sqrt") return Math.max(1, Math.floor(Math.sqrt(d)));
  if (m === "log2") return Math.max(1, Math.floor(Math.log2(d)));
  if (m <= 1 && !Number.isInteger(m)) return Math.max(1, Math.floor(m * d));
  return m === 1 ? 1 : Math.min(m, d);
}

function sharedCopy<T extends Int32Array | Uint8Array | Float64Array>(a: T, make: (b: SharedArrayBuffer) => T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = make(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

function sharedRows(X: BinnedRows): BinnedRows {
  return {
    ...X,
    indptr: sharedInt32(X.indptr),
    indices: sharedInt32(X.indices),
    codes: sharedCopy(X.codes, (b) => new Uint8Array(b)),
    nBins: sharedInt32(X.nBins),
    zeroBin: sharedInt32(X.zeroBin),
    binOffset: sharedInt32(X.binOffset),
    colptr: sharedInt32(X.colptr),
    colRows: sharedInt32(X.colRows),
    colCodes: sharedCopy(X.colCodes, (b) => new Uint8Array(b)),
  };
}

/** The forest's worker thread, started on the first parallel fit and reused (it stays warm); unref'd. */
let forestWorker: Worker | null = null;

function sharedForestWorker(): Worker | null {
  if (forestWorker !== null) return forestWorker;
  try {
    const w = new Worker(forestWorkerSource(), { eval: true, execArgv: [] });
    w.unref();
    const drop = (): void => {
      if (forestWorker === w) forestWorker = null;
    };
    w.on("error", drop);
    w.on("exit", drop);
    forestWorker = w;
    return w;
  } catch {
    return null;
  }
}

/**
 * Grows the trees numbered 0..seeds.length−1, on this thread and (jobs = 2) one worker
 * claiming tree numbers from a shared counter. Tree t depends only on seeds[t]: the result is
 * the same for any thread count. A failed or missing worker leaves its trees to this thread.
 */
export function growForest(
  X: BinnedRows,
  y: Int32Array,
  k: number,
  bootstrap: boolean,
  params: ForestWorkerData["params"],
  seeds: Int32Array,
  jobs: number,
): GrownTree[] {
  const T = seeds.length;
  const trees: GrownTree[] = new Array(T);
  // Plain numbers into the kernel (see growTreeSampled), not a params copy per tree.
  const { maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures } = params;
  const scratch = forestScratch(X, maxFeatures);
  const control = new Int32Array(new SharedArrayBuffer(16));
  let worker: Worker | null = null;
  const channel = new MessageChannel();
  if (jobs > 1) {
    const data: ForestWorkerData = { X: sharedRows(X), y: sharedInt32(y), k, bootstrap, params, seeds: sharedInt32(seeds), control };
    worker = sharedForestWorker();
    try {
      worker?.postMessage({ ...data, port: channel.port2 }, [channel.port2]);
    } catch {
      worker = null;
    }
  }
  for (;;) {
    const t = Atomics.add(control, CTRL_NEXT, 1);
    if (t >= T) break;
    trees[t] = growBootstrapTree(X, y, k, bootstrap, maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, seeds[t], scratch);
    Atomics.add(control, CTRL_FINISHED, 1);
  }
  if (worker !== null) {
    for (;;) {
      const finished = Atomics.load(control, CTRL_FINISHED);
      if (finished >= T) break;
      if (Atomics.load(control, CTRL_FAILED) === 1) {
        // The worker died: grow the tree it held (if any) here.
        const t = Atomics.exchange(control, CTRL_FAILED_TREE, -1);
        Atomics.store(control, CTRL_FAILED, 0);
        if (t >= 0) {
          trees[t] = growBootstrapTree(X, y, k, bootstrap, maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, seeds[t], scratch);
          Atomics.add(control, CTRL_FINISHED, 1);
        }
        continue;
      }
      Atomics.wait(control, CTRL_FINISHED, finished, 100);
    }
    for (let m = receiveMessageOnPort(channel.port1); m !== undefined; m = receiveMessageOnPort(channel.port1)) {
      const { t, tree } = m.message as { t: number; tree: GrownTree };
      if (trees[t] === undefined) trees[t] = tree;
    }
  }
  channel.port1.close();
  return trees;
}

/**
 * Random forest classifier (Breiman; scikit-learn's RandomForestClassifier): bootstrap samples,
 * Gini splits over `maxFeatures` features drawn per node among those not constant there, trees
 * grown until pure by default; predictProba is the mean of the trees' leaf class fractions.
 * Input is a sparse CSR matrix (TF-IDF or counts); see grow.ts for the split finding.
 */
export class RandomForestClassifier extends TreeEnsemble {
  protected readonly name = "RandomForestClassifier";
  protected readonly kind = "random_forest";
  readonly params: TreeShapeParams & { nEstimators: number; bootstrap: boolean };
  private readonly nJobs: number | "auto";

  constructor(options: RandomForestOptions = {}) {
    super();
    rejectUnknownOptions("RandomForestClassifier", options, ["nEstimators", "bootstrap", "nJobs", ...TREE_SHAPE_KEYS]);
    this.params = {
      nEstimators: requireInteger("nEstimators", options.nEstimators ?? 100, 1),
      bootstrap: requireBoolean("bootstrap", options.bootstrap ?? true),
      ...validateTreeShape("RandomForestClassifier", options, { maxDepth: null, maxFeatures: "sqrt" }),
    };
    const jobs = options.nJobs ?? "auto";
    this.nJobs = jobs === "auto" ? "auto" : requireInteger("nJobs", jobs, 1, 2);
  }

  fit(X: CsrMatrix, y: readonly Label[]): this {
    checkFitInput(X, y, this.name);
    const { classes, codes } = encodeLabels(y);
    const k = classes.length;
    const p = this.params;
    const { rows, thresholds } = binMatrix(X, p.maxBins);
    const rng = new Random(p.seed);
    const seeds = new Int32Array(p.nEstimators);
    for (let t = 0; t < seeds.length; t++) seeds[t] = rng.nextUint32() | 0;
    const work = X.indptr[X.rows] * p.nEstimators;
    const jobs = this.nJobs === "auto" ? (work >= PARALLEL_MIN_WORK && p.nEstimators > 1 && availableParallelism() >= 2 ? 2 : 1) : this.nJobs;
    const growParams = {
      maxDepth: p.maxDepth ?? 1 << 30,
      minSamplesSplit: p.minSamplesSplit,
      minSamplesLeaf: p.minSamplesLeaf,
      maxFeatures: resolveMaxFeatures(p.maxFeatures, X.cols),
    };
    const grown = growForest(rows, codes, k, p.bootstrap, growParams, seeds, jobs);
    const importances = new Float64Array(X.cols);
    this.trees = grown.map((g) => {
      addTreeImportances(g, importances, 1 / grown.length);
      return finishTree(g, thresholds, rows.binOffset);
    });
    this.featureImportances = normalize(importances);
    this.classes = classes;
    this.nFeatures = X.cols;
    this.valueDim = k;
    this.init = new Float64Array(0);
    this.warnings = [];
    let nodes = 0;
    for (const g of grown) nodes += g.feature.length;
    this.fitReport = { iterations: p.nEstimators, converged: true, evaluations: nodes };
    return this;
  }

  protected get scoreColumns(): number {
    return this.classes.length;
  }

  protected treeColumn(): number {
    return 0;
  }

  predictProba(X: CsrMatrix): Float64Array {
    return this.treeScores(X, "predictProba", true);
  }

  /** Binary: the probability of classes[1]; multi-class: the n × k probabilities. */
  decisionFunction(X: CsrMatrix): Float64Array {
    const P = this.predictProba(X);
    if (this.classes.length !== 2) return P;
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) out[i] = P[2 * i + 1];
    return out;
  }

  protected options(): Record<string, unknown> {
    return { ...this.params };
  }
}
