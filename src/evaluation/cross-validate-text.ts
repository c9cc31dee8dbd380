import { SentimentModel, type TrainOptions } from "../models/sentiment-model.js";
import type { Label } from "../models/estimator.js";
import { DataError } from "../util/errors.js";
import { crossValidateBy, headlineMetrics, type CrossValidationResult, type FoldMetrics } from "./cross-validate.js";
import { evaluateClassifier } from "./metrics.js";

export interface TextCrossValidationOptions {
  folds: number;
  seed: number;
  /** Called after each fold with its metrics and fit time. */
  onFold?: (foldIndex: number, metrics: FoldMetrics) => void;
}

/**
 * Stratified k-fold cross-validation of the whole text model: in each fold the vectorizer
 * (vocabulary, IDF) and the classifier are fitted on the training rows only, so the test
 * fold never leaks into the features. Each fold's metrics also carry `fitSeconds`.
 */
export async function crossValidateTexts(
  texts: readonly string[],
  labels: readonly Label[],
  train: Omit<TrainOptions, "onProgress" | "metadata">,
  options: TextCrossValidationOptions,
): Promise<CrossValidationResult> {
  if (texts.length !== labels.length) throw new DataError(`cross-validation: ${texts.length} texts but ${labels.length} labels`);
  return crossValidateBy(labels, { folds: options.folds, seed: options.seed, shuffle: true }, (trainIdx, testIdx, f) => {
    const pick = <T>(a: readonly T[], idx: Int32Array): T[] => Array.from(idx, (i) => a[i]);
    const t0 = performance.now();
    const model = SentimentModel.train(pick(texts, trainIdx), pick(labels, trainIdx), train);
    const fitSeconds = (performance.now() - t0) / 1000;
    const testTexts = pick(texts, testIdx);
    const yTrue = pick(labels, testIdx);
    const proba = model.predictProba(testTexts);
    const yPred = model.predict(testTexts).map((p) => p.label);
    const summary = evaluateClassifier(yTrue, yPred, proba, model.classes, { probabilistic: model.classifier.probabilistic });
    const metrics: FoldMetrics = { ...headlineMetrics(summary), fitSeconds };
    options.onFold?.(f, metrics);
    return metrics;
  });
}
