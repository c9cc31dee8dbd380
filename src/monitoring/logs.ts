import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Label } from "../models/estimator.js";
import { NotFoundError } from "../util/errors.js";
import type { DriftValues } from "./drift.js";
import { rotatedLogFiles } from "./jsonl-log.js";

/** Lines of the server's prediction and feedback logs (src/monitoring/monitor.ts writes them). */
export interface PredictionLine {
  type: "prediction";
  ts: string;
  id: string;
  model?: string;
  version?: string;
  label: Label;
  score: number;
  length: number;
  text?: string;
}
export interface DriftLine {
  type: "drift";
  ts: string;
  version?: string;
  predictions: number;
  texts: number;
  values: DriftValues;
  /** The most-shifted reference terms at that moment (see report's TermShift). */
  terms?: { term: string; referenceDf: number; currentDf: number; shift: number }[];
}
export interface FeedbackLine {
  type: "feedback";
  ts: string;
  id: string;
  label: Label;
  predicted: Label;
  version?: string;
  text?: string;
}

export interface MonitoringLogs {
  predictions: PredictionLine[];
  drift: DriftLine[];
  feedback: FeedbackLine[];
  /** Lines that were not JSON or not a known record (counted, not fatal: a log may end mid-line after a crash). */
  skipped: number;
  files: string[];
}

/** At most this many lines are read (memory bound); the newest files are read last, so a cap drops the newest. */
export const MAX_LOG_LINES = 5_000_000;

const isLabel = (v: unknown): v is Label => typeof v === "string" || typeof v === "number";

/** Reads `predictions*.jsonl` and `feedback*.jsonl` (rotated files oldest first) from a log directory. */
export async function readMonitoringLogs(dir: string): Promise<MonitoringLogs> {
  if (!existsSync(dir)) throw new NotFoundError(`log directory ${dir} does not exist (the server writes it when POLARITY_MONITOR_LOG_DIR is set)`);
  const logs: MonitoringLogs = { predictions: [], drift: [], feedback: [], skipped: 0, files: [] };
  let lines = 0;
  for (const name of ["predictions", "feedback"]) {
    for (const file of rotatedLogFiles(dir, name)) {
      if (!existsSync(file)) continue;
      logs.files.push(file);
      const rl = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
      for await (const line of rl) {
        if (line.trim() === "") continue;
        if (++lines > MAX_LOG_LINES) {
          rl.close();
          break;
        }
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          logs.skipped++;
          continue;
        }
        if (
          rec.type === "prediction" &&
          typeof rec.ts === "string" &&
          typeof rec.id === "string" &&
          isLabel(rec.label) &&
          typeof rec.score === "number" &&
          typeof rec.length === "number"
        )
          logs.predictions.push(rec as unknown as PredictionLine);
        else if (rec.type === "drift" && typeof rec.ts === "string" && rec.values && typeof rec.values === "object")
          logs.drift.push(rec as unknown as DriftLine);
        else if (rec.type === "feedback" && typeof rec.ts === "string" && typeof rec.id === "string" && isLabel(rec.label) && isLabel(rec.predicted))
          logs.feedback.push(rec as unknown as FeedbackLine);
        else logs.skipped++;
      }
    }
  }
  return logs;
}
