import type { Command } from "commander";
import { action } from "./run-command.js";
import { diffMetrics, formatTable, formatValue, showMetrics } from "../pipeline/metrics-files.js";
import { findRoot } from "../pipeline/repo.js";

export function register(program: Command): void {
  const metrics = program.command("metrics").description("Show and compare the pipeline's metrics files");
  metrics
    .command("show")
    .description("Print the metrics files declared in dvc.yaml")
    .option("--json", "print as JSON")
    .action(
      action(async (o: { json?: boolean }) => {
        const vals = showMetrics(findRoot());
        if (o.json) {
          process.stdout.write(JSON.stringify(vals, null, 2) + "\n");
          return;
        }
        const files = Object.keys(vals);
        if (files.length === 0) {
          process.stdout.write("No metrics files declared in dvc.yaml.\n");
          return;
        }
        const keys = [...new Set(files.flatMap((f) => Object.keys(vals[f].data ?? {})))];
        const rows = files.map((f) => [f, ...keys.map((k) => (vals[f].error ? (k === keys[0] ? `(${vals[f].error})` : "") : formatValue(vals[f].data![k])))]);
        process.stdout.write(formatTable(["Path", ...keys], rows));
      }),
    );
  metrics
    .command("diff")
    .description("Compare metrics in the workspace with a git revision (default HEAD)")
    .argument("[rev]", "git revision", "HEAD")
    .option("--all", "list unchanged metrics too")
    .option("--json", "print as JSON")
    .action(
      action(async (rev: string, o: { all?: boolean; json?: boolean }) => {
        const rows = diffMetrics(findRoot(), rev, o.all);
        if (o.json) {
          const out: Record<string, Record<string, { old: unknown; new: unknown; diff?: number }>> = {};
          for (const r of rows) (out[r.path] ??= {})[r.key] = { old: r.old, new: r.new, ...(r.diff !== undefined ? { diff: r.diff } : {}) };
          process.stdout.write(JSON.stringify(out, null, 2) + "\n");
        } else if (rows.length === 0) process.stdout.write(`No metric changes against ${rev}.\n`);
        else
          process.stdout.write(
            formatTable(
              ["Path", "Metric", rev, "workspace", "Change"],
              rows.map((r) => [r.path, r.key, formatValue(r.old), formatValue(r.new), r.diff === undefined ? "-" : formatValue(r.diff)]),
            ),
          );
      }),
    );
}
