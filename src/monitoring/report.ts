import { DataError } from "../util/errors.js";
import { DEFAULT_THRESHOLDS, DRIFT_STATISTICS, driftAlarms, driftFromCounts, MIN_WINDOW, type DriftStatistic, type DriftValues } from "./drift.js";
import type { MonitoringLogs, PredictionLine } from "./logs.js";
import type { ReferenceProfile, TextProfiler } from "./profile.js";
import { accuracyAndF1, binIndex } from "./stats.js";

/**
 * `polarity monitor report`: the prediction log (and feedback) against the model's reference
 * profile, Evidently-style, offline. Pure: the CLI reads the files and writes the output.
 */

export interface ReportOptions {
  thresholds?: Readonly<DriftValues>;
  /** Predictions per window in "drift over time" (default 500). */
  window?: number;
  /** Labels per window in "live accuracy over time" (default 200). */
  feedbackWindow?: number;
  /** Live accuracy this far below the reference accuracy is an alarm (default 0.1, as PolarityLiveAccuracyDrop). */
  accuracyDrop?: number;
  /** Fewer labels than this never raise the accuracy alarm (default 50). */
  minLabelled?: number;
  /** Tokenises logged texts (when the log has them) for OOV and top-term drift. */
  profiler?: TextProfiler | null;
}

export interface TermShift {
  term: string;
  referenceDf: number;
  currentDf: number;
  /** Signed chi-square contribution: + used more than in the reference. */
  shift: number;
}

export interface MonitoringReport {
  format: "polarity.monitoring-report";
  version: 1;
  generatedAt: string;
  models: string[];
  thresholds: DriftValues;
  counts: { predictions: number; feedback: number; driftSnapshots: number; textsProfiled: number; skippedLines: number };
  period: { from: string | null; to: string | null };
  reference: {
    rows: number;
    classes: string[];
    score: { edges: number[]; proportions: number[] };
    length: { edges: number[]; proportions: number[] };
    classMix: number[];
    oovRate: number;
    accuracy: number | null;
  };
  current: { score: number[]; length: number[]; classMix: number[]; oovRate: number | null; values: DriftValues };
  alarms: DriftStatistic[];
  windows: { from: string; to: string; predictions: number; values: DriftValues }[];
  serverDrift: { ts: string; values: DriftValues }[];
  terms: TermShift[];
  live: {
    labelled: number;
    accuracy: number | null;
    f1: number | null;
    referenceAccuracy: number | null;
    drop: boolean;
    windows: { to: string; labelled: number; accuracy: number }[];
  };
  /** "drift" when a statistic crosses its threshold or live accuracy dropped; the CLI exits non-zero then. */
  status: "ok" | "drift" | "insufficient-data";
}

interface TextTotals {
  tokens: number;
  oov: number;
  docs: number;
  termDocCounts: Float64Array;
}

function windowStats(
  profile: ReferenceProfile,
  rows: readonly PredictionLine[],
  classIndex: Map<string, number>,
  profiler: TextProfiler | null | undefined,
  minWindow: number,
): { result: ReturnType<typeof driftFromCounts>; texts: TextTotals | null } {
  const scoreCounts = new Float64Array(profile.score.proportions.length);
  const lengthCounts = new Float64Array(profile.length.proportions.length);
  const classCounts = new Float64Array(profile.classes.length);
  const k = profile.topTerms.terms.length;
  let texts: TextTotals | null = null;
  const one = new Float64Array(k);
  for (const r of rows) {
    scoreCounts[binIndex(profile.score.edges, r.score)]++;
    lengthCounts[binIndex(profile.length.edges, r.length)]++;
    const c = classIndex.get(String(r.label));
    if (c !== undefined) classCounts[c]++;
    if (profiler && typeof r.text === "string") {
      texts ??= { tokens: 0, oov: 0, docs: 0, termDocCounts: new Float64Array(k) };
      one.fill(0);
      const s = profiler.observe(r.text, one);
      texts.tokens += s.tokens;
      texts.oov += s.oov;
      texts.docs++;
      for (let j = 0; j < k; j++) texts.termDocCounts[j] += one[j];
    }
  }
  return { result: driftFromCounts(profile, scoreCounts, lengthCounts, classCounts, rows.length, texts, minWindow), texts };
}

export function buildMonitoringReport(profile: ReferenceProfile, logs: MonitoringLogs, options: ReportOptions = {}): MonitoringReport {
  const thresholds = { ...DEFAULT_THRESHOLDS, ...(options.thresholds ?? {}) };
  const window = options.window ?? 500;
  const feedbackWindow = options.feedbackWindow ?? 200;
  if (!Number.isInteger(window) || window < MIN_WINDOW) throw new DataError(`--window must be an integer ≥ ${MIN_WINDOW}, got ${window}`);
  if (!Number.isInteger(feedbackWindow) || feedbackWindow < 10) throw new DataError(`--feedback-window must be an integer ≥ 10, got ${feedbackWindow}`);
  const classIndex = new Map(profile.classes.map((c, i) => [String(c), i]));
  const predictions = [...logs.predictions].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));

  const overall = windowStats(profile, predictions, classIndex, options.profiler, MIN_WINDOW);
  const windows: MonitoringReport["windows"] = [];
  for (let i = 0; i + window <= predictions.length; i += window) {
    const rows = predictions.slice(i, i + window);
    windows.push({
      from: rows[0].ts,
      to: rows[rows.length - 1].ts,
      predictions: rows.length,
      values: windowStats(profile, rows, classIndex, options.profiler, MIN_WINDOW).result.values,
    });
  }

  const terms: TermShift[] = profile.topTerms.terms.map((term, j) => ({
    term,
    referenceDf: profile.topTerms.df[j],
    currentDf: overall.result.current.termDf[j],
    shift: overall.result.termShift[j],
  }));
  terms.sort((a, b) => Math.abs(b.shift) - Math.abs(a.shift));

  // Live accuracy from feedback (the predicted label travels with each feedback line).
  const feedback = [...logs.feedback].sort((a, b) => (a.ts < b.ts ? -1 : 1));
  const predicted = new Int32Array(feedback.length);
  const actual = new Int32Array(feedback.length);
  let labelled = 0;
  for (const f of feedback) {
    const p = classIndex.get(String(f.predicted));
    const a = classIndex.get(String(f.label));
    if (p === undefined || a === undefined) continue;
    predicted[labelled] = p;
    actual[labelled] = a;
    labelled++;
  }
  const live = accuracyAndF1(predicted, actual, labelled, profile.classes.length);
  const liveWindows: MonitoringReport["live"]["windows"] = [];
  for (let i = 0; i + feedbackWindow <= labelled; i += feedbackWindow) {
    const w = accuracyAndF1(predicted.subarray(i, i + feedbackWindow), actual.subarray(i, i + feedbackWindow), feedbackWindow, profile.classes.length);
    liveWindows.push({ to: feedback[Math.min(feedback.length - 1, i + feedbackWindow - 1)].ts, labelled: feedbackWindow, accuracy: w.accuracy });
  }
  const referenceAccuracy = profile.accuracy ?? null;
  const drop = referenceAccuracy !== null && labelled >= (options.minLabelled ?? 50) && live.accuracy < referenceAccuracy - (options.accuracyDrop ?? 0.1);

  const alarms = driftAlarms(overall.result.values, thresholds);
  const enough = predictions.length >= MIN_WINDOW || labelled >= (options.minLabelled ?? 50);
  const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return {
    format: "polarity.monitoring-report",
    version: 1,
    generatedAt: new Date().toISOString(),
    models: [...new Set(predictions.map((p) => `${p.model ?? "?"}@${p.version ?? "?"}`))],
    thresholds,
    counts: {
      predictions: predictions.length,
      feedback: labelled,
      driftSnapshots: logs.drift.length,
      textsProfiled: overall.texts?.docs ?? 0,
      skippedLines: logs.skipped,
    },
    period: { from: predictions[0]?.ts ?? null, to: predictions[predictions.length - 1]?.ts ?? null },
    reference: {
      rows: profile.rows,
      classes: profile.classes.map(String),
      score: profile.score,
      length: profile.length,
      classMix: profile.classMix,
      oovRate: profile.oovRate,
      accuracy: referenceAccuracy,
    },
    current: {
      score: overall.result.current.score,
      length: overall.result.current.length,
      classMix: overall.result.current.classMix,
      oovRate: finite(overall.result.current.oovRate),
      values: overall.result.values,
    },
    alarms,
    windows,
    serverDrift: logs.drift.map((d) => ({ ts: d.ts, values: d.values })),
    // From logged texts when there are some, else the server's last snapshot (computed from texts it never wrote).
    terms: overall.texts ? terms.slice(0, 15) : (logs.drift.findLast((d) => Array.isArray(d.terms) && d.terms.length > 0)?.terms ?? []).slice(0, 15),
    live: { labelled, accuracy: finite(live.accuracy), f1: finite(live.f1), referenceAccuracy, drop, windows: liveWindows },
    status: alarms.length > 0 || drop ? "drift" : enough ? "ok" : "insufficient-data",
  };
}

/** JSON with NaN as null (JSON.stringify would write null anyway, but say so explicitly for readers). */
export function reportToJSON(report: MonitoringReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2);
}

export { DRIFT_STATISTICS };
