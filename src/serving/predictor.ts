import type { Label, LoadedModel, Prediction, TermContribution, TokenContribution } from "./model-types.js";
import type { ServingMetrics } from "./metrics.js";
import type { ModelMonitor } from "../monitoring/monitor.js";

/**
 * Turns model predictions into API objects and records them in the metrics. Kept apart from
 * the routes so every protocol (JSON, MLflow, V2, the page) shapes and counts predictions
 * the same way.
 */

export interface PredictionView {
  id?: string;
  label: Label;
  score: number;
  probabilities: Record<string, number>;
  towards?: Label;
  contributions?: TokenContribution[];
  terms?: TermContribution[];
}

export const DEFAULT_TOP_K = 20;

export class Predictor {
  constructor(
    private readonly metrics: ServingMetrics,
    /** Drift / feedback monitoring (src/monitoring): gives each prediction its id. */
    private readonly monitor: ModelMonitor | null = null,
  ) {}

  /** Batch path: one model call for all texts. */
  predict(loaded: LoadedModel, texts: string[]): PredictionView[] {
    const predictions = loaded.model.predict(texts);
    this.metrics.observePredictions(predictions, texts);
    const ids = this.monitor?.record(loaded, predictions, texts);
    const out = new Array<PredictionView>(predictions.length);
    for (let i = 0; i < predictions.length; i++) out[i] = view(predictions[i], ids?.[i]);
    return out;
  }

  /** Labels only (MLflow /invocations, V2 `label` output), counted like every prediction. */
  predictRaw(loaded: LoadedModel, texts: string[]): Prediction[] {
    const predictions = loaded.model.predict(texts);
    this.metrics.observePredictions(predictions, texts);
    this.monitor?.record(loaded, predictions, texts);
    return predictions;
  }

  /** One text with the words that pushed the decision (`contributions`) and the strongest terms. */
  explain(loaded: LoadedModel, text: string, topK = DEFAULT_TOP_K): PredictionView {
    const { prediction, towards, words, terms } = loaded.model.explain(text, topK);
    this.metrics.observePredictions([prediction], [text]);
    const v = view(prediction, this.monitor?.record(loaded, [prediction], [text])[0]);
    v.towards = towards;
    v.contributions = words;
    v.terms = terms;
    return v;
  }
}

function view(p: Prediction, id: string | undefined): PredictionView {
  const key = typeof p.label === "string" ? p.label : String(p.label);
  return id === undefined ? { label: p.label, score: p.probabilities[key], probabilities: p.probabilities } : { id, label: p.label, score: p.probabilities[key], probabilities: p.probabilities };
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
