import { DataError } from "../util/errors.js";
import { uniqueSortedLabels, type Label } from "../util/labels.js";
import { duplicateKey, type CleanStats } from "./clean.js";

/**
 * The data validation report written by `polarity stage ingest` (reports/data_validation.json):
 * what was read, what was dropped and why, class balance per split, train/test overlap and
 * text length statistics. `assertUsable` turns the hard failures into one clear DataError.
 */

export interface LengthStats {
  min: number;
  max: number;
  mean: number;
  median: number;
  p95: number;
}

export interface SplitSummary {
  rows: number;
  classCounts: Record<string, number>;
  chars: LengthStats;
  words: LengthStats;
}

export interface ValidationReport {
  format: "polarity.data-validation";
  version: 1;
  source: Record<string, unknown>;
  rowsRead: number;
  rowsKept: number;
  dropped: {
    emptyText: number;
    missingLabel: number;
    otherLabel: number;
    otherLabels: Record<string, number>;
    duplicate: number;
    conflictingDuplicate: number;
  };
  classes: Label[];
  classCounts: Record<string, number>;
  split: { testSize: number; seed: number };
  train: SplitSummary;
  test: SplitSummary;
  /** Test texts that also occur in train: exactly (after trimming), and whitespace/case-normalised (both 0 after de-duplication). */
  overlap: { exact: number; normalized: number };
  warnings: string[];
}

export interface UsabilityRules {
  /** Fewer kept rows than this is an error. */
  minRows: number;
  /** Every class needs at least this many rows (≥ 2: one for train, one for test). */
  minRowsPerClass: number;
}

export function countClasses(labels: readonly Label[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of uniqueSortedLabels(labels)) counts[String(c)] = 0;
  for (const l of labels) counts[String(l)]++;
  return counts;
}

/** Fails with one message listing every problem that makes the data unusable for training. */
export function assertUsable(texts: readonly string[], labels: readonly Label[], stats: CleanStats, rules: UsabilityRules, where: string): void {
  const counts = countClasses(labels);
  const classes = Object.keys(counts);
  const dropped = describeDropped(stats);
  if (texts.length === 0) throw new DataError(`${where}: no usable rows out of ${stats.rowsRead} read${dropped}`);
  if (classes.length < 2) {
    throw new DataError(
      `${where}: only one class (${JSON.stringify(classes[0])}, ${texts.length} rows) after cleaning; a classifier needs at least two${dropped}`,
    );
  }
  if (texts.length < rules.minRows) {
    throw new DataError(`${where}: too few rows: ${texts.length} usable (need at least ${rules.minRows}, ingest.min_rows)${dropped}`);
  }
  const rare = classes.filter((c) => counts[c] < rules.minRowsPerClass);
  if (rare.length > 0) {
    throw new DataError(
      `${where}: class${rare.length > 1 ? "es" : ""} ${rare.map((c) => `${JSON.stringify(c)} (${counts[c]} row${counts[c] === 1 ? "" : "s"})`).join(", ")} ` +
        `too small: every class needs at least ${rules.minRowsPerClass} rows to appear in both train and test (map or drop it with ingest.label_map)`,
    );
  }
}

function describeDropped(stats: CleanStats): string {
  const parts: string[] = [];
  if (stats.emptyText) parts.push(`${stats.emptyText} empty text`);
  if (stats.missingLabel) parts.push(`${stats.missingLabel} missing label`);
  if (stats.otherLabelRows) {
    const top = Object.entries(stats.otherLabels)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([l, n]) => `${JSON.stringify(l)}×${n}`)
      .join(", ");
    parts.push(`${stats.otherLabelRows} with labels outside ingest.label_map (${top})`);
  }
  if (stats.duplicates) parts.push(`${stats.duplicates} duplicate`);
  return parts.length ? `; dropped: ${parts.join(", ")}` : "";
}

export function lengthStats(values: Float64Array): LengthStats {
  const n = values.length;
  if (n === 0) return { min: 0, max: 0, mean: 0, median: 0, p95: 0 };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return { min: sorted[0], max: sorted[n - 1], mean: round(sum / n), median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
}

/** Linear interpolation between closest ranks (numpy's default percentile method). */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return round(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function summarise(texts: readonly string[], labels: readonly Label[]): SplitSummary {
  const chars = new Float64Array(texts.length);
  const words = new Float64Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i].trim();
    chars[i] = t.length;
    words[i] = t.length === 0 ? 0 : t.split(/\s+/).length;
  }
  return { rows: texts.length, classCounts: countClasses(labels), chars: lengthStats(chars), words: lengthStats(words) };
}

export function buildValidationReport(args: {
  source: Record<string, unknown>;
  stats: CleanStats;
  train: { texts: readonly string[]; labels: readonly Label[] };
  test: { texts: readonly string[]; labels: readonly Label[] };
  split: { testSize: number; seed: number };
}): ValidationReport {
  const { stats, train, test } = args;
  const allLabels = [...train.labels, ...test.labels];
  const trainExact = new Set(train.texts.map((t) => t.trim()));
  const trainKeys = new Set(train.texts.map(duplicateKey));
  let exact = 0;
  let normalized = 0;
  for (const t of test.texts) {
    if (trainExact.has(t.trim())) exact++;
    if (trainKeys.has(duplicateKey(t))) normalized++;
  }
  const classCounts = countClasses(allLabels);
  const warnings: string[] = [];
  const countsArr = Object.values(classCounts);
  const ratio = Math.max(...countsArr) / Math.min(...countsArr);
  if (ratio > 10) warnings.push(`classes are imbalanced ${ratio.toFixed(1)}:1 (${JSON.stringify(classCounts)}); consider class weights or resampling`);
  if (normalized > 0) warnings.push(`${normalized} test text${normalized === 1 ? "" : "s"} also occur in train; held-out metrics may be optimistic`);
  if (stats.conflictingDuplicates > 0)
    warnings.push(
      `${stats.conflictingDuplicates} duplicate text${stats.conflictingDuplicates === 1 ? " had" : "s had"} a different label than the first occurrence (kept the first)`,
    );
  if (stats.rowsRead > 0 && stats.rowsKept / stats.rowsRead < 0.5) warnings.push(`only ${stats.rowsKept} of ${stats.rowsRead} rows were usable`);
  return {
    format: "polarity.data-validation",
    version: 1,
    source: args.source,
    rowsRead: stats.rowsRead,
    rowsKept: stats.rowsKept,
    dropped: {
      emptyText: stats.emptyText,
      missingLabel: stats.missingLabel,
      otherLabel: stats.otherLabelRows,
      otherLabels: stats.otherLabels,
      duplicate: stats.duplicates,
      conflictingDuplicate: stats.conflictingDuplicates,
    },
    classes: uniqueSortedLabels(allLabels),
    classCounts,
    split: args.split,
    train: summarise(train.texts, train.labels),
    test: summarise(test.texts, test.labels),
    overlap: { exact, normalized },
    warnings,
  };
}
