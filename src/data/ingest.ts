import { DataError } from "../util/errors.js";
import { stratifiedTrainTestSplit } from "../util/stratified-split.js";
import type { Label } from "../util/labels.js";
import { cleanLabelledData } from "./clean.js";
import { assertUsable, buildValidationReport, type ValidationReport } from "./report.js";
import type { CleanStats } from "./clean.js";
import { UCI_CLASS_NAMES } from "./builtin.js";
import { loadSource, type SourceInfo, type SourceOptions } from "./sources.js";

/**
 * Ingestion as one library call: load a source, clean and map labels, check the data are
 * usable, split stratified and seeded, and describe it all in a validation report. No files
 * are written here (the `ingest` stage does that), so a failure leaves nothing behind.
 */

export interface IngestOptions extends SourceOptions {
  textColumn: string;
  labelColumn: string;
  labelMap: Record<string, Label> | null;
  /** Fraction of rows (0 < x < 1) or a row count (integer ≥ 1) for the held-out split. */
  testSize: number;
  /**
   * A separately supplied test split (file, URL or built-in name, same parsing options and
   * label map): then `source` is all training data and `testSize` is not used. The
   * `http.sha256` pin applies to `source` only.
   */
  testSource?: string | null;
  seed: number;
  minRows: number;
}

export interface IngestResult {
  train: { texts: string[]; labels: Label[] };
  test: { texts: string[]; labels: Label[] };
  report: ValidationReport;
  source: SourceInfo;
  /** What each class id means, keyed by String(class), for the classes present; null when the labels name themselves. */
  classNames: Record<string, string> | null;
}

export async function ingestDataset(opts: IngestOptions, log: (line: string) => void = () => {}): Promise<IngestResult> {
  log(`reading ${opts.source}`);
  const { table, info } = await loadSource(opts);
  log(`read ${table.rows.length} rows (${info.format}, ${info.bytes} bytes, sha256 ${info.sha256.slice(0, 12)}…); columns: ${table.columns.join(", ")}`);
  const where = info.type === "builtin" ? info.uri : opts.source;
  const clean = cleanLabelledData(table, { textColumn: opts.textColumn, labelColumn: opts.labelColumn, labelMap: opts.labelMap, where });
  const s = clean.stats;
  log(
    `kept ${s.rowsKept} rows; dropped ${s.emptyText} empty text, ${s.missingLabel} missing label, ${s.otherLabelRows} other label` +
      (s.otherLabelRows
        ? ` (${Object.entries(s.otherLabels)
            .map(([l, n]) => `${l}: ${n}`)
            .join(", ")})`
        : "") +
      `, ${s.duplicates} duplicate`,
  );
  if (opts.testSource !== undefined && opts.testSource !== null) {
    return await withTestSource(opts, { texts: clean.texts, labels: clean.labels }, s, info, log);
  }
  assertUsable(clean.texts, clean.labels, s, { minRows: opts.minRows, minRowsPerClass: 2 }, where);

  const split = stratifiedTrainTestSplit(clean.labels, { testSize: opts.testSize, seed: opts.seed });
  const pick = (idx: Int32Array) => ({ texts: Array.from(idx, (i) => clean.texts[i]), labels: Array.from(idx, (i) => clean.labels[i]) });
  const train = pick(split.train);
  const test = pick(split.test);
  const report = buildValidationReport({ source: { ...info }, stats: s, train, test, split: { testSize: opts.testSize, seed: opts.seed } });
  log(
    `split ${train.texts.length} train / ${test.texts.length} test (test_size ${opts.testSize}, seed ${opts.seed}); classes ${JSON.stringify(report.classCounts)}`,
  );
  for (const w of report.warnings) log(`warning: ${w}`);
  return { train, test, report, source: info, classNames: classNamesOf(opts.labelMap, info.type === "builtin" ? UCI_CLASS_NAMES : null, clean.labels) };
}

/**
 * `source` is the training split as it is; `testSource` (same parsing options, columns and
 * label map) is the test split. The test set must only hold classes the training set has
 * (a model cannot predict a class it never saw); the report's overlap counts texts in both.
 */
async function withTestSource(
  opts: IngestOptions,
  train: { texts: string[]; labels: Label[] },
  trainStats: CleanStats,
  info: SourceInfo,
  log: (line: string) => void,
): Promise<IngestResult> {
  const testSource = opts.testSource as string;
  assertUsable(train.texts, train.labels, trainStats, { minRows: opts.minRows, minRowsPerClass: 1 }, opts.source);
  log(`reading the test split ${testSource}`);
  const loaded = await loadSource({ ...opts, source: testSource, http: { ...opts.http, sha256: null } });
  const where = loaded.info.type === "builtin" ? loaded.info.uri : testSource;
  const clean = cleanLabelledData(loaded.table, { textColumn: opts.textColumn, labelColumn: opts.labelColumn, labelMap: opts.labelMap, where });
  if (clean.texts.length === 0) throw new DataError(`ingest.test_source ${where}: no usable rows out of ${clean.stats.rowsRead} read`);
  const known = new Set(train.labels.map(String));
  const unseen = [...new Set(clean.labels.map(String))].filter((l) => !known.has(l));
  if (unseen.length > 0) {
    throw new DataError(
      `ingest.test_source ${where}: label${unseen.length > 1 ? "s" : ""} ${unseen.map((l) => JSON.stringify(l)).join(", ")} not in the training data ${opts.source} ` +
        `(classes ${JSON.stringify([...known])}); map or drop ${unseen.length > 1 ? "them" : "it"} with ingest.label_map`,
    );
  }
  const test = { texts: clean.texts, labels: clean.labels };
  const stats: CleanStats = { ...trainStats };
  const report = buildValidationReport({
    source: { ...info, test: { ...loaded.info, dropped: clean.stats } },
    stats,
    train,
    test,
    split: { testSize: test.texts.length, seed: opts.seed },
  });
  log(
    `train ${train.texts.length} rows from ${opts.source} / test ${test.texts.length} rows from ${testSource} (ingest.test_source; test_size not used); classes ${JSON.stringify(report.classCounts)}`,
  );
  for (const w of report.warnings) log(`warning: ${w}`);
  return {
    train,
    test,
    report,
    source: info,
    classNames: classNamesOf(opts.labelMap, info.type === "builtin" ? UCI_CLASS_NAMES : null, [...train.labels, ...test.labels]),
  };
}

/**
 * Class names for numeric class ids: from the label map (`{positive: 1, negative: 0}` names
 * class 1 "positive"; the first raw label mapped to an id names it), else the built-in data's
 * own names. String labels are their own names (null).
 */
export function classNamesOf(
  labelMap: Record<string, Label> | null,
  sourceNames: Readonly<Record<string, string>> | null,
  labels: readonly Label[],
): Record<string, string> | null {
  const present = new Set(labels.map(String));
  const names: Record<string, string> = {};
  if (labelMap) {
    for (const [raw, id] of Object.entries(labelMap)) {
      if (typeof id === "number" && present.has(String(id)) && names[String(id)] === undefined) names[String(id)] = raw;
    }
  } else if (sourceNames && labels.every((l) => typeof l === "number")) {
    for (const [id, name] of Object.entries(sourceNames)) if (present.has(id)) names[id] = name;
  }
  if (new Set(Object.values(names)).size !== Object.keys(names).length) return null;
  return Object.keys(names).length > 0 ? names : null;
}
