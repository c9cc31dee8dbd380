import fs from "node:fs";
import path from "node:path";
import Papa from "papaparse";
import YAML from "yaml";
import { DataError } from "../util/errors.js";
import { loadPipeline, type Pipeline, type PlotProps, projectPath } from "./dvcyaml.js";
import { writeFileAtomicSync } from "../util/atomic-write.js";

type Row = Record<string, unknown>;

export interface PlotSpec {
  id: string;
  props: PlotProps;
  files: Array<{ path: string; y?: string[] }>;
}

const IMAGE_TYPES: Record<string, string> = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".svg": "image/svg+xml" };

/** Declared plots: stage `plots` outs (with their props) and top-level `plots`, project-relative paths. */
export function plotSpecs(p: Pipeline): PlotSpec[] {
  const specs: PlotSpec[] = [];
  for (const s of p.stages) {
    for (const o of s.outs) {
      if (o.kind !== "plots") continue;
      const rel = projectPath(p.root, o.abs);
      specs.push({ id: rel, props: o.plot ?? {}, files: [{ path: rel }] });
    }
  }
  for (const t of p.plots) {
    specs.push({ id: t.id, props: t.props, files: t.files.map((f) => ({ path: projectPath(p.root, path.resolve(p.root, f.path)), y: f.y })) });
  }
  return specs;
}

/** Rows of a CSV/TSV/JSON/YAML plots file (JSON/YAML: a list of records, or a mapping holding one). */
export function readPlotRows(abs: string, label: string): Row[] {
  const ext = path.extname(abs).toLowerCase();
  const text = fs.readFileSync(abs, "utf8");
  if (ext === ".csv" || ext === ".tsv") {
    const res = Papa.parse<Row>(text.trim(), { header: true, dynamicTyping: true, delimiter: ext === ".tsv" ? "\t" : ",", skipEmptyLines: true });
    if (res.errors.length) throw new DataError(`${label}: ${res.errors[0].message} (row ${res.errors[0].row})`);
    return res.data;
  }
  let data: unknown;
  try {
    data = ext === ".json" ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new DataError(`${label}: cannot parse: ${(err as Error).message.split("\n")[0]}`);
  }
  if (data && typeof data === "object" && !Array.isArray(data)) {
    const lists = Object.values(data).filter(Array.isArray);
    if (lists.length === 1) data = lists[0];
  }
  if (!Array.isArray(data) || !data.every((r) => r && typeof r === "object")) throw new DataError(`${label}: expected a list of records`);
  return data as Row[];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

function niceTicks(min: number, max: number, count = 5): number[] {
  if (min === max) return [min];
  const step = Math.pow(10, Math.floor(Math.log10((max - min) / count)));
  const err = (max - min) / count / step;
  const mult = err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
  const s = step * mult;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / s) * s; t <= max + 1e-12; t += s) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

interface Series {
  name: string;
  xs: number[];
  ys: number[];
}

/** An SVG line (or scatter) chart; self-contained, no scripts. */
export function renderLineSvg(series: Series[], opts: { title: string; xLabel: string; yLabel: string; scatter?: boolean }): string {
  const W = 640;
  const H = 360;
  const m = { l: 60, r: 150, t: 30, b: 45 };
  const allX = series.flatMap((s) => s.xs);
  const allY = series.flatMap((s) => s.ys);
  if (allX.length === 0) return `<p class="empty">no numeric data</p>`;
  let [x0, x1] = [Math.min(...allX), Math.max(...allX)];
  let [y0, y1] = [Math.min(...allY), Math.max(...allY)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  ];
  parts.push(`<text x="${W / 2 - m.r / 2}" y="18" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/><text x="${m.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`,
  );
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = s.xs.map((x, j) => `${sx(x).toFixed(1)},${sy(s.ys[j]).toFixed(1)}`);
    if (opts.scatter) for (const p of pts) parts.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="2.5" fill="${color}"/>`);
    else parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.join(" ")}"/>`);
    parts.push(
      `<rect x="${W - m.r + 12}" y="${m.t + i * 16}" width="10" height="10" fill="${color}"/><text x="${W - m.r + 26}" y="${m.t + i * 16 + 9}">${esc(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

/** A confusion matrix (counts of (actual=x, predicted=y) pairs) as an HTML table heat map. */
function renderConfusion(rows: Row[], x: string, y: string, normalized: boolean): string {
  const labels = [...new Set(rows.flatMap((r) => [String(r[x]), String(r[y])]))].sort();
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(`${r[x]}\u0000${r[y]}`, (counts.get(`${r[x]}\u0000${r[y]}`) ?? 0) + 1);
  const rowTotals = new Map(labels.map((a) => [a, labels.reduce((s, p) => s + (counts.get(`${a}\u0000${p}`) ?? 0), 0)]));
  const max = Math.max(1, ...counts.values());
  const cells = labels.map(
    (a) =>
      `<tr><th>${esc(a)}</th>${labels
        .map((p) => {
          const c = counts.get(`${a}\u0000${p}`) ?? 0;
          const v = normalized ? c / Math.max(1, rowTotals.get(a)!) : c;
          const shade = Math.round(255 - (normalized ? v : c / max) * 180);
          return `<td style="background:rgb(${shade},${shade},255)">${normalized ? v.toFixed(3) : c}</td>`;
        })
        .join("")}</tr>`,
  );
  return `<table class="cm"><tr><th>${esc(x)} \\ ${esc(y)}</th>${labels.map((l) => `<th>${esc(l)}</th>`).join("")}</tr>${cells.join("")}</table>`;
}

function renderPlot(root: string, spec: PlotSpec): string {
  const title = spec.props.title ?? spec.id;
  const blocks: string[] = [];
  const series: Series[] = [];
  let xName = spec.props.x ?? "step";
  const template = spec.props.template ?? "linear";
  for (const f of spec.files) {
    const abs = path.join(root, f.path);
    if (!fs.existsSync(abs)) {
      blocks.push(`<p class="err">${esc(f.path)}: file does not exist (run 'polarity repro' first)</p>`);
      continue;
    }
    const mime = IMAGE_TYPES[path.extname(abs).toLowerCase()];
    if (mime) {
      blocks.push(`<img alt="${esc(f.path)}" src="data:${mime};base64,${fs.readFileSync(abs).toString("base64")}"/>`);
      continue;
    }
    let rows: Row[];
    try {
      rows = readPlotRows(abs, f.path);
    } catch (err) {
      blocks.push(`<p class="err">${esc((err as Error).message)}</p>`);
      continue;
    }
    if (template.startsWith("confusion")) {
      const x = spec.props.x ?? "actual";
      const y = (f.y ?? (typeof spec.props.y === "string" ? [spec.props.y] : spec.props.y) ?? ["predicted"])[0];
      blocks.push(renderConfusion(rows, x, y, template === "confusion_normalized"));
      continue;
    }
    const hasX = spec.props.x !== undefined && rows.some((r) => typeof r[spec.props.x!] === "number");
    if (!hasX) xName = "step";
    const cols =
      f.y ??
      (spec.props.y === undefined ? undefined : typeof spec.props.y === "string" ? [spec.props.y] : spec.props.y) ??
      Object.keys(rows[0] ?? {}).filter((k) => k !== spec.props.x && rows.some((r) => typeof r[k] === "number"));
    for (const c of cols) {
      const xs: number[] = [];
      const ys: number[] = [];
      rows.forEach((r, i) => {
        const yv = r[c];
        const xv = hasX ? r[spec.props.x!] : i;
        if (typeof yv === "number" && Number.isFinite(yv) && typeof xv === "number") {
          xs.push(xv);
          ys.push(yv);
        }
      });
      series.push({ name: spec.files.length > 1 ? `${f.path}: ${c}` : c, xs, ys });
    }
  }
  if (series.length) {
    const yLabel = spec.props.y_label ?? (series.length === 1 ? series[0].name : "value");
    blocks.unshift(renderLineSvg(series, { title, xLabel: spec.props.x_label ?? xName, yLabel, scatter: template === "scatter" }));
  }
  return `<section><h2>${esc(title)}</h2>${blocks.join("\n")}</section>`;
}

/** `plots show`: renders every declared plot into one self-contained HTML page (inline SVG, no external assets). */
export function renderPlotsHtml(root: string, outFile: string): { file: string; plots: string[] } {
  const pipeline = loadPipeline(root);
  const specs = plotSpecs(pipeline);
  const sections = specs.map((s) => renderPlot(root, s));
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Polarity plots</title>
<style>body{font-family:sans-serif;margin:2em;color:#222}section{margin-bottom:2em}h2{font-size:1.1em}.err{color:#b00}table.cm{border-collapse:collapse}table.cm td,table.cm th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style>
</head><body><h1>Plots</h1>
${sections.length ? sections.join("\n") : "<p>No plots declared in dvc.yaml.</p>"}
</body></html>
`;
  writeFileAtomicSync(outFile, html);
  return { file: outFile, plots: specs.map((s) => s.id) };
}
