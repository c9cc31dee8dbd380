import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { action } from "./run-command.js";
import { formatDatasetCsv, readDatasetCsv } from "../data/files.js";
import { SentimentModel } from "../models/sentiment-model.js";
import { readMonitoringLogs } from "../monitoring/logs.js";
import { buildReferenceProfile, referenceProfileOf, TextProfiler } from "../monitoring/profile.js";
import { buildMonitoringReport, reportToJSON } from "../monitoring/report.js";
import { renderReportHtml } from "../monitoring/report-html.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { DataError, InvalidParameterError, NotFoundError } from "../util/errors.js";

/** Exit code of `monitor report` when a drift statistic crosses its threshold or live accuracy dropped (errors use 1–4). */
export const DRIFT_EXIT_CODE = 5;

async function loadModel(path: string): Promise<SentimentModel> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new NotFoundError(`model file ${path} cannot be read`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DataError(`${path} is not JSON (expected a model bundle, e.g. models/model.json)`);
  }
  return SentimentModel.fromJSON(json);
}

function positiveInt(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidParameterError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** `polarity monitor report | export-feedback | profile` (docs/monitoring.md). */
export function register(program: Command): void {
  const monitor = program.command("monitor").description("Model monitoring offline: drift report, feedback export, reference profiles");

  monitor
    .command("report")
    .description(
      `Compare the server's prediction log (and feedback) with the model's reference profile: a self-contained HTML report with plots, or --json. Exits ${DRIFT_EXIT_CODE} when drift crosses a threshold or live accuracy dropped`,
    )
    .requiredOption("-m, --model <file>", "the model bundle whose metadata.referenceProfile is the reference (e.g. models/model.json)")
    .requiredOption("-l, --log-dir <dir>", "the server's POLARITY_MONITOR_LOG_DIR (predictions*.jsonl, feedback*.jsonl)")
    .option("-o, --out <file>", "HTML report to write (default monitoring-report.html; not written with --json)", "monitoring-report.html")
    .option("--json", "print the report as JSON instead of writing HTML")
    .option("--window <n>", "logged predictions per window in 'drift over time' (default 500)")
    .option("--feedback-window <n>", "labels per window in 'live accuracy over time' (default 200)")
    .action(
      action(async (o: { model: string; logDir: string; out: string; json?: boolean; window?: string; feedbackWindow?: string }) => {
        const model = await loadModel(o.model);
        const profile = referenceProfileOf(model.metadata);
        if (!profile)
          throw new DataError(
            `${o.model} has no reference profile (bundles from polarity repro carry one); add one with: polarity monitor profile --model ${o.model} --data <held-out CSV>`,
          );
        const logs = await readMonitoringLogs(o.logDir);
        const report = buildMonitoringReport(profile, logs, {
          window: positiveInt("--window", o.window, 500),
          feedbackWindow: positiveInt("--feedback-window", o.feedbackWindow, 200),
          profiler: new TextProfiler(model, profile.topTerms.terms),
        });
        if (o.json) process.stdout.write(reportToJSON(report) + "\n");
        else {
          await writeFileAtomic(o.out, renderReportHtml(report));
          const alarms = [...report.alarms, ...(report.live.drop ? ["live_accuracy"] : [])];
          process.stdout.write(
            `${report.status === "drift" ? `DRIFT (${alarms.join(", ")})` : report.status === "ok" ? "no drift" : "not enough data"}: ${report.counts.predictions} logged predictions, ${report.counts.feedback} labels → ${o.out}\n`,
          );
        }
        if (report.status === "drift") process.exitCode = DRIFT_EXIT_CODE;
      }),
    );

  monitor
    .command("export-feedback")
    .description(
      "Turn labelled feedback into a text,label CSV the ingest stage reads (texts from the feedback or the prediction log; needs POLARITY_MONITOR_LOG_TEXT=1 on the server)",
    )
    .requiredOption("-l, --log-dir <dir>", "the server's POLARITY_MONITOR_LOG_DIR")
    .requiredOption("-o, --out <file>", "CSV to write (header text,label; point ingest.source at it)")
    .option("--json", "print a JSON summary")
    .action(
      action(async (o: { logDir: string; out: string; json?: boolean }) => {
        const logs = await readMonitoringLogs(o.logDir);
        const textOf = new Map<string, string>();
        for (const p of logs.predictions) if (typeof p.text === "string") textOf.set(p.id, p.text);
        const seen = new Set<string>();
        const texts: string[] = [];
        const labels: (string | number)[] = [];
        let withoutText = 0;
        for (const f of logs.feedback) {
          if (seen.has(f.id)) continue;
          seen.add(f.id);
          const text = typeof f.text === "string" ? f.text : textOf.get(f.id);
          if (text === undefined || text.trim() === "") {
            withoutText++;
            continue;
          }
          texts.push(text);
          labels.push(f.label);
        }
        if (texts.length === 0) {
          throw new DataError(
            `no labelled feedback with text in ${o.logDir} (${seen.size} labels, none with text: run the server with POLARITY_MONITOR_LOG_TEXT=1, or send "text" with the feedback)`,
          );
        }
        await writeFileAtomic(o.out, formatDatasetCsv(texts, labels));
        const summary = { rows: texts.length, labels: seen.size, withoutText, out: o.out };
        process.stdout.write(
          o.json
            ? JSON.stringify(summary) + "\n"
            : `wrote ${texts.length} labelled texts to ${o.out}${withoutText ? ` (${withoutText} labels skipped: no text logged)` : ""}\n`,
        );
      }),
    );

  monitor
    .command("profile")
    .description(
      "Add (or replace) the reference profile of a model bundle built outside the pipeline (the train stage adds it to models/model.json), on a labelled CSV the model did not train on",
    )
    .requiredOption("-m, --model <file>", "model bundle to update (written atomically)")
    .requiredOption("-d, --data <csv>", "held-out labelled texts (header text,label)")
    .option("-o, --out <file>", "write the profiled bundle here instead of updating --model")
    .action(
      action(async (o: { model: string; data: string; out?: string }) => {
        const model = await loadModel(o.model);
        const data = await readDatasetCsv(o.data);
        const profile = buildReferenceProfile(model, data.texts, data.labels);
        const json = model.toJSON();
        json.metadata = { ...json.metadata, referenceProfile: profile };
        await writeFileAtomic(o.out ?? o.model, JSON.stringify(json));
        process.stdout.write(
          `reference profile of ${profile.rows} texts (accuracy ${profile.accuracy?.toFixed(3)}, OOV rate ${profile.oovRate.toFixed(3)}) → ${o.out ?? o.model}\n`,
        );
      }),
    );
}
