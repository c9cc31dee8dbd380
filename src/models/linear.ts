import type { CsrMatrix } from "../features/csr.js";
import { DataError } from "../util/errors.js";
import type { Classifier, FitReport, Label } from "./estimator.js";
import { checkPredictInput } from "./labels.js";

/** The serialised form every classifier's toJSON() returns (see serialization.ts). */
export interface ModelJson {
  format: "polarity.model";
  version: 1;
  kind: "logreg" | "multinomial_nb" | "linear_svc" | "nbsvm" | "random_forest" | "gradient_boosting";
  options: Record<string, unknown>;
  classes: Label[];
  /** Row-major rows × nFeatures: one row for a binary linear model, one per class otherwise (empty for tree ensembles). */
  coef: number[];
  intercept: number[];
  nFeatures: number;
  fitReport?: FitReport;
}

/** Per-feature contributions to one class's score, for explanations (word highlighting). */
export interface Contributions {
  /** Index into classes of the class the contributions push towards. */
  classIndex: number;
  label: Label;
  /** value × weight for each (index, value) pair given, in the same order. */
  contributions: Float64Array;
  /** The part of the score not attributed to a feature. */
  intercept: number;
}

/**
 * State and prediction shared by the linear classifiers: scores = X·coefᵀ + intercept with
 * coef of `rows` rows. rows = 1 means binary with the score for classes[1]; otherwise one row
 * per class.
 */
export abstract class LinearClassifierBase implements Classifier<ModelJson> {
  classes: Label[] = [];
  /** Row-major rows × nFeatures. */
  coef: Float64Array = new Float64Array(0);
  intercept: Float64Array = new Float64Array(0);
  nFeatures = -1;
  fitReport: FitReport | undefined;
  /** Messages about the fit (e.g. no convergence), also passed to the onWarning option. */
  warnings: string[] = [];
  /** Whether predictProba returns calibrated probabilities of a probabilistic model. */
  abstract readonly probabilistic: boolean;
  protected abstract readonly name: string;

  abstract fit(X: CsrMatrix, y: readonly Label[]): this;
  abstract predictProba(X: CsrMatrix): Float64Array;
  abstract toJSON(): ModelJson;

  get coefRows(): number {
    return this.intercept.length;
  }

  /** Raw scores, n × coefRows row-major. */
  protected rawScores(X: CsrMatrix, where: string): Float64Array {
    checkPredictInput(X, this.nFeatures, `${this.name}.${where}`);
    const r = this.coefRows;
    const d = this.nFeatures;
    const { rows, indptr, indices, data } = X;
    const coef = this.coef;
    const out = new Float64Array(rows * r);
    for (let i = 0; i < rows; i++) {
      const start = indptr[i];
      const end = indptr[i + 1];
      for (let c = 0; c < r; c++) {
        const base = c * d;
        let s = this.intercept[c];
        for (let p = start; p < end; p++) s += data[p] * coef[base + indices[p]];
        out[i * r + c] = s;
      }
    }
    return out;
  }

  /** Binary: n scores for classes[1] (positive = classes[1]). Multi-class: n × k row-major. */
  decisionFunction(X: CsrMatrix): Float64Array {
    const raw = this.rawScores(X, "decisionFunction");
    if (this.coefRows === 2 && this.classes.length === 2) {
      const out = new Float64Array(X.rows);
      for (let i = 0; i < X.rows; i++) out[i] = raw[2 * i + 1] - raw[2 * i];
      return out;
    }
    return raw;
  }

  predict(X: CsrMatrix): Label[] {
    const scores = this.decisionFunction(X);
    const k = this.classes.length;
    const out: Label[] = new Array(X.rows);
    if (k === 2) {
      for (let i = 0; i < X.rows; i++) out[i] = scores[i] > 0 ? this.classes[1] : this.classes[0];
      return out;
    }
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (scores[i * k + c] > scores[i * k + best]) best = c;
      out[i] = this.classes[best];
    }
    return out;
  }

  /** Weight of feature j towards class c (binary one-row models: towards classes[1], negated for classes[0]). */
  protected featureWeight(c: number, j: number): number {
    const d = this.nFeatures;
    if (this.coefRows === 1) return c === 1 ? this.coef[j] : -this.coef[j];
    if (this.coefRows === 2 && this.classes.length === 2) {
      const diff = this.coef[d + j] - this.coef[j];
      return c === 1 ? diff : -diff;
    }
    return this.coef[c * d + j];
  }

  protected interceptFor(c: number): number {
    if (this.coefRows === 1) return c === 1 ? this.intercept[0] : -this.intercept[0];
    if (this.coefRows === 2 && this.classes.length === 2) {
      const diff = this.intercept[1] - this.intercept[0];
      return c === 1 ? diff : -diff;
    }
    return this.intercept[c];
  }

  /**
   * Contribution value × weight of each given feature of one document towards a class:
   * for binary models the score of classes[1] (so positive = pushes to classes[1]), for
   * multi-class models the chosen class's score (default: the predicted class).
   */
  linearContributions(rowIndices: ArrayLike<number>, rowValues: ArrayLike<number>, classIndex?: number): Contributions {
    if (this.nFeatures < 0) throw new DataError(`${this.name}.linearContributions: the model is not fitted yet; call fit() first`);
    if (rowIndices.length !== rowValues.length) throw new DataError(`linearContributions: ${rowIndices.length} indices but ${rowValues.length} values`);
    const k = this.classes.length;
    const contributions = new Float64Array(rowIndices.length);
    for (let p = 0; p < rowIndices.length; p++) {
      const j = rowIndices[p];
      if (!Number.isInteger(j) || j < 0 || j >= this.nFeatures)
        throw new DataError(`linearContributions: feature index ${j} out of range [0, ${this.nFeatures})`);
    }
    let c: number;
    if (classIndex !== undefined) {
      if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= k)
        throw new DataError(`linearContributions: classIndex ${classIndex} out of range [0, ${k})`);
      c = classIndex;
    } else if (k === 2) {
      c = 1;
    } else {
      let best = 0;
      let bestScore = -Infinity;
      for (let cc = 0; cc < k; cc++) {
        let s = this.interceptFor(cc);
        for (let p = 0; p < rowIndices.length; p++) s += rowValues[p] * this.featureWeight(cc, rowIndices[p]);
        if (s > bestScore) {
          bestScore = s;
          best = cc;
        }
      }
      c = best;
    }
    for (let p = 0; p < rowIndices.length; p++) contributions[p] = rowValues[p] * this.featureWeight(c, rowIndices[p]);
    return { classIndex: c, label: this.classes[c], contributions, intercept: this.interceptFor(c) };
  }

  protected warn(message: string, onWarning: ((message: string) => void) | undefined): void {
    this.warnings.push(message);
    onWarning?.(message);
  }

  protected baseJson(kind: ModelJson["kind"], options: Record<string, unknown>): ModelJson {
    if (this.nFeatures < 0) throw new DataError(`${this.name}.toJSON: the model is not fitted yet`);
    const json: ModelJson = {
      format: "polarity.model",
      version: 1,
      kind,
      options,
      classes: [...this.classes],
      coef: Array.from(this.coef),
      intercept: Array.from(this.intercept),
      nFeatures: this.nFeatures,
    };
    if (this.fitReport) json.fitReport = { ...this.fitReport };
    return json;
  }

  /** Restores learned state (used by classifierFromJSON after validation). */
  restoreState(classes: Label[], coef: Float64Array, intercept: Float64Array, nFeatures: number, fitReport?: FitReport): this {
    this.classes = classes;
    this.coef = coef;
    this.intercept = intercept;
    this.nFeatures = nFeatures;
    this.fitReport = fitReport;
    return this;
  }
}

/** Row-wise softmax in place over n × k. */
export function softmaxRows(scores: Float64Array, k: number): Float64Array {
  const n = scores.length / k;
  for (let i = 0; i < n; i++) softmaxRow(scores, i * k, k);
  return scores;
}

/** Softmax in place over scores[o, o + k). */
export function softmaxRow(scores: Float64Array, o: number, k: number): void {
  let max = -Infinity;
  for (let c = 0; c < k; c++) if (scores[o + c] > max) max = scores[o + c];
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp(scores[o + c] - max);
    scores[o + c] = e;
    sum += e;
  }
  for (let c = 0; c < k; c++) scores[o + c] /= sum;
}

/** sklearn's one-vs-rest probabilities in place over scores[o, o + k): each class's sigmoid, normalised to sum to 1. */
export function ovrProbaRow(scores: Float64Array, o: number, k: number): void {
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const p = sigmoid(scores[o + c]);
    scores[o + c] = p;
    sum += p;
  }
  for (let c = 0; c < k; c++) scores[o + c] /= sum;
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Binary scores → n × 2 probabilities [1 - σ(s), σ(s)]. */
export function binaryProba(scores: Float64Array): Float64Array {
  const out = new Float64Array(scores.length * 2);
  for (let i = 0; i < scores.length; i++) {
    const p = sigmoid(scores[i]);
    out[2 * i] = 1 - p;
    out[2 * i + 1] = p;
  }
  return out;
}
