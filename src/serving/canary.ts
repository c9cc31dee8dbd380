import type { ServableModel } from "./model-types.js";

/**
 * The canary check a new version passes before it is swapped in (issue 9 item 12), as the
 * promotion gates would: score a few texts and refuse non-finite, out-of-range or saturated
 * probabilities, and outputs that moved wildly from the served model's on the same texts.
 * The texts come from the bundle (`metadata.canary_texts`) when it ships them, else this
 * built-in set of plain English reviews.
 */
export const DEFAULT_CANARY_TEXTS: readonly string[] = [
  "I love this, it works great and I am very happy with it.",
  "Terrible quality, it broke after one day. Very disappointed.",
  "The food was good and the service was friendly.",
  "Worst purchase ever, a complete waste of money.",
  "It is okay, nothing special but it does the job.",
  "Excellent film, the acting was wonderful.",
  "The battery dies quickly and the screen is dim.",
  "Highly recommended, I would buy it again.",
  "Not good at all, I want my money back.",
  "Fast delivery and the product is exactly as described.",
  "The plot was boring and far too long.",
  "Great value for the price.",
];

/** Over this share of canary texts at probability ≥ 1 − 1e-9 the model is saturated (e.g. coefficients of ±1e308). */
const SATURATED_SHARE = 0.75;
/** Refuse when the mean absolute change of a class probability on the canary set exceeds this. */
export const MAX_CANARY_SHIFT = 0.5;

export function canaryTexts(model: ServableModel): string[] {
  const given = model.metadata.canary_texts;
  if (Array.isArray(given) && given.length > 0 && given.length <= 1000 && given.every((t) => typeof t === "string")) return given as string[];
  return [...DEFAULT_CANARY_TEXTS];
}

/** Probability rows (texts × classes, in `model.classes` order) on `texts`. */
export function canaryScores(model: ServableModel, texts: readonly string[]): number[][] {
  const keys = model.classes.map(String);
  return model.predict([...texts]).map((p) => keys.map((k) => p.probabilities[k]));
}

/** Why `next` must not be served, or null when it passes. `current` is the model being served (if any). */
export function canaryRefusal(next: ServableModel, current: ServableModel | null): string | null {
  const texts = canaryTexts(next);
  let rows: number[][];
  try {
    rows = canaryScores(next, texts);
  } catch (err) {
    return `scoring the canary texts failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  let saturated = 0;
  for (let i = 0; i < rows.length; i++) {
    let sum = 0;
    let max = 0;
    for (const p of rows[i]) {
      if (!Number.isFinite(p) || p < 0 || p > 1) return `canary text ${i} got a non-finite or out-of-range probability (${p})`;
      sum += p;
      max = Math.max(max, p);
    }
    if (Math.abs(sum - 1) > 1e-6) return `canary text ${i}: probabilities sum to ${sum}, not 1`;
    if (max >= 1 - 1e-9) saturated++;
  }
  if (rows.length > 0 && saturated / rows.length >= SATURATED_SHARE) {
    return `${saturated} of ${rows.length} canary texts are scored with certainty (probability 1): the coefficients look out of range`;
  }
  if (current && sameClasses(next, current)) {
    const before = canaryScores(current, texts);
    let shift = 0;
    for (let i = 0; i < rows.length; i++) shift += Math.abs(rows[i][0] - before[i][0]);
    shift /= rows.length;
    if (shift > MAX_CANARY_SHIFT)
      return `outputs on the canary texts moved by ${shift.toFixed(3)} on average from the served version (limit ${MAX_CANARY_SHIFT})`;
  }
  return null;
}

function sameClasses(a: ServableModel, b: ServableModel): boolean {
  return a.classes.length === b.classes.length && a.classes.every((c, i) => String(c) === String(b.classes[i]));
}
