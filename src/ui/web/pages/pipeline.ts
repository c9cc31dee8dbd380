import { uiGet } from "../api.js";
import { chart } from "../charts.js";
import { clear, empty, field, h, hashQuery, replaceHashQuery, section, showError, table } from "../dom.js";
import type { MetricsDiffView, PipelineStageView as StageView, PipelineView } from "../../wire.js";

const fmt = (v: unknown) =>
  v === null || v === undefined
    ? "—"
    : typeof v === "number"
      ? String(Number.isInteger(v) ? v : Number(v.toPrecision(5)))
      : typeof v === "string"
        ? v
        : JSON.stringify(v);

/** The project's dvc.yaml DAG with each stage's status and why, and `metrics diff` against a git revision. */
export async function renderPipeline(main: HTMLElement): Promise<void> {
  main.append(h("h1", { tabindex: -1 }, "Pipeline"));
  const view = (await (await uiGet("/ui-api/pipeline")).json()) as PipelineView;
  if (!view.available) {
    main.append(empty(view.message));
    return;
  }
  main.append(h("p", { class: "muted" }, "Project: ", h("code", {}, view.root)));
  if (view.statusError) main.append(h("p", { class: "error", role: "alert" }, `Stage status unavailable: ${view.statusError}`));

  // Layered layout: a stage's column is its longest path from a source stage.
  const depth = new Map<string, number>();
  const ups = new Map(view.stages.map((s) => [s.name, view.edges.filter((e) => e.to === s.name).map((e) => e.from)]));
  const depthOf = (n: string, seen = new Set<string>()): number => {
    if (depth.has(n)) return depth.get(n)!;
    if (seen.has(n)) return 0;
    seen.add(n);
    const d = Math.max(-1, ...(ups.get(n) ?? []).map((u) => depthOf(u, seen))) + 1;
    depth.set(n, d);
    return d;
  };
  const rowsAt = new Map<number, number>();
  const statusText = (s: StageView) => (s.frozen ? "frozen" : s.changed ? "changed" : "up to date");
  const color = (s: StageView) => (s.frozen ? "#94a3b8" : s.changed ? "#d97706" : "#16a34a");
  const nodes = view.stages.map((s) => {
    const d = depthOf(s.name);
    const r = rowsAt.get(d) ?? 0;
    rowsAt.set(d, r + 1);
    return {
      name: s.name,
      x: d * 200,
      y: r * 90,
      value: statusText(s),
      itemStyle: { color: color(s) },
      label: {
        show: true,
        position: "bottom" as const,
        distance: 6,
        lineHeight: 16,
        formatter: `{b|${s.name}}\n${statusText(s)}`,
        rich: { b: { fontWeight: "bold" as const, lineHeight: 16 } },
      },
    };
  });
  const dagBox = h("div", {
    class: "chart-dag",
    id: "pipeline-dag",
    role: "img",
    "aria-label": `Pipeline DAG: ${view.stages.map((s) => `${s.name} (${statusText(s)})`).join(", ")}`,
    "data-stages": view.stages.length,
    "data-edges": view.edges.length,
  });
  main.append(
    section(
      "Stages",
      dagBox,
      h(
        "p",
        { class: "legend" },
        h("span", { class: "badge green" }, "up to date"),
        " ",
        h("span", { class: "badge amber" }, "changed"),
        " ",
        h("span", { class: "badge grey" }, "frozen"),
      ),
    ),
  );
  chart(dagBox, {
    tooltip: {
      formatter: (p: unknown) => {
        const d = (p as { data: { name?: string; value?: string; source?: string; target?: string } }).data;
        return d.source ? `${d.source} → ${d.target}` : `${d.name}: ${d.value}`;
      },
    },
    series: [
      {
        type: "graph",
        layout: "none",
        roam: true,
        symbolSize: 26,
        edgeSymbol: ["none", "arrow"],
        edgeSymbolSize: 9,
        lineStyle: { color: "#64748b", width: 1.5, curveness: 0.1 },
        data: nodes,
        links: view.edges.map((e) => ({ source: e.from, target: e.to })),
      },
    ],
  });

  main.append(
    section(
      "Status",
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "grid", id: "stage-status" },
          h("thead", {}, h("tr", {}, ...["Stage", "Status", "Why", "Command", "Deps", "Outs"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            {},
            view.stages.map((s) =>
              h(
                "tr",
                { "data-stage": s.name },
                h("th", { scope: "row" }, s.name),
                h("td", {}, h("span", { class: `badge ${s.frozen ? "grey" : s.changed ? "amber" : "green"}` }, statusText(s))),
                h(
                  "td",
                  {},
                  s.reasons.length
                    ? h(
                        "ul",
                        { class: "plain" },
                        s.reasons.map((r) => h("li", {}, r)),
                      )
                    : "—",
                ),
                h("td", {}, h("code", {}, s.cmd)),
                h("td", { class: "paths" }, s.deps.join(", ")),
                h("td", { class: "paths" }, s.outs.join(", ")),
              ),
            ),
          ),
        ),
      ),
    ),
  );

  const revInput = h("input", { type: "text", value: hashQuery().get("rev") ?? "HEAD", spellcheck: false, maxlength: 200 });
  const diffError = h("p", { class: "error", role: "alert", hidden: true });
  const diffOut = h("div", { id: "metrics-diff" });
  const runDiff = async () => {
    clear(diffOut);
    showError(diffError, undefined);
    const rev = revInput.value.trim() || "HEAD";
    replaceHashQuery("/pipeline", { rev });
    try {
      const res = (await (await uiGet(`/ui-api/pipeline/metrics-diff?rev=${encodeURIComponent(rev)}`)).json()) as MetricsDiffView;
      diffOut.append(
        res.rows.length
          ? table(
              ["Path", "Metric", rev, "workspace", "Change"],
              res.rows.map((r) => [r.path, r.key, fmt(r.old), fmt(r.new), r.diff === undefined ? "—" : (r.diff > 0 ? "+" : "") + fmt(r.diff)]),
            )
          : empty(`No metrics to compare against ${rev}.`),
      );
    } catch (err) {
      showError(diffError, (err as Error).message);
    }
  };
  main.append(
    section(
      "Metrics diff",
      h(
        "form",
        {
          class: "row",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void runDiff();
          },
        },
        field("Git revision", revInput, "a branch, tag, commit or HEAD~1"),
        h("button", { type: "submit" }, "Compare"),
      ),
      diffError,
      diffOut,
    ),
  );
  await runDiff();
}
