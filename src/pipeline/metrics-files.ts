import fs from "node:fs";
import path from "node:path";
import { DataError } from "../util/errors.js";
import { loadPipeline, type Pipeline, PIPELINE_FILE, projectPath } from "./dvcyaml.js";
import { gitShow } from "./git.js";
import { DEFAULT_PARAMS_FILE, flattenParams, paramsEqual, parseParamsText } from "./params-files.js";
import { plainValue, YamlFloat } from "./yaml-values.js";
export { formatTable } from "../util/text-table.js";

/** Metrics files: stage `metrics` outs plus top-level `metrics`, project-relative. */
export function metricsFiles(p: Pipeline): string[] {
  const files = new Set<string>();
  for (const s of p.stages) for (const o of s.outs) if (o.kind === "metrics") files.add(projectPath(p.root, o.abs));
  for (const m of p.metrics) files.add(projectPath(p.root, path.resolve(p.root, m)));
  return [...files];
}

/** Params files the pipeline tracks (stage params and top-level `params`), project-relative. */
export function paramsFiles(p: Pipeline): string[] {
  const files = new Set<string>();
  for (const s of p.stages) for (const d of s.params) files.add(projectPath(p.root, d.abs));
  for (const f of p.paramsFiles) files.add(projectPath(p.root, path.resolve(p.root, f)));
  if (files.size === 0 && fs.existsSync(path.join(p.root, DEFAULT_PARAMS_FILE))) files.add(DEFAULT_PARAMS_FILE);
  return [...files];
}

/**
 * Flat `{key: value}` of a YAML/JSON file's text. Every field is kept, numeric or not, as
 * `dvc metrics show` does. Metrics read as plain numbers; params keep YAML's float form
 * (YamlFloat) so a diff shows `10.0 → 1.0` as DVC does.
 */
function flatValues(text: string, label: string, plain: boolean): Record<string, unknown> {
  const flat = flattenParams(parseParamsText(text, label));
  return plain ? (plainValue(flat) as Record<string, unknown>) : flat;
}

function readAt(root: string, rel: string, rev: string | null): string | null {
  if (rev === null) {
    const abs = path.join(root, rel);
    return fs.existsSync(abs) ? fs.readFileSync(abs, "utf8") : null;
  }
  return gitShow(root, rev, rel);
}

export interface ValuesByFile {
  [file: string]: { data?: Record<string, unknown>; error?: string };
}

function collect(root: string, files: string[], rev: string | null, plain: boolean): ValuesByFile {
  const out: ValuesByFile = {};
  for (const f of files) {
    const text = readAt(root, f, rev);
    if (text === null) {
      out[f] = { error: rev ? `not in revision ${rev}` : "file does not exist" };
      continue;
    }
    try {
      out[f] = { data: flatValues(text, f, plain) };
    } catch (err) {
      out[f] = { error: err instanceof DataError ? err.message : String(err) };
    }
  }
  return out;
}

export function showMetrics(root: string, rev: string | null = null): ValuesByFile {
  return collect(root, metricsFiles(loadPipeline(root, PIPELINE_FILE)), rev, true);
}

export interface DiffRow {
  path: string;
  key: string;
  old: unknown;
  new: unknown;
  diff?: number;
}

function diffValues(oldV: ValuesByFile, newV: ValuesByFile, all: boolean): DiffRow[] {
  const rows: DiffRow[] = [];
  const files = [...new Set([...Object.keys(oldV), ...Object.keys(newV)])].sort();
  for (const f of files) {
    const a = oldV[f]?.data ?? {};
    const b = newV[f]?.data ?? {};
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const o = key in a ? a[key] : null;
      const n = key in b ? b[key] : null;
      const same = paramsEqual(o, n);
      if (same && !all) continue;
      const row: DiffRow = { path: f, key, old: o, new: n };
      if (typeof o === "number" && typeof n === "number") row.diff = n - o;
      rows.push(row);
    }
  }
  return rows;
}

/** Metrics in the workspace against git revision `rev` (default HEAD). */
export function diffMetrics(root: string, rev = "HEAD", all = false): DiffRow[] {
  const files = metricsFiles(loadPipeline(root));
  return diffValues(collect(root, files, rev, true), collect(root, files, null, true), all);
}

/** Tracked params in the workspace against git revision `rev` (default HEAD). Only changed ones unless `all`. */
export function diffParams(root: string, rev = "HEAD", all = false): DiffRow[] {
  const files = paramsFiles(loadPipeline(root));
  return diffValues(collect(root, files, rev, false), collect(root, files, null, false), all);
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (v instanceof YamlFloat) return String(v);
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  return typeof v === "string" ? v : JSON.stringify(v);
}
