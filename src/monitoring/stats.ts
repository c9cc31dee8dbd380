/**
 * Pure drift statistics over binned distributions (no I/O, no allocation in the counting
 * loops). Everything works on proportions: `reference` comes from the model's reference
 * profile, `current` from a window of recent traffic.
 */

/** Proportions below this are floored before taking logs (the usual PSI smoothing; keeps empty bins finite). */
export const PROPORTION_FLOOR = 1e-4;

/**
 * Bin index of `value` for ascending inner edges [e0, e1, …, e(k-2)] → k bins:
 * bin 0 is (-∞, e0), bin i is [e(i-1), e(i)), the last bin [e(k-2), +∞).
 */
export function binIndex(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value < edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Counts `values[0..n)` into `edges.length + 1` bins, written into `out` (zeroed first). */
export function binCounts(values: ArrayLike<number>, n: number, edges: ArrayLike<number>, out: Float64Array): Float64Array {
  out.fill(0);
  for (let i = 0; i < n; i++) out[binIndex(edges, values[i])]++;
  return out;
}

/** Counts → proportions (sum 1); all zeros stay zeros. */
export function toProportions(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const out = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) out[i] = counts[i] / total;
  return out;
}

function floored(p: number): number {
  return p < PROPORTION_FLOOR ? PROPORTION_FLOOR : p;
}

/**
 * Population Stability Index: Σ (q − p) · ln(q / p), p = reference, q = current
 * (proportions floored at PROPORTION_FLOOR). Rule of thumb: < 0.1 stable, 0.1–0.25 some
 * shift, > 0.25 a major shift. Under no drift its expectation is ≈ (k − 1)/n for a window of
 * n observations, so small windows need a higher threshold.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  checkSameLength(reference, current);
  let s = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = floored(reference[i]);
    const q = floored(current[i]);
    s += (q - p) * Math.log(q / p);
  }
  return s;
}

/**
 * Jensen–Shannon distance (the square root of the JS divergence with base-2 logs), in
 * [0, 1]: 0 for identical distributions, 1 for disjoint ones. Symmetric and finite without
 * smoothing, unlike PSI.
 */
export function jensenShannon(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  checkSameLength(reference, current);
  let d = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i];
    const q = current[i];
    const m = (p + q) / 2;
    if (p > 0) d += p * Math.log2(p / m);
    if (q > 0) d += q * Math.log2(q / m);
  }
  const divergence = Math.max(0, d / 2);
  return Math.sqrt(Math.min(1, divergence));
}

/** Total variation distance ½ Σ |p − q| in [0, 1]: how much of the class mix moved. */
export function totalVariation(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  checkSameLength(reference, current);
  let s = 0;
  for (let i = 0; i < reference.length; i++) s += Math.abs(reference[i] - current[i]);
  return s / 2;
}

/**
 * Two-sample chi-square of the reference's top terms: per term, the window's document count
 * against n · df (df = the reference document frequency), with the variance of the
 * difference of two binomial proportions, n·df·(1 − df)·(1 + n / referenceRows) — the
 * reference is a sample too, so a window larger than it is not "significant" on its noise
 * alone. Averaged over the terms: ≈ 1 when the window uses the terms as the reference did,
 * growing with the shift.
 */
export function termChiSquarePerTerm(referenceDf: ArrayLike<number>, observedDocCounts: ArrayLike<number>, n: number, referenceRows: number): number {
  checkSameLength(referenceDf, observedDocCounts);
  if (n <= 0 || referenceDf.length === 0) return 0;
  const shifts = termShifts(referenceDf, observedDocCounts, n, referenceRows);
  let s = 0;
  for (let j = 0; j < shifts.length; j++) s += Math.abs(shifts[j]);
  return s / shifts.length;
}

/** The contribution of each term to termChiSquarePerTerm (signed: + used more, − used less), for "most-shifted terms". */
export function termShifts(referenceDf: ArrayLike<number>, observedDocCounts: ArrayLike<number>, n: number, referenceRows: number): Float64Array {
  const out = new Float64Array(referenceDf.length);
  if (n <= 0) return out;
  const inflation = 1 + n / Math.max(referenceRows, 1);
  for (let j = 0; j < referenceDf.length; j++) {
    const df = Math.min(Math.max(referenceDf[j], 0), 1);
    const variance = Math.max(n * df * (1 - df) * inflation, 0.5);
    const diff = observedDocCounts[j] - n * df;
    out[j] = (Math.sign(diff) * diff * diff) / variance;
  }
  return out;
}

/**
 * Inner bin edges at the reference's quantiles (deduplicated, so heavily tied data gives
 * fewer bins): equal-mass bins are what PSI on a continuous variable is usually computed on.
 */
export function quantileEdges(values: ArrayLike<number>, bins: number): number[] {
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  if (sorted.length === 0) return edges;
  for (let b = 1; b < bins; b++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / bins))];
    if (edges.length === 0 || v > edges[edges.length - 1]) edges.push(v);
  }
  // A first edge at the minimum would leave bin 0 empty for ever; drop it.
  if (edges.length > 0 && edges[0] <= sorted[0]) edges.shift();
  return edges;
}

/** Accuracy and F1 from paired class indices; F1 is binary for class 1 with two classes, macro otherwise (sklearn's zero_division = 0). */
export function accuracyAndF1(predicted: ArrayLike<number>, actual: ArrayLike<number>, n: number, classes: number): { accuracy: number; f1: number } {
  if (n === 0) return { accuracy: NaN, f1: NaN };
  const tp = new Float64Array(classes);
  const fp = new Float64Array(classes);
  const fn = new Float64Array(classes);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const p = predicted[i];
    const a = actual[i];
    if (p === a) {
      correct++;
      tp[p]++;
    } else {
      fp[p]++;
      fn[a]++;
    }
  }
  const f1Of = (c: number): number => (2 * tp[c] + fp[c] + fn[c] === 0 ? 0 : (2 * tp[c]) / (2 * tp[c] + fp[c] + fn[c]));
  let f1: number;
  if (classes === 2) f1 = f1Of(1);
  else {
    f1 = 0;
    for (let c = 0; c < classes; c++) f1 += f1Of(c);
    f1 /= classes;
  }
  return { accuracy: correct / n, f1 };
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`distributions have ${a.length} and ${b.length} bins`);
}
