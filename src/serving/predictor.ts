import type { Label, LoadedModel, Prediction, ServableModel, TermContribution, TokenContribution } from "./model-types.js";
import type { ServingMetrics } from "./metrics.js";
import { WorkBudget } from "./work.js";
import type { ModelMonitor } from "../monitoring/monitor.js";

/**
 * Turns model predictions into API objects and records them in the metrics. Kept apart from
 * the routes so every protocol (JSON, MLflow, V2, the page) shapes and counts predictions
 * the same way.
 */

export interface PredictionView {
  id?: string;
  label: Label;
  /** What the label means ("positive"), from the bundle's class names, else String(label). */
  class_name: string;
  score: number;
  probabilities: Record<string, number>;
  towards?: Label;
  towards_class_name?: string;
  contributions?: TokenContribution[];
  terms?: TermContribution[];
}

export const DEFAULT_TOP_K = 20;

/** Predictions of a batch and their monitoring ids, in order (ids undefined when monitoring is off). */
export interface ScoredBatch {
  predictions: Prediction[];
  ids: string[] | undefined;
}

/**
 * A batch scored as typed arrays (the fast path's form, fast-path.ts): no object per text.
 * `proba` is n × k row-major in `classes` order; `best[i]` the predicted class's index
 * (the first of equal maxima, as predict() picks it).
 */
export interface TypedScores {
  proba: Float64Array;
  k: number;
  best: Uint32Array;
  /**
   * Monitoring ids in order, undefined when monitoring is off. Always plain ASCII tokens
   * (`<8 hex>-<base 36>-<class>`, prediction-ids.ts): the fast path writes them between quotes as they are.
   */
  ids: string[] | undefined;
}

/** Scores batches off the event loop (src/models PredictionPool over worker threads). */
export interface BatchScorer {
  predict(texts: string[]): Promise<Prediction[]>;
  close(): Promise<void>;
}
export type BatchScorerFactory = (model: ServableModel) => Promise<BatchScorer | null>;

/** Batches with at least this many texts, or characters, are scored off the event loop. */
export const OFF_LOOP_MIN_TEXTS = 2_000;
export const OFF_LOOP_MIN_CHARS = 200_000;

interface ScorerEntry {
  ready: BatchScorer | null;
  starting: Promise<BatchScorer | null>;
}

export class Predictor {
  private readonly scorers = new Map<ServableModel, ScorerEntry>();
  /** Models being served (warm() until retire()): the only ones an off-loop scorer is started for. */
  private readonly served = new Set<ServableModel>();
  private readonly makeScorer: BatchScorerFactory | undefined;
  readonly budget: WorkBudget;

  constructor(
    private readonly metrics: ServingMetrics,
    /** Drift / feedback monitoring (src/monitoring): gives each prediction its id. */
    private readonly monitor: ModelMonitor | null = null,
    options: { maxInflightChars?: number; makeScorer?: BatchScorerFactory } = {},
  ) {
    this.budget = new WorkBudget(options.maxInflightChars ?? Number.MAX_SAFE_INTEGER, () => metrics.loadShed());
    this.makeScorer = options.makeScorer;
  }

  /**
   * A model is now served. Its off-loop scorer (a worker thread that rebuilds the model) is
   * started by the first large batch, not here: at start-up and on every reload it would
   * compete for the cores with loading and with the requests, for servers that may never see
   * a batch of OFF_LOOP_MIN_TEXTS texts. Until it is ready, large batches are scored on the
   * event loop, as they always were while a scorer starts.
   */
  warm(model: ServableModel): void {
    this.served.add(model);
  }

  private scorerFor(model: ServableModel): BatchScorer | null {
    const entry = this.scorers.get(model);
    if (entry) return entry.ready;
    if (!this.makeScorer || !this.served.has(model)) return null;
    const started: ScorerEntry = { ready: null, starting: Promise.resolve(null) };
    started.starting = this.makeScorer(model).then(
      (s) => (started.ready = s),
      () => null,
    );
    this.scorers.set(model, started);
    return null;
  }

  /** Stops a replaced model's scorer once batches already handed to it have had time to finish. */
  retire(model: ServableModel, graceMs = 10_000): void {
    this.served.delete(model);
    const entry = this.scorers.get(model);
    if (!entry) return;
    this.scorers.delete(model);
    setTimeout(() => void entry.starting.then((s) => s?.close()), graceMs).unref();
  }

  async close(): Promise<void> {
    this.served.clear();
    const entries = [...this.scorers.values()];
    this.scorers.clear();
    await Promise.all(entries.map((e) => e.starting.then((s) => s?.close())));
  }

  /**
   * Any batch: small ones on the event loop; large ones (OFF_LOOP_MIN_*) on the prediction
   * pool's worker thread within the work budget (503 + Retry-After past it). The first large
   * batch starts the model's pool; until it is ready, large batches are scored here too.
   */
  async predictBatch(loaded: LoadedModel, texts: string[], chars: number): Promise<ScoredBatch> {
    return this.score(loaded, texts, chars);
  }

  /** True when large batches (OFF_LOOP_MIN_*) go to a prediction pool thread; false when every batch is scored on the event loop. */
  get offLoop(): boolean {
    return this.makeScorer !== undefined;
  }

  /** True when predictions get monitoring ids (POST /feedback scores them). */
  get monitored(): boolean {
    return this.monitor !== null;
  }

  /** predictBatch as API views (id, label, score, probabilities). */
  async predictViews(loaded: LoadedModel, texts: string[], chars: number): Promise<PredictionView[]> {
    const { predictions, ids } = await this.score(loaded, texts, chars);
    const out = new Array<PredictionView>(predictions.length);
    for (let i = 0; i < predictions.length; i++) out[i] = view(predictions[i], ids?.[i]);
    return out;
  }

  private async score(loaded: LoadedModel, texts: string[], chars: number): Promise<ScoredBatch> {
    const scorer = texts.length >= OFF_LOOP_MIN_TEXTS || chars >= OFF_LOOP_MIN_CHARS ? this.scorerFor(loaded.model) : null;
    const predictions = scorer ? await this.budget.run(chars, () => scorer.predict(texts)) : loaded.model.predict(texts);
    this.metrics.observePredictions(predictions, texts);
    return { predictions, ids: this.monitor?.record(loaded, predictions, texts) };
  }

  /**
   * One model call for all texts, as typed arrays (predictProba when the model has it), counted
   * in the metrics and given monitoring ids exactly like predict(): the fast path's scoring.
   */
  scoreTyped(loaded: LoadedModel, texts: string[]): TypedScores {
    const model = loaded.model;
    const classes = model.classes;
    const k = classes.length;
    const n = texts.length;
    const proba = model.predictProba ? model.predictProba(texts) : probaOf(model.predict(texts), classes);
    const best = new Uint32Array(n);
    for (let i = 0, o = 0; i < n; i++, o += k) {
      let b = 0;
      for (let c = 1; c < k; c++) if (proba[o + c] > proba[o + b]) b = c;
      best[i] = b;
    }
    this.metrics.observeScores(proba, k, best, classes, texts);
    const ids = this.monitor?.recordScores(loaded, proba, k, best, texts);
    return { proba, k, best, ids };
  }

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
    v.towards_class_name = classNameOf(loaded.model, towards);
    v.contributions = words;
    v.terms = terms;
    return v;
  }
}

/** n × k probabilities from Prediction objects (a model without predictProba). */
function probaOf(predictions: readonly Prediction[], classes: readonly Label[]): Float64Array {
  const k = classes.length;
  const keys = classes.map(String);
  const proba = new Float64Array(predictions.length * k);
  for (let i = 0; i < predictions.length; i++) for (let c = 0; c < k; c++) proba[i * k + c] = predictions[i].probabilities[keys[c]];
  return proba;
}

function view(p: Prediction, id: string | undefined): PredictionView {
  const key = typeof p.label === "string" ? p.label : String(p.label);
  const className = p.className ?? key;
  return id === undefined
    ? { label: p.label, class_name: className, score: p.probabilities[key], probabilities: p.probabilities }
    : { id, label: p.label, class_name: className, score: p.probabilities[key], probabilities: p.probabilities };
}

/** The name of a class of `model` ("positive"), else String(label). */
export function classNameOf(model: { classes: readonly Label[]; classNames?: readonly string[] }, label: Label): string {
  const i = model.classes.indexOf(label);
  return (i >= 0 ? model.classNames?.[i] : undefined) ?? String(label);
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
