import { apiGet, metricValue, sampledHistories, type Metric, type Run } from "../api.js";
import { chart, PALETTE, type EChart } from "../charts.js";
import { clear, empty, enc, field, formatNumber, h, hashQuery, replaceHashQuery, section } from "../dom.js";

/**
 * N runs side by side: a parallel-coordinates plot (chosen params → one metric, brush an axis to
 * filter), the metric histories overlaid, and a diff table that highlights what differs.
 */
export async function renderCompare(main: HTMLElement): Promise<void> {
  const q = hashQuery();
  const ids = [...new Set((q.get("runs") ?? "").split(",").filter(Boolean))];
  main.append(h("p", { class: "crumbs" }, h("a", { href: "#/experiments" }, "Experiments"), " / "), h("h1", { tabindex: -1 }, `Compare ${ids.length} runs`));
  if (ids.length < 2) {
    main.append(empty("Select two or more runs in a runs table, then “Compare selected”."));
    return;
  }
  if (ids.length > 200) throw new Error(`Too many runs to compare (${ids.length}); pick at most 200.`);
  const runs = await Promise.all(ids.map((id) => apiGet<{ run: Run }>("runs/get", { run_id: id }).then((r) => r.run)));
  const label = (r: Run) => r.info.run_name || r.info.run_id.slice(0, 8);
  const paramMaps = runs.map((r) => new Map((r.data.params ?? []).map((p) => [p.key, p.value])));
  const metricMaps = runs.map((r) => new Map((r.data.metrics ?? []).map((m) => [m.key, metricValue(m.value)])));
  const paramKeys = [...new Set(paramMaps.flatMap((m) => [...m.keys()]))].sort();
  const metricKeys = [...new Set(metricMaps.flatMap((m) => [...m.keys()]))].sort();
  const differs = (values: Array<string | number | undefined>) => new Set(values.map((v) => String(v))).size > 1;

  // --- parallel coordinates
  const chosenParams = new Set((q.get("params") ?? "").split(",").filter((k) => paramKeys.includes(k)));
  if (chosenParams.size === 0) for (const k of paramKeys.filter((k) => differs(paramMaps.map((m) => m.get(k)))).slice(0, 8)) chosenParams.add(k);
  const metricSelect = h(
    "select",
    {},
    metricKeys.map((k) => h("option", { value: k }, k)),
  );
  if (q.get("metric") && metricKeys.includes(q.get("metric")!)) metricSelect.value = q.get("metric")!;
  else if (metricKeys.includes("accuracy")) metricSelect.value = "accuracy";
  const paramBoxes = h(
    "fieldset",
    { class: "inline" },
    h("legend", {}, "Parameters (axes)"),
    paramKeys.map((k) => {
      const cb = h("input", { type: "checkbox", value: k, checked: chosenParams.has(k) });
      cb.addEventListener("change", () => {
        if (cb.checked) chosenParams.add(k);
        else chosenParams.delete(k);
        drawParallel();
      });
      return h("label", { class: "check" }, cb, " ", k);
    }),
  );
  const pcBox = h("div", { class: "chart-pc", id: "parallel-coordinates" });
  const brushed = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  let pc: EChart | undefined;
  const syncUrl = () => replaceHashQuery("/compare", { runs: ids.join(","), params: [...chosenParams].join(","), metric: metricSelect.value || undefined });

  const drawParallel = () => {
    pc?.dispose();
    clear(pcBox);
    syncUrl();
    const metric = metricSelect.value;
    const params = paramKeys.filter((k) => chosenParams.has(k));
    const axes = params.map((k, dim) => {
      const values = paramMaps.map((m) => m.get(k));
      const numeric = values.every((v) => v !== undefined && v.trim() !== "" && Number.isFinite(Number(v)));
      return numeric
        ? { dim, name: k, type: "value" as const, scale: true }
        : { dim, name: k, type: "category" as const, data: [...new Set(values.map((v) => v ?? "(none)"))].sort() };
    });
    if (metric) axes.push({ dim: params.length, name: metric, type: "value" as const, scale: true });
    const data = runs.map((r, i) => ({
      name: label(r),
      value: [
        ...params.map((k) => {
          const v = paramMaps[i].get(k);
          return axes[params.indexOf(k)].type === "value" ? Number(v) : (v ?? "(none)");
        }),
        ...(metric ? [metricMaps[i].get(metric) ?? null] : []),
      ],
    }));
    if (axes.length === 0) {
      pcBox.append(empty("Choose at least one parameter or metric."));
      return;
    }
    pc = chart(pcBox, {
      tooltip: { trigger: "item", formatter: (p: unknown) => (p as { name: string }).name },
      parallel: {
        left: 60,
        right: 110,
        top: 50,
        bottom: 40,
        parallelAxisDefault: { nameLocation: "end", nameGap: 16, nameTextStyle: { fontSize: 12 }, areaSelectStyle: { width: 18 } },
      },
      parallelAxis: axes,
      visualMap: metric
        ? {
            type: "continuous",
            precision: 3,
            dimension: axes.length - 1,
            min: Math.min(...data.map((d) => Number(d.value[axes.length - 1]))),
            max: Math.max(...data.map((d) => Number(d.value[axes.length - 1]))),
            right: 0,
            top: "middle",
            calculable: true,
            text: [metric, ""],
            inRange: { color: ["#dc2626", "#facc15", "#16a34a"] },
          }
        : undefined,
      series: [{ type: "parallel", lineStyle: { width: 2, opacity: 0.8 }, data, inactiveOpacity: 0.08, activeOpacity: 1 }],
    });
    // What the chart really holds (read back from ECharts), for tests and assistive text.
    const option = pc.getOption() as { parallelAxis?: unknown[]; series?: Array<{ data?: unknown[] }> };
    pcBox.dataset.axes = String(option.parallelAxis?.length ?? 0);
    pcBox.dataset.lines = String(option.series?.[0]?.data?.length ?? 0);
    pcBox.setAttribute("role", "img");
    pcBox.setAttribute("aria-label", `Parallel coordinates: ${runs.length} runs over ${axes.map((a) => a.name).join(", ")}`);
    brushed.textContent = `${runs.length} of ${runs.length} runs shown. Drag along an axis to brush a range.`;
    pc.on("axisareaselected", () => {
      const active = (
        (pc as unknown as { getModel(): unknown }).getModel() as { getSeriesByIndex(i: number): { getRawIndicesByActiveState(s: string): number[] } }
      )
        .getSeriesByIndex(0)
        .getRawIndicesByActiveState("active");
      brushed.textContent = `${active.length} of ${runs.length} runs in the brushed range: ${active.map((i) => label(runs[i])).join(", ") || "none"}.`;
      pcBox.dataset.active = String(active.length);
    });
  };
  metricSelect.addEventListener("change", () => drawParallel());

  // --- overlaid histories
  const historySelect = h(
    "select",
    {},
    metricKeys.map((k) => h("option", { value: k }, k)),
  );
  // Default: the metric logged over the most steps (a history worth overlaying).
  const steps = new Map<string, number>();
  for (const r of runs) for (const m of r.data.metrics ?? []) steps.set(m.key, Math.max(steps.get(m.key) ?? 0, m.step));
  historySelect.value = [...steps].sort((a, b) => b[1] - a[1])[0]?.[0] ?? metricSelect.value;
  const historyBox = h("div", { class: "chart-line", id: "overlaid-history" });
  const drawHistories = async () => {
    const key = historySelect.value;
    clear(historyBox);
    if (!key) return;
    // One request for every run's sampled history (MLflow's get-history-bulk-interval).
    const withKey = runs.filter((_, i) => metricMaps[i].has(key)).map((r) => r.info.run_id);
    const sampled = withKey.length ? await sampledHistories(withKey, key) : new Map<string, Metric[]>();
    const series = runs.map((r) => sampled.get(r.info.run_id) ?? []);
    chart(historyBox, {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 60, right: 20, top: 20, bottom: 60 },
      xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: key, scale: true },
      series: series.map((pts, i) => ({
        type: "line" as const,
        name: label(runs[i]),
        showSymbol: pts.length < 50,
        sampling: "lttb" as const,
        data: pts.map((p) => [p.step, metricValue(p.value)]),
        lineStyle: { color: PALETTE[i % PALETTE.length] },
        itemStyle: { color: PALETTE[i % PALETTE.length] },
      })),
    });
  };
  historySelect.addEventListener("change", () => void drawHistories());

  // --- diff table
  const onlyDiff = h("input", { type: "checkbox", checked: true });
  const diffWrap = h("div", { class: "table-wrap" });
  const drawDiff = () => {
    clear(diffWrap);
    const rows: HTMLElement[] = [];
    const add = (group: string, key: string, values: Array<string | number | undefined>) => {
      const d = differs(values);
      if (onlyDiff.checked && !d) return;
      rows.push(
        h(
          "tr",
          { class: d ? "differs" : null },
          h("th", { scope: "row" }, h("span", { class: "muted" }, group, " "), key),
          values.map((v) => h("td", { class: typeof v === "number" ? "num" : null }, v === undefined ? "—" : typeof v === "number" ? formatNumber(v) : v)),
        ),
      );
    };
    for (const k of paramKeys)
      add(
        "param",
        k,
        paramMaps.map((m) => m.get(k)),
      );
    for (const k of metricKeys)
      add(
        "metric",
        k,
        metricMaps.map((m) => m.get(k)),
      );
    diffWrap.append(
      rows.length
        ? h(
            "table",
            { class: "grid diff", id: "diff-table" },
            h("caption", { class: "sr-only" }, "Parameters and metrics of the compared runs; rows that differ are highlighted"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "col" }, "Name"),
                runs.map((r) => h("th", { scope: "col" }, h("a", { href: `#/runs/${enc(r.info.run_id)}` }, label(r)))),
              ),
            ),
            h("tbody", {}, rows),
          )
        : empty("The runs have identical params and metrics."),
    );
  };
  onlyDiff.addEventListener("change", drawDiff);

  main.append(
    section("Parallel coordinates", h("div", { class: "toolbar" }, paramBoxes, field("Metric (last axis)", metricSelect)), pcBox, brushed),
    section("Metric histories", h("div", { class: "toolbar" }, field("Metric", historySelect)), historyBox),
    section("Differences", h("label", { class: "check" }, onlyDiff, " Only rows that differ"), diffWrap),
  );
  drawParallel();
  drawDiff();
  await drawHistories();
}
