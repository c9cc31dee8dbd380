import type { Command } from "commander";
import { InvalidParameterError } from "../util/errors.js";
import { action } from "./run-command.js";

/** `polarity promote`: quality-gated move of a model version from one alias to another (src/promotion). */
export function register(program: Command): void {
  program
    .command("promote")
    .description(
      "run the quality gates on the version with alias --from and, only if all pass, move alias --to (and stage Production) to it; exits 4 naming every failed gate",
    )
    .option("--model <name>", "registered model (default: register.model_name in params.yaml, 'sentiment')")
    .option("--from <alias>", "alias of the candidate version (default: promote.from, 'staging')")
    .option("--to <alias>", "alias to move (default: promote.to, 'production')")
    .option("--min-accuracy <x>", "override promote.min_accuracy")
    .option("--min-f1 <x>", "override promote.min_f1")
    .option("--min-roc-auc <x>", "override promote.min_roc_auc")
    .option("--max-regression <x>", "override promote.max_regression")
    .option("--dry-run", "run and print the gates without moving the alias or logging to the run (exit 4 if a gate fails)")
    .option("--params <file>", "params file", "params.yaml")
    .option("-C, --dir <dir>", "project directory", ".")
    .option("--json", "print the gate results as JSON")
    .action(
      action(
        async (o: {
          model?: string;
          from?: string;
          to?: string;
          minAccuracy?: string;
          minF1?: string;
          minRocAuc?: string;
          maxRegression?: string;
          dryRun?: boolean;
          params: string;
          dir: string;
          json?: boolean;
        }) => {
          const { resolve } = await import("node:path");
          const { loadStageContext } = await import("../stages/context.js");
          const { createReporter } = await import("../util/progress.js");
          const { promoteModel, PromotionRefusedError } = await import("../promotion/promote.js");
          const unit = (flag: string, v: string | undefined): number | undefined => {
            if (v === undefined) return undefined;
            const x = Number(v);
            if (!Number.isFinite(x) || x < 0 || x > 1) throw new InvalidParameterError(`${flag} must be a number in [0, 1], got '${v}'`);
            return x;
          };
          const overrides = Object.fromEntries(
            Object.entries({
              minAccuracy: unit("--min-accuracy", o.minAccuracy),
              minF1: unit("--min-f1", o.minF1),
              minRocAuc: unit("--min-roc-auc", o.minRocAuc),
              maxRegression: unit("--max-regression", o.maxRegression),
            }).filter(([, v]) => v !== undefined),
          );
          const reporter = createReporter({ stream: o.json ? process.stderr : process.stdout });
          const dir = resolve(o.dir);
          const ctx = await loadStageContext(dir, { paramsFile: o.params, reporter });
          try {
            const result = await promoteModel({ dir, params: ctx.params, modelName: o.model, from: o.from, to: o.to, overrides, dryRun: o.dryRun, reporter });
            if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
          } catch (err) {
            if (o.json && err instanceof PromotionRefusedError) process.stdout.write(JSON.stringify(err.result, null, 2) + "\n");
            throw err;
          }
        },
      ),
    );
}
