import { InvalidParameterError } from "../util/errors.js";
import { DEFAULT_THRESHOLDS, DRIFT_STATISTICS, type DriftValues } from "./drift.js";

/**
 * Model monitoring settings of the server. Each has an environment variable; values passed
 * in code win over the environment, the environment over the default.
 *
 * | field            | env                           | default                                   |
 * |------------------|-------------------------------|-------------------------------------------|
 * | enabled          | POLARITY_MONITORING (on/off)  | on                                        |
 * | windowSize       | POLARITY_MONITOR_WINDOW       | 1000 predictions (score/length/class mix) |
 * | textWindowSize   | POLARITY_MONITOR_TEXT_WINDOW  | 500 profiled texts (OOV, top terms)       |
 * | textsPerTick     | POLARITY_MONITOR_TEXTS_PER_TICK | 256 texts tokenised per tick at most, sampled evenly over the interval (monitor.ts textStride) |
 * | intervalMs       | POLARITY_MONITOR_INTERVAL_MS  | 2000 (drift computed, logs flushed)       |
 * | feedbackWindow   | POLARITY_MONITOR_FEEDBACK_WINDOW | 500 labelled predictions               |
 * | logDir           | POLARITY_MONITOR_LOG_DIR      | none (no prediction / feedback log)       |
 * | logSampleRate    | POLARITY_MONITOR_LOG_SAMPLE   | 0.1 of predictions logged                 |
 * | logText          | POLARITY_MONITOR_LOG_TEXT=1   | off: raw text is never written            |
 * | logMaxBytes      | POLARITY_MONITOR_LOG_MAX_BYTES| 64 MiB per file before rotation           |
 * | logKeep          | POLARITY_MONITOR_LOG_KEEP     | 5 rotated files                           |
 */
export interface MonitoringConfig {
  enabled: boolean;
  windowSize: number;
  textWindowSize: number;
  textsPerTick: number;
  intervalMs: number;
  feedbackWindow: number;
  logDir: string | null;
  logSampleRate: number;
  logText: boolean;
  logMaxBytes: number;
  logKeep: number;
  thresholds: DriftValues;
}

export type MonitoringInput = Partial<Omit<MonitoringConfig, "thresholds">> & { thresholds?: Partial<DriftValues> };

const LIMITS = {
  windowSize: [10, 1_000_000],
  textWindowSize: [10, 100_000],
  textsPerTick: [1, 100_000],
  intervalMs: [0, 3_600_000],
  feedbackWindow: [10, 1_000_000],
  logMaxBytes: [1024, 2 ** 40],
  logKeep: [0, 100],
} as const;

export function resolveMonitoringConfig(input: MonitoringInput = {}, env: NodeJS.ProcessEnv = process.env): MonitoringConfig {
  const int = (key: keyof typeof LIMITS, envName: string, dflt: number): number => {
    const raw = input[key] ?? (env[envName] !== undefined && env[envName] !== "" ? Number(env[envName]) : dflt);
    const [lo, hi] = LIMITS[key];
    if (!Number.isInteger(raw) || raw < lo || raw > hi)
      throw new InvalidParameterError(`monitoring ${key} (${envName}) must be an integer in [${lo}, ${hi}], got ${JSON.stringify(input[key] ?? env[envName])}`);
    return raw;
  };
  const onOff = (value: boolean | undefined, envName: string, dflt: boolean): boolean => {
    if (value !== undefined) return value;
    const raw = env[envName]?.trim().toLowerCase();
    if (raw === undefined || raw === "") return dflt;
    if (["1", "on", "true", "yes"].includes(raw)) return true;
    if (["0", "off", "false", "no"].includes(raw)) return false;
    throw new InvalidParameterError(`${envName} must be on or off, got ${JSON.stringify(env[envName])}`);
  };
  const sample = input.logSampleRate ?? (env.POLARITY_MONITOR_LOG_SAMPLE ? Number(env.POLARITY_MONITOR_LOG_SAMPLE) : 0.1);
  if (!(sample >= 0 && sample <= 1))
    throw new InvalidParameterError(
      `monitoring logSampleRate (POLARITY_MONITOR_LOG_SAMPLE) must be in [0, 1], got ${JSON.stringify(input.logSampleRate ?? env.POLARITY_MONITOR_LOG_SAMPLE)}`,
    );
  const thresholds = { ...DEFAULT_THRESHOLDS, ...(input.thresholds ?? {}) };
  for (const s of DRIFT_STATISTICS) {
    if (!Number.isFinite(thresholds[s])) throw new InvalidParameterError(`monitoring threshold ${s} must be a finite number`);
  }
  const logDir = input.logDir !== undefined ? input.logDir : env.POLARITY_MONITOR_LOG_DIR || null;
  return {
    enabled: onOff(input.enabled, "POLARITY_MONITORING", true),
    windowSize: int("windowSize", "POLARITY_MONITOR_WINDOW", 1000),
    textWindowSize: int("textWindowSize", "POLARITY_MONITOR_TEXT_WINDOW", 500),
    textsPerTick: int("textsPerTick", "POLARITY_MONITOR_TEXTS_PER_TICK", 256),
    intervalMs: int("intervalMs", "POLARITY_MONITOR_INTERVAL_MS", 2000),
    feedbackWindow: int("feedbackWindow", "POLARITY_MONITOR_FEEDBACK_WINDOW", 500),
    logDir,
    logSampleRate: sample,
    logText: onOff(input.logText, "POLARITY_MONITOR_LOG_TEXT", false),
    logMaxBytes: int("logMaxBytes", "POLARITY_MONITOR_LOG_MAX_BYTES", 64 * 1024 * 1024),
    logKeep: int("logKeep", "POLARITY_MONITOR_LOG_KEEP", 5),
    thresholds,
  };
}
