import type { Label } from "../util/labels.js";
import { predictionsFromProba, type SentimentModel } from "../models/sentiment-model.js";
import { evaluateClassifier, precisionRecallCurve, rocCurve, type EvaluationSummary } from "./classification-metrics.js";

/**
 * A model bundle scored on held-out raw texts through the same code path serving uses: the
 * metrics the pipeline's evaluate stage writes (reports/metrics.json) and the promotion gates
 * compare, and the DVC plot data of its curves. Pure: reading and writing files is the
 * callers' job.
 */

export interface HeldOutMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  roc_auc: number | null;
  log_loss: number | null;
  f1_macro: number;
  f1_weighted: number;
  n_test: number;
  /** "binary" (positive class = classes[1]) for two classes, "macro" otherwise; multi-class AUC is one-vs-rest macro. */
  average: "binary" | "macro";
  pos_label: Label | null;
}

export interface ModelEvaluation {
  summary: EvaluationSummary;
  metrics: HeldOutMetrics;
  predictions: Label[];
  proba: Float64Array;
}

/** x rounded to 6 decimal places: what metrics, reports and scored files carry. */
export const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** Scores a model bundle on raw texts: one predictProba pass, then sklearn-compatible metrics. */
export function evaluateModelOn(model: SentimentModel, texts: readonly string[], labels: readonly Label[]): ModelEvaluation {
  const proba = model.predictProba(texts);
  const predictions = predictionsFromProba(proba, model.classes).map((p) => p.label);
  const summary = evaluateClassifier(labels, predictions, proba, model.classes);
  const metrics: HeldOutMetrics = {
    accuracy: round6(summary.accuracy),
    precision: round6(summary.precision),
    recall: round6(summary.recall),
    f1: round6(summary.f1),
    roc_auc: summary.rocAuc === null ? null : round6(summary.rocAuc),
    log_loss: summary.logLoss === null ? null : round6(summary.logLoss),
    f1_macro: round6(summary.f1Macro),
    f1_weighted: round6(summary.f1Weighted),
    n_test: texts.length,
    average: summary.average,
    pos_label: summary.posLabel,
  };
  return { summary, metrics, predictions, proba };
}

export interface HeldOutPlots {
  roc: { roc: Array<Record<string, unknown>> };
  pr: { precision_recall: Array<Record<string, unknown>> };
  confusion: { confusion: Array<{ actual: string; predicted: string }> };
}

/** DVC plot data: curves as lists of points (one series per class for multi-class, one-vs-rest), the confusion matrix as (actual, predicted) rows. */
export function heldOutPlotData(classes: readonly Label[], labels: readonly Label[], ev: ModelEvaluation): HeldOutPlots {
  const k = classes.length;
  const finite = (t: number): number | null => (Number.isFinite(t) ? round6(t) : null);
  const curveClasses = k === 2 ? [1] : classes.map((_, c) => c);
  const roc: Array<Record<string, unknown>> = [];
  const pr: Array<Record<string, unknown>> = [];
  for (const c of curveClasses) {
    const cls = classes[c];
    if (!labels.includes(cls)) continue;
    const scores = new Float64Array(labels.length);
    for (let i = 0; i < labels.length; i++) scores[i] = ev.proba[i * k + c];
    const binary = labels.map((l) => (l === cls ? 1 : 0));
    if (binary.every((b) => b === 1)) continue;
    const r = rocCurve(binary, scores, { posLabel: 1 });
    for (let i = 0; i < r.fpr.length; i++)
      roc.push({ ...(k > 2 ? { class: String(cls) } : {}), fpr: round6(r.fpr[i]), tpr: round6(r.tpr[i]), threshold: finite(r.thresholds[i]) });
    const p = precisionRecallCurve(binary, scores, { posLabel: 1 });
    for (let i = 0; i < p.precision.length; i++) {
      pr.push({
        ...(k > 2 ? { class: String(cls) } : {}),
        precision: round6(p.precision[i]),
        recall: round6(p.recall[i]),
        threshold: i < p.thresholds.length ? finite(p.thresholds[i]) : null,
      });
    }
  }
  const confusion = labels.map((actual, i) => ({ actual: String(actual), predicted: String(ev.predictions[i]) }));
  return { roc: { roc }, pr: { precision_recall: pr }, confusion: { confusion } };
}
