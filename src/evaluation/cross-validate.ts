import { csrSelectRows, type CsrMatrix } from "../features/csr.js";
import { DataError } from "../util/errors.js";
import type { Classifier, Label } from "../models/estimator.js";
import { evaluateClassifier, type EvaluationSummary } from "./classification-metrics.js";
import { stratifiedKFold, type Split } from "../util/stratified-split.js";

/** Numeric metrics of one fold, by name (e.g. accuracy, f1, rocAuc). null = undefined for that fold. */
export type FoldMetrics = Record<string, number | null>;

export interface CrossValidationResult {
  folds: FoldMetrics[];
  /** Mean over the folds where the metric is defined. */
  mean: Record<string, number>;
  /** Sample standard deviation (n − 1 denominator); 0 when defined in only one fold. */
  sd: Record<string, number>;
}

export interface CrossValidateByOptions {
  folds: number;
  seed?: number;
  /** Shuffle within classes before dealing to folds. Default true when a seed is given. */
  shuffle?: boolean;
}

/** Mean and sample sd of each metric over the folds (skipping nulls). */
export function summarizeFolds(folds: FoldMetrics[]): CrossValidationResult {
  const names = new Set<string>();
  for (const f of folds) for (const key of Object.keys(f)) names.add(key);
  const mean: Record<string, number> = {};
  const sd: Record<string, number> = {};
  for (const name of names) {
    const values = folds.map((f) => f[name]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    if (values.length === 0) continue;
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    mean[name] = m;
    sd[name] = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - m) * (v - m), 0) / (values.length - 1)) : 0;
  }
  return { folds, mean, sd };
}

function foldsFor(labels: readonly Label[], options: CrossValidateByOptions): Split[] {
  return stratifiedKFold(labels, { k: options.folds, shuffle: options.shuffle ?? options.seed !== undefined, seed: options.seed ?? 0 });
}

/**
 * Stratified k-fold cross-validation around any fit-and-score function. This is the form to
 * use on raw text: the callback fits the vectorizer on the training rows only (no leakage of
 * the test fold's vocabulary or IDF), then the model, and scores the test rows.
 */
export function crossValidateBy(
  labels: readonly Label[],
  options: CrossValidateByOptions,
  fitAndScore: (train: Int32Array, test: Int32Array, foldIndex: number) => FoldMetrics,
): CrossValidationResult {
  const splits = foldsFor(labels, options);
  return summarizeFolds(splits.map((s, f) => fitAndScore(s.train, s.test, f)));
}

/** crossValidateBy for callbacks that return a promise (folds still run one after another). */
export async function crossValidateByAsync(
  labels: readonly Label[],
  options: CrossValidateByOptions,
  fitAndScore: (train: Int32Array, test: Int32Array, foldIndex: number) => Promise<FoldMetrics>,
): Promise<CrossValidationResult> {
  const splits = foldsFor(labels, options);
  const folds: FoldMetrics[] = [];
  for (let f = 0; f < splits.length; f++) folds.push(await fitAndScore(splits[f].train, splits[f].test, f));
  return summarizeFolds(folds);
}

/** The numeric headline metrics of an evaluation, as fold metrics. */
export function headlineMetrics(s: EvaluationSummary): FoldMetrics {
  return {
    accuracy: s.accuracy,
    precision: s.precision,
    recall: s.recall,
    f1: s.f1,
    f1Macro: s.f1Macro,
    f1Weighted: s.f1Weighted,
    rocAuc: s.rocAuc,
    logLoss: s.logLoss,
  };
}

export interface CrossValidateOptions {
  folds: number;
  seed?: number;
  shuffle?: boolean;
  /** Called after each fold with its metrics (for progress output). */
  onFold?: (foldIndex: number, metrics: FoldMetrics) => void;
}

/**
 * Cross-validates a classifier on an already-vectorised matrix (built once, e.g. from a
 * fixed vocabulary): for each stratified fold, a fresh classifier from makeClassifier() is
 * fitted on the training rows and evaluated on the test rows with evaluateClassifier
 * (binary metrics for classes[1] with 2 classes, macro otherwise). Synchronous and pure.
 */
export function crossValidate(X: CsrMatrix, y: readonly Label[], makeClassifier: () => Classifier, options: CrossValidateOptions): CrossValidationResult {
  if (X.rows !== y.length) throw new DataError(`crossValidate: X has ${X.rows} rows but y has ${y.length} labels`);
  const splits = foldsFor(y, options);
  const folds: FoldMetrics[] = [];
  splits.forEach((split, f) => {
    const model = makeClassifier();
    const yTrain = Array.from(split.train, (i) => y[i]);
    const yTest = Array.from(split.test, (i) => y[i]);
    model.fit(csrSelectRows(X, split.train), yTrain);
    const XTest = csrSelectRows(X, split.test);
    const pred = model.predict(XTest);
    const probabilistic = model.probabilistic ?? true;
    let scores: Float64Array;
    if (probabilistic) {
      scores = model.predictProba(XTest);
    } else {
      // Non-probabilistic (SVM): rank by decision values; for binary expand to [−s, s] columns.
      const dec = model.decisionFunction(XTest);
      if (model.classes.length === 2) {
        scores = new Float64Array(2 * dec.length);
        for (let i = 0; i < dec.length; i++) {
          scores[2 * i] = -dec[i];
          scores[2 * i + 1] = dec[i];
        }
      } else scores = dec;
    }
    const metrics = headlineMetrics(evaluateClassifier(yTest, pred, scores, model.classes, { probabilistic }));
    options.onFold?.(f, metrics);
    folds.push(metrics);
  });
  return summarizeFolds(folds);
}
