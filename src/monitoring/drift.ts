import type { ReferenceProfile } from "./profile.js";
import { binCounts, jensenShannon, psi, termChiSquarePerTerm, termShifts, toProportions, totalVariation } from "./stats.js";
import type { PredictionWindow, TextWindow } from "./window.js";

/**
 * Drift of a window of traffic against the reference profile: the statistics the server
 * exports as `model_drift{statistic}` and `polarity monitor report` prints. Pure.
 */

export const DRIFT_STATISTICS = ["score_psi", "score_js", "length_psi", "length_js", "class_mix_tv", "oov_shift", "top_terms_chi2"] as const;
export type DriftStatistic = (typeof DRIFT_STATISTICS)[number];
export type DriftValues = Record<DriftStatistic, number>;

/**
 * Alarm thresholds, one per statistic (the server exports them as
 * `model_drift_threshold{statistic}` so the alert rules and the report use the same
 * numbers). Chosen from the measurements in test/monitoring/drift-detection.test.ts:
 * windows of 500 in-distribution predictions stay well below them (expected PSI under no
 * drift is ≈ (bins − 1)/n ≈ 0.02), a change of domain or of text length crosses them.
 */
export const DEFAULT_THRESHOLDS: Readonly<DriftValues> = Object.freeze({
  score_psi: 0.2,
  score_js: 0.2,
  length_psi: 0.25,
  length_js: 0.2,
  class_mix_tv: 0.15,
  oov_shift: 0.1,
  top_terms_chi2: 3,
});

/** Windows smaller than this export no drift (the statistics are noise below it). */
export const MIN_WINDOW = 100;

export interface DriftResult {
  values: DriftValues;
  predictions: number;
  texts: number;
  /** Current-window distributions, for plots. */
  current: { score: number[]; length: number[]; classMix: number[]; oovRate: number; termDf: number[] };
  /** Per top term: signed chi-square contribution (+ used more than in the reference). */
  termShift: number[];
}

/** Statistics of score / length / class mix from predictions and OOV / term shift from profiled texts (NaN where a window is too small). */
export function computeDrift(profile: ReferenceProfile, predictions: PredictionWindow, texts: TextWindow | null, minWindow = MIN_WINDOW): DriftResult {
  const n = predictions.size;
  const scoreCounts = binCounts(predictions.scores, n, profile.score.edges, new Float64Array(profile.score.proportions.length));
  const lengthCounts = binCounts(predictions.lengths, n, profile.length.edges, new Float64Array(profile.length.proportions.length));
  const classCounts = new Float64Array(profile.classMix.length);
  for (let i = 0; i < n; i++) if (predictions.classes[i] < classCounts.length) classCounts[predictions.classes[i]]++;
  return driftFromCounts(profile, scoreCounts, lengthCounts, classCounts, n, texts, minWindow);
}

/** Same as computeDrift from already-binned counts (the report bins prediction-log rows itself). */
export function driftFromCounts(
  profile: ReferenceProfile,
  scoreCounts: Float64Array,
  lengthCounts: Float64Array,
  classCounts: Float64Array,
  n: number,
  texts: TextWindow | { tokens: number; oov: number; docs: number; termDocCounts: Float64Array } | null,
  minWindow = MIN_WINDOW,
): DriftResult {
  const score = toProportions(scoreCounts);
  const length = toProportions(lengthCounts);
  const classMix = toProportions(classCounts);
  const enough = n >= minWindow;
  const values: DriftValues = {
    score_psi: enough ? psi(profile.score.proportions, score) : NaN,
    score_js: enough ? jensenShannon(profile.score.proportions, score) : NaN,
    length_psi: enough ? psi(profile.length.proportions, length) : NaN,
    length_js: enough ? jensenShannon(profile.length.proportions, length) : NaN,
    class_mix_tv: enough ? totalVariation(profile.classMix, classMix) : NaN,
    oov_shift: NaN,
    top_terms_chi2: NaN,
  };
  const k = profile.topTerms.terms.length;
  const termDf = new Float64Array(k);
  let termShift: Float64Array = new Float64Array(k);
  let oovRate = NaN;
  let docs = 0;
  if (texts) {
    let totals: { tokens: number; oov: number; docs: number };
    if ("termDocCounts" in texts) {
      totals = texts;
      termDf.set(texts.termDocCounts);
    } else totals = texts.totals(termDf);
    docs = totals.docs;
    if (docs >= minWindow) {
      oovRate = totals.tokens === 0 ? 0 : totals.oov / totals.tokens;
      values.oov_shift = oovRate - profile.oovRate;
      values.top_terms_chi2 = termChiSquarePerTerm(profile.topTerms.df, termDf, docs, profile.rows);
      termShift = termShifts(profile.topTerms.df, termDf, docs, profile.rows);
    }
    if (docs > 0) for (let j = 0; j < k; j++) termDf[j] /= docs;
  }
  return {
    values,
    predictions: n,
    texts: docs,
    current: { score: [...score], length: [...length], classMix: [...classMix], oovRate, termDf: [...termDf] },
    termShift: [...termShift],
  };
}

/** The statistics over their thresholds (NaN never is). */
export function driftAlarms(values: DriftValues, thresholds: Readonly<DriftValues> = DEFAULT_THRESHOLDS): DriftStatistic[] {
  return DRIFT_STATISTICS.filter((s) => values[s] > thresholds[s]);
}
