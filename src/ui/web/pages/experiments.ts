import { apiGet, apiSend, type Experiment } from "../api.js";
import { clear, enc, field, formatTime, h, showError } from "../dom.js";

/** Experiments: search by name, create, rename, delete and restore. */
export async function renderExperiments(main: HTMLElement): Promise<void> {
  const search = h("input", { type: "search", placeholder: "name contains…" });
  const view = h(
    "select",
    {},
    h("option", { value: "ACTIVE_ONLY" }, "Active"),
    h("option", { value: "DELETED_ONLY" }, "Deleted"),
    h("option", { value: "ALL" }, "All"),
  );
  const newName = h("input", { type: "text", required: true, maxlength: 500 });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const list = h("div", { class: "table-wrap" });

  const load = async () => {
    showError(error, undefined);
    const term = search.value.trim();
    const filter = term ? `name LIKE '%${term.replace(/'/g, "\\'")}%'` : undefined;
    try {
      const res = await apiGet<{ experiments?: Experiment[] }>("experiments/search", {
        max_results: 1000,
        filter,
        view_type: view.value,
        order_by: ["last_update_time DESC"],
      });
      draw(res.experiments ?? []);
    } catch (err) {
      clear(list);
      showError(error, (err as Error).message);
    }
  };

  const act = async (fn: () => Promise<unknown>) => {
    showError(error, undefined);
    try {
      await fn();
      await load();
    } catch (err) {
      showError(error, (err as Error).message);
    }
  };

  const draw = (exps: Experiment[]) => {
    clear(list);
    if (exps.length === 0) {
      list.append(h("p", { class: "muted" }, "No experiments match."));
      return;
    }
    const rows = exps.map((e) => {
      const deleted = e.lifecycle_stage === "deleted";
      const rename = h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "aria-label": `Rename experiment ${e.name}`,
          onclick: () => {
            const name = prompt(`New name for experiment '${e.name}'`, e.name);
            if (name && name !== e.name) void act(() => apiSend("POST", "experiments/update", { experiment_id: e.experiment_id, new_name: name }));
          },
        },
        "Rename",
      );
      const toggle = h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "aria-label": `${deleted ? "Restore" : "Delete"} experiment ${e.name}`,
          onclick: () => {
            if (deleted) void act(() => apiSend("POST", "experiments/restore", { experiment_id: e.experiment_id }));
            else if (confirm(`Delete experiment '${e.name}'? It can be restored from the Deleted view.`))
              void act(() => apiSend("POST", "experiments/delete", { experiment_id: e.experiment_id }));
          },
        },
        deleted ? "Restore" : "Delete",
      );
      return h(
        "tr",
        {},
        h("td", {}, e.experiment_id),
        h(
          "td",
          {},
          deleted
            ? h("span", {}, e.name, " ", h("span", { class: "badge grey" }, "deleted"))
            : h("a", { href: `#/experiments/${enc(e.experiment_id)}` }, e.name),
        ),
        h("td", {}, formatTime(e.creation_time)),
        h("td", {}, formatTime(e.last_update_time)),
        h("td", { class: "actions" }, rename, " ", toggle),
      );
    });
    list.append(
      h(
        "table",
        { class: "grid" },
        h("caption", { class: "sr-only" }, "Experiments"),
        h("thead", {}, h("tr", {}, ...["ID", "Name", "Created", "Last updated", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows),
      ),
    );
  };

  let timer: number | undefined;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => void load(), 200);
  });
  view.addEventListener("change", () => void load());
  const create = h(
    "form",
    {
      class: "row",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const name = newName.value.trim();
        if (!name) return;
        void act(async () => {
          await apiSend("POST", "experiments/create", { name });
          newName.value = "";
        });
      },
    },
    field("New experiment", newName),
    h("button", { type: "submit" }, "Create"),
  );
  main.append(
    h("h1", { tabindex: -1 }, "Experiments"),
    h("div", { class: "toolbar" }, field("Search experiments", search), field("Show", view), create),
    error,
    list,
  );
  await load();
}
