import { ApiError, apiGet, apiSend, metricValue, tagOf, type ModelVersion, type RegisteredModel, type Run } from "../api.js";
import { append, clear, empty, enc, field, formatTime, h, section, showError } from "../dom.js";

const STAGES = ["None", "Staging", "Production", "Archived"];

/** Registered models with their aliases and newest versions. */
export async function renderModels(main: HTMLElement): Promise<void> {
  const res = await apiGet<{ registered_models?: RegisteredModel[] }>("registered-models/search", { max_results: 1000 });
  const models = res.registered_models ?? [];
  main.append(h("h1", { tabindex: -1 }, "Registered models"));
  if (models.length === 0) {
    main.append(empty("No registered models yet. `polarity repro` registers one, or any MLflow client can."));
    return;
  }
  main.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "grid" },
        h("thead", {}, h("tr", {}, ...["Name", "Aliases", "Latest versions", "Last updated", "Description"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          models.map((m) =>
            h(
              "tr",
              {},
              h("td", {}, h("a", { href: `#/models/${enc(m.name)}` }, m.name)),
              h(
                "td",
                {},
                (m.aliases ?? []).map((a) => h("span", { class: "badge blue" }, `@${a.alias} → v${a.version}`)),
              ),
              h("td", {}, (m.latest_versions ?? []).map((v) => `v${v.version} (${v.current_stage})`).join(", ")),
              h("td", { class: "nowrap" }, formatTime(m.last_updated_timestamp)),
              h("td", {}, m.description ?? ""),
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * One model: versions with aliases, stages, source runs and the promotion gates logged to each
 * source run; forms to set/remove an alias and transition a stage, through the REST API with
 * the signed-in credentials (a server with auth refuses them otherwise, and the error shows here).
 */
export async function renderModel(main: HTMLElement, name: string): Promise<void> {
  const error = h("p", { class: "error", role: "alert", hidden: true, id: "registry-error" });
  const notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  const body = h("div", {});
  main.append(h("p", { class: "crumbs" }, h("a", { href: "#/models" }, "Models"), " / "), h("h1", { tabindex: -1 }, name), error, notice, body);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    showError(error, undefined);
    notice.textContent = "";
    try {
      await fn();
      notice.textContent = what;
      await load();
    } catch (err) {
      const e = err as Error;
      showError(error, err instanceof ApiError && err.status === 401 ? `Refused: ${e.message}` : e.message);
    }
  };

  const load = async () => {
    const [{ registered_model: model }, { model_versions: versions = [] }] = await Promise.all([
      apiGet<{ registered_model: RegisteredModel }>("registered-models/get", { name }),
      apiGet<{ model_versions?: ModelVersion[] }>("model-versions/search", { filter: `name = '${name.replace(/'/g, "\\'")}'`, max_results: 1000 }),
    ]);
    versions.sort((a, b) => Number(b.version) - Number(a.version));
    // Gate results live on each version's source run (metrics gate.*, tag polarity.promotion).
    const runs = new Map<string, Run>();
    await Promise.all(
      versions
        .slice(0, 50)
        .filter((v) => v.run_id)
        .map((v) =>
          apiGet<{ run: Run }>("runs/get", { run_id: v.run_id! }).then(
            (r) => runs.set(v.run_id!, r.run),
            () => undefined,
          ),
        ),
    );
    clear(body);

    const aliasInput = h("input", { type: "text", required: true, pattern: "[A-Za-z0-9_\\-]+", maxlength: 255, id: "alias-name" });
    const versionSelect = h(
      "select",
      { id: "alias-version" },
      versions.map((v) => h("option", { value: v.version }, `version ${v.version}`)),
    );
    const aliasForm = h(
      "form",
      {
        class: "row",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const alias = aliasInput.value.trim();
          if (!alias) return;
          void act(`Alias @${alias} now points to version ${versionSelect.value}.`, () =>
            apiSend("POST", "registered-models/alias", { name, alias, version: versionSelect.value }),
          );
        },
      },
      field("Alias", aliasInput),
      field("Version", versionSelect),
      h("button", { type: "submit" }, "Set alias"),
    );

    const aliases = model.aliases ?? [];
    const aliasList = aliases.length
      ? h(
          "ul",
          { class: "plain" },
          aliases.map((a) =>
            h(
              "li",
              {},
              h("span", { class: "badge blue" }, `@${a.alias}`),
              ` → version ${a.version} `,
              h(
                "button",
                {
                  type: "button",
                  class: "secondary small",
                  "aria-label": `Remove alias ${a.alias}`,
                  onclick: () => void act(`Alias @${a.alias} removed.`, () => apiSend("DELETE", "registered-models/alias", { name, alias: a.alias })),
                },
                "Remove",
              ),
            ),
          ),
        )
      : empty("No aliases set.");

    const rows = versions.map((v) => {
      const run = v.run_id ? runs.get(v.run_id) : undefined;
      const gates = (run?.data.metrics ?? []).filter((m) => m.key.startsWith("gate.") && m.key !== "gate.passed");
      const promotion = run ? tagOf(run, "polarity.promotion") : undefined;
      const stageSelect = h(
        "select",
        { "aria-label": `Stage for version ${v.version}` },
        STAGES.map((s) => h("option", { value: s, selected: s === v.current_stage }, s)),
      );
      const archive = h("input", { type: "checkbox", "aria-label": `Archive other versions in that stage (version ${v.version})` });
      return h(
        "tr",
        { "data-version": v.version },
        h("td", {}, `v${v.version}`),
        h(
          "td",
          {},
          (v.aliases ?? []).map((a) => h("span", { class: "badge blue" }, `@${a}`)),
        ),
        h("td", {}, v.current_stage),
        h("td", {}, v.run_id ? h("a", { href: `#/runs/${enc(v.run_id)}` }, run?.info.run_name || v.run_id.slice(0, 8)) : h("code", {}, v.source)),
        h(
          "td",
          { class: "gates" },
          promotion ? h("div", {}, promotion) : null,
          gates.length
            ? h(
                "ul",
                { class: "plain" },
                gates.map((g) =>
                  h(
                    "li",
                    {},
                    h("span", { class: `badge ${metricValue(g.value) === 1 ? "green" : "red"}` }, metricValue(g.value) === 1 ? "pass" : "fail"),
                    " ",
                    g.key.slice(5),
                  ),
                ),
              )
            : promotion
              ? null
              : h("span", { class: "muted" }, "—"),
        ),
        h("td", { class: "nowrap" }, formatTime(v.creation_timestamp)),
        h(
          "td",
          {},
          h(
            "div",
            { class: "row tight" },
            stageSelect,
            h("label", { class: "check" }, archive, " archive others"),
            h(
              "button",
              {
                type: "button",
                class: "secondary small",
                onclick: () =>
                  void act(`Version ${v.version} moved to ${stageSelect.value}.`, () =>
                    apiSend("POST", "model-versions/transition-stage", {
                      name,
                      version: v.version,
                      stage: stageSelect.value,
                      archive_existing_versions: archive.checked,
                    }),
                  ),
              },
              "Transition",
            ),
          ),
        ),
      );
    });

    append(body, [
      model.description ? h("p", {}, model.description) : null,
      section("Aliases", aliasList, aliasForm),
      section(
        "Versions",
        versions.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { class: "grid", id: "versions-table" },
                h(
                  "thead",
                  {},
                  h(
                    "tr",
                    {},
                    ...["Version", "Aliases", "Stage", "Source run", "Promotion gates", "Created", "Transition stage"].map((c) => h("th", { scope: "col" }, c)),
                  ),
                ),
                h("tbody", {}, rows),
              ),
            )
          : empty("No versions."),
      ),
    ]);
  };
  await load();
}
