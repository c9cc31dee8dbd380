import type { Command } from "commander";
import { action } from "./run-command.js";
import { diffParams, formatTable, formatValue } from "../pipeline/metrics-files.js";
import { findRoot } from "../pipeline/repo.js";

export function register(program: Command): void {
  const params = program.command("params").description("Inspect the pipeline's params");
  params
    .command("diff")
    .description("Compare tracked params in the workspace with a git revision (default HEAD)")
    .argument("[rev]", "git revision", "HEAD")
    .option("--all", "list unchanged params too")
    .option("--json", "print as JSON")
    .action(
      action(async (rev: string, o: { all?: boolean; json?: boolean }) => {
        const rows = diffParams(findRoot(), rev, o.all);
        if (o.json) {
          const out: Record<string, Record<string, { old: unknown; new: unknown }>> = {};
          for (const r of rows) (out[r.path] ??= {})[r.key] = { old: r.old, new: r.new };
          process.stdout.write(JSON.stringify(out, null, 2) + "\n");
        } else if (rows.length === 0) process.stdout.write(`No param changes against ${rev}.\n`);
        else
          process.stdout.write(
            formatTable(
              ["Path", "Param", rev, "workspace"],
              rows.map((r) => [r.path, r.key, formatValue(r.old), formatValue(r.new)]),
            ),
          );
      }),
    );
}
