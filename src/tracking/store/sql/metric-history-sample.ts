import { NotFoundError } from "../../../util/errors.js";
import type { Metric } from "../../types.js";
import type { TrackingStore } from "../tracking-store.js";
import type { SqlBackend } from "./backend.js";
import { SqliteDriver } from "./sqlite-driver.js";
import { SqlTrackingStore } from "./tracking-store.js";

/**
 * What MLflow's sampled history (`metrics/get-history-bulk-interval`) needs from a store: the
 * steps one run logged for a metric, and the points at chosen steps. MLflow's store does the
 * second as `get_metric_history_bulk_interval_from_steps`; the first it reads from the whole
 * history. Here both are queries that move only what they need: a 10^5-point history sends
 * 10^5 step numbers (no keys, values or timestamps) and then the few thousand chosen points.
 */
export interface MetricHistorySampler {
  /** Throws NotFoundError (RESOURCE_DOES_NOT_EXIST) for a run that does not exist. */
  assertRun(runId: string): Promise<void>;
  /** Every step logged for `key` in the run, in no particular order (repeats kept). */
  steps(runId: string, key: string): Promise<Float64Array>;
  /** The points whose step is in `steps`, ordered by (step, timestamp), at most `limit`. */
  atSteps(runId: string, key: string, steps: readonly number[], limit: number): Promise<Metric[]>;
}

interface PointRow {
  value: number;
  is_nan: number;
  timestamp: number | string;
  step: number | string;
}

/** The sampler over the SQL tracking store's tables (any dialect: the step list is bound as one parameter). */
export function sqlMetricHistorySampler(backend: SqlBackend): MetricHistorySampler {
  const d = backend.dialect;
  const STEPS_SQL = "SELECT step FROM metrics WHERE run_uuid = ? AND key = ?";
  // better-sqlite3 can hand back one column as plain numbers instead of one object per row
  // (3× faster for 10^5 steps); not while a write transaction of this connection is open,
  // whose rows the driver's own calls wait for.
  const sqlite = backend.driver instanceof SqliteDriver ? backend.driver.db : undefined;
  const plucked = sqlite?.prepare(STEPS_SQL).pluck();
  return {
    async assertRun(runId) {
      const q = await backend.read();
      if (!(await q.get("SELECT 1 AS found FROM runs WHERE run_uuid = ?", [runId]))) throw new NotFoundError(`Run with id=${runId} not found`);
    },
    async steps(runId, key) {
      const q = await backend.read();
      // No ORDER BY: the covering index (run_uuid, key, timestamp, step, …) is read in its own
      // order and the caller sorts a typed array, instead of the database sorting 10^5 rows.
      if (plucked && !sqlite!.inTransaction) return Float64Array.from(plucked.all(runId, key) as number[]);
      const rows = await q.all<{ step: number | string }>(STEPS_SQL, [runId, key]);
      const out = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = Number(rows[i].step);
      return out;
    },
    async atSteps(runId, key, steps, limit) {
      if (steps.length === 0) return [];
      const q = await backend.read();
      const rows = await q.all<PointRow>(
        `SELECT value, is_nan, timestamp, step FROM metrics WHERE run_uuid = ? AND key = ? AND ${d.inList("step", false)} ORDER BY step, timestamp LIMIT ?`,
        [runId, key, d.listArg(steps), limit],
      );
      return rows.map((r) => ({ key, value: r.is_nan ? NaN : Number(r.value), timestamp: Number(r.timestamp), step: Number(r.step) }));
    },
  };
}

/** Any other TrackingStore: through getMetricHistory, as MLflow's default implementation does. */
export function genericMetricHistorySampler(store: TrackingStore): MetricHistorySampler {
  const history = async (runId: string, key: string): Promise<Metric[]> => {
    const out: Metric[] = [];
    let token: string | undefined;
    do {
      const page = await store.getMetricHistory(runId, key, undefined, token);
      for (const m of page.items) out.push(m);
      token = page.next_page_token;
    } while (token);
    return out;
  };
  return {
    assertRun: async (runId) => void (await store.getRun(runId)),
    steps: async (runId, key) => Float64Array.from(await history(runId, key), (m) => m.step),
    atSteps: async (runId, key, steps, limit) => {
      const wanted = new Set(steps);
      return (await history(runId, key))
        .filter((m) => wanted.has(m.step))
        .sort((a, b) => a.step - b.step || a.timestamp - b.timestamp)
        .slice(0, limit);
    },
  };
}

/** The fastest sampler the store supports. */
export function metricHistorySampler(store: TrackingStore): MetricHistorySampler {
  return store instanceof SqlTrackingStore ? sqlMetricHistorySampler(store.backend) : genericMetricHistorySampler(store);
}
