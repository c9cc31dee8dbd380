import { randomBytes } from "node:crypto";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Label } from "../models/estimator.js";
import type { Prediction } from "../models/sentiment-model.js";
import { DataError } from "../util/errors.js";
import type { MonitoringConfig } from "./config.js";
import { computeDrift, DRIFT_STATISTICS, type DriftResult } from "./drift.js";
import { JsonlLog } from "./jsonl-log.js";
import { idTails, PredictionIds } from "./prediction-ids.js";
import { isProfiledModel, referenceProfileOf, TextProfiler, type ReferenceProfile } from "./profile.js";
import { accuracyAndF1 } from "./stats.js";
import { LabelledWindow, PredictionWindow, TextWindow } from "./window.js";

/** What the monitor needs of the served model (serving's LoadedModel fits). */
export interface MonitoredModel {
  readonly model: { readonly classes: readonly Label[]; readonly metadata: Record<string, unknown> };
  readonly name: string;
  readonly version: string;
}

/**
 * Prediction id: `<process>-<sequence base 36>-<predicted class index>`. The predicted class
 * travels in the id, so feedback can be scored by any replica or cluster worker, not only
 * the one that made the prediction.
 */
const ID_RE = /^([0-9a-f]{8})-([0-9a-z]{1,11})-([0-9]{1,4})$/;

export interface FeedbackItem {
  id: string;
  label: Label;
  text?: string;
}

export interface FeedbackResult {
  recorded: number;
  duplicates: number;
}

interface ModelState {
  loaded: MonitoredModel;
  classes: readonly Label[];
  keys: string[];
  /** idTails(class) per class: the end of a prediction id, made once per model. */
  idTails: string[][];
  profile: ReferenceProfile | null;
  profiler: TextProfiler | null;
  predictions: PredictionWindow;
  texts: TextWindow | null;
  labelled: LabelledWindow;
}

/**
 * Watches the served model: every prediction gets an id and lands in typed-array rolling
 * windows (O(1), no allocation beyond the id string); a timer, off the request path,
 * tokenises a bounded sample of recent texts, computes drift against the bundle's reference
 * profile and live accuracy from feedback, sets the gauges and flushes the logs.
 */
export class ModelMonitor {
  private readonly boot = randomBytes(4).toString("hex");
  private readonly ids = new PredictionIds(`${this.boot}-`);
  private state: ModelState | null = null;
  private readonly textRing: (string | undefined)[];
  private textRingNext = 0;
  private textRingFilled = 0;
  /**
   * Every textStride-th prediction's text goes into the ring (textCountdown counts down to it),
   * the stride set at each tick from the previous tick's traffic so that about textsPerTick
   * texts spread over the whole interval are kept, not the last textsPerTick before the tick
   * (at 5,000 req/s, the last 50 ms of every 2 s). At high traffic the ring is written a few
   * hundred times per tick instead of on every request: no write barrier per request, and far
   * fewer young strings kept alive through each scavenge.
   */
  private textStride = 1;
  private textCountdown = 1;
  private predictionsAtTick = 0;
  private termScratch: Float64Array = new Float64Array(0);
  private readonly logStride: number;
  private readonly predictionLog: JsonlLog | null;
  private readonly feedbackLog: JsonlLog | null;
  private readonly seenFeedback = new Set<string>();
  private readonly seenOrder: string[] = [];
  private seenNext = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The last drift computed (null before the windows fill or without a profile). */
  lastDrift: DriftResult | null = null;
  lastLive: { accuracy: number; f1: number; labelled: number } | null = null;

  private readonly drift: Gauge<"statistic">;
  private readonly windowPredictions: Gauge;
  private readonly windowTexts: Gauge;
  private readonly oovRate: Gauge<"window">;
  private readonly profileLoaded: Gauge;
  private readonly liveAccuracy: Gauge;
  private readonly liveF1: Gauge;
  private readonly liveLabelled: Gauge;
  private readonly referenceAccuracy: Gauge;
  private readonly feedbackLabelled: Counter;
  private readonly feedbackCorrect: Counter;
  private readonly feedbackRejected: Counter<"reason">;
  private readonly logDropped: Gauge;

  constructor(
    readonly config: MonitoringConfig,
    registry: Registry,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    const registers = [registry];
    // Drift and live-quality gauges are per process; in a cluster the primary averages them.
    this.drift = new Gauge({
      name: "model_drift",
      help: "Drift of recent traffic against the model's reference profile, by statistic (PSI/Jensen-Shannon on scores and lengths, class-mix total variation, OOV-rate shift, top-term chi-square per term).",
      labelNames: ["statistic"],
      registers,
      aggregator: "average",
    });
    const threshold = new Gauge({
      name: "model_drift_threshold",
      help: "Alarm threshold of each drift statistic (what the alert rules compare model_drift with).",
      labelNames: ["statistic"],
      registers,
      aggregator: "max",
    });
    for (const s of DRIFT_STATISTICS) threshold.set({ statistic: s }, config.thresholds[s]);
    this.windowPredictions = new Gauge({ name: "model_drift_window_predictions", help: "Predictions in the drift window.", registers, aggregator: "sum" });
    this.windowTexts = new Gauge({ name: "model_drift_window_texts", help: "Tokenised texts in the OOV / top-term window.", registers, aggregator: "sum" });
    this.oovRate = new Gauge({
      name: "model_oov_rate",
      help: "Share of tokens outside the model's vocabulary: current window and reference.",
      labelNames: ["window"],
      registers,
      aggregator: "average",
    });
    this.profileLoaded = new Gauge({
      name: "model_reference_profile_loaded",
      help: "1 when the served model carries a reference profile (drift is computed), else 0.",
      registers,
      aggregator: "min",
    });
    this.liveAccuracy = new Gauge({
      name: "model_live_accuracy",
      help: "Accuracy over the last labelled predictions (feedback window).",
      registers,
      aggregator: "average",
    });
    this.liveF1 = new Gauge({
      name: "model_live_f1",
      help: "F1 over the last labelled predictions (binary for classes[1], macro otherwise).",
      registers,
      aggregator: "average",
    });
    this.liveLabelled = new Gauge({ name: "model_live_window_labelled", help: "Labelled predictions in the feedback window.", registers, aggregator: "sum" });
    this.referenceAccuracy = new Gauge({
      name: "model_reference_accuracy",
      help: "The model's accuracy on its reference (held-out) data, from the profile.",
      registers,
      aggregator: "max",
    });
    this.feedbackLabelled = new Counter({
      name: "model_feedback_labelled_total",
      help: "Predictions that received a true label through /feedback.",
      registers,
    });
    this.feedbackCorrect = new Counter({ name: "model_feedback_correct_total", help: "Labelled predictions whose predicted label was right.", registers });
    this.feedbackRejected = new Counter({
      name: "model_feedback_rejected_total",
      help: "Feedback items not recorded, by reason (duplicate).",
      labelNames: ["reason"],
      registers,
    });
    this.feedbackRejected.inc({ reason: "duplicate" }, 0);
    // NaN until known (an unlabelled gauge would otherwise read 0, i.e. "accuracy 0").
    this.liveAccuracy.set(NaN);
    this.liveF1.set(NaN);
    this.referenceAccuracy.set(NaN);
    this.logDropped = new Gauge({
      name: "model_prediction_log_dropped",
      help: "Log lines dropped because the writer fell behind.",
      registers,
      aggregator: "sum",
    });
    this.textRing = new Array<string | undefined>(config.textsPerTick);
    this.logStride = config.logSampleRate > 0 ? Math.max(1, Math.round(1 / config.logSampleRate)) : 0;
    this.predictionLog = config.logDir ? new JsonlLog(config.logDir, "predictions", config.logMaxBytes, config.logKeep) : null;
    this.feedbackLog = config.logDir ? new JsonlLog(config.logDir, "feedback", config.logMaxBytes, config.logKeep) : null;
  }

  /** Starts the timer that computes drift and flushes logs (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer || this.config.intervalMs === 0) return;
    this.timer = setInterval(() => {
      this.tick().catch(this.onError);
    }, this.config.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.tick();
  }

  /**
   * The per-request hook: records a batch of predictions and returns their ids. Cost per
   * prediction: a class lookup, three typed-array stores, a reference store and the id string.
   */
  record(loaded: MonitoredModel, predictions: readonly Prediction[], texts: readonly string[]): string[] {
    const state = this.stateFor(loaded);
    const k = state.keys.length;
    const scoreKey = k === 2 ? state.keys[1] : null;
    const ids = new Array<string>(predictions.length);
    for (let i = 0; i < predictions.length; i++) {
      const p = predictions[i];
      let cls = 0;
      while (cls < k && state.classes[cls] !== p.label) cls++;
      ids[i] = this.recordOne(state, p.probabilities[scoreKey ?? state.keys[cls]], cls, p.label, texts[i]);
    }
    return ids;
  }

  /**
   * record() for typed scores (the serving fast path's form): `proba` is n × k row-major in
   * the model's class order, `best[i]` the predicted class's index. The same windows, ring,
   * log and ids as record() of the equivalent Prediction objects, without building them.
   */
  recordScores(loaded: MonitoredModel, proba: ArrayLike<number>, k: number, best: ArrayLike<number>, texts: readonly string[]): string[] {
    const state = this.stateFor(loaded);
    if (k !== state.classes.length) throw new DataError(`recordScores: ${k} score columns for a model with ${state.classes.length} classes`);
    const n = best.length;
    const ids = new Array<string>(n);
    for (let i = 0, o = 0; i < n; i++, o += k) {
      const cls = best[i];
      // As record(): the positive class's probability for a binary model, else the predicted class's.
      ids[i] = this.recordOne(state, proba[k === 2 ? o + 1 : o + cls], cls, state.classes[cls], texts[i]);
    }
    return ids;
  }

  /** One prediction into the window, the text ring and (sampled) the log; returns its id. */
  private recordOne(state: ModelState, score: number, cls: number, label: Label, text: string): string {
    state.predictions.push(score, text.length, cls);
    if (--this.textCountdown === 0) {
      this.textCountdown = this.textStride;
      const ring = this.textRing;
      ring[this.textRingNext] = text;
      this.textRingNext = this.textRingNext + 1 === ring.length ? 0 : this.textRingNext + 1;
      if (this.textRingFilled < ring.length) this.textRingFilled++;
    }
    const seq = this.ids.next;
    const id = this.ids.take(cls, state.idTails[cls]);
    if (this.predictionLog && this.logStride > 0 && seq % this.logStride === 0) this.logPrediction(state, id, label, score, text);
    return id;
  }

  private logPrediction(state: ModelState, id: string, label: Label, score: number, text: string): void {
    const line: Record<string, unknown> = {
      type: "prediction",
      ts: new Date().toISOString(),
      id,
      model: state.loaded.name,
      version: state.loaded.version,
      label,
      score,
      length: text.length,
    };
    if (this.config.logText) line.text = text;
    this.predictionLog!.push(JSON.stringify(line));
  }

  /**
   * Records true labels for earlier predictions. Every item is checked before any is
   * recorded (a bad item rejects the whole batch with its index); an id seen before is
   * counted as a duplicate, not twice.
   */
  feedback(loaded: MonitoredModel, items: readonly FeedbackItem[]): FeedbackResult {
    const state = this.stateFor(loaded);
    const parsed = items.map((item, i) => {
      const where = items.length > 1 ? `feedback[${i}]` : "feedback";
      const m = typeof item.id === "string" ? ID_RE.exec(item.id) : null;
      if (!m)
        throw new DataError(`${where}: id ${JSON.stringify(item.id)} is not a prediction id (they look like 3f9a1c2e-1a-1 and come with each prediction)`);
      const predicted = Number(m[3]);
      if (predicted >= state.classes.length)
        throw new DataError(`${where}: id ${JSON.stringify(item.id)} names class ${predicted} but the model has ${state.classes.length} classes`);
      const actual = state.keys.indexOf(String(item.label));
      if (actual < 0) throw new DataError(`${where}: label ${JSON.stringify(item.label)} is not one of the model's classes ${JSON.stringify(state.classes)}`);
      return { id: item.id, predicted, actual, text: item.text };
    });
    let recorded = 0;
    let duplicates = 0;
    for (const f of parsed) {
      if (this.seenFeedback.has(f.id)) {
        duplicates++;
        this.feedbackRejected.inc({ reason: "duplicate" });
        continue;
      }
      this.remember(f.id);
      state.labelled.push(f.predicted, f.actual);
      this.feedbackLabelled.inc();
      if (f.predicted === f.actual) this.feedbackCorrect.inc();
      recorded++;
      if (this.feedbackLog) {
        const line: Record<string, unknown> = {
          type: "feedback",
          ts: new Date().toISOString(),
          id: f.id,
          label: state.classes[f.actual],
          predicted: state.classes[f.predicted],
          version: state.loaded.version,
        };
        if (this.config.logText && typeof f.text === "string") line.text = f.text;
        this.feedbackLog.push(JSON.stringify(line));
      }
    }
    return { recorded, duplicates };
  }

  /** Bounded memory of feedback ids (the last 100,000) for duplicate detection. */
  private remember(id: string): void {
    const cap = 100_000;
    if (this.seenOrder.length < cap) this.seenOrder.push(id);
    else {
      this.seenFeedback.delete(this.seenOrder[this.seenNext]);
      this.seenOrder[this.seenNext] = id;
      this.seenNext = (this.seenNext + 1) % cap;
    }
    this.seenFeedback.add(id);
  }

  /** The timer's work, callable directly (tests, shutdown): profile sampled texts, compute drift and live accuracy, flush logs. */
  async tick(): Promise<void> {
    const state = this.state;
    if (state) {
      this.profileTexts(state);
      this.computeGauges(state);
    }
    // The next interval keeps every stride-th text: about textsPerTick of them at this tick's traffic.
    const seen = this.ids.next - this.predictionsAtTick;
    this.predictionsAtTick = this.ids.next;
    this.textStride = Math.max(1, Math.floor(seen / this.textRing.length));
    this.textCountdown = Math.min(this.textCountdown, this.textStride);
    this.logDropped.set((this.predictionLog?.dropped ?? 0) + (this.feedbackLog?.dropped ?? 0));
    await Promise.all([this.predictionLog?.flush(), this.feedbackLog?.flush()]);
  }

  private profileTexts(state: ModelState): void {
    const ring = this.textRing;
    const n = this.textRingFilled;
    if (!state.profiler || !state.texts) {
      ring.fill(undefined);
      this.textRingFilled = 0;
      return;
    }
    if (this.termScratch.length !== state.texts.terms) this.termScratch = new Float64Array(state.texts.terms);
    const scratch = this.termScratch;
    for (let back = n; back >= 1; back--) {
      const i = (this.textRingNext - back + ring.length) % ring.length;
      const text = ring[i];
      ring[i] = undefined;
      if (text === undefined) continue;
      scratch.fill(0);
      const { tokens, oov } = state.profiler.observe(text, scratch);
      state.texts.push(tokens, oov, scratch);
    }
    this.textRingFilled = 0;
  }

  private computeGauges(state: ModelState): void {
    if (state.profile) {
      const result = computeDrift(state.profile, state.predictions, state.texts);
      this.lastDrift = result;
      for (const s of DRIFT_STATISTICS) {
        const v = result.values[s];
        if (Number.isNaN(v)) this.drift.remove({ statistic: s });
        else this.drift.set({ statistic: s }, v);
      }
      this.windowPredictions.set(result.predictions);
      this.windowTexts.set(result.texts);
      if (!Number.isNaN(result.current.oovRate)) this.oovRate.set({ window: "current" }, result.current.oovRate);
      if (this.predictionLog && !Number.isNaN(result.values.score_psi)) {
        // The most-shifted reference terms (vocabulary words, not user text), so the report can show them without text logging.
        const terms = state.profile.topTerms.terms
          .map((term, j) => ({ term, referenceDf: state.profile!.topTerms.df[j], currentDf: result.current.termDf[j], shift: result.termShift[j] }))
          .filter((t) => t.shift !== 0)
          .sort((a, b) => Math.abs(b.shift) - Math.abs(a.shift))
          .slice(0, 15);
        this.predictionLog.push(
          JSON.stringify({
            type: "drift",
            ts: new Date().toISOString(),
            version: state.loaded.version,
            predictions: result.predictions,
            texts: result.texts,
            values: result.values,
            terms,
          }),
        );
      }
    }
    const w = state.labelled;
    if (w.size > 0) {
      const { accuracy, f1 } = accuracyAndF1(w.predicted, w.actual, w.size, state.classes.length);
      this.lastLive = { accuracy, f1, labelled: w.size };
      this.liveAccuracy.set(accuracy);
      this.liveF1.set(f1);
    }
    this.liveLabelled.set(w.size);
  }

  private stateFor(loaded: MonitoredModel): ModelState {
    if (this.state?.loaded === loaded) return this.state;
    // A new model: new reference, so the windows start over.
    const classes = loaded.model.classes;
    let profile: ReferenceProfile | null = null;
    try {
      profile = referenceProfileOf(loaded.model.metadata);
      if (profile && profile.classes.map(String).join("\u0000") !== classes.map(String).join("\u0000"))
        throw new DataError(`the reference profile's classes ${JSON.stringify(profile.classes)} are not the model's ${JSON.stringify(classes)}`);
    } catch (err) {
      profile = null;
      this.onError(err);
    }
    const profiler = profile && isProfiledModel(loaded.model) ? new TextProfiler(loaded.model, profile.topTerms.terms) : null;
    const previousLabelled = this.state && this.state.classes.map(String).join("\u0000") === classes.map(String).join("\u0000") ? this.state.labelled : null;
    this.state = {
      loaded,
      classes,
      keys: classes.map(String),
      idTails: classes.map((_, c) => idTails(c)),
      profile,
      profiler,
      predictions: new PredictionWindow(this.config.windowSize),
      texts: profiler && profile ? new TextWindow(this.config.textWindowSize, profile.topTerms.terms.length) : null,
      // Live accuracy is about the service, so it carries over a reload with the same classes.
      labelled: previousLabelled ?? new LabelledWindow(this.config.feedbackWindow),
    };
    this.profileLoaded.set(profile ? 1 : 0);
    if (profile) {
      this.oovRate.set({ window: "reference" }, profile.oovRate);
      if (profile.accuracy !== undefined) this.referenceAccuracy.set(profile.accuracy);
    }
    for (const s of DRIFT_STATISTICS) this.drift.remove({ statistic: s });
    this.lastDrift = null;
    return this.state;
  }

  /** Called when the server swaps models, so the gauges follow the new model before its first prediction. */
  modelChanged(loaded: MonitoredModel): void {
    this.stateFor(loaded);
  }
}
