import type { Label, LoadedModel, Prediction, TermContribution, TokenContribution } from "./model-types.js";
import type { ServingMetrics } from "./metrics.js";

/**
 * Turns model predictions into API objects and records them in the metrics. Kept apart from
 * the routes so every protocol (JSON, MLflow, V2, the page) shapes and counts predictions
 * the same way.
 */

export interface PredictionView {
  label: Label;
  score: number;
  probabilities: Record<string, number>;
  towards?: Label;
  contributions?: TokenContribution[];
  terms?: TermContribution[];
}

export const DEFAULT_TOP_K = 20;

export class Predictor {
  constructor(private readonly metrics: ServingMetrics) {}

  /** Batch path: one model call for all texts. */
  predict(loaded: LoadedModel, texts: string[]): PredictionView[] {
    const predictions = loaded.model.predict(texts);
    const out = new Array<PredictionView>(predictions.length);
    for (let i = 0; i < predictions.length; i++) out[i] = this.view(predictions[i], texts[i].length);
    return out;
  }

  /** Labels only (MLflow /invocations, V2 `label` output), counted like every prediction. */
  predictRaw(loaded: LoadedModel, texts: string[]): Prediction[] {
    const predictions = loaded.model.predict(texts);
    for (let i = 0; i < predictions.length; i++) {
      const p = predictions[i];
      const key = String(p.label);
      this.metrics.observePrediction(key, p.probabilities[key], texts[i].length);
    }
    return predictions;
  }

  /** One text with the words that pushed the decision (`contributions`) and the strongest terms. */
  explain(loaded: LoadedModel, text: string, topK = DEFAULT_TOP_K): PredictionView {
    const { prediction, towards, words, terms } = loaded.model.explain(text, topK);
    const view = this.view(prediction, text.length);
    view.towards = towards;
    view.contributions = words;
    view.terms = terms;
    return view;
  }

  private view(p: Prediction, inputLength: number): PredictionView {
    const key = String(p.label);
    const score = p.probabilities[key];
    this.metrics.observePrediction(key, score, inputLength);
    return { label: p.label, score, probabilities: p.probabilities };
  }
}

const POSITIVE = new Set(["1", "pos", "positive", "+1", "true", "yes"]);
const NEGATIVE = new Set(["0", "-1", "neg", "negative", "false", "no"]);

/** Reads a class as a sentiment when its name says so (1/pos/positive, 0/-1/neg/negative); null otherwise. */
export function sentimentOf(label: Label | undefined): "positive" | "negative" | null {
  if (label === undefined) return null;
  const s = String(label).trim().toLowerCase();
  if (POSITIVE.has(s)) return "positive";
  if (NEGATIVE.has(s)) return "negative";
  return null;
}

export interface Segment {
  start: number;
  end: number;
  weight: number;
}

/**
 * Splits `text` at every contribution boundary and sums the weights covering each piece,
 * so overlapping n-gram spans ("not good" over "good") highlight consistently.
 */
export function highlightSegments(textLength: number, contributions: readonly TokenContribution[]): Segment[] {
  const cuts = new Set<number>([0, textLength]);
  for (const c of contributions) {
    if (c.start >= 0 && c.end <= textLength && c.start < c.end) {
      cuts.add(c.start);
      cuts.add(c.end);
    }
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i];
    const end = points[i + 1];
    let weight = 0;
    for (const c of contributions) if (c.start <= start && c.end >= end) weight += c.weight;
    segments.push({ start, end, weight });
  }
  return segments;
}
