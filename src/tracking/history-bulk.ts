import type { FastifyInstance } from "fastify";
import { quoteClientString } from "../http/errors.js";
import { InvalidParameterError } from "../util/errors.js";
import type { TrackingService } from "./service.js";
import { wireReplacer } from "./service.js";
import { metricHistorySampler, type MetricHistorySampler } from "./store/sql/metric-history-sample.js";
import { validateKey, validateRunId } from "./validation.js";

/**
 * MLflow's sampled metric history, `GET /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval`
 * (mlflow/server/handlers.py: get_metric_history_bulk_interval_handler and
 * _get_sampled_steps_from_steps), which MLflow's own UI charts from. Query parameters:
 * `run_ids` (repeated, 1–100), `metric_key`, optional `start_step` and `end_step` (both or
 * neither), `max_results` (1–2500, default 2500). Answer: `{metrics: [{key, value, timestamp,
 * step, run_id}]}` — for each run in request order, its points at the sampled steps.
 */

/** handlers.py: MAX_RUNS_GET_METRIC_HISTORY_BULK, MAX_RESULTS_PER_RUN, MAX_RESULTS_GET_METRIC_HISTORY. */
export const BULK_INTERVAL_LIMITS = { maxRuns: 100, maxResultsPerRun: 2500, maxPointsPerRun: 25_000 } as const;

export const BULK_INTERVAL_PATH = "metrics/get-history-bulk-interval";

export interface BulkIntervalRequest {
  runIds: string[];
  metricKey: string;
  startStep?: number;
  endStep?: number;
  maxResults: number;
}

export interface MetricWithRunId {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  run_id: string;
}

type Query = Record<string, string | string[] | undefined>;

function one(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) {
    if (v.length > 1) throw new InvalidParameterError(`Parameter '${name}' was given ${v.length} times; give it once.`);
    return v[0];
  }
  return v;
}

/** MLflow's _assert_intlike: an integer written in decimal (a safe integer here, so it survives the database round trip). */
function intLike(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  const n = /^[+-]?\d{1,16}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n))
    throw new InvalidParameterError(`Invalid value ${quoteClientString(raw, 40)} for parameter '${name}' supplied: it must be an integer.`);
  return n;
}

/** Validates the query string as MLflow's handler does; every failure is an INVALID_PARAMETER_VALUE (400). */
export function parseBulkIntervalQuery(query: Query): BulkIntervalRequest {
  const raw = query.run_ids;
  const runIds = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (runIds.length === 0) throw new InvalidParameterError("Missing value for required parameter 'run_ids'.");
  if (runIds.length > BULK_INTERVAL_LIMITS.maxRuns) {
    throw new InvalidParameterError(
      `GetMetricHistoryBulkInterval request must specify at most ${BULK_INTERVAL_LIMITS.maxRuns} run_ids. Received ${runIds.length} run_ids.`,
    );
  }
  for (const id of runIds) {
    if (typeof id !== "string" || id.length > 256) throw new InvalidParameterError(`Invalid run ID: ${quoteClientString(String(id), 40)}`);
    validateRunId(id);
  }
  const metricKey = one(query, "metric_key");
  if (metricKey === undefined || metricKey === "") throw new InvalidParameterError("Missing value for required parameter 'metric_key'.");
  validateKey("metric", metricKey);
  const startStep = intLike("start_step", one(query, "start_step"));
  const endStep = intLike("end_step", one(query, "end_step"));
  if ((startStep === undefined) !== (endStep === undefined)) {
    throw new InvalidParameterError("If either start step or end step are specified, both must be specified.");
  }
  if (startStep !== undefined && endStep !== undefined && startStep > endStep) {
    throw new InvalidParameterError(`end_step must be greater than start_step. Found start_step=${startStep} and end_step=${endStep}.`);
  }
  const maxResults = intLike("max_results", one(query, "max_results")) ?? BULK_INTERVAL_LIMITS.maxResultsPerRun;
  if (maxResults < 1 || maxResults > BULK_INTERVAL_LIMITS.maxResultsPerRun) {
    throw new InvalidParameterError(`max_results must be between 1 and ${BULK_INTERVAL_LIMITS.maxResultsPerRun}.`);
  }
  return { runIds, metricKey, startStep, endStep, maxResults };
}

/** First index whose value is ≥ x (bisect_left) / > x (bisect_right) in a sorted array. */
function bisect(a: Float64Array, x: number, right: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x || (right && a[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * MLflow's _get_sampled_steps_from_steps over sorted distinct steps: every step in
 * [start, end] when there are at most `maxResults`, else `maxResults` evenly spaced ones plus
 * the last. Kept as MLflow writes it, including its bound check `idx < num_steps` (which, when
 * `start` is past the first step, drops the samples near the end of the range).
 */
export function sampleSteps(sortedSteps: Float64Array, start: number, end: number, maxResults: number): number[] {
  const startIdx = bisect(sortedSteps, start, false);
  const endIdx = bisect(sortedSteps, end, true);
  if (endIdx - startIdx <= maxResults) return Array.from(sortedSteps.subarray(startIdx, Math.max(startIdx, endIdx)));
  const numSteps = endIdx - startIdx;
  const interval = numSteps / maxResults;
  const out: number[] = [];
  for (let i = 0; i < maxResults; i++) {
    const idx = startIdx + Math.floor(i * interval);
    if (idx < numSteps) out.push(sortedSteps[idx]);
  }
  out.push(sortedSteps[endIdx - 1]);
  return out;
}

/** Sorted distinct values of a typed array (sorted in place). */
function distinctSorted(a: Float64Array): Float64Array {
  a.sort();
  let n = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[n - 1]) a[n++] = a[i];
  return a.subarray(0, n);
}

/** get_metric_history_bulk_interval_impl: the sampled steps (over all runs' steps, plus each run's first and last) and each run's points at them. */
export async function metricHistoryBulkInterval(sampler: MetricHistorySampler, r: BulkIntervalRequest): Promise<MetricWithRunId[]> {
  for (const id of new Set(r.runIds)) await sampler.assertRun(id);
  const perRun = await Promise.all(r.runIds.map((id) => sampler.steps(id, r.metricKey)));
  const minsAndMaxes = new Set<number>();
  let total = 0;
  for (const steps of perRun) {
    total += steps.length;
    if (steps.length === 0) continue;
    let lo = steps[0];
    let hi = steps[0];
    for (let i = 1; i < steps.length; i++) {
      if (steps[i] < lo) lo = steps[i];
      else if (steps[i] > hi) hi = steps[i];
    }
    minsAndMaxes.add(lo).add(hi);
  }
  const all = new Float64Array(total);
  let at = 0;
  for (const steps of perRun) {
    all.set(steps, at);
    at += steps.length;
  }
  const allSteps = distinctSorted(all);
  const start = r.startStep ?? 0;
  const end = r.endStep ?? (allSteps.length ? allSteps[allSteps.length - 1] : 0);
  const chosen = new Set(sampleSteps(allSteps, start, end, r.maxResults));
  for (const s of minsAndMaxes) if (s >= start && s <= end) chosen.add(s);
  const steps = [...chosen].sort((a, b) => a - b);
  const out: MetricWithRunId[] = [];
  for (const runId of r.runIds) {
    for (const m of await sampler.atSteps(runId, r.metricKey, steps, BULK_INTERVAL_LIMITS.maxPointsPerRun)) {
      out.push({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step, run_id: runId });
    }
  }
  return out;
}

/** Mounts the route on the tracking app (both MLflow prefixes, like every other endpoint; the app's auth hook applies). */
export function registerMetricHistoryBulkInterval(app: FastifyInstance, service: TrackingService): void {
  const sampler = metricHistorySampler(service.tracking);
  for (const prefix of ["/ajax-api/2.0/mlflow/", "/api/2.0/mlflow/"]) {
    app.get(prefix + BULK_INTERVAL_PATH, async (request, reply) => {
      const req = parseBulkIntervalQuery((request.query ?? {}) as Query);
      const metrics = await metricHistoryBulkInterval(sampler, req);
      return reply.code(200).type("application/json").send(JSON.stringify({ metrics }, wireReplacer));
    });
  }
}
