import Papa from "papaparse";
import { chart, PALETTE } from "../charts.js";

export type PlotKind = "roc" | "precision_recall" | "confusion";

type Row = Record<string, unknown>;

/** The pipeline's plot files (reports/plots/*.json, DVC's list-of-points layout) by shape. */
export function plotKind(data: unknown): PlotKind | undefined {
  if (!data || typeof data !== "object" || Array.isArray(data)) return undefined;
  const d = data as Record<string, unknown>;
  const rows = (k: string, a: string, b: string) =>
    Array.isArray(d[k]) && (d[k] as Row[]).length > 0 && (d[k] as Row[]).every((r) => r && typeof r === "object" && a in r && b in r);
  if (rows("roc", "fpr", "tpr")) return "roc";
  if (rows("precision_recall", "recall", "precision")) return "precision_recall";
  if (rows("confusion", "actual", "predicted")) return "confusion";
  return undefined;
}

/** Draws a ROC or precision-recall curve (one series per class) or the confusion matrix as a heatmap. */
export function drawPlotFile(el: HTMLElement, kind: PlotKind, data: unknown): void {
  const rows = (data as Record<string, Row[]>)[kind];
  if (kind === "confusion") {
    const labels = [...new Set(rows.flatMap((r) => [String(r.actual), String(r.predicted)]))].sort();
    const index = new Map(labels.map((l, i) => [l, i]));
    const counts = labels.map(() => labels.map(() => 0));
    for (const r of rows) counts[index.get(String(r.actual))!][index.get(String(r.predicted))!]++;
    const cells: Array<[number, number, number]> = [];
    let max = 0;
    counts.forEach((row, a) => row.forEach((n, p) => (cells.push([p, a, n]), (max = Math.max(max, n)))));
    el.dataset.cells = String(cells.length);
    chart(el, {
      title: { text: "Confusion matrix", left: "center", textStyle: { fontSize: 14 } },
      tooltip: {
        formatter: (p: unknown) => {
          const v = (p as { value: number[] }).value;
          return `actual ${labels[v[1]]}, predicted ${labels[v[0]]}: ${v[2]}`;
        },
      },
      grid: { left: 90, right: 30, top: 40, bottom: 60 },
      xAxis: { type: "category", data: labels, name: "predicted", nameLocation: "middle", nameGap: 30 },
      yAxis: { type: "category", data: labels, name: "actual", nameLocation: "middle", nameGap: 60, inverse: true },
      visualMap: { min: 0, max: Math.max(1, max), show: false, inRange: { color: ["#eff6ff", "#1d4ed8"] } },
      series: [{ type: "heatmap", data: cells, label: { show: true } }],
    });
    return;
  }
  const [xKey, yKey, title] = kind === "roc" ? ["fpr", "tpr", "ROC curve"] : ["recall", "precision", "Precision-recall curve"];
  const byClass = new Map<string, Array<[number, number]>>();
  for (const r of rows) {
    const c = r.class === undefined ? kind : String(r.class);
    (byClass.get(c) ?? byClass.set(c, []).get(c)!).push([Number(r[xKey]), Number(r[yKey])]);
  }
  el.dataset.series = String(byClass.size);
  chart(el, {
    title: { text: title, left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { show: byClass.size > 1, bottom: 0 },
    grid: { left: 60, right: 30, top: 40, bottom: 60 },
    xAxis: { type: "value", min: 0, max: 1, name: xKey, nameLocation: "middle", nameGap: 28 },
    yAxis: { type: "value", min: 0, max: 1, name: yKey, nameLocation: "middle", nameGap: 40 },
    series: [
      ...[...byClass].map(([name, pts], i) => ({
        type: "line" as const,
        name,
        data: pts,
        showSymbol: false,
        step: kind === "precision_recall" ? ("end" as const) : undefined,
        lineStyle: { color: PALETTE[i % PALETTE.length] },
        itemStyle: { color: PALETTE[i % PALETTE.length] },
      })),
      ...(kind === "roc"
        ? [
            {
              type: "line" as const,
              name: "chance",
              data: [
                [0, 0],
                [1, 1],
              ],
              showSymbol: false,
              lineStyle: { type: "dashed" as const, color: "#94a3b8" },
              silent: true,
            },
          ]
        : []),
    ],
  });
}

/** A CSV/TSV artifact as rows of cells (papaparse, as the ingestion code reads tables). */
export function parseCsv(text: string, delimiter = ","): string[][] {
  return Papa.parse<string[]>(text, { delimiter, skipEmptyLines: true }).data;
}
