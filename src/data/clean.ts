import { DataError } from "../util/errors.js";
import type { Label } from "../util/labels.js";
import type { Table } from "./table.js";

/**
 * From raw records to labelled texts: pick the text and label columns, map labels, and drop
 * (and count) what cannot be used — empty texts, missing labels, labels outside the mapping,
 * duplicate texts. Pure.
 */

export interface CleanOptions {
  textColumn: string;
  /** How the user chooses the columns, for the missing-column error: the CLI's flags, or params.yaml's keys (the default). */
  columnFlags?: { text: string; label: string };
  labelColumn: string;
  /**
   * Raw label (as text, e.g. "positive", "1", "happiness") → label to train on. When given,
   * rows whose label is not a key are dropped and counted per raw label. When null, every
   * non-empty label is kept as is.
   */
  labelMap: Record<string, Label> | null;
  /** Used in error messages, e.g. the file name. */
  where: string;
}

export interface CleanStats {
  rowsRead: number;
  rowsKept: number;
  emptyText: number;
  missingLabel: number;
  /** Rows dropped because their label is not in the mapping, by raw label. */
  otherLabels: Record<string, number>;
  otherLabelRows: number;
  /** Later rows whose text (whitespace-normalised, case-insensitive) was already seen; the first one is kept. */
  duplicates: number;
  /** Of those duplicates, how many carried a different label than the kept row. */
  conflictingDuplicates: number;
}

export interface CleanData {
  texts: string[];
  labels: Label[];
  stats: CleanStats;
}

/**
 * Text key for duplicate detection: trimmed, inner whitespace collapsed, lowercased. Case is
 * ignored because preprocessing lowercases by default: "Great phone!" in train and "great
 * phone!" in test would be the same features on both sides of the split (leakage).
 */
export function duplicateKey(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}

export function cleanLabelledData(table: Table, opts: CleanOptions): CleanData {
  const missing = [opts.textColumn, opts.labelColumn].filter((c) => !table.columns.includes(c));
  if (missing.length > 0) {
    const found = `columns found: ${table.columns.map((c) => JSON.stringify(c)).join(", ") || "none"}`;
    const what = `${opts.where}: column${missing.length > 1 ? "s" : ""} ${missing.map((c) => JSON.stringify(c)).join(" and ")} not found; ${found}`;
    const flags = opts.columnFlags;
    if (flags) {
      const pass = missing.map((c) => (c === opts.textColumn ? `${flags.text} <column>` : `${flags.label} <column>`));
      throw new DataError(`${what} — pass ${pass.join(" and ")}`);
    }
    const param = missing.map((c) => (c === opts.textColumn ? `ingest.text_column (${JSON.stringify(c)})` : `ingest.label_column (${JSON.stringify(c)})`));
    throw new DataError(`${what} — set ${param.join(" and ")} in params.yaml`);
  }
  const stats: CleanStats = {
    rowsRead: table.rows.length,
    rowsKept: 0,
    emptyText: 0,
    missingLabel: 0,
    otherLabels: {},
    otherLabelRows: 0,
    duplicates: 0,
    conflictingDuplicates: 0,
  };
  const texts: string[] = [];
  const labels: Label[] = [];
  const seen = new Map<string, Label>();
  for (const row of table.rows) {
    const text = cellText(row[opts.textColumn]);
    if (text === null || text.trim().length === 0) {
      stats.emptyText++;
      continue;
    }
    const raw = cellText(row[opts.labelColumn]);
    if (raw === null || raw.trim().length === 0) {
      stats.missingLabel++;
      continue;
    }
    const rawKey = raw.trim();
    let label: Label;
    if (opts.labelMap) {
      if (!Object.hasOwn(opts.labelMap, rawKey)) {
        stats.otherLabels[rawKey] = (stats.otherLabels[rawKey] ?? 0) + 1;
        stats.otherLabelRows++;
        continue;
      }
      label = opts.labelMap[rawKey];
    } else {
      label = rawKey;
    }
    const key = duplicateKey(text);
    const kept = seen.get(key);
    if (kept !== undefined) {
      stats.duplicates++;
      if (kept !== label) stats.conflictingDuplicates++;
      continue;
    }
    seen.set(key, label);
    texts.push(text);
    labels.push(label);
  }
  stats.rowsKept = texts.length;
  return { texts, labels: opts.labelMap ? labels : numericIfAll(labels), stats };
}

/** Unmapped labels read from text files are strings; when every one is an integer literal ("0", "1", "-1") they become numbers. */
export function numericIfAll(labels: Label[]): Label[] {
  if (labels.length === 0) return labels;
  // One pass, char codes instead of a regular expression per label (10^5 labels from a CSV
  // file: ~30 ms less of a training run's start, bench/core.ts).
  const out = new Array<Label>(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (typeof l === "number") out[i] = l;
    else {
      const v = integerLiteral(l);
      if (v === null) return labels;
      out[i] = v;
    }
  }
  return out;
}

/** The value of s if it matches /^-?\d+$/ (Number.parseInt's, -0 for "-0"), else null. */
function integerLiteral(s: string): number | null {
  const n = s.length;
  const neg = n > 0 && s.charCodeAt(0) === 45;
  const from = neg ? 1 : 0;
  if (n === from) return null;
  let v = 0;
  for (let i = from; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  // Past 15 digits the sum may round differently from parseInt's conversion: use it there.
  if (n - from > 15) return Number.parseInt(s, 10);
  return neg ? -v : v;
}

function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return null;
}
