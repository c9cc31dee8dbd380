import { randomUUID } from "node:crypto";
import { AlreadyExistsError, InvalidParameterError, NotFoundError } from "../../../util/errors.js";
import { requireOneOf } from "../../../util/validate.js";
import { EXPERIMENT_FILTER, RUN_FILTER, parseOrderBy, parseSearchFilter, type FilterClause } from "../../search-filter.js";
import {
  RUN_STATUSES,
  VIEW_TYPES,
  type DatasetInput,
  type Experiment,
  type KeyValue,
  type Metric,
  type Page,
  type Run,
  type RunInfo,
  type RunStatus,
} from "../../types.js";
import {
  LIMITS,
  createPageToken,
  parsePageToken,
  validateBatchLimits,
  validateExperimentName,
  validateExperimentTag,
  validateLength,
  validateMaxResults,
  validateMetric,
  validateParam,
  validateRunId,
  validateRunTag,
} from "../../validation.js";
import type { SearchQuery, TrackingStore } from "../tracking-store.js";
import type { SqlBackend } from "./backend.js";
import type { BulkColumn } from "./dialect.js";
import type { SqlExecutor } from "./driver.js";
import { SearchSql, columnFor, lifecycleCondition, page } from "./search-sql.js";

const RUN_NAME_TAG = "mlflow.runName";
const ADJECTIVES = ["able", "brave", "calm", "clever", "eager", "fair", "gentle", "keen", "lively", "merry", "nimble", "proud", "quick", "shy", "wise", "bold"];
const NOUNS = ["ant", "bass", "cat", "deer", "eel", "fox", "gnu", "hare", "ibis", "jay", "koi", "lark", "mole", "newt", "owl", "puma"];

/** Request attribute keys → columns; nothing else reaches the SQL text. */
const EXPERIMENT_COLUMNS = {
  name: "e.name",
  creation_time: "e.creation_time",
  last_update_time: "e.last_update_time",
  experiment_id: "e.experiment_id",
} as const;
const RUN_COLUMNS = {
  run_id: "r.run_uuid",
  run_name: "r.name",
  status: "r.status",
  user_id: "r.user_id",
  artifact_uri: "r.artifact_uri",
  start_time: "r.start_time",
  end_time: "r.end_time",
} as const;
const DATASET_COLUMNS = { name: "d.name", digest: "d.digest" } as const;

interface RunRow {
  run_uuid: string;
  name: string;
  experiment_id: number;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: string;
}

interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

/** A row of `metrics` / `latest_metrics` as read back (NaN stored as 0 with is_nan = 1). */
export interface MetricRow {
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
}

/** The columns of `metrics` and `latest_metrics` a log-batch writes, in row order. */
const METRIC_COLUMNS: readonly BulkColumn[] = [
  { name: "run_uuid", type: "text" },
  { name: "key", type: "text" },
  { name: "value", type: "double precision" },
  { name: "is_nan", type: "integer" },
  { name: "timestamp", type: "bigint" },
  { name: "step", type: "bigint" },
];

const PARAM_COLUMNS: readonly BulkColumn[] = [
  { name: "run_uuid", type: "text" },
  { name: "key", type: "text" },
  { name: "value", type: "text" },
];

/**
 * MLflow's latest-metric rule as an upsert: the new row replaces the stored one only when it is
 * later — the greatest step, then timestamp, then value (NaN stored as 0, as MLflow stores it).
 */
/** The unique index that makes an exact duplicate (run, key, timestamp, step, value) one history row (schema.ts). */
const METRIC_IDENTITY_INDEX = "metrics_identity";

const LATEST_METRIC_UPSERT = `ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step
       WHERE excluded.step > latest_metrics.step
          OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp)
          OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp AND excluded.value > latest_metrics.value)`;

/** The tracking store over any SQL backend (see SqlBackend and the dialects). */
export class SqlTrackingStore implements TrackingStore {
  constructor(readonly backend: SqlBackend) {}

  private get dialect() {
    return this.backend.dialect;
  }

  // ------------------------------------------------------------------ experiments

  async createExperiment(name: string, artifactLocation?: string, tags: KeyValue[] = []): Promise<string> {
    validateExperimentName(name);
    for (const t of tags) validateExperimentTag(t);
    if (artifactLocation?.startsWith("runs:")) throw new InvalidParameterError(`Artifact location cannot be a runs:/ URI. Given: '${artifactLocation}'`);
    return this.backend.write(async (tx) => {
      if (await tx.get("SELECT 1 FROM experiments WHERE name = ?", [name])) throw new AlreadyExistsError(`Experiment(name=${name}) already exists.`);
      const now = Date.now();
      const id = Number((await tx.get<{ id: number }>("SELECT COALESCE(MAX(experiment_id), 0) + 1 AS id FROM experiments"))!.id);
      const location = artifactLocation || `${this.backend.defaultArtifactRoot}/${id}`;
      await tx.run(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, 'active', ?, ?)",
        [id, name, location, now, now],
      );
      for (const t of tags)
        await tx.run(this.dialect.upsert("experiment_tags", ["experiment_id", "key", "value"], ["experiment_id", "key"]), [id, t.key, t.value]);
      return String(id);
    });
  }

  private async experimentRow(q: SqlExecutor, experimentId: string): Promise<ExperimentRow> {
    const id = parseExperimentId(experimentId);
    const row = await q.get<ExperimentRow>("SELECT * FROM experiments WHERE experiment_id = ?", [id]);
    if (!row) throw new NotFoundError(`No Experiment with id=${experimentId} exists`);
    return row;
  }

  private async toExperiment(q: SqlExecutor, row: ExperimentRow): Promise<Experiment> {
    const tags = await q.all<KeyValue>("SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key", [row.experiment_id]);
    return {
      experiment_id: String(row.experiment_id),
      name: row.name,
      artifact_location: row.artifact_location,
      lifecycle_stage: row.lifecycle_stage as Experiment["lifecycle_stage"],
      creation_time: Number(row.creation_time),
      last_update_time: Number(row.last_update_time),
      tags,
    };
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const q = await this.backend.read();
    return this.toExperiment(q, await this.experimentRow(q, experimentId));
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    const q = await this.backend.read();
    const row = await q.get<ExperimentRow>("SELECT * FROM experiments WHERE name = ?", [name]);
    if (!row) throw new NotFoundError(`Could not find experiment with name '${name}'`);
    return this.toExperiment(q, row);
  }

  async searchExperiments(sq: SearchQuery): Promise<Page<Experiment>> {
    const maxResults = validateMaxResults(sq.maxResults, LIMITS.SEARCH_MAX_RESULTS_DEFAULT, LIMITS.SEARCH_MAX_RESULTS_THRESHOLD);
    const offset = parsePageToken(sq.pageToken);
    const clauses = parseSearchFilter(sq.filter, EXPERIMENT_FILTER);
    const order = (sq.orderBy ?? []).map((o) => parseOrderBy(o, EXPERIMENT_FILTER));
    const s = new SearchSql(this.dialect);
    for (const o of order) {
      if (o.type === "tag") s.orderByChild("experiment_tags", (a) => `${a}.experiment_id = e.experiment_id`, o.key, o.ascending);
      else s.orderByColumn(columnFor(EXPERIMENT_COLUMNS, o.key, "experiments"), o.ascending);
    }
    if (!order.some((o) => o.type === "attribute" && o.key === "creation_time")) s.orderByColumn("e.creation_time", false);
    if (!order.some((o) => o.type === "attribute" && o.key === "experiment_id")) s.orderByColumn("e.experiment_id", true);
    s.where.push(lifecycleCondition("e.lifecycle_stage", sq.viewType));
    for (const c of clauses) {
      if (c.type === "tag") s.where.push(s.exists("experiment_tags", "x.experiment_id = e.experiment_id", c));
      else s.where.push(s.condition(columnFor(EXPERIMENT_COLUMNS, c.key, "experiments"), c));
    }
    const q = await this.backend.read();
    const { sql, args } = s.select("e.*", "experiments e", maxResults + 1, offset);
    const rows = await q.all<ExperimentRow>(sql, args);
    const experiments: Experiment[] = [];
    for (const r of rows) experiments.push(await this.toExperiment(q, r));
    return page(experiments, maxResults, offset);
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.backend.write(async (tx) => {
      const row = await this.experimentRow(tx, experimentId);
      if (Number(row.experiment_id) === 0)
        throw new InvalidParameterError("Cannot delete the default experiment '0'. This is an internally reserved experiment.");
      await tx.run("UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ? WHERE experiment_id = ?", [Date.now(), row.experiment_id]);
      await tx.run("UPDATE runs SET lifecycle_stage = 'deleted' WHERE experiment_id = ?", [row.experiment_id]);
    });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.backend.write(async (tx) => {
      const row = await this.experimentRow(tx, experimentId);
      if (row.lifecycle_stage !== "deleted") throw new InvalidParameterError(`Cannot restore an active experiment. Experiment ID: ${experimentId}`);
      await tx.run("UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ? WHERE experiment_id = ?", [Date.now(), row.experiment_id]);
      await tx.run("UPDATE runs SET lifecycle_stage = 'active' WHERE experiment_id = ?", [row.experiment_id]);
    });
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    validateExperimentName(newName);
    await this.backend.write(async (tx) => {
      const row = await this.experimentRow(tx, experimentId);
      if (row.lifecycle_stage !== "active") throw new InvalidParameterError(`Cannot rename a non-active experiment. Experiment ID: ${experimentId}`);
      const clash = await tx.get<{ experiment_id: number }>("SELECT experiment_id FROM experiments WHERE name = ?", [newName]);
      if (clash && Number(clash.experiment_id) !== Number(row.experiment_id)) throw new AlreadyExistsError(`Experiment(name=${newName}) already exists.`);
      await tx.run("UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?", [newName, Date.now(), row.experiment_id]);
    });
  }

  async setExperimentTag(experimentId: string, tag: KeyValue): Promise<void> {
    validateExperimentTag(tag);
    await this.backend.write(async (tx) => {
      const row = await this.experimentRow(tx, experimentId);
      if (row.lifecycle_stage !== "active")
        throw new InvalidParameterError(`The experiment ${experimentId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
      await tx.run(this.dialect.upsert("experiment_tags", ["experiment_id", "key", "value"], ["experiment_id", "key"]), [
        row.experiment_id,
        tag.key,
        tag.value,
      ]);
    });
  }

  // ------------------------------------------------------------------ runs

  async createRun(r: { experimentId: string; userId?: string; startTime?: number; runName?: string; tags?: KeyValue[] }): Promise<Run> {
    const tags = r.tags ?? [];
    for (const t of tags) validateRunTag(t);
    const tagName = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
    if (r.runName && tagName && r.runName !== tagName) {
      throw new InvalidParameterError(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${r.runName}', mlflow.runName='${tagName}').`,
      );
    }
    const runName = r.runName || tagName || randomRunName();
    validateLength("Run name", LIMITS.MAX_RUN_NAME_LENGTH, runName);
    const runId = randomUUID().replace(/-/g, "");
    await this.backend.write(async (tx) => {
      const exp = await this.experimentRow(tx, r.experimentId);
      if (exp.lifecycle_stage !== "active")
        throw new InvalidParameterError(`The experiment ${r.experimentId} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`);
      const artifactUri = `${exp.artifact_location.replace(/\/+$/, "")}/${runId}/artifacts`;
      await tx.run(
        "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, ?, 'active')",
        [runId, runName, exp.experiment_id, r.userId ?? "", r.startTime ?? Date.now(), artifactUri],
      );
      const upsert = this.dialect.upsert("tags", ["run_uuid", "key", "value"], ["run_uuid", "key"]);
      for (const t of tags) await tx.run(upsert, [runId, t.key, t.value]);
      await tx.run(upsert, [runId, RUN_NAME_TAG, runName]);
    });
    return this.getRun(runId);
  }

  /** The run's row; `lock` holds it against deletion until the transaction ends (see SqlDialect.keyShareLock). */
  private async runRow(q: SqlExecutor, runId: string, lock = false): Promise<RunRow> {
    validateRunId(runId);
    const row = await q.get<RunRow>(`SELECT * FROM runs WHERE run_uuid = ?${lock ? this.dialect.keyShareLock : ""}`, [runId]);
    if (!row) throw new NotFoundError(`Run with id=${runId} not found`);
    return row;
  }

  private async activeRunRow(q: SqlExecutor, runId: string, lock = false): Promise<RunRow> {
    const row = await this.runRow(q, runId, lock);
    if (row.lifecycle_stage !== "active")
      throw new InvalidParameterError(`The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
    return row;
  }

  async getRun(runId: string): Promise<Run> {
    const q = await this.backend.read();
    return (await this.loadRuns(q, [await this.runRow(q, runId)]))[0];
  }

  /** Assembles full runs for a page of rows with one query per child table (the id list bound as one parameter). */
  private async loadRuns(q: SqlExecutor, rows: RunRow[]): Promise<Run[]> {
    if (rows.length === 0) return [];
    const d = this.dialect;
    const ids = [d.listArg(rows.map((r) => r.run_uuid))];
    const inIds = (column: string) => d.inList(column, false);
    const byRun = <T>(list: Array<T & { run_uuid: string }>): Map<string, T[]> => {
      const m = new Map<string, T[]>();
      for (const item of list) {
        const { run_uuid, ...rest } = item;
        let arr = m.get(run_uuid);
        if (!arr) m.set(run_uuid, (arr = []));
        arr.push(rest as unknown as T);
      }
      return m;
    };
    type InputRow = {
      run_uuid: string;
      dataset_uuid: string;
      name: string;
      digest: string;
      source_type: string;
      source: string;
      schema: string | null;
      profile: string | null;
    };
    // The child queries are independent: on PostgreSQL they run at once on pooled connections
    // (one round trip of latency instead of five); input tags only when there are inputs.
    const [paramRows, tagRows, metricRows, inputRows] = await Promise.all([
      q.all<KeyValue & { run_uuid: string }>(`SELECT run_uuid, key, value FROM params WHERE ${inIds("run_uuid")} ORDER BY key`, ids),
      q.all<KeyValue & { run_uuid: string }>(`SELECT run_uuid, key, value FROM tags WHERE ${inIds("run_uuid")} ORDER BY key`, ids),
      q.all<MetricRow & { run_uuid: string }>(
        `SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE ${inIds("run_uuid")} ORDER BY key`,
        ids,
      ),
      q.all<InputRow>(
        `SELECT i.run_uuid, i.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
       FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid
       WHERE ${inIds("i.run_uuid")} ORDER BY i.position`,
        ids,
      ),
    ]);
    const params = byRun<KeyValue>(paramRows);
    const tags = byRun<KeyValue>(tagRows);
    const metrics = byRun<Metric>(metricRows.map((m) => ({ run_uuid: m.run_uuid, ...toMetric(m) })));
    const inputTagRows =
      inputRows.length === 0
        ? []
        : await q.all<{ run_uuid: string; dataset_uuid: string; key: string; value: string }>(
            `SELECT run_uuid, dataset_uuid, key, value FROM input_tags WHERE ${inIds("run_uuid")} ORDER BY key`,
            ids,
          );
    const inputs = new Map<string, DatasetInput[]>();
    for (const row of inputRows) {
      let arr = inputs.get(row.run_uuid);
      if (!arr) inputs.set(row.run_uuid, (arr = []));
      const dataset: DatasetInput["dataset"] = { name: row.name, digest: row.digest, source_type: row.source_type, source: row.source };
      if (row.schema !== null) dataset.schema = row.schema;
      if (row.profile !== null) dataset.profile = row.profile;
      arr.push({
        tags: inputTagRows.filter((t) => t.run_uuid === row.run_uuid && t.dataset_uuid === row.dataset_uuid).map((t) => ({ key: t.key, value: t.value })),
        dataset,
      });
    }
    return rows.map((row) => ({
      info: toRunInfo(row),
      data: { metrics: metrics.get(row.run_uuid) ?? [], params: params.get(row.run_uuid) ?? [], tags: tags.get(row.run_uuid) ?? [] },
      inputs: { dataset_inputs: inputs.get(row.run_uuid) ?? [] },
    }));
  }

  async updateRun(runId: string, u: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    if (u.status !== undefined) requireOneOf("status", u.status, RUN_STATUSES);
    validateLength("Run name", LIMITS.MAX_RUN_NAME_LENGTH, u.runName);
    return this.backend.write(async (tx) => {
      const row = await this.activeRunRow(tx, runId);
      const status = u.status ?? row.status;
      const endTime = u.endTime ?? row.end_time;
      const name = u.runName || row.name;
      await tx.run("UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?", [status, endTime, name, runId]);
      if (u.runName) await tx.run(this.dialect.upsert("tags", ["run_uuid", "key", "value"], ["run_uuid", "key"]), [runId, RUN_NAME_TAG, u.runName]);
      return toRunInfo({ ...row, status, end_time: endTime, name });
    });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.backend.write(async (tx) => {
      await this.runRow(tx, runId);
      await tx.run("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?", [runId]);
    });
  }

  async restoreRun(runId: string): Promise<void> {
    await this.backend.write(async (tx) => {
      await this.runRow(tx, runId);
      await tx.run("UPDATE runs SET lifecycle_stage = 'active' WHERE run_uuid = ?", [runId]);
    });
  }

  async logBatch(runId: string, metrics: Metric[], params: KeyValue[], tags: KeyValue[]): Promise<void> {
    validateRunId(runId);
    validateBatchLimits(metrics.length, params.length, tags.length);
    for (const m of metrics) validateMetric(m.key, m.value, m.timestamp, m.step);
    for (const p of params) validateParam(p);
    for (const t of tags) validateRunTag(t);
    const seen = new Set<string>();
    const dupes: string[] = [];
    for (const p of params) {
      if (seen.has(p.key)) dupes.push(p.key);
      seen.add(p.key);
    }
    if (dupes.length > 0) {
      throw new InvalidParameterError(
        `Duplicate parameter keys have been submitted: [${dupes.map((k) => `'${k}'`).join(", ")}]. Please ensure the request contains only one param value per param key.`,
      );
    }
    // Every statement below is an ON CONFLICT insert, an upsert, a plain insert whose only
    // failure is a duplicate (then the whole batch is done again, see below), or a read that can
    // only end in an error: correct under any interleaving, so PostgreSQL needs no SERIALIZABLE.
    const batch = (ignoreDuplicates: boolean) => async (tx: SqlExecutor) => {
      // Locked: on PostgreSQL the history rows have no foreign key to check the run (schema.ts, migration 5).
      await this.activeRunRow(tx, runId, true);
      if (params.length > 0) await this.insertParams(tx, runId, params);
      for (const t of tags) await this.upsertTag(tx, runId, t);
      if (metrics.length > 0) await this.insertMetrics(tx, runId, metrics, ignoreDuplicates);
    };
    const dialect = this.dialect;
    const optimistic = dialect.isDuplicateKeyError !== undefined && metrics.length > 0;
    try {
      await this.backend.write(batch(!optimistic), { statementsAtomic: true });
    } catch (err) {
      // A metric this run already has (a client retrying a batch that was committed), or one
      // repeated in the batch: MLflow stores it once. Roll back and redo with ON CONFLICT DO NOTHING.
      if (!optimistic || !dialect.isDuplicateKeyError!(err, METRIC_IDENTITY_INDEX)) throw err;
      await this.backend.write(batch(true), { statementsAtomic: true });
    }
  }

  /**
   * Inserts the params the run does not have yet (one bulk `ON CONFLICT DO NOTHING`, in key
   * order so concurrent batches lock rows in one order), then reads the stored values back:
   * any that differs from the one logged is MLflow's error, and the transaction rolls back.
   */
  private async insertParams(tx: SqlExecutor, runId: string, params: KeyValue[]): Promise<void> {
    const d = this.dialect;
    const rows = [...params].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((p) => [runId, p.key, p.value]);
    for (const st of d.bulkInsert("params", PARAM_COLUMNS, rows, "ON CONFLICT DO NOTHING")) await tx.run(st.sql, st.args);
    const stored = await tx.all<KeyValue>(`SELECT key, value FROM params WHERE run_uuid = ? AND ${d.inList("key", false)}`, [
      runId,
      d.listArg(params.map((p) => p.key)),
    ]);
    const storedValue = new Map(stored.map((r) => [r.key, r.value]));
    const changed: string[] = [];
    for (const p of params) {
      const old = storedValue.get(p.key);
      if (old !== undefined && old !== p.value) changed.push(`{'key': '${p.key}', 'old_value': '${old}', 'new_value': '${p.value}'}`);
    }
    if (changed.length > 0) {
      throw new InvalidParameterError(`Changing param values is not allowed. Params were already logged='[${changed.join(", ")}]' for run ID='${runId}'.`);
    }
  }

  private async upsertTag(tx: SqlExecutor, runId: string, t: KeyValue): Promise<void> {
    await tx.run(this.dialect.upsert("tags", ["run_uuid", "key", "value"], ["run_uuid", "key"]), [runId, t.key, t.value]);
    if (t.key === RUN_NAME_TAG) await tx.run("UPDATE runs SET name = ? WHERE run_uuid = ?", [t.value, runId]);
  }

  /**
   * Appends history rows, then moves each key's latest value forward once per batch: the
   * latest metric is the greatest (step, timestamp, value), as in MLflow's latest_metrics.
   * Both are bulk statements (SqlDialect.bulkInsert): on PostgreSQL a 1,000-metric batch is two
   * statements, one round trip each, instead of one per metric and one per key.
   */
  private async insertMetrics(tx: SqlExecutor, runId: string, metrics: Metric[], ignoreDuplicates: boolean): Promise<void> {
    const latest = new Map<string, Metric>();
    const history: unknown[][] = new Array(metrics.length);
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i];
      history[i] = metricRow(runId, m);
      const prev = latest.get(m.key);
      if (!prev || compareMetricOrder(m, prev) > 0) latest.set(m.key, m);
    }
    const suffix = ignoreDuplicates ? "ON CONFLICT DO NOTHING" : "";
    for (const st of this.dialect.bulkInsert("metrics", METRIC_COLUMNS, history, suffix)) await tx.run(st.sql, st.args);
    // `latest` holds one row per key, so no statement touches a row twice (PostgreSQL refuses that).
    // In key order, so concurrent batches for one run lock the rows in the same order (no deadlock).
    const rows = [...latest.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((m) => metricRow(runId, m));
    for (const st of this.dialect.bulkInsert("latest_metrics", METRIC_COLUMNS, rows, LATEST_METRIC_UPSERT)) await tx.run(st.sql, st.args);
  }

  async setTag(runId: string, tag: KeyValue): Promise<void> {
    validateRunTag(tag);
    await this.backend.write(async (tx) => {
      await this.activeRunRow(tx, runId);
      await this.upsertTag(tx, runId, tag);
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.backend.write(async (tx) => {
      await this.activeRunRow(tx, runId);
      const res = await tx.run("DELETE FROM tags WHERE run_uuid = ? AND key = ?", [runId, key]);
      if (res.changes === 0) throw new NotFoundError(`No tag with name: ${key} in run with id ${runId}`);
    });
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    if (datasets.length > LIMITS.MAX_DATASETS_PER_BATCH) {
      throw new InvalidParameterError(
        `A batch logging request can contain at most ${LIMITS.MAX_DATASETS_PER_BATCH} datasets. Got ${datasets.length} datasets. Please split up datasets across multiple requests and try again.`,
      );
    }
    for (const d of datasets) validateDatasetInput(d);
    await this.backend.write(async (tx) => {
      const run = await this.activeRunRow(tx, runId);
      let position = Number((await tx.get<{ p: number }>("SELECT COALESCE(MAX(position), -1) + 1 AS p FROM run_inputs WHERE run_uuid = ?", [runId]))!.p);
      for (const input of datasets) {
        const d = input.dataset;
        let row = await tx.get<{ dataset_uuid: string }>("SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?", [
          run.experiment_id,
          d.name,
          d.digest,
        ]);
        if (!row) {
          row = { dataset_uuid: randomUUID().replace(/-/g, "") };
          await tx.run(
            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [row.dataset_uuid, run.experiment_id, d.name, d.digest, d.source_type, d.source, d.schema ?? null, d.profile ?? null],
          );
        }
        const res = await tx.run(this.dialect.insertIgnore("run_inputs", ["run_uuid", "dataset_uuid", "position"]), [runId, row.dataset_uuid, position]);
        if (res.changes > 0) position++;
        const upsert = this.dialect.upsert("input_tags", ["run_uuid", "dataset_uuid", "key", "value"], ["run_uuid", "dataset_uuid", "key"]);
        for (const t of input.tags) await tx.run(upsert, [runId, row.dataset_uuid, t.key, t.value]);
      }
    });
  }

  async getMetricHistory(runId: string, key: string, maxResults?: number, pageToken?: string): Promise<Page<Metric>> {
    const q = await this.backend.read();
    await this.runRow(q, runId);
    const limit = validateMaxResults(maxResults, 25_000_000, 25_000_000);
    const offset = parsePageToken(pageToken);
    const rows = await q.all<MetricRow>(
      `SELECT key, value, is_nan, timestamp, step FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp, ${this.dialect.metricSeq.column} ${this.dialect.limitOffset}`,
      [runId, key, limit + 1, offset],
    );
    return page(rows.map(toMetric), limit, offset);
  }

  async searchRuns(sq: SearchQuery & { experimentIds: string[] }): Promise<Page<Run>> {
    const maxResults = validateMaxResults(sq.maxResults, LIMITS.SEARCH_MAX_RESULTS_DEFAULT, LIMITS.SEARCH_MAX_RESULTS_THRESHOLD);
    const offset = parsePageToken(sq.pageToken);
    if (sq.viewType !== undefined) requireOneOf("run_view_type", sq.viewType, VIEW_TYPES);
    const clauses = parseSearchFilter(sq.filter, RUN_FILTER);
    const order = (sq.orderBy ?? []).map((o) => parseOrderBy(o, RUN_FILTER));
    const expIds = sq.experimentIds.map(parseExperimentId);
    const s = new SearchSql(this.dialect);
    // Metric filters keep only runs whose latest value is present and not NaN: when the order
    // is on such a metric, its ordering join carries the key's filters (see orderByFilteredChild).
    const remaining = [...clauses];
    // MLflow: present values first (by value), then NaN, then missing, whatever the direction.
    for (const o of order) {
      const on = (a: string) => `${a}.run_uuid = r.run_uuid`;
      const filtered = o.type === "metric" ? remaining.filter((c) => c.type === "metric" && c.key === o.key) : [];
      if (filtered.length > 0) {
        for (const c of filtered) remaining.splice(remaining.indexOf(c), 1);
        s.orderByFilteredChild("latest_metrics", on, o.key, o.ascending, (a) => `${a}.is_nan = 0`, filtered);
      } else if (o.type === "attribute") {
        // Only end_time can be missing; a NULLS-LAST term on a NOT NULL column would stop the
        // planner from walking runs_experiment (experiment_id, start_time) in order.
        const column = columnFor(RUN_COLUMNS, o.key, "runs");
        s.orderByColumn(column, o.ascending, column === RUN_COLUMNS.end_time);
      } else if (o.type === "metric") s.orderByChild("latest_metrics", on, o.key, o.ascending, "is_nan");
      else if (o.type === "parameter") s.orderByChild("params", on, o.key, o.ascending);
      else if (o.type === "tag") s.orderByChild("tags", on, o.key, o.ascending);
    }
    if (!order.some((o) => o.type === "attribute" && o.key === "start_time")) s.orderByColumn("r.start_time", false);
    s.orderByColumn("r.run_uuid", true);
    // One experiment (the UI's case) as `= ?`: SQLite cannot walk runs_experiment in start_time
    // order through `IN (SELECT value FROM json_each(?))`, and sorted every run instead.
    if (expIds.length === 1) {
      s.where.push("r.experiment_id = ?");
      s.args.push(expIds[0]);
    } else {
      s.where.push(this.dialect.inList("r.experiment_id", false));
      s.args.push(this.dialect.listArg(expIds));
    }
    s.where.push(lifecycleCondition("r.lifecycle_stage", sq.viewType));
    for (const c of remaining) s.where.push(runCondition(s, c));
    const q = await this.backend.read();
    const { sql, args } = s.select("r.*", "runs r", maxResults + 1, offset);
    const rows = await q.all<RunRow>(sql, args);
    const more = rows.length > maxResults;
    const runs = await this.loadRuns(q, more ? rows.slice(0, maxResults) : rows);
    return more ? { items: runs, next_page_token: createPageToken(offset + maxResults) } : { items: runs };
  }
}

function runCondition(s: SearchSql, c: FilterClause): string {
  switch (c.type) {
    case "metric":
      s.args.push(c.key);
      return `EXISTS (SELECT 1 FROM latest_metrics x WHERE x.run_uuid = r.run_uuid AND x.key = ? AND x.is_nan = 0 AND ${s.condition("x.value", c)})`;
    case "parameter":
      return s.exists("params", "x.run_uuid = r.run_uuid", c);
    case "tag":
      return s.exists("tags", "x.run_uuid = r.run_uuid", c);
    case "dataset":
      if (c.key === "context") return s.exists("input_tags", "x.run_uuid = r.run_uuid", { ...c, key: "mlflow.data.context" });
      return `EXISTS (SELECT 1 FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid = r.run_uuid AND ${s.condition(columnFor(DATASET_COLUMNS, c.key, "datasets"), c)})`;
    case "attribute":
      return s.condition(columnFor(RUN_COLUMNS, c.key, "runs"), c);
  }
}

/** A metric as a row of METRIC_COLUMNS (NaN stored as 0 with is_nan = 1, as MLflow stores it). */
function metricRow(runId: string, m: Metric): unknown[] {
  const isNan = Number.isNaN(m.value);
  return [runId, m.key, isNan ? 0 : m.value, isNan ? 1 : 0, m.timestamp, m.step];
}

function toMetric(r: MetricRow): Metric {
  return { key: r.key, value: r.is_nan ? NaN : Number(r.value), timestamp: Number(r.timestamp), step: Number(r.step) };
}

function toRunInfo(row: RunRow): RunInfo {
  const info: RunInfo = {
    run_id: row.run_uuid,
    run_uuid: row.run_uuid,
    run_name: row.name,
    experiment_id: String(row.experiment_id),
    user_id: row.user_id,
    status: row.status as RunStatus,
    start_time: Number(row.start_time),
    artifact_uri: row.artifact_uri,
    lifecycle_stage: row.lifecycle_stage as RunInfo["lifecycle_stage"],
  };
  if (row.end_time !== null && row.end_time !== undefined) info.end_time = Number(row.end_time);
  return info;
}

function compareMetricOrder(a: Metric, b: Metric): number {
  if (a.step !== b.step) return a.step - b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  const av = Number.isNaN(a.value) ? 0 : a.value;
  const bv = Number.isNaN(b.value) ? 0 : b.value;
  return av > bv ? 1 : av < bv ? -1 : 0;
}

export function parseExperimentId(id: string): number {
  if (typeof id !== "string" && typeof id !== "number") throw new InvalidParameterError(`Invalid experiment ID: '${String(id)}'`);
  const s = String(id);
  if (!/^\d+$/.test(s)) throw new InvalidParameterError(`Invalid experiment ID: '${s}'`);
  return Number(s);
}

function randomRunName(): string {
  const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}

function validateDatasetInput(d: DatasetInput): void {
  const ds = d?.dataset;
  if (!ds || typeof ds !== "object") throw new InvalidParameterError("Missing value for required parameter 'dataset'.");
  for (const field of ["name", "digest", "source_type", "source"] as const) {
    if (typeof ds[field] !== "string" || ds[field] === "") throw new InvalidParameterError(`Missing value for required parameter 'dataset.${field}'.`);
  }
  validateLength("Dataset name", LIMITS.MAX_DATASET_NAME_SIZE, ds.name);
  validateLength("Dataset digest", LIMITS.MAX_DATASET_DIGEST_SIZE, ds.digest);
  validateLength("Dataset source", LIMITS.MAX_DATASET_SOURCE_SIZE, ds.source);
  validateLength("Dataset schema", LIMITS.MAX_DATASET_SCHEMA_SIZE, ds.schema);
  validateLength("Dataset profile", LIMITS.MAX_DATASET_PROFILE_SIZE, ds.profile);
  for (const t of d.tags ?? []) {
    if (typeof t.key !== "string" || t.key === "") throw new InvalidParameterError("Input tag key cannot be empty.");
    validateLength("Input tag key", LIMITS.MAX_INPUT_TAG_KEY_SIZE, t.key);
    validateLength("Input tag value", LIMITS.MAX_INPUT_TAG_VALUE_SIZE, t.value);
  }
}
