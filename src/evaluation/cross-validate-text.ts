import type { VectorizerDocument } from "../features/vectorizer.js";
import { predictionsFromProba, SentimentModel, type TrainOptions } from "../models/sentiment-model.js";
import type { Label } from "../models/estimator.js";
import { createPreprocessor, resolvePreprocessConfig } from "../text/preprocess.js";
import { DataError } from "../util/errors.js";
import { crossValidateBy, headlineMetrics, type CrossValidationResult, type FoldMetrics } from "./cross-validate.js";
import { evaluateClassifier } from "./classification-metrics.js";

export interface TextCrossValidationOptions {
  folds: number;
  seed: number;
  /** Called after each fold with its metrics and fit time. */
  onFold?: (foldIndex: number, metrics: FoldMetrics) => void;
}

/**
 * Stratified k-fold cross-validation of the whole text model (the one CV of the project: the
 * `cv` command, tuning and the pipeline's train stage all call it). In each fold the
 * vectorizer (vocabulary, IDF) and the classifier are fitted by SentimentModel.train on the
 * training rows only, so the test fold never leaks into the features.
 *
 * Documents are raw texts or token arrays preprocessed with `train.preprocess` (the train
 * stage passes data/interim's tokens). Raw texts are preprocessed ONCE before the folds, not
 * once per fold: the vectorizer uses token arrays as they are, so the folds see exactly the
 * tokens a per-fold preprocessing would give. Each fold's metrics also carry `fitSeconds`
 * (vectorizer + classifier fit on the fold's tokens).
 */
export async function crossValidateTexts(
  docs: readonly VectorizerDocument[],
  labels: readonly Label[],
  train: Omit<TrainOptions, "onProgress" | "metadata">,
  options: TextCrossValidationOptions,
): Promise<CrossValidationResult> {
  if (!Array.isArray(docs)) throw new DataError("cross-validation: expected an array of texts");
  if (docs.length !== labels.length) throw new DataError(`cross-validation: ${docs.length} texts but ${labels.length} labels`);
  const tokenize = createPreprocessor(resolvePreprocessConfig(train.preprocess));
  const tokens: readonly (readonly string[])[] = docs.map((d) => (typeof d === "string" ? tokenize(d) : d));
  return crossValidateBy(labels, { folds: options.folds, seed: options.seed, shuffle: true }, (trainIdx, testIdx, f) => {
    const pick = <T>(a: readonly T[], idx: Int32Array): T[] => Array.from(idx, (i) => a[i]);
    const t0 = performance.now();
    const model = SentimentModel.train(pick(tokens, trainIdx), pick(labels, trainIdx), train);
    const fitSeconds = (performance.now() - t0) / 1000;
    const yTrue = pick(labels, testIdx);
    const proba = model.predictProba(pick(tokens, testIdx));
    const probabilistic = model.classifier.probabilistic;
    const yPred = predictionsFromProba(proba, model.classes).map((p) => p.label);
    const summary = evaluateClassifier(yTrue, yPred, proba, model.classes, { probabilistic });
    const metrics: FoldMetrics = { ...headlineMetrics(summary), fitSeconds };
    options.onFold?.(f, metrics);
    return metrics;
  });
}
