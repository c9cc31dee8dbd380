import type { Command } from "commander";
import { action } from "./run-command.js";
import { exitWhenWritten } from "./stdout.js";
import { pipelineStatus } from "../pipeline/status.js";
import type { DvcStageStatus } from "../pipeline/stage-state.js";
import { STATUS_OPTIONS, type StatusOptions } from "./status-args.js";

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

/** `polarity status`: prints what pipelineStatus reports (DVC's text, --json, or only the exit code with --quiet). */
async function runStatus(targets: string[], o: StatusOptions): Promise<void> {
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
}

/**
 * The command's action, as commander calls it and as the launcher calls it from the status
 * bundle (dist/cli/polarity-status.cjs, src/cli/bundle.ts) with parseStatusArgs' result.
 */
export const statusAction = action(runStatus);

export function register(program: Command): void {
  const command = program
    .command("status")
    .description("Show which pipeline stages are out of date, and why (as `dvc status`)")
    .argument("[targets...]", "stages to check (default: all)");
  for (const o of STATUS_OPTIONS) command.option(o.flags, o.description);
  command.action(statusAction);
}
