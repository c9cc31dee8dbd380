import type { CsrMatrix } from "../../features/csr.js";
import { DataError } from "../../util/errors.js";
import type { Classifier, FitReport, Label } from "../estimator.js";
import { checkPredictInput, parseClasses } from "../labels.js";
import type { Contributions, ModelJson } from "../linear.js";
import type { GrownTree } from "./grow.js";

/** A fitted tree with real-valued thresholds: go left when x[feature] ≤ threshold. */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** vdim values per node (internal nodes too: explanations walk the path). */
  value: Float64Array;
}

export interface TreeJson {
  feature: number[];
  threshold: (number | null)[];
  left: number[];
  right: number[];
  value: number[];
}

/**
 * The serialised tree ensembles: the "polarity.model" envelope of the linear models with the
 * trees instead of coefficients (coef is empty; intercept holds boosting's initial raw scores,
 * the prior log-odds, and is empty for the forest).
 */
export interface TreeEnsembleJson extends ModelJson {
  kind: "random_forest" | "gradient_boosting";
  /** Values per tree node (k class fractions for the forest, 1 score for boosting). */
  valueDim: number;
  trees: TreeJson[];
  featureImportances: number[];
}

/** Converts a grown (binned) tree to thresholds; `scale` multiplies the node values (boosting's learning rate). */
export function finishTree(grown: GrownTree, thresholds: Float64Array, binOffset: Int32Array, scale = 1): Tree {
  const m = grown.feature.length;
  const threshold = new Float64Array(m);
  for (let t = 0; t < m; t++) {
    const j = grown.feature[t];
    threshold[t] = j >= 0 ? thresholds[binOffset[j] + grown.bin[t]] : 0;
  }
  const value = scale === 1 ? grown.value : grown.value.map((v) => v * scale);
  return { feature: grown.feature, threshold, left: grown.left, right: grown.right, value };
}

/** Adds one tree's split improvements per feature into `out`, normalised to sum to 1 (sklearn's per-tree importances). */
export function addTreeImportances(grown: GrownTree, out: Float64Array, weight: number): void {
  let total = 0;
  for (let t = 0; t < grown.feature.length; t++) if (grown.feature[t] >= 0) total += grown.improvement[t];
  if (!(total > 0)) return;
  for (let t = 0; t < grown.feature.length; t++) {
    const j = grown.feature[t];
    if (j >= 0) out[j] += (weight * grown.improvement[t]) / total;
  }
}

export function normalize(a: Float64Array): Float64Array {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j];
  if (s > 0) for (let j = 0; j < a.length; j++) a[j] /= s;
  return a;
}

/** The leaf reached by a row (the row scattered into the dense `x`). */
function leafOf(tree: Tree, x: Float64Array): number {
  let node = 0;
  const { feature, threshold, left, right } = tree;
  while (feature[node] >= 0) node = x[feature[node]] <= threshold[node] ? left[node] : right[node];
  return node;
}

/**
 * State and prediction shared by the forest and boosting: each row is scattered once into a
 * dense scratch vector, every tree walked, and the leaf values summed per score column.
 */
export abstract class TreeEnsemble implements Classifier<TreeEnsembleJson> {
  classes: Label[] = [];
  nFeatures = -1;
  trees: Tree[] = [];
  /** Tree t adds its values to score column treeColumn(t) (forest: all k columns). */
  valueDim = 1;
  init: Float64Array = new Float64Array(0);
  featureImportances: Float64Array = new Float64Array(0);
  fitReport: FitReport | undefined;
  warnings: string[] = [];
  readonly probabilistic: boolean = true;
  protected abstract readonly name: string;
  protected abstract readonly kind: TreeEnsembleJson["kind"];

  abstract fit(X: CsrMatrix, y: readonly Label[]): this;
  abstract predictProba(X: CsrMatrix): Float64Array;
  abstract decisionFunction(X: CsrMatrix): Float64Array;
  protected abstract options(): Record<string, unknown>;
  /** Score columns (forest: k; boosting: 1 binary, k otherwise). */
  protected abstract get scoreColumns(): number;
  protected abstract treeColumn(t: number): number;

  /**
   * n × scoreColumns sums over trees of the leaf values plus init (forest: divided by the tree
   * count, i.e. the mean of the trees' class fractions).
   */
  protected treeScores(X: CsrMatrix, where: string, average: boolean): Float64Array {
    checkPredictInput(X, this.nFeatures, `${this.name}.${where}`);
    const cols = this.scoreColumns;
    const out = new Float64Array(X.rows * cols);
    const x = new Float64Array(this.nFeatures);
    const { indptr, indices, data } = X;
    const vdim = this.valueDim;
    for (let i = 0; i < X.rows; i++) {
      for (let p = indptr[i]; p < indptr[i + 1]; p++) x[indices[p]] = data[p];
      const o = i * cols;
      for (let c = 0; c < cols; c++) out[o + c] = this.init.length ? this.init[c] : 0;
      for (let t = 0; t < this.trees.length; t++) {
        const tree = this.trees[t];
        const leaf = leafOf(tree, x);
        if (vdim === 1) out[o + this.treeColumn(t)] += tree.value[leaf];
        else for (let c = 0; c < vdim; c++) out[o + c] += tree.value[leaf * vdim + c];
      }
      if (average) for (let c = 0; c < cols; c++) out[o + c] /= this.trees.length;
      for (let p = indptr[i]; p < indptr[i + 1]; p++) x[indices[p]] = 0;
    }
    return out;
  }

  predict(X: CsrMatrix): Label[] {
    const P = this.predictProba(X);
    const k = this.classes.length;
    const out: Label[] = new Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (P[i * k + c] > P[i * k + best]) best = c;
      out[i] = this.classes[best];
    }
    return out;
  }

  /**
   * Saabas path attributions: along each tree's path the change of the node value (class
   * classIndex's fraction, or the score) is credited to the split feature. Changes from
   * features the row does not contain (it went the "absent" way) are not listed and are
   * added to the intercept, which also holds the root values.
   */
  linearContributions(rowIndices: ArrayLike<number>, rowValues: ArrayLike<number>, classIndex?: number): Contributions {
    if (this.nFeatures < 0) throw new DataError(`${this.name}.linearContributions: the model is not fitted yet; call fit() first`);
    if (rowIndices.length !== rowValues.length) throw new DataError(`linearContributions: ${rowIndices.length} indices but ${rowValues.length} values`);
    const x = new Float64Array(this.nFeatures);
    const position = new Map<number, number>();
    for (let p = 0; p < rowIndices.length; p++) {
      const j = rowIndices[p];
      if (!Number.isInteger(j) || j < 0 || j >= this.nFeatures)
        throw new DataError(`linearContributions: feature index ${j} out of range [0, ${this.nFeatures})`);
      x[j] = rowValues[p];
      position.set(j, p);
    }
    const k = this.classes.length;
    let c = classIndex ?? (k === 2 ? 1 : -1);
    if (c < 0) {
      const P = this.predictProba({
        rows: 1,
        cols: this.nFeatures,
        indptr: Int32Array.of(0, rowIndices.length),
        indices: Int32Array.from(rowIndices),
        data: Float64Array.from(rowValues),
      });
      c = 0;
      for (let cc = 1; cc < k; cc++) if (P[cc] > P[c]) c = cc;
    }
    if (!Number.isInteger(c) || c < 0 || c >= k) throw new DataError(`linearContributions: classIndex ${c} out of range [0, ${k})`);
    const contributions = new Float64Array(rowIndices.length);
    let intercept = 0;
    const vdim = this.valueDim;
    const average = this.kind === "random_forest";
    const factor = average ? 1 / this.trees.length : 1;
    // Binary boosting has one score (for classes[1]); class 0's is its negation.
    const sign = !average && this.scoreColumns === 1 && c === 0 ? -1 : 1;
    if (!average) intercept += sign * this.init[this.scoreColumns === 1 ? 0 : c];
    for (let t = 0; t < this.trees.length; t++) {
      if (!average && this.scoreColumns > 1 && this.treeColumn(t) !== c) continue;
      const tree = this.trees[t];
      const at = (node: number): number => sign * factor * tree.value[node * vdim + (vdim === 1 ? 0 : c)];
      let node = 0;
      intercept += at(0);
      while (tree.feature[node] >= 0) {
        const j = tree.feature[node];
        const next = x[j] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
        const delta = at(next) - at(node);
        const p = position.get(j);
        if (p === undefined) intercept += delta;
        else contributions[p] += delta;
        node = next;
      }
    }
    return { classIndex: c, label: this.classes[c], contributions, intercept };
  }

  toJSON(): TreeEnsembleJson {
    if (this.nFeatures < 0) throw new DataError(`${this.name}.toJSON: the model is not fitted yet`);
    const json: TreeEnsembleJson = {
      format: "polarity.model",
      version: 1,
      kind: this.kind,
      options: this.options(),
      classes: [...this.classes],
      nFeatures: this.nFeatures,
      coef: [],
      intercept: Array.from(this.init),
      valueDim: this.valueDim,
      trees: this.trees.map((t) => ({
        feature: Array.from(t.feature),
        // JSON has no Infinity: thresholds of leaves are 0 and of splits finite; null is kept for safety.
        threshold: Array.from(t.threshold, (v) => (Number.isFinite(v) ? v : null)),
        left: Array.from(t.left),
        right: Array.from(t.right),
        value: Array.from(t.value),
      })),
      featureImportances: Array.from(this.featureImportances),
    };
    if (this.fitReport) json.fitReport = { ...this.fitReport };
    return json;
  }

  /** Restores learned state from validated JSON (see treeEnsembleFromJSON). */
  restoreTrees(json: TreeEnsembleJson): this {
    const classes = parseClasses(json.classes, "model JSON");
    const d = json.nFeatures;
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1)
      throw new DataError(`model JSON: nFeatures must be a positive integer, got ${JSON.stringify(d)}`);
    const vdim = json.valueDim;
    if (vdim !== 1 && vdim !== classes.length) throw new DataError(`model JSON: valueDim must be 1 or the class count, got ${JSON.stringify(vdim)}`);
    if (!Array.isArray(json.trees) || json.trees.length === 0) throw new DataError("model JSON: trees must be a non-empty array");
    this.trees = json.trees.map((t, ti) => parseTree(t, d, vdim, `model JSON: trees[${ti}]`));
    this.classes = classes;
    this.nFeatures = d;
    this.valueDim = vdim;
    this.init = numbers(json.intercept ?? [], "model JSON: intercept");
    if (this.init.length !== 0 && this.init.length !== this.scoreColumns)
      throw new DataError(`model JSON: intercept has ${this.init.length} entries, expected ${this.scoreColumns}`);
    this.featureImportances = numbers(json.featureImportances ?? [], "model JSON: featureImportances");
    this.fitReport = json.fitReport;
    return this;
  }
}

function numbers(value: unknown, where: string): Float64Array {
  if (!Array.isArray(value)) throw new DataError(`${where} must be an array of numbers`);
  const out = new Float64Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new DataError(`${where}[${i}] is not a finite number`);
    out[i] = v;
  }
  return out;
}

/** Validates one tree: child links point forward inside the tree, features are in range. */
function parseTree(t: TreeJson, d: number, vdim: number, where: string): Tree {
  if (typeof t !== "object" || t === null) throw new DataError(`${where} must be an object`);
  const feature = Int32Array.from(numbers(t.feature, `${where}.feature`));
  const m = feature.length;
  const left = Int32Array.from(numbers(t.left, `${where}.left`));
  const right = Int32Array.from(numbers(t.right, `${where}.right`));
  const threshold = numbers(Array.isArray(t.threshold) ? t.threshold.map((v) => v ?? 0) : t.threshold, `${where}.threshold`);
  const value = numbers(t.value, `${where}.value`);
  if (m === 0 || left.length !== m || right.length !== m || threshold.length !== m || value.length !== m * vdim)
    throw new DataError(`${where}: arrays of inconsistent lengths`);
  for (let q = 0; q < m; q++) {
    const j = feature[q];
    if (j === -1) continue;
    // Children after their parent: no cycles, every walk ends at a leaf.
    if (j < 0 || j >= d || left[q] <= q || right[q] <= q || left[q] >= m || right[q] >= m)
      throw new DataError(`${where}: node ${q} has an invalid feature or child`);
  }
  return { feature, threshold, left, right, value };
}
