import type { Command } from "commander";
import { action } from "./run-command.js";
import { addTrackingOptions, formatNumber, formatTable, formatTime, printJson, withClient, type TrackingCliOptions } from "./tracking-format.js";
import { InvalidParameterError } from "../util/errors.js";
import { requireInteger } from "../util/validate.js";
import type { Run } from "../tracking/types.js";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** What a user compares runs by: the quality metrics the evaluate stage logs, when present. */
export const DEFAULT_RUN_METRICS = ["accuracy", "f1", "roc_auc"];

function param(r: Run, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const p = r.data.params.find((x) => x.key === k);
    if (p) return p.value;
  }
  return undefined;
}

/** `tfidf 1-2` from featurize.kind and featurize.ngram_range ("[1,2]"). */
function featuresOf(r: Run): string | undefined {
  const kind = param(r, "featurize.kind");
  if (kind === undefined) return undefined;
  const range = param(r, "featurize.ngram_range");
  const m = range ? /^\[\s*(\d+)\s*,\s*(\d+)\s*\]$/.exec(range) : null;
  return m ? `${kind} ${m[1]}-${m[2]}` : kind;
}

/**
 * The `runs list` table: id, name, status, start, then the model kind and features (when the
 * runs carry them) and the metrics a user compares by — accuracy, F1, ROC AUC by default,
 * else the runs' own metric keys (without the cv_* breakdown), or the ones asked for.
 */
export function formatRunsTable(found: Run[], metrics?: string[]): string {
  const logged = new Set(found.flatMap((r) => r.data.metrics.map((m) => m.key)));
  let metricKeys = metrics && metrics.length > 0 ? metrics : DEFAULT_RUN_METRICS.filter((k) => logged.has(k));
  if (metricKeys.length === 0)
    metricKeys = [...logged]
      .filter((k) => !k.startsWith("cv_"))
      .sort()
      .slice(0, 6);
  const models = found.map((r) => param(r, "train.model", "model"));
  const features = found.map(featuresOf);
  const showModel = models.some((m) => m !== undefined);
  const showFeatures = features.some((f) => f !== undefined);
  const headers = ["Run ID", "Name", "Status", "Started", ...(showModel ? ["Model"] : []), ...(showFeatures ? ["Features"] : []), ...metricKeys];
  const rows = found.map((r, i) => [
    r.info.run_id,
    r.info.run_name,
    r.info.status,
    formatTime(r.info.start_time),
    ...(showModel ? [models[i] ?? "-"] : []),
    ...(showFeatures ? [features[i] ?? "-"] : []),
    ...metricKeys.map((k) => {
      const m = r.data.metrics.find((x) => x.key === k);
      return m ? formatNumber(m.value) : "-";
    }),
  ]);
  return formatTable(headers, rows);
}

export function register(program: Command): void {
  const runs = program.command("runs").description("List, show and compare tracked runs");

  addTrackingOptions(
    runs
      .command("list")
      .description("List runs of an experiment (newest first unless --order-by)")
      .option("-e, --experiment-id <id>", "experiment id (repeatable)", collect)
      .option("-n, --experiment-name <name>", "experiment name")
      .option("--filter <expr>", `MLflow filter, e.g. "metrics.accuracy > 0.8 AND params.model = 'logreg'"`)
      .option("--order-by <clause>", `e.g. "metrics.accuracy DESC" (repeatable)`, collect)
      .option("--max-results <n>", "maximum runs", "100")
      .option("--metric <key>", "metric column to show (repeatable; default accuracy, f1, roc_auc when logged)", collect),
  ).action(
    action(
      async (
        o: TrackingCliOptions & {
          experimentId?: string[];
          experimentName?: string;
          filter?: string;
          orderBy?: string[];
          maxResults: string;
          metric?: string[];
        },
      ) => {
        const maxResults = requireInteger("--max-results", Number(o.maxResults), 1, 50000);
        await withClient(o, async (client) => {
          let ids = o.experimentId ?? [];
          if (o.experimentName) {
            const exp = await client.getExperimentByName(o.experimentName);
            if (!exp) throw new InvalidParameterError(`no experiment named '${o.experimentName}'`);
            ids = [...ids, exp.experiment_id];
          }
          if (ids.length === 0) ids = (await client.searchExperiments({ maxResults: 1000 })).experiments.map((e) => e.experiment_id);
          const { runs: found } = await client.searchRuns({ experimentIds: ids, filter: o.filter, orderBy: o.orderBy, maxResults });
          if (o.json) return printJson(found);
          if (found.length === 0) {
            process.stdout.write("No runs found.\n");
            return;
          }
          process.stdout.write(formatRunsTable(found, o.metric));
        });
      },
    ),
  );

  addTrackingOptions(runs.command("show").description("Show one run: info, params, metrics, tags, dataset inputs").argument("<run_id>")).action(
    action(async (runId: string, o: TrackingCliOptions) => {
      await withClient(o, async (client) => {
        const run = await client.getRun(runId);
        if (o.json) return printJson(run);
        const i = run.info;
        const lines = [
          `Run:          ${i.run_id} (${i.run_name})`,
          `Experiment:   ${i.experiment_id}`,
          `Status:       ${i.status}${i.lifecycle_stage === "deleted" ? " (deleted)" : ""}`,
          `Started:      ${formatTime(i.start_time)}`,
          `Ended:        ${formatTime(i.end_time)}`,
          `Artifacts:    ${i.artifact_uri}`,
          `User:         ${i.user_id || "-"}`,
        ];
        process.stdout.write(lines.join("\n") + "\n\n");
        const section = (title: string, headers: string[], rows: string[][]) => {
          process.stdout.write(`${title}\n`);
          process.stdout.write(rows.length > 0 ? formatTable(headers, rows) + "\n" : "  (none)\n\n");
        };
        section(
          "Params",
          ["Key", "Value"],
          run.data.params.map((p) => [p.key, p.value]),
        );
        section(
          "Metrics",
          ["Key", "Value", "Step", "Timestamp"],
          run.data.metrics.map((m) => [m.key, formatNumber(m.value), String(m.step), formatTime(m.timestamp)]),
        );
        section(
          "Tags",
          ["Key", "Value"],
          run.data.tags.map((t) => [t.key, t.value.length > 80 ? `${t.value.slice(0, 77)}...` : t.value]),
        );
        section(
          "Dataset inputs",
          ["Name", "Digest", "Source type", "Context"],
          run.inputs.dataset_inputs.map((d) => [
            d.dataset.name,
            d.dataset.digest,
            d.dataset.source_type,
            d.tags.find((t) => t.key === "mlflow.data.context")?.value ?? "-",
          ]),
        );
      });
    }),
  );

  addTrackingOptions(runs.command("compare").description("Compare params and metrics of several runs side by side").argument("<run_ids...>")).action(
    action(async (runIds: string[], o: TrackingCliOptions) => {
      if (runIds.length < 2) throw new InvalidParameterError("compare needs at least two run ids");
      await withClient(o, async (client) => {
        const found: Run[] = [];
        for (const id of runIds) found.push(await client.getRun(id));
        const paramKeys = [...new Set(found.flatMap((r) => r.data.params.map((p) => p.key)))].sort();
        const metricKeys = [...new Set(found.flatMap((r) => r.data.metrics.map((m) => m.key)))].sort();
        const table = {
          runs: found.map((r) => ({ run_id: r.info.run_id, run_name: r.info.run_name })),
          params: Object.fromEntries(paramKeys.map((k) => [k, found.map((r) => r.data.params.find((p) => p.key === k)?.value ?? null)])),
          metrics: Object.fromEntries(metricKeys.map((k) => [k, found.map((r) => r.data.metrics.find((m) => m.key === k)?.value ?? null)])),
        };
        if (o.json) return printJson(table);
        const rows: string[][] = [];
        for (const k of paramKeys) {
          const vals = table.params[k];
          rows.push([`params.${k}`, ...vals.map((v) => v ?? "-"), new Set(vals).size > 1 ? "*" : ""]);
        }
        for (const k of metricKeys) {
          const vals = table.metrics[k];
          rows.push([`metrics.${k}`, ...vals.map((v) => (v === null ? "-" : formatNumber(v))), new Set(vals).size > 1 ? "*" : ""]);
        }
        process.stdout.write(formatTable(["", ...found.map((r) => r.info.run_name || r.info.run_id.slice(0, 8)), "differs"], rows));
      });
    }),
  );
}
