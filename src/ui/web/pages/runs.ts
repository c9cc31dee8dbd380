import { apiGet, apiSend, metricValue, tagOf, type Experiment, type Run } from "../api.js";
import { pageRequestedAt } from "../lifecycle.js";
import { clear, enc, field, formatDuration, formatNumber, formatTime, h, hashQuery, replaceHashQuery, showError } from "../dom.js";

const PAGE_SIZE = 50;
const PARENT_TAG = "mlflow.parentRunId";

type Kind = "metrics" | "params" | "tags";
interface Column {
  kind: Kind;
  key: string;
}

const colId = (c: Column) => `${c.kind}.${c.key}`;
/** An MLflow identifier for order_by: backticks keep keys with dots or spaces whole. */
const orderKey = (c: Column) => `${c.kind}.\`${c.key.replace(/`/g, "")}\``;

function chosenColumnsKey(experimentId: string): string {
  return `polarity.columns.${experimentId}`;
}

/**
 * The runs of one experiment: a server-side paged, sorted and filtered table (MLflow's search
 * grammar, errors inline), a column chooser, nested runs under their parents, selection for
 * comparison. The filter, order and page live in the URL.
 */
export async function renderRuns(main: HTMLElement, experimentId: string): Promise<void> {
  // The experiment's name and the first page are fetched together.
  const experimentLoaded = apiGet<{ experiment: Experiment }>("experiments/get", { experiment_id: experimentId });
  const heading = h("h1", { tabindex: -1 }, "Experiment ", experimentId);
  const caption = h("caption", { class: "sr-only" }, "Runs");
  const named = experimentLoaded.then(({ experiment }) => {
    heading.textContent = experiment.name;
    caption.textContent = `Runs of ${experiment.name}`;
  });
  const q = hashQuery();
  const state = {
    filter: q.get("filter") ?? "",
    order: q.get("order") ?? "attributes.start_time DESC",
    tokens: [] as string[],
    page: 0,
    selected: new Set<string>(),
    collapsed: new Set<string>(),
    runs: [] as Run[],
    next: undefined as string | undefined,
  };
  const startPage = Math.max(0, Number(q.get("page") ?? 0) || 0);

  const filterInput = h("input", {
    type: "search",
    value: state.filter,
    placeholder: "metrics.accuracy > 0.8 AND params.model = 'logreg'",
    class: "wide",
    spellcheck: false,
    "aria-describedby": "filter-error",
  });
  const filterError = h("p", { class: "error", role: "alert", id: "filter-error", hidden: true });
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const compareButton = h(
    "button",
    { type: "button", disabled: true, onclick: () => (location.hash = `#/compare?runs=${[...state.selected].map(enc).join(",")}`) },
    "Compare selected",
  );
  const chooser = h("details", { class: "chooser" }, h("summary", {}, "Columns"));
  const tableWrap = h("div", { class: "table-wrap", id: "runs-table" });
  const prev = h("button", { type: "button", class: "secondary", onclick: () => void goto(state.page - 1) }, "← Previous");
  const next = h("button", { type: "button", class: "secondary", onclick: () => void goto(state.page + 1) }, "Next →");
  const pageLabel = h("span", { class: "muted" });

  const saved = localStorage.getItem(chosenColumnsKey(experimentId));
  let chosen: Set<string> | undefined = saved ? new Set(JSON.parse(saved) as string[]) : undefined;

  const syncUrl = () =>
    replaceHashQuery(`/experiments/${enc(experimentId)}`, {
      filter: state.filter || undefined,
      order: state.order === "attributes.start_time DESC" ? undefined : state.order,
      page: state.page ? String(state.page) : undefined,
    });

  /**
   * Loads page `n`, following page tokens from the nearest known one. `startedAt` is when the
   * user asked (the event's time; 0 = navigation start, both on performance.now()'s clock):
   * once the table is painted, `data-answered-ms` on #runs-table says how long the answer took
   * (bench/ui.ts reads it), and the status line shows it. A newer request supersedes an older one.
   */
  let generation = 0;
  const goto = async (n: number, startedAt = performance.now()) => {
    if (n < 0) return;
    const mine = ++generation;
    showError(filterError, undefined);
    try {
      let page = Math.min(n, state.tokens.length);
      let res;
      while (true) {
        res = await apiSend<{ runs?: Run[]; next_page_token?: string }>("POST", "runs/search", {
          experiment_ids: [experimentId],
          filter: state.filter || undefined,
          order_by: [state.order],
          max_results: PAGE_SIZE,
          page_token: page === 0 ? undefined : state.tokens[page - 1],
        });
        if (mine !== generation) return;
        if (res.next_page_token) state.tokens[page] = res.next_page_token;
        if (page >= n || !res.next_page_token) break;
        page++;
      }
      state.page = page;
      state.runs = res.runs ?? [];
      state.next = res.next_page_token;
      syncUrl();
      draw();
      afterPaint(() => {
        if (mine !== generation) return;
        const ms = Math.round(performance.now() - startedAt);
        tableWrap.dataset.answeredMs = String(ms);
        status.textContent = `${state.runs.length} run${state.runs.length === 1 ? "" : "s"} on page ${state.page + 1} (shown in ${ms} ms)`;
      });
    } catch (err) {
      if (mine !== generation) return;
      showError(filterError, (err as Error).message);
      filterInput.setAttribute("aria-invalid", "true");
      return;
    }
    filterInput.removeAttribute("aria-invalid");
  };

  const restart = (startedAt?: number) => {
    state.tokens = [];
    return goto(0, startedAt);
  };

  const columnsOf = (runs: Run[]): Column[] => {
    const seen = new Map<string, Column>();
    for (const kind of ["metrics", "params", "tags"] as const) {
      for (const r of runs)
        for (const kv of r.data[kind] ?? []) if (!(kind === "tags" && kv.key.startsWith("mlflow."))) seen.set(`${kind}.${kv.key}`, { kind, key: kv.key });
    }
    return [...seen.values()];
  };

  const drawChooser = (all: Column[]) => {
    const open = chooser.open;
    clear(chooser);
    const visible = visibleColumns(all);
    chooser.append(h("summary", {}, `Columns (${visible.length} of ${all.length})`));
    const box = h("div", { class: "chooser-body" });
    for (const kind of ["metrics", "params", "tags"] as const) {
      const cols = all.filter((c) => c.kind === kind);
      if (cols.length === 0) continue;
      box.append(
        h(
          "fieldset",
          {},
          h("legend", {}, kind[0].toUpperCase() + kind.slice(1)),
          cols.map((c) => {
            const cb = h("input", { type: "checkbox", checked: visible.some((v) => colId(v) === colId(c)) });
            cb.addEventListener("change", () => {
              chosen ??= new Set(visible.map(colId));
              if (cb.checked) chosen.add(colId(c));
              else chosen.delete(colId(c));
              localStorage.setItem(chosenColumnsKey(experimentId), JSON.stringify([...chosen]));
              draw();
            });
            return h("label", { class: "check" }, cb, " ", c.key);
          }),
        ),
      );
    }
    chooser.append(box);
    chooser.open = open;
  };

  /** Default: the first 8 metrics and 6 params; afterwards what the user chose (kept per experiment). */
  const visibleColumns = (all: Column[]): Column[] => {
    if (chosen) return all.filter((c) => chosen!.has(colId(c)));
    const m = all.filter((c) => c.kind === "metrics").slice(0, 8);
    const p = all.filter((c) => c.kind === "params").slice(0, 6);
    return [...m, ...p];
  };

  /** Children right under their parent when both are on this page. */
  const nestRuns = (runs: Run[]): Array<{ run: Run; depth: number; children: number }> => {
    const ids = new Set(runs.map((r) => r.info.run_id));
    const kids = new Map<string, Run[]>();
    const roots: Run[] = [];
    for (const r of runs) {
      const parent = tagOf(r, PARENT_TAG);
      if (parent && ids.has(parent) && parent !== r.info.run_id) (kids.get(parent) ?? kids.set(parent, []).get(parent)!).push(r);
      else roots.push(r);
    }
    const out: Array<{ run: Run; depth: number; children: number }> = [];
    const visit = (r: Run, depth: number) => {
      const children = kids.get(r.info.run_id) ?? [];
      out.push({ run: r, depth, children: children.length });
      if (depth < 8 && !state.collapsed.has(r.info.run_id)) for (const c of children) visit(c, depth + 1);
    };
    for (const r of roots) visit(r, 0);
    return out;
  };

  const sortButton = (label: string, key: string) => {
    const [curKey, curDir] = splitOrder(state.order);
    const active = curKey === key;
    const th = h("th", { scope: "col", "aria-sort": active ? (curDir === "ASC" ? "ascending" : "descending") : "none" });
    th.append(
      h(
        "button",
        {
          type: "button",
          class: "sort",
          title: `Sort by ${label}`,
          onclick: (ev: Event) => {
            state.order = `${key} ${active && curDir === "DESC" ? "ASC" : "DESC"}`;
            void restart(ev.timeStamp);
          },
        },
        label,
        active ? (curDir === "ASC" ? " ▲" : " ▼") : "",
      ),
    );
    return th;
  };

  const draw = () => {
    const all = columnsOf(state.runs);
    drawChooser(all);
    const cols = visibleColumns(all);
    clear(tableWrap);
    prev.disabled = state.page === 0;
    next.disabled = !state.next;
    pageLabel.textContent = `Page ${state.page + 1}`;
    if (state.runs.length === 0) {
      tableWrap.append(h("p", { class: "muted" }, state.filter ? "No runs match this filter." : "No runs in this experiment yet."));
      return;
    }
    const head = h(
      "tr",
      {},
      h("th", { scope: "col", class: "narrow" }, h("span", { class: "sr-only" }, "Select")),
      sortButton("Run", "attributes.run_name"),
      sortButton("Status", "attributes.status"),
      sortButton("Started", "attributes.start_time"),
      h("th", { scope: "col" }, "Duration"),
      h("th", { scope: "col" }, "Dataset"),
      cols.map((c) => sortButton(c.kind === "tags" ? `#${c.key}` : c.key, orderKey(c))),
    );
    const groupRow = h(
      "tr",
      { class: "group" },
      h("th", { colspan: 6 }),
      ...["metrics", "params", "tags"].flatMap((k) => {
        const n = cols.filter((c) => c.kind === k).length;
        return n ? [h("th", { colspan: n, scope: "colgroup" }, k[0].toUpperCase() + k.slice(1))] : [];
      }),
    );
    const body = h("tbody", {});
    const frag = document.createDocumentFragment();
    for (const { run, depth, children } of nestRuns(state.runs)) {
      const id = run.info.run_id;
      const cb = h("input", { type: "checkbox", checked: state.selected.has(id), "aria-label": `Select run ${run.info.run_name || id}` });
      cb.addEventListener("change", () => {
        if (cb.checked) state.selected.add(id);
        else state.selected.delete(id);
        updateCompare();
      });
      const metrics = new Map((run.data.metrics ?? []).map((m) => [m.key, m.value]));
      const params = new Map((run.data.params ?? []).map((p) => [p.key, p.value]));
      const tags = new Map((run.data.tags ?? []).map((t) => [t.key, t.value]));
      const datasets = (run.inputs?.dataset_inputs ?? []).map((d) => `${d.dataset.name} (${d.dataset.digest.slice(0, 8)})`).join(", ");
      const nameCell = h("td", { class: "name", style: depth ? `padding-left:${0.5 + depth * 1.25}rem` : null });
      if (children) {
        const collapsed = state.collapsed.has(id);
        nameCell.append(
          h(
            "button",
            {
              type: "button",
              class: "twisty",
              "aria-expanded": String(!collapsed),
              "aria-label": `${collapsed ? "Show" : "Hide"} ${children} child run${children > 1 ? "s" : ""}`,
              onclick: () => {
                if (collapsed) state.collapsed.delete(id);
                else state.collapsed.add(id);
                draw();
              },
            },
            collapsed ? "▸" : "▾",
          ),
          " ",
        );
      } else if (depth) nameCell.append(h("span", { "aria-hidden": "true", class: "muted" }, "↳ "));
      nameCell.append(h("a", { href: `#/runs/${enc(id)}` }, run.info.run_name || id.slice(0, 8)));
      frag.append(
        h(
          "tr",
          { "data-run-id": id },
          h("td", { class: "narrow" }, cb),
          nameCell,
          h("td", {}, h("span", { class: `badge ${statusClass(run.info.status)}` }, run.info.status)),
          h("td", { class: "nowrap" }, formatTime(run.info.start_time)),
          h("td", { class: "nowrap" }, formatDuration(run.info.start_time, run.info.end_time)),
          h("td", { class: "dataset" }, datasets),
          cols.map((c) => {
            const v = c.kind === "metrics" ? metrics.get(c.key) : c.kind === "params" ? params.get(c.key) : tags.get(c.key);
            return h("td", { class: c.kind === "metrics" ? "num" : null }, v === undefined ? "" : c.kind === "metrics" ? formatNumber(metricValue(v)) : v);
          }),
        ),
      );
    }
    body.append(frag);
    tableWrap.append(h("table", { class: "grid runs" }, caption, h("thead", {}, groupRow, head), body));
    updateCompare();
  };

  const updateCompare = () => {
    compareButton.disabled = state.selected.size < 2;
    compareButton.textContent = `Compare selected (${state.selected.size})`;
  };

  const filterForm = h(
    "form",
    {
      class: "filter",
      role: "search",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        state.filter = filterInput.value.trim();
        void restart(ev.timeStamp);
      },
    },
    field("Filter runs (MLflow search syntax)", filterInput),
    h("button", { type: "submit" }, "Apply"),
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: () => {
          filterInput.value = "";
          state.filter = "";
          void restart();
        },
      },
      "Clear",
    ),
  );

  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/experiments" }, "Experiments"), " / "),
    heading,
    filterForm,
    filterError,
    h("div", { class: "toolbar" }, chooser, compareButton, h("span", { class: "spacer" }), prev, pageLabel, next),
    status,
    tableWrap,
  );
  // The first page counts from when it was asked for (navigation start for a fresh load).
  await Promise.all([goto(startPage, pageRequestedAt()), named]);
}

/** Runs `fn` after the next frame is painted (a frame callback, then a task after it). */
function afterPaint(fn: () => void): void {
  requestAnimationFrame(() => setTimeout(fn, 0));
}

function splitOrder(order: string): [string, "ASC" | "DESC"] {
  const m = /^(.*?)\s+(ASC|DESC)$/i.exec(order.trim());
  return m ? [m[1], m[2].toUpperCase() as "ASC" | "DESC"] : [order.trim(), "ASC"];
}

export function statusClass(status: string): string {
  return status === "FINISHED" ? "green" : status === "FAILED" || status === "KILLED" ? "red" : status === "RUNNING" ? "blue" : "grey";
}
