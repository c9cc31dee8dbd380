import path from "node:path";
import type { Command } from "commander";
import { action } from "./run-command.js";
import { renderPlotsHtml } from "../pipeline/plots.js";
import { findRoot } from "../pipeline/repo.js";

export function register(program: Command): void {
  const plots = program.command("plots").description("Render the pipeline's plots");
  plots
    .command("show")
    .description("Render the plots declared in dvc.yaml into a self-contained HTML page")
    .option("-o, --out <dir>", "output directory", "dvc_plots")
    .option("--json", "print {file, plots} as JSON")
    .action(
      action(async (o: { out: string; json?: boolean }) => {
        const root = findRoot();
        const res = renderPlotsHtml(root, path.resolve(o.out, "index.html"));
        if (o.json) process.stdout.write(JSON.stringify(res, null, 2) + "\n");
        else process.stdout.write(`${res.plots.length} plot${res.plots.length === 1 ? "" : "s"} rendered: file://${res.file}\n`);
      }),
    );
}
