/**
 * Charts: ECharts (tree-shaken to the charts used) for parallel coordinates, curves, the
 * confusion matrix, overlaid histories and the pipeline DAG; uPlot for one long metric history
 * (10^5 points draw in a few ms). Only the pages that draw load this module (a separate chunk).
 */
import * as echarts from "echarts/core";
import { GraphChart, HeatmapChart, LineChart, ParallelChart } from "echarts/charts";
import {
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  ParallelComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import uPlot from "uplot";
import { onLeave } from "./lifecycle.js";

echarts.use([
  GraphChart,
  HeatmapChart,
  LineChart,
  ParallelChart,
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  ParallelComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export { echarts };
export type EChart = ReturnType<typeof echarts.init>;
export type EChartsOption = Parameters<EChart["setOption"]>[0];

let resizeHooked = false;
const resizers = new Set<() => void>();
function onResize(fn: () => void): void {
  resizers.add(fn);
  if (!resizeHooked) {
    resizeHooked = true;
    let t: number | undefined;
    window.addEventListener("resize", () => {
      clearTimeout(t);
      t = window.setTimeout(() => resizers.forEach((r) => r()), 100);
    });
  }
}

/** An ECharts instance in `el`, resized with the window and disposed with the page. */
export function chart(el: HTMLElement, option: EChartsOption): EChart {
  const c = echarts.init(el, undefined, { renderer: "canvas" });
  c.setOption({ aria: { enabled: true }, animation: false, ...option });
  const resize = () => c.resize();
  onResize(resize);
  onLeave(() => {
    resizers.delete(resize);
    c.dispose();
  });
  return c;
}

/** A line chart of one long series with uPlot (x ascending). */
export function fastLine(el: HTMLElement, x: Float64Array, y: Float64Array, opts: { label: string; xLabel: string; time: boolean }): uPlot {
  const width = () => Math.max(280, el.clientWidth || 600);
  const plot = new uPlot(
    {
      width: width(),
      height: 280,
      scales: { x: { time: opts.time } },
      axes: [{ label: opts.xLabel }, { label: opts.label }],
      series: [{ label: opts.xLabel }, { label: opts.label, stroke: "#2563eb", width: 1.25, points: { show: false } }],
      cursor: { drag: { x: true, y: false } },
    },
    [x as unknown as number[], y as unknown as number[]],
    el,
  );
  const resize = () => plot.setSize({ width: width(), height: 280 });
  onResize(resize);
  onLeave(() => {
    resizers.delete(resize);
    plot.destroy();
  });
  return plot;
}

export const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569", "#ea580c"];
