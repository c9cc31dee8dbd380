import type { Command } from "commander";
import type { BehaviourReport } from "../evaluation/behaviour.js";
import { InvalidParameterError } from "../util/errors.js";
import { requireInteger } from "../util/validate.js";
import { formatTable } from "../util/text-table.js";
import { action } from "./run-command.js";

interface CheckFlags {
  model: string;
  trackingUri?: string;
  positive?: string;
  seed: string;
  tolerance: string;
  maxFailureRate?: string;
  out?: string;
  track: boolean;
  runId?: string;
  experiment: string;
  json?: boolean;
}

/** Exit code when --max-failure-rate is exceeded (a gate, like `polarity promote`'s). */
export const CHECK_GATE_EXIT = 1;

/** Metric keys of a report: behaviour_failure_rate, behaviour_{mft,inv,dir}_failure_rate, behaviour_{capability}_failure_rate. */
export function behaviourMetrics(r: BehaviourReport): Record<string, number> {
  const m: Record<string, number> = { behaviour_failure_rate: r.overall.failureRate, behaviour_cases: r.overall.cases };
  for (const [t, s] of Object.entries(r.byType)) m[`behaviour_${t.toLowerCase()}_failure_rate`] = s.failureRate;
  for (const [c, s] of Object.entries(r.byCapability)) m[`behaviour_${c.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_failure_rate`] = s.failureRate;
  return m;
}

export function register(program: Command): void {
  program
    .command("check")
    .description("CheckList-style behavioural tests of a model (MFT, INV, DIR: vocabulary, negation, intensifiers, emoji, typos, names and locations, filler)")
    .option("--model <path|uri>", "model bundle file/directory or registry URI (models:/name@alias)", "models/model.json")
    .option("--tracking-uri <uri>", "tracking store (default: MLFLOW_TRACKING_URI, then sqlite:///mlruns.db)")
    .option("--positive <class>", "the positive class (default: the class named 'positive', else the second of two)")
    .option("--seed <n>", "seed of the generated cases (typo positions, name and city pairs)", "42")
    .option("--tolerance <p>", "DIR tests: how far P(positive) may move the wrong way", "0.1")
    .option("--max-failure-rate <rate>", `exit ${CHECK_GATE_EXIT} when any test type (MFT, INV, DIR) fails more often than this`)
    .option("--out <path>", "also write the full report as JSON")
    .option("--no-track", "do not log the failure rates to the tracking store")
    .option("--run-id <id>", "log the failure rates into this existing run (e.g. the evaluate stage's) instead of a new one")
    .option("--experiment <name>", "experiment of the new run", "polarity-check")
    .option("--json", "print the report as JSON")
    .action(
      action(async (o: CheckFlags) => {
        const num = (flag: string, raw: string): number => {
          const v = raw.trim() === "" ? Number.NaN : Number(raw);
          if (!Number.isFinite(v)) throw new InvalidParameterError(`${flag} must be a number, got '${raw}'`);
          return v;
        };
        const seed = requireInteger("--seed", num("--seed", o.seed), 0);
        const tolerance = num("--tolerance", o.tolerance);
        if (tolerance < 0 || tolerance > 1) throw new InvalidParameterError(`--tolerance must be in [0, 1], got '${o.tolerance}'`);
        let maxRate: number | null = null;
        if (o.maxFailureRate !== undefined) {
          maxRate = Number(o.maxFailureRate);
          if (o.maxFailureRate.trim() === "" || !Number.isFinite(maxRate) || maxRate < 0 || maxRate > 1)
            throw new InvalidParameterError(`--max-failure-rate must be a rate in [0, 1], got '${o.maxFailureRate}'`);
        }
        const [{ loadSentimentModel }, { behaviourSuite, runBehaviourSuite }] = await Promise.all([
          import("./predict.js"),
          import("../evaluation/behaviour.js"),
        ]);
        const model = await loadSentimentModel(o.model, o.trackingUri);
        const classes = model.classes;
        const names = model.toJSON().classNames ?? classes.map(String);
        let pos: number;
        if (o.positive !== undefined) {
          pos = classes.findIndex((c, i) => String(c) === o.positive || names[i] === o.positive);
          if (pos < 0)
            throw new InvalidParameterError(
              `--positive ${o.positive}: the model's classes are ${classes.map((c, i) => `${String(c)} (${names[i]})`).join(", ")}`,
            );
        } else {
          pos = names.findIndex((n) => n.toLowerCase() === "positive");
          if (pos < 0 && classes.length === 2) pos = 1;
          if (pos < 0)
            throw new InvalidParameterError(
              `the model has ${classes.length} classes (${names.join(", ")}) and none is named 'positive': pass --positive <class>`,
            );
        }
        if (classes.length !== 2)
          throw new InvalidParameterError(
            `the behavioural suite checks positive/negative models; this one has ${classes.length} classes (${names.join(", ")})`,
          );
        const k = classes.length;
        const report = await runBehaviourSuite(
          behaviourSuite(seed),
          (texts) => {
            const proba = model.predictProba(texts);
            return Float64Array.from({ length: texts.length }, (_, i) => proba[i * k + pos]);
          },
          { tolerance, seed },
        );
        const metrics = behaviourMetrics(report);
        let runId: string | null = null;
        if (o.track) {
          const { TrackingClient } = await import("../tracking/client.js");
          const client = TrackingClient.open(o.trackingUri ? { trackingUri: o.trackingUri } : {});
          try {
            if (o.runId !== undefined) {
              runId = o.runId;
              await client.getRun(runId);
              await client.logMetrics(runId, metrics);
            } else {
              const experimentId = await client.getOrCreateExperiment(o.experiment);
              const run = await client.createRun(experimentId, { runName: "behaviour-check", tags: { "polarity.kind": "check" } });
              runId = run.info.run_id;
              await client.logParams(runId, { model: o.model, seed, tolerance, positive_class: String(classes[pos]) });
              await client.logMetrics(runId, metrics);
              await client.endRun(runId, "FINISHED");
            }
          } finally {
            await client.close();
          }
        }
        if (o.out !== undefined) {
          const { writeJsonAtomic } = await import("../util/atomic-write.js");
          await writeJsonAtomic(o.out, { format: "polarity.behaviour-report", version: 1, model: o.model, ...report });
        }
        const failedTypes = maxRate === null ? [] : Object.entries(report.byType).filter(([, s]) => s.failureRate > (maxRate as number));
        if (o.json) console.log(JSON.stringify({ model: o.model, runId, ...report, metrics }, null, 2));
        else {
          const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
          const rows = report.tests.map((t) => [t.capability, t.name, t.type, String(t.cases), String(t.failures), pct(t.failureRate)]);
          process.stdout.write(formatTable(["capability", "test", "type", "cases", "failed", "failure rate"], rows));
          process.stdout.write("\n");
          process.stdout.write(
            formatTable(
              ["test type", "cases", "failed", "failure rate"],
              [
                ...Object.entries(report.byType).map(([t, s]) => [t, String(s.cases), String(s.failures), pct(s.failureRate)]),
                ["all", String(report.overall.cases), String(report.overall.failures), pct(report.overall.failureRate)],
              ],
            ),
          );
          for (const t of report.tests)
            for (const e of t.examples.slice(0, 1))
              process.stdout.write(
                `  e.g. ${t.name}: ${JSON.stringify(e.text)}${e.perturbed !== undefined ? ` → ${JSON.stringify(e.perturbed)}` : ""} P(positive) ${e.pPositive.toFixed(3)}${e.pPerturbed !== undefined ? ` → ${e.pPerturbed.toFixed(3)}` : ""}${e.expected ? ` (expected ${e.expected})` : ""}${e.direction ? ` (expected ${e.direction})` : ""}\n`,
              );
          if (runId !== null) process.stdout.write(`logged to run ${runId}\n`);
        }
        if (failedTypes.length > 0) {
          console.error(
            `check failed: ${failedTypes.map(([t, s]) => `${t} failure rate ${(100 * s.failureRate).toFixed(1)}%`).join(", ")} above --max-failure-rate ${o.maxFailureRate}`,
          );
          process.exit(CHECK_GATE_EXIT);
        }
      }),
    );
}
