import type { Command } from "commander";
import type { StageContext } from "../stages/context.js";
import { InvalidParameterError } from "../util/errors.js";
import { action } from "./run-command.js";

/**
 * `polarity stage <name>`: runs one step of the sentiment pipeline in the current directory
 * (the commands the repo's dvc.yaml declares; `polarity repro` runs them in order).
 */
type StageFn = (ctx: StageContext) => Promise<unknown>;

const STAGES: Record<string, { desc: string; load: () => Promise<StageFn> }> = {
  ingest: {
    desc: "read the source, clean, validate, split → data/raw, reports/data_validation.json",
    load: async () => (await import("../stages/ingest.js")).runIngestStage,
  },
  preprocess: { desc: "shared text preprocessing → data/interim", load: async () => (await import("../stages/preprocess.js")).runPreprocessStage },
  featurize: {
    desc: "fit BoW/TF-IDF → data/processed/*.npz, models/featurizer.json",
    load: async () => (await import("../stages/featurize.js")).runFeaturizeStage,
  },
  train: { desc: "fit the classifier → models/model.json", load: async () => (await import("../stages/train.js")).runTrainStage },
  evaluate: { desc: "held-out metrics, plots, tracked run → reports/", load: async () => (await import("../stages/evaluate.js")).runEvaluateStage },
  register: {
    desc: "register the run's model, alias staging → reports/registration.json",
    load: async () => (await import("../stages/register.js")).runRegisterStage,
  },
};

export function register(program: Command): void {
  program
    .command("stage")
    .description(`run one pipeline stage: ${Object.keys(STAGES).join(" | ")}`)
    .argument(
      "<name>",
      Object.entries(STAGES)
        .map(([n, s]) => `${n}: ${s.desc}`)
        .join("; "),
    )
    .option("--params <file>", "params file", "params.yaml")
    .option("-C, --dir <dir>", "project directory", ".")
    .option("--json", "print the stage's result as JSON (progress lines go to stderr)")
    .action(
      action(async (name: string, opts: { params: string; dir: string; json?: boolean }) => {
        const stage = STAGES[name];
        if (!stage) throw new InvalidParameterError(`unknown stage ${JSON.stringify(name)} (stages: ${Object.keys(STAGES).join(", ")})`);
        const { loadStageContext } = await import("../stages/context.js");
        const { createReporter } = await import("../util/progress.js");
        const { resolve } = await import("node:path");
        const reporter = createReporter({ stream: opts.json ? process.stderr : process.stdout });
        const ctx = await loadStageContext(resolve(opts.dir), { paramsFile: opts.params, reporter });
        const run = await stage.load();
        const result = await run(ctx);
        reporter.close();
        if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      }),
    );
}
