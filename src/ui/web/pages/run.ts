import { apiGet, apiSend, historyCsv, metricHistory, metricValue, sampledHistories, tagOf, uiGet, type FileInfo, type Metric, type Run } from "../api.js";
import { fastLine } from "../charts.js";
import {
  append,
  clear,
  empty,
  enc,
  field,
  formatBytes,
  formatDuration,
  formatNumber,
  formatTime,
  h,
  hashQuery,
  replaceHashQuery,
  section,
  showError,
  table,
} from "../dom.js";
import { drawPlotFile, parseCsv, plotKind } from "./previews.js";
import { statusClass } from "./runs.js";

/** Largest artifact previewed in the page; bigger ones are offered as a download. */
const PREVIEW_MAX_BYTES = 5 * 1024 * 1024;

/** One run: overview, params, metrics with history charts, tags, dataset inputs, parent/children, artifacts. */
export async function renderRun(main: HTMLElement, runId: string): Promise<void> {
  const { run } = await apiGet<{ run: Run }>("runs/get", { run_id: runId });
  const info = run.info;
  const tags = run.data.tags ?? [];
  const parent = tagOf(run, "mlflow.parentRunId");
  const commit = tagOf(run, "mlflow.source.git.commit");
  // The child runs are a search over the experiment: fetched while the page and its chart are built.
  const childrenBox = h("span", {}, "…");
  const childrenLoaded = apiSend<{ runs?: Run[] }>("POST", "runs/search", {
    experiment_ids: [info.experiment_id],
    filter: `tags.mlflow.parentRunId = '${info.run_id}'`,
    max_results: 100,
  }).then(
    (r) => {
      const children = r.runs ?? [];
      clear(childrenBox);
      if (!children.length) childrenBox.textContent = "—";
      else
        append(
          childrenBox,
          children.flatMap((c, i) => [i ? ", " : "", h("a", { href: `#/runs/${enc(c.info.run_id)}` }, c.info.run_name || c.info.run_id.slice(0, 8))]),
        );
    },
    () => void (childrenBox.textContent = "—"),
  );

  const overview = h(
    "dl",
    { class: "facts" },
    fact("Run ID", h("code", {}, info.run_id)),
    fact("Status", h("span", { class: `badge ${statusClass(info.status)}` }, info.status)),
    fact("Experiment", h("a", { href: `#/experiments/${enc(info.experiment_id)}` }, info.experiment_id)),
    fact("Started", formatTime(info.start_time)),
    fact("Duration", formatDuration(info.start_time, info.end_time)),
    fact("User", info.user_id || "—"),
    fact("Git commit", commit ? h("code", {}, commit) : "—"),
    fact("Source", tagOf(run, "mlflow.source.name") ?? "—"),
    fact("Parent run", parent ? h("a", { href: `#/runs/${enc(parent)}` }, parent.slice(0, 12)) : "—"),
    fact("Child runs", childrenBox),
    fact("Artifact URI", h("code", {}, info.artifact_uri)),
  );

  const params = (run.data.params ?? []).slice().sort((a, b) => a.key.localeCompare(b.key));
  const metrics = (run.data.metrics ?? []).slice().sort((a, b) => a.key.localeCompare(b.key));
  const datasets = run.inputs?.dataset_inputs ?? [];

  const chartBox = h("div", { class: "chart-line", id: "history-chart" });
  const chartStatus = h("p", { class: "muted", role: "status" });
  const metricSelect = h(
    "select",
    {},
    metrics.map((m) => h("option", { value: m.key }, m.key)),
  );
  const xSelect = h("select", {}, h("option", { value: "step" }, "Step"), h("option", { value: "time" }, "Wall time"));
  // Charts draw MLflow's sampled history (about SAMPLED_POINTS points whatever the length);
  // "Full resolution" fetches and draws every point, "Download CSV" saves every point.
  let full = hashQuery().get("full") === "1";
  const fullButton = h("button", { type: "button", class: "secondary", id: "history-full", "aria-pressed": String(full) }, "Full resolution");
  fullButton.addEventListener("click", () => {
    full = !full;
    fullButton.setAttribute("aria-pressed", String(full));
    void drawHistory();
  });
  const downloadButton = h("button", { type: "button", class: "secondary", id: "history-download" }, "Download CSV");
  downloadButton.addEventListener("click", () => {
    const key = metricSelect.value;
    if (!key) return;
    downloadButton.disabled = true;
    metricHistory(info.run_id, key)
      .then((points) => {
        const url = URL.createObjectURL(new Blob([historyCsv(points)], { type: "text/csv" }));
        const a = h("a", { href: url, download: `${info.run_id}-${key.replace(/[^\w.-]+/g, "_")}.csv` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      })
      .catch((err: Error) => (chartStatus.textContent = `Download failed: ${err.message}`))
      .finally(() => (downloadButton.disabled = false));
  });
  let drawing = 0;
  const drawHistory = async () => {
    const mine = ++drawing;
    clear(chartBox);
    const key = metricSelect.value;
    if (!key) return;
    chartStatus.textContent = `Loading ${key}…`;
    const t0 = performance.now();
    const points: Metric[] = full ? await metricHistory(info.run_id, key) : ((await sampledHistories([info.run_id], key)).get(info.run_id) ?? []);
    if (mine !== drawing) return; // another metric or resolution was chosen meanwhile
    const t1 = performance.now();
    const byTime = xSelect.value === "time";
    const order = points.map((_, i) => i);
    if (byTime) order.sort((a, b) => points[a].timestamp - points[b].timestamp || points[a].step - points[b].step);
    const x = new Float64Array(points.length);
    const y = new Float64Array(points.length);
    for (let i = 0; i < order.length; i++) {
      const p = points[order[i]];
      x[i] = byTime ? p.timestamp / 1000 : p.step;
      y[i] = metricValue(p.value);
    }
    fastLine(chartBox, x, y, { label: key, xLabel: byTime ? "time" : "step", time: byTime });
    const t2 = performance.now();
    chartBox.dataset.points = String(points.length);
    chartBox.dataset.resolution = full ? "full" : "sampled";
    chartStatus.textContent = `${key}: ${points.length.toLocaleString()} points${full ? "" : " (sampled)"} (fetched in ${Math.round(t1 - t0)} ms, drawn in ${Math.round(t2 - t1)} ms)`;
    replaceHashQuery(`/runs/${enc(info.run_id)}`, {
      metric: key,
      x: byTime ? "time" : undefined,
      full: full ? "1" : undefined,
      artifact: hashQuery().get("artifact") ?? undefined,
    });
  };
  metricSelect.addEventListener("change", () => void drawHistory());
  xSelect.addEventListener("change", () => void drawHistory());

  const metricRows = metrics.map((m) =>
    h(
      "tr",
      {},
      h(
        "th",
        { scope: "row" },
        h(
          "button",
          {
            type: "button",
            class: "link",
            title: `Chart the history of ${m.key}`,
            onclick: () => {
              metricSelect.value = m.key;
              void drawHistory();
              chartBox.scrollIntoView({ block: "nearest" });
            },
          },
          m.key,
        ),
      ),
      h("td", { class: "num" }, formatNumber(metricValue(m.value))),
      h("td", { class: "num" }, String(m.step)),
      h("td", { class: "nowrap" }, formatTime(m.timestamp)),
    ),
  );

  const artifacts = buildArtifactBrowser(info.run_id);

  append(main, [
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/experiments" }, "Experiments"),
      " / ",
      h("a", { href: `#/experiments/${enc(info.experiment_id)}` }, `experiment ${info.experiment_id}`),
      " / ",
    ),
    h("h1", { tabindex: -1 }, info.run_name || info.run_id),
    overview,
    h(
      "div",
      { class: "columns" },
      section(
        "Parameters",
        params.length
          ? table(
              ["Name", "Value"],
              params.map((p) => [p.key, p.value]),
            )
          : empty("No parameters."),
      ),
      section(
        "Metrics",
        metrics.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { class: "grid" },
                h("thead", {}, h("tr", {}, ...["Name", "Latest", "Step", "Logged"].map((c) => h("th", { scope: "col" }, c)))),
                h("tbody", {}, metricRows),
              ),
            )
          : empty("No metrics."),
      ),
    ),
    metrics.length
      ? section(
          "Metric history",
          h("div", { class: "toolbar" }, field("Metric", metricSelect), field("X axis", xSelect), fullButton, downloadButton),
          chartStatus,
          chartBox,
        )
      : null,
    section(
      "Dataset inputs",
      datasets.length
        ? table(
            ["Name", "Digest", "Source type", "Source", "Context"],
            datasets.map((d) => [
              d.dataset.name,
              d.dataset.digest,
              d.dataset.source_type,
              d.dataset.source,
              d.tags?.find((t) => t.key === "mlflow.data.context")?.value ?? "",
            ]),
          )
        : empty("No dataset inputs."),
    ),
    section(
      "Tags",
      tags.length
        ? table(
            ["Name", "Value"],
            tags.map((t) => [t.key, t.value]),
          )
        : empty("No tags."),
    ),
    section("Artifacts", artifacts.el),
  ]);
  const q = hashQuery();
  if (q.get("metric") && metrics.some((m) => m.key === q.get("metric"))) metricSelect.value = q.get("metric")!;
  else if (metrics.length) metricSelect.value = metrics.reduce((a, b) => (b.step > a.step ? b : a)).key; // the longest history
  if (q.get("x") === "time") xSelect.value = "time";
  await Promise.all([metrics.length ? drawHistory() : undefined, artifacts.load(q.get("artifact") ?? undefined), childrenLoaded]);
}

function fact(label: string, value: Node | string): HTMLElement {
  return h("div", {}, h("dt", {}, label), h("dd", {}, value));
}

/** The artifact tree (directories open on demand) and a preview pane. */
function buildArtifactBrowser(runId: string): { el: HTMLElement; load(open?: string): Promise<void> } {
  const tree = h("ul", { class: "tree", role: "tree", "aria-label": "Artifacts" });
  const preview = h("div", { class: "preview", id: "artifact-preview", "aria-live": "polite" });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const el = h("div", { class: "artifacts" }, h("div", {}, tree, error), preview);

  const list = async (path: string) => (await apiGet<{ files?: FileInfo[] }>("artifacts/list", { run_id: runId, path: path || undefined })).files ?? [];

  const fill = async (ul: HTMLElement, path: string, open?: string) => {
    const files = await list(path);
    if (files.length === 0 && !path) ul.append(h("li", { class: "muted" }, "No artifacts."));
    for (const f of files) {
      const name = f.path.split("/").pop()!;
      if (f.is_dir) {
        const sub = h("ul", { role: "group", hidden: true });
        const btn = h("button", { type: "button", class: "link", "aria-expanded": "false" }, `▸ ${name}/`);
        let loaded = false;
        const toggle = async () => {
          const expand = sub.hidden;
          sub.hidden = !expand;
          btn.setAttribute("aria-expanded", String(expand));
          btn.textContent = `${expand ? "▾" : "▸"} ${name}/`;
          if (expand && !loaded) {
            loaded = true;
            await fill(sub, f.path, open);
          }
        };
        btn.addEventListener("click", () => void toggle());
        ul.append(h("li", { role: "treeitem" }, btn, sub));
        if (open && open.startsWith(`${f.path}/`)) await toggle();
      } else {
        const btn = h("button", { type: "button", class: "link", "data-path": f.path, onclick: () => void show(f) }, name);
        ul.append(h("li", { role: "treeitem" }, btn, " ", h("small", { class: "muted" }, formatBytes(f.file_size))));
        if (open === f.path) await show(f);
      }
    }
  };

  const show = async (f: FileInfo) => {
    clear(preview);
    showError(error, undefined);
    for (const b of el.querySelectorAll("button[aria-current]")) b.removeAttribute("aria-current");
    el.querySelector(`button[data-path="${CSS.escape(f.path)}"]`)?.setAttribute("aria-current", "true");
    replaceHashQuery(`/runs/${enc(runId)}`, { ...Object.fromEntries(hashQuery()), artifact: f.path });
    const url = `/get-artifact?run_id=${enc(runId)}&path=${enc(f.path)}`;
    const download = h(
      "button",
      {
        type: "button",
        class: "secondary small",
        onclick: async () => {
          const blob = await (await uiGet(url)).blob();
          const a = h("a", { href: URL.createObjectURL(blob), download: f.path.split("/").pop()! });
          a.click();
          setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        },
      },
      "Download",
    );
    preview.append(h("h3", {}, f.path, " ", h("small", { class: "muted" }, formatBytes(f.file_size)), " ", download));
    if ((f.file_size ?? 0) > PREVIEW_MAX_BYTES) {
      preview.append(empty(`Too large to preview (${formatBytes(f.file_size)}).`));
      return;
    }
    const ext = (/\.([A-Za-z0-9]+)$/.exec(f.path)?.[1] ?? "").toLowerCase();
    try {
      const res = await uiGet(url);
      if (["png", "jpg", "jpeg", "gif", "webp"].includes(ext)) {
        const img = h("img", { alt: `Artifact ${f.path}`, src: URL.createObjectURL(await res.blob()), class: "artifact-image" });
        preview.append(img);
        return;
      }
      const text = await res.text();
      if (ext === "json") {
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch (err) {
          preview.append(h("p", { class: "error" }, `Not valid JSON: ${(err as Error).message}`), h("pre", {}, text));
          return;
        }
        const kind = plotKind(data);
        if (kind) {
          const box = h("div", { class: "chart-plot", "data-plot": kind });
          preview.append(box);
          drawPlotFile(box, kind, data);
        }
        preview.append(
          kind
            ? h("details", {}, h("summary", {}, "Data"), h("pre", {}, JSON.stringify(data, null, 2)))
            : h("pre", { class: "json" }, JSON.stringify(data, null, 2)),
        );
      } else if (ext === "csv" || ext === "tsv") {
        const rows = parseCsv(text, ext === "tsv" ? "\t" : ",");
        const shown = rows.slice(1, 1001);
        append(preview, [
          h(
            "div",
            { class: "table-wrap tall" },
            h(
              "table",
              { class: "grid csv" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  (rows[0] ?? []).map((c) => h("th", { scope: "col" }, c)),
                ),
              ),
              h(
                "tbody",
                {},
                shown.map((r) =>
                  h(
                    "tr",
                    {},
                    r.map((c) => h("td", {}, c)),
                  ),
                ),
              ),
            ),
          ),
          rows.length > 1001 ? empty(`Showing the first 1,000 of ${(rows.length - 1).toLocaleString()} rows.`) : null,
        ]);
      } else if (looksBinary(text)) {
        preview.append(empty("Binary file: no preview."));
      } else {
        preview.append(h("pre", {}, text));
      }
    } catch (err) {
      showError(error, (err as Error).message);
    }
  };

  return {
    el,
    load: async (open?: string) => {
      try {
        await fill(tree, "", open);
      } catch (err) {
        showError(error, (err as Error).message);
      }
    },
  };
}

/** Control characters other than tab/newline/CR in the first 4 KiB: not text. */
function looksBinary(text: string): boolean {
  for (let i = 0; i < Math.min(text.length, 4096); i++) {
    const c = text.charCodeAt(i);
    if (c < 9 || (c > 13 && c < 32)) return true;
  }
  return false;
}
