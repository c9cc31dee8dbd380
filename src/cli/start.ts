import type { Command } from "commander";
import { action } from "./run-command.js";

/**
 * `polarity start` (what `npm start` runs): repro → promote → summary → serve production.
 * Exits non-zero when a stage fails or the gates refuse the candidate (after the summary).
 */
export function register(program: Command): void {
  program
    .command("start")
    .description(
      "the main job: reproduce the pipeline (no-op when nothing changed), promote staging to production through the quality gates, print a summary, then serve the production model",
    )
    .option("-C, --dir <dir>", "project directory (with dvc.yaml and params.yaml)", ".")
    .option("--params <file>", "params file", "params.yaml")
    .option("--no-serve", "stop after the summary instead of serving the production model")
    .option("--host <host>", "serving interface (env HOST; default 127.0.0.1)")
    .option("-p, --port <port>", "serving port (env PORT; default 8080)")
    .option("--json", "print the summary as JSON (progress goes to stderr); implies --no-serve")
    .action(
      action(async (o: { dir: string; params: string; serve: boolean; host?: string; port?: string; json?: boolean }) => {
        const { resolve } = await import("node:path");
        const { runMainJob, formatSummary } = await import("../jobs/main-job.js");
        const { createReporter } = await import("../util/progress.js");
        const { PromotionRefusedError } = await import("../promotion/promote.js");
        const dir = resolve(o.dir);
        const out = o.json ? process.stderr : process.stdout;
        const reporter = createReporter({ stream: out });
        const summary = await runMainJob({
          dir,
          reporter,
          paramsFile: o.params,
          reproLog: {
            info: (l) => out.write(l + "\n"),
            output: (l, stream) => (o.json || stream === "stderr" ? process.stderr : process.stdout).write(l + "\n"),
          },
        });
        if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
        else process.stdout.write(formatSummary(summary, dir) + "\n");
        if (summary.refusal && summary.promotion) throw new PromotionRefusedError(summary.refusal, summary.promotion);
        if (!o.serve || o.json || !summary.productionUri) return;
        const { loadParams } = await import("../stages/params.js");
        const { startServing } = await import("../serving/server.js");
        const params = await loadParams(resolve(dir, o.params));
        process.chdir(dir);
        const server = await startServing({
          modelUri: summary.productionUri,
          ...(params.tracking.uri ? { trackingUri: params.tracking.uri } : {}),
          ...(o.host ? { host: o.host } : {}),
          ...(o.port ? { port: o.port } : {}),
        });
        process.stdout.write(`serving ${summary.productionUri} on ${server.url} (Ctrl-C to stop)\n`);
      }),
    );
}
