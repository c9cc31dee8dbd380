import type { Command } from "commander";
import { action } from "./run-command.js";
import { pipelineStatus } from "../pipeline/repro.js";

export function register(program: Command): void {
  program
    .command("status")
    .description("Show which pipeline stages are out of date, and why")
    .argument("[targets...]", "stages to check (default: all)")
    .option("-s, --single-item", "check only the targets, not their upstream stages")
    .option("--json", "print as JSON")
    .action(action(async (targets: string[], o: { singleItem?: boolean; json?: boolean }) => {
      const report = await pipelineStatus({ targets, single: o.singleItem });
      if (o.json) {
        const out: Record<string, unknown> = {};
        for (const s of report.stages) if (s.changed) out[s.name] = s.reasons;
        process.stdout.write(JSON.stringify(out, null, 2) + "\n");
        return;
      }
      const changed = report.stages.filter((s) => s.changed);
      for (const s of report.stages.filter((x) => x.frozen)) process.stdout.write(`${s.name}: frozen\n`);
      if (changed.length === 0) {
        process.stdout.write("Data and pipelines are up to date.\n");
        return;
      }
      for (const s of changed) {
        process.stdout.write(`${s.name}:\n`);
        for (const r of s.reasons) process.stdout.write(`\t${r.message}\n`);
      }
    }));
}
