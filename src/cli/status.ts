import type { Command } from "commander";
import { action } from "./run-command.js";
import { exitWhenWritten } from "./stdout.js";
import { pipelineStatus } from "../pipeline/status.js";
import type { DvcStageStatus } from "../pipeline/stage-state.js";

/** DVC's text layout (dvc/commands/status.py): a tab per level, states padded to 30 columns. */
function showDvcStatus(value: unknown, indent: number, out: string[]): void {
  const ind = "\t".repeat(indent);
  if (typeof value === "string") {
    out.push(`${ind}${value}`);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) showDvcStatus(v, indent, out);
    return;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === "string") out.push(`${ind}${`${v}:`.padEnd(30)}${key}`);
    else if (v && (!Array.isArray(v) || v.length)) {
      out.push(`${ind}${key}:`);
      showDvcStatus(v, indent + 1, out);
    }
  }
}

export function register(program: Command): void {
  program
    .command("status")
    .description("Show which pipeline stages are out of date, and why (as `dvc status`)")
    .argument("[targets...]", "stages to check (default: all)")
    .option("-s, --single-item", "check only the targets, not their upstream stages")
    .option("--json", 'print as JSON, in DVC\'s shape: {stage: [{"changed deps": {...}}, ...]}')
    .option("-q, --quiet", "print nothing; exit 1 when something changed, 0 when up to date")
    .action(
      action(async (targets: string[], o: { singleItem?: boolean; json?: boolean; quiet?: boolean }) => {
        const report = await pipelineStatus({ targets, single: o.singleItem });
        const changed = report.stages.filter((s) => s.changed);
        const st: Record<string, DvcStageStatus> = {};
        for (const s of changed) st[s.name] = s.dvc;
        if (o.quiet) {
          if (changed.length) process.exitCode = 1;
          exitWhenWritten("");
          return;
        }
        if (o.json) {
          exitWhenWritten(JSON.stringify(st, null, 2) + "\n");
          return;
        }
        if (changed.length === 0) {
          exitWhenWritten("Data and pipelines are up to date.\n");
          return;
        }
        const lines: string[] = [];
        showDvcStatus(st, 0, lines);
        exitWhenWritten(lines.join("\n") + "\n");
      }),
    );
}
