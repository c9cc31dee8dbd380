import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { AlreadyExistsError, InvalidParameterError, NotFoundError } from "../util/errors.js";
import {
  EXPERIMENT_FILTER,
  MODEL_VERSION_FILTER,
  REGISTERED_MODEL_FILTER,
  RUN_FILTER,
  parseOrderBy,
  parseSearchFilter,
  type FilterClause,
  type OrderByClause,
} from "./search-filter.js";
import type { SearchQuery, TrackingStore } from "./store.js";
import {
  MODEL_STAGES,
  RUN_STATUSES,
  VIEW_TYPES,
  type DatasetInput,
  type Experiment,
  type KeyValue,
  type Metric,
  type ModelStage,
  type ModelVersion,
  type Page,
  type RegisteredModel,
  type RegisteredModelAlias,
  type Run,
  type RunInfo,
  type RunStatus,
  type ViewType,
} from "./types.js";
import {
  LIMITS,
  createPageToken,
  parseModelVersion,
  parsePageToken,
  validateAlias,
  validateBatchLimits,
  validateExperimentName,
  validateExperimentTag,
  validateLength,
  validateMaxResults,
  validateMetric,
  validateModelName,
  validateParam,
  validateRegistryTag,
  validateRunId,
  validateRunTag,
} from "./validation.js";
import { requireOneOf } from "../util/validate.js";

/**
 * Schema migrations, applied in order; `schema_version` holds how many have run. Never edit a
 * shipped entry: append a new one.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE experiments (
    experiment_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    creation_time INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
  );
  CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
  );
  CREATE TABLE runs (
    run_uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time INTEGER NOT NULL,
    end_time INTEGER,
    artifact_uri TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active'
  );
  CREATE INDEX runs_experiment ON runs(experiment_id, start_time);
  CREATE TABLE params (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
  ) WITHOUT ROWID;
  CREATE TABLE tags (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
  ) WITHOUT ROWID;
  CREATE TABLE metrics (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value REAL NOT NULL,
    is_nan INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    step INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX metrics_identity ON metrics(run_uuid, key, timestamp, step, value, is_nan);
  CREATE TABLE latest_metrics (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value REAL NOT NULL,
    is_nan INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, key)
  ) WITHOUT ROWID;
  CREATE INDEX latest_metrics_key_value ON latest_metrics(key, value);
  CREATE TABLE datasets (
    dataset_uuid TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL,
    name TEXT NOT NULL, digest TEXT NOT NULL,
    source_type TEXT NOT NULL, source TEXT NOT NULL,
    schema TEXT, profile TEXT,
    UNIQUE (experiment_id, name, digest)
  );
  CREATE TABLE run_inputs (
    run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    dataset_uuid TEXT NOT NULL REFERENCES datasets(dataset_uuid),
    position INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid)
  );
  CREATE TABLE input_tags (
    run_uuid TEXT NOT NULL, dataset_uuid TEXT NOT NULL,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid, key),
    FOREIGN KEY (run_uuid, dataset_uuid) REFERENCES run_inputs(run_uuid, dataset_uuid) ON DELETE CASCADE
  );
  CREATE TABLE registered_models (
    name TEXT PRIMARY KEY,
    creation_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT ''
  );
  CREATE TABLE registered_model_tags (
    name TEXT NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE ON UPDATE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (name, key)
  );
  CREATE TABLE model_versions (
    name TEXT NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE ON UPDATE CASCADE,
    version INTEGER NOT NULL,
    creation_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    current_stage TEXT NOT NULL DEFAULT 'None',
    source TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT '',
    run_link TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'READY',
    PRIMARY KEY (name, version)
  );
  CREATE TABLE model_version_tags (
    name TEXT NOT NULL, version INTEGER NOT NULL,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON DELETE CASCADE ON UPDATE CASCADE
  );
  CREATE TABLE registered_model_aliases (
    name TEXT NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE ON UPDATE CASCADE,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON DELETE CASCADE ON UPDATE CASCADE
  );
  `,
];

export interface SqliteStoreOptions {
  /** Artifact root URI new experiments get: `${defaultArtifactRoot}/${experiment_id}`. Default `mlflow-artifacts:`. */
  defaultArtifactRoot?: string;
  /** How long a writer waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number;
}

const RUN_ID_TAG_NAME = "mlflow.runName";
const ADJECTIVES = ["able", "brave", "calm", "clever", "eager", "fair", "gentle", "keen", "lively", "merry", "nimble", "proud", "quick", "shy", "wise", "bold"];
const NOUNS = ["ant", "bass", "cat", "deer", "eel", "fox", "gnu", "hare", "ibis", "jay", "koi", "lark", "mole", "newt", "owl", "puma"];

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

interface ModelVersionRow {
  name: string;
  version: number;
  creation_time: number;
  last_updated_time: number;
  description: string;
  user_id: string;
  current_stage: string;
  source: string;
  run_id: string;
  run_link: string;
  status: string;
}

/** SQLite path from `sqlite:///relative.db`, `sqlite:////abs.db` or a plain path. */
export function sqlitePathFromUri(uri: string): string {
  if (uri.startsWith("sqlite://")) {
    const rest = uri.slice("sqlite://".length);
    if (!rest.startsWith("/")) throw new InvalidParameterError(`Invalid SQLite URI '${uri}': expected sqlite:///relative/path.db or sqlite:////absolute/path.db`);
    const p = rest.slice(1);
    if (p === "") throw new InvalidParameterError(`Invalid SQLite URI '${uri}': no database path`);
    return p;
  }
  return uri;
}

export class SqliteTrackingStore implements TrackingStore {
  readonly db: Database.Database;
  private readonly defaultArtifactRoot: string;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(path: string, options: SqliteStoreOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 30_000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    // MLflow's SQLite engine also makes LIKE case-sensitive; ILIKE lowers both sides.
    this.db.pragma("case_sensitive_like = ON");
    this.defaultArtifactRoot = (options.defaultArtifactRoot ?? "mlflow-artifacts:").replace(/\/+$/, "");
    this.migrate();
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    this.db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const apply = this.db.transaction(() => {
      const row = this.db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
      const current = row?.version ?? 0;
      if (current > MIGRATIONS.length) {
        throw new InvalidParameterError(`Tracking database schema version ${current} is newer than this Polarity (${MIGRATIONS.length}); upgrade Polarity`);
      }
      for (let v = current; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]);
      if (current === 0) {
        const now = Date.now();
        this.db
          .prepare("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', ?, 'active', ?, ?)")
          .run(`${this.defaultArtifactRoot}/0`, now, now);
      }
      if (!row) this.db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(MIGRATIONS.length);
      else if (current !== MIGRATIONS.length) this.db.prepare("UPDATE schema_version SET version = ?").run(MIGRATIONS.length);
    });
    apply.immediate();
  }

  get schemaVersion(): number {
    return (this.db.prepare("SELECT version FROM schema_version").get() as { version: number }).version;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Writes run in IMMEDIATE transactions so concurrent processes queue on the busy timeout instead of failing on upgrade. */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ------------------------------------------------------------------ experiments

  createExperiment(name: string, artifactLocation?: string, tags: KeyValue[] = []): string {
    validateExperimentName(name);
    for (const t of tags) validateExperimentTag(t);
    if (artifactLocation?.startsWith("runs:")) throw new InvalidParameterError(`Artifact location cannot be a runs:/ URI. Given: '${artifactLocation}'`);
    return this.write(() => {
      if (this.stmt("SELECT 1 FROM experiments WHERE name = ?").get(name)) {
        throw new AlreadyExistsError(`Experiment(name=${name}) already exists.`);
      }
      const now = Date.now();
      const id = Number((this.stmt("SELECT COALESCE(MAX(experiment_id), 0) + 1 AS id FROM experiments").get() as { id: number }).id);
      const location = artifactLocation || `${this.defaultArtifactRoot}/${id}`;
      this.stmt("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, 'active', ?, ?)").run(id, name, location, now, now);
      for (const t of tags) this.stmt("INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)").run(id, t.key, t.value);
      return String(id);
    });
  }

  private experimentRow(experimentId: string): ExperimentRow {
    const id = parseExperimentId(experimentId);
    const row = this.stmt("SELECT * FROM experiments WHERE experiment_id = ?").get(id) as ExperimentRow | undefined;
    if (!row) throw new NotFoundError(`No Experiment with id=${experimentId} exists`);
    return row;
  }

  private toExperiment(row: ExperimentRow): Experiment {
    const tags = this.stmt("SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key").all(row.experiment_id) as KeyValue[];
    return {
      experiment_id: String(row.experiment_id),
      name: row.name,
      artifact_location: row.artifact_location,
      lifecycle_stage: row.lifecycle_stage as Experiment["lifecycle_stage"],
      creation_time: row.creation_time,
      last_update_time: row.last_update_time,
      tags,
    };
  }

  getExperiment(experimentId: string): Experiment {
    return this.toExperiment(this.experimentRow(experimentId));
  }

  getExperimentByName(name: string): Experiment {
    const row = this.stmt("SELECT * FROM experiments WHERE name = ?").get(name) as ExperimentRow | undefined;
    if (!row) throw new NotFoundError(`Could not find experiment with name '${name}'`);
    return this.toExperiment(row);
  }

  searchExperiments(q: SearchQuery): Page<Experiment> {
    const maxResults = validateMaxResults(q.maxResults, LIMITS.SEARCH_MAX_RESULTS_DEFAULT, LIMITS.SEARCH_MAX_RESULTS_THRESHOLD);
    const offset = parsePageToken(q.pageToken);
    const where: string[] = [lifecycleCondition("e.lifecycle_stage", q.viewType)];
    const args: unknown[] = [];
    for (const c of parseSearchFilter(q.filter, EXPERIMENT_FILTER)) {
      if (c.type === "tag") where.push(existsCondition("experiment_tags", "x.experiment_id = e.experiment_id", c, args));
      else where.push(columnCondition(`e.${c.key}`, c, args));
    }
    const order = (q.orderBy ?? []).map((o) => parseOrderBy(o, EXPERIMENT_FILTER));
    const orderSql = order.map((o) => `e.${o.key} ${o.ascending ? "ASC" : "DESC"}`);
    if (!order.some((o) => o.key === "creation_time")) orderSql.push("e.creation_time DESC");
    if (!order.some((o) => o.key === "experiment_id")) orderSql.push("e.experiment_id ASC");
    const rows = this.db
      .prepare(`SELECT e.* FROM experiments e WHERE ${where.join(" AND ")} ORDER BY ${orderSql.join(", ")} LIMIT ? OFFSET ?`)
      .all(...args, maxResults + 1, offset) as ExperimentRow[];
    return page(rows.map((r) => this.toExperiment(r)), maxResults, offset);
  }

  deleteExperiment(experimentId: string): void {
    this.write(() => {
      const row = this.experimentRow(experimentId);
      if (row.experiment_id === 0) throw new InvalidParameterError("Cannot delete the default experiment '0'. This is an internally reserved experiment.");
      this.stmt("UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ? WHERE experiment_id = ?").run(Date.now(), row.experiment_id);
      this.stmt("UPDATE runs SET lifecycle_stage = 'deleted' WHERE experiment_id = ?").run(row.experiment_id);
    });
  }

  restoreExperiment(experimentId: string): void {
    this.write(() => {
      const row = this.experimentRow(experimentId);
      if (row.lifecycle_stage !== "deleted") throw new InvalidParameterError(`Cannot restore an active experiment. Experiment ID: ${experimentId}`);
      this.stmt("UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ? WHERE experiment_id = ?").run(Date.now(), row.experiment_id);
      this.stmt("UPDATE runs SET lifecycle_stage = 'active' WHERE experiment_id = ?").run(row.experiment_id);
    });
  }

  renameExperiment(experimentId: string, newName: string): void {
    validateExperimentName(newName);
    this.write(() => {
      const row = this.experimentRow(experimentId);
      if (row.lifecycle_stage !== "active") throw new InvalidParameterError(`Cannot rename a non-active experiment. Experiment ID: ${experimentId}`);
      const clash = this.stmt("SELECT experiment_id FROM experiments WHERE name = ?").get(newName) as { experiment_id: number } | undefined;
      if (clash && clash.experiment_id !== row.experiment_id) throw new AlreadyExistsError(`Experiment(name=${newName}) already exists.`);
      this.stmt("UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?").run(newName, Date.now(), row.experiment_id);
    });
  }

  setExperimentTag(experimentId: string, tag: KeyValue): void {
    validateExperimentTag(tag);
    this.write(() => {
      const row = this.experimentRow(experimentId);
      if (row.lifecycle_stage !== "active") throw new InvalidParameterError(`The experiment ${experimentId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
      this.stmt("INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)").run(row.experiment_id, tag.key, tag.value);
    });
  }

  // ------------------------------------------------------------------ runs

  createRun(r: { experimentId: string; userId?: string; startTime?: number; runName?: string; tags?: KeyValue[] }): Run {
    const tags = r.tags ?? [];
    for (const t of tags) validateRunTag(t);
    const tagName = tags.find((t) => t.key === RUN_ID_TAG_NAME)?.value;
    if (r.runName && tagName && r.runName !== tagName) {
      throw new InvalidParameterError(`Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${r.runName}', mlflow.runName='${tagName}').`);
    }
    const runName = r.runName || tagName || randomRunName();
    const runId = randomUUID().replace(/-/g, "");
    this.write(() => {
      const exp = this.experimentRow(r.experimentId);
      if (exp.lifecycle_stage !== "active") throw new InvalidParameterError(`The experiment ${r.experimentId} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`);
      const artifactUri = `${exp.artifact_location.replace(/\/+$/, "")}/${runId}/artifacts`;
      this.stmt("INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, ?, 'active')").run(
        runId,
        runName,
        exp.experiment_id,
        r.userId ?? "",
        r.startTime ?? Date.now(),
        artifactUri,
      );
      for (const t of tags) this.stmt("INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?, ?, ?)").run(runId, t.key, t.value);
      this.stmt("INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?, ?, ?)").run(runId, RUN_ID_TAG_NAME, runName);
    });
    return this.getRun(runId);
  }

  private runRow(runId: string): RunRow {
    validateRunId(runId);
    const row = this.stmt("SELECT * FROM runs WHERE run_uuid = ?").get(runId) as RunRow | undefined;
    if (!row) throw new NotFoundError(`Run with id=${runId} not found`);
    return row;
  }

  private activeRunRow(runId: string): RunRow {
    const row = this.runRow(runId);
    if (row.lifecycle_stage !== "active") throw new InvalidParameterError(`The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
    return row;
  }

  getRun(runId: string): Run {
    return this.loadRuns([this.runRow(runId)])[0];
  }

  /** Assembles full runs for a page of rows with one query per child table (json_each keeps it a single statement). */
  private loadRuns(rows: RunRow[]): Run[] {
    if (rows.length === 0) return [];
    const ids = JSON.stringify(rows.map((r) => r.run_uuid));
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
    const params = byRun<KeyValue>(this.stmt("SELECT run_uuid, key, value FROM params WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key").all(ids) as Array<KeyValue & { run_uuid: string }>);
    const tags = byRun<KeyValue>(this.stmt("SELECT run_uuid, key, value FROM tags WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key").all(ids) as Array<KeyValue & { run_uuid: string }>);
    const metricRows = this.stmt("SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key").all(ids) as Array<MetricRow & { run_uuid: string }>;
    const metrics = byRun<Metric>(metricRows.map((m) => ({ run_uuid: m.run_uuid, ...toMetric(m) })));
    const inputRows = this.stmt(
      `SELECT i.run_uuid, i.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
       FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid
       WHERE i.run_uuid IN (SELECT value FROM json_each(?)) ORDER BY i.position`,
    ).all(ids) as Array<{ run_uuid: string; dataset_uuid: string; name: string; digest: string; source_type: string; source: string; schema: string | null; profile: string | null }>;
    const inputTagRows = this.stmt("SELECT run_uuid, dataset_uuid, key, value FROM input_tags WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key").all(ids) as Array<{
      run_uuid: string;
      dataset_uuid: string;
      key: string;
      value: string;
    }>;
    const inputs = new Map<string, DatasetInput[]>();
    for (const d of inputRows) {
      let arr = inputs.get(d.run_uuid);
      if (!arr) inputs.set(d.run_uuid, (arr = []));
      const dataset: DatasetInput["dataset"] = { name: d.name, digest: d.digest, source_type: d.source_type, source: d.source };
      if (d.schema !== null) dataset.schema = d.schema;
      if (d.profile !== null) dataset.profile = d.profile;
      arr.push({
        tags: inputTagRows.filter((t) => t.run_uuid === d.run_uuid && t.dataset_uuid === d.dataset_uuid).map((t) => ({ key: t.key, value: t.value })),
        dataset,
      });
    }
    return rows.map((row) => ({
      info: toRunInfo(row),
      data: { metrics: metrics.get(row.run_uuid) ?? [], params: params.get(row.run_uuid) ?? [], tags: tags.get(row.run_uuid) ?? [] },
      inputs: { dataset_inputs: inputs.get(row.run_uuid) ?? [] },
    }));
  }

  updateRun(runId: string, u: { status?: RunStatus; endTime?: number; runName?: string }): RunInfo {
    if (u.status !== undefined) requireOneOf("status", u.status, RUN_STATUSES);
    return this.write(() => {
      const row = this.activeRunRow(runId);
      const status = u.status ?? row.status;
      const endTime = u.endTime ?? row.end_time;
      const name = u.runName || row.name;
      this.stmt("UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?").run(status, endTime, name, runId);
      if (u.runName) this.stmt("INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?, ?, ?)").run(runId, RUN_ID_TAG_NAME, u.runName);
      return toRunInfo({ ...row, status, end_time: endTime, name });
    });
  }

  deleteRun(runId: string): void {
    this.write(() => {
      this.runRow(runId);
      this.stmt("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?").run(runId);
    });
  }

  restoreRun(runId: string): void {
    this.write(() => {
      this.runRow(runId);
      this.stmt("UPDATE runs SET lifecycle_stage = 'active' WHERE run_uuid = ?").run(runId);
    });
  }

  logBatch(runId: string, metrics: Metric[], params: KeyValue[], tags: KeyValue[]): void {
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
      throw new InvalidParameterError(`Duplicate parameter keys have been submitted: [${dupes.map((k) => `'${k}'`).join(", ")}]. Please ensure the request contains only one param value per param key.`);
    }
    this.write(() => {
      this.activeRunRow(runId);
      if (params.length > 0) this.insertParams(runId, params);
      for (const t of tags) this.upsertTag(runId, t);
      if (metrics.length > 0) this.insertMetrics(runId, metrics);
    });
  }

  private insertParams(runId: string, params: KeyValue[]): void {
    const existing = this.stmt("SELECT value FROM params WHERE run_uuid = ? AND key = ?");
    const insert = this.stmt("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)");
    const changed: string[] = [];
    for (const p of params) {
      const row = existing.get(runId, p.key) as { value: string } | undefined;
      if (row === undefined) insert.run(runId, p.key, p.value);
      else if (row.value !== p.value) changed.push(`{'key': '${p.key}', 'old_value': '${row.value}', 'new_value': '${p.value}'}`);
    }
    if (changed.length > 0) {
      throw new InvalidParameterError(`Changing param values is not allowed. Params were already logged='[${changed.join(", ")}]' for run ID='${runId}'.`);
    }
  }

  private upsertTag(runId: string, t: KeyValue): void {
    this.stmt("INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?, ?, ?)").run(runId, t.key, t.value);
    if (t.key === RUN_ID_TAG_NAME) this.stmt("UPDATE runs SET name = ? WHERE run_uuid = ?").run(t.value, runId);
  }

  /**
   * Appends history rows, then moves each key's latest value forward once per batch: the
   * latest metric is the greatest (step, timestamp, value), as in MLflow's latest_metrics.
   */
  private insertMetrics(runId: string, metrics: Metric[]): void {
    const insert = this.stmt("INSERT OR IGNORE INTO metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)");
    const latest = new Map<string, Metric>();
    for (const m of metrics) {
      const isNan = Number.isNaN(m.value);
      insert.run(runId, m.key, isNan ? 0 : m.value, isNan ? 1 : 0, m.timestamp, m.step);
      const prev = latest.get(m.key);
      if (!prev || compareMetricOrder(m, prev) > 0) latest.set(m.key, m);
    }
    const upsert = this.stmt(
      `INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step
       WHERE excluded.step > latest_metrics.step
          OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp)
          OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp AND excluded.value > latest_metrics.value)`,
    );
    for (const m of latest.values()) {
      const isNan = Number.isNaN(m.value);
      upsert.run(runId, m.key, isNan ? 0 : m.value, isNan ? 1 : 0, m.timestamp, m.step);
    }
  }

  setTag(runId: string, tag: KeyValue): void {
    validateRunTag(tag);
    this.write(() => {
      this.activeRunRow(runId);
      this.upsertTag(runId, tag);
    });
  }

  deleteTag(runId: string, key: string): void {
    this.write(() => {
      this.activeRunRow(runId);
      const res = this.stmt("DELETE FROM tags WHERE run_uuid = ? AND key = ?").run(runId, key);
      if (res.changes === 0) throw new NotFoundError(`No tag with name: ${key} in run with id ${runId}`);
    });
  }

  logInputs(runId: string, datasets: DatasetInput[]): void {
    if (datasets.length > LIMITS.MAX_DATASETS_PER_BATCH) {
      throw new InvalidParameterError(`A batch logging request can contain at most ${LIMITS.MAX_DATASETS_PER_BATCH} datasets. Got ${datasets.length} datasets. Please split up datasets across multiple requests and try again.`);
    }
    for (const d of datasets) validateDatasetInput(d);
    this.write(() => {
      const run = this.activeRunRow(runId);
      let position = (this.stmt("SELECT COALESCE(MAX(position), -1) + 1 AS p FROM run_inputs WHERE run_uuid = ?").get(runId) as { p: number }).p;
      for (const input of datasets) {
        const d = input.dataset;
        let row = this.stmt("SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?").get(run.experiment_id, d.name, d.digest) as { dataset_uuid: string } | undefined;
        if (!row) {
          row = { dataset_uuid: randomUUID().replace(/-/g, "") };
          this.stmt("INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run(
            row.dataset_uuid,
            run.experiment_id,
            d.name,
            d.digest,
            d.source_type,
            d.source,
            d.schema ?? null,
            d.profile ?? null,
          );
        }
        const res = this.stmt("INSERT OR IGNORE INTO run_inputs (run_uuid, dataset_uuid, position) VALUES (?, ?, ?)").run(runId, row.dataset_uuid, position);
        if (res.changes > 0) position++;
        for (const t of input.tags) this.stmt("INSERT OR REPLACE INTO input_tags (run_uuid, dataset_uuid, key, value) VALUES (?, ?, ?, ?)").run(runId, row.dataset_uuid, t.key, t.value);
      }
    });
  }

  getMetricHistory(runId: string, key: string, maxResults?: number, pageToken?: string): Page<Metric> {
    this.runRow(runId);
    const limit = validateMaxResults(maxResults, 25_000_000, 25_000_000);
    const offset = parsePageToken(pageToken);
    const rows = this.stmt("SELECT key, value, is_nan, timestamp, step FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp, rowid LIMIT ? OFFSET ?").all(runId, key, limit + 1, offset) as MetricRow[];
    return page(rows.map(toMetric), limit, offset);
  }

  searchRuns(q: SearchQuery & { experimentIds: string[] }): Page<Run> {
    const maxResults = validateMaxResults(q.maxResults, LIMITS.SEARCH_MAX_RESULTS_DEFAULT, LIMITS.SEARCH_MAX_RESULTS_THRESHOLD);
    const offset = parsePageToken(q.pageToken);
    if (q.viewType !== undefined) requireOneOf("run_view_type", q.viewType, VIEW_TYPES);
    const clauses = parseSearchFilter(q.filter, RUN_FILTER);
    const order = (q.orderBy ?? []).map((o) => parseOrderBy(o, RUN_FILTER));
    const args: unknown[] = [];
    const joins: string[] = [];
    const orderSql: string[] = [];
    // ORDER BY joins come first in the SQL text, so their arguments do too.
    order.forEach((o, i) => orderClause(o, i, joins, orderSql, args));
    const where: string[] = [];
    const expIds = q.experimentIds.map(parseExperimentId);
    where.push(`r.experiment_id IN (SELECT value FROM json_each(?))`);
    args.push(JSON.stringify(expIds));
    where.push(lifecycleCondition("r.lifecycle_stage", q.viewType));
    for (const c of clauses) where.push(runCondition(c, args));
    if (!order.some((o) => o.type === "attribute" && o.key === "start_time")) orderSql.push("r.start_time DESC");
    orderSql.push("r.run_uuid ASC");
    const sql = `SELECT r.* FROM runs r ${joins.join(" ")} WHERE ${where.join(" AND ")} ORDER BY ${orderSql.join(", ")} LIMIT ? OFFSET ?`;
    const rows = this.db.prepare(sql).all(...args, maxResults + 1, offset) as RunRow[];
    const more = rows.length > maxResults;
    const runs = this.loadRuns(more ? rows.slice(0, maxResults) : rows);
    return more ? { items: runs, next_page_token: createPageToken(offset + maxResults) } : { items: runs };
  }

  // ------------------------------------------------------------------ registry

  private modelExists(name: string): boolean {
    return this.stmt("SELECT 1 FROM registered_models WHERE name = ?").get(name) !== undefined;
  }

  private requireModel(name: string): void {
    validateModelName(name);
    if (!this.modelExists(name)) throw new NotFoundError(`Registered Model with name=${name} not found`);
  }

  createRegisteredModel(name: string, description = "", tags: KeyValue[] = []): RegisteredModel {
    validateModelName(name);
    for (const t of tags) validateRegistryTag("Registered model", t);
    this.write(() => {
      if (this.modelExists(name)) throw new AlreadyExistsError(`Registered Model (name=${name}) already exists.`);
      const now = Date.now();
      this.stmt("INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)").run(name, now, now, description);
      for (const t of tags) this.stmt("INSERT OR REPLACE INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)").run(name, t.key, t.value);
    });
    return this.getRegisteredModel(name);
  }

  getRegisteredModel(name: string): RegisteredModel {
    validateModelName(name);
    const row = this.stmt("SELECT * FROM registered_models WHERE name = ?").get(name) as { name: string; creation_time: number; last_updated_time: number; description: string } | undefined;
    if (!row) throw new NotFoundError(`Registered Model with name=${name} not found`);
    return {
      name: row.name,
      creation_timestamp: row.creation_time,
      last_updated_timestamp: row.last_updated_time,
      description: row.description,
      latest_versions: this.getLatestVersions(name),
      tags: this.stmt("SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY key").all(name) as KeyValue[],
      aliases: (this.stmt("SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias").all(name) as Array<{ alias: string; version: number }>).map(
        (a): RegisteredModelAlias => ({ alias: a.alias, version: String(a.version) }),
      ),
    };
  }

  searchRegisteredModels(q: SearchQuery): Page<RegisteredModel> {
    const maxResults = validateMaxResults(q.maxResults, LIMITS.SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT, LIMITS.SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD);
    const offset = parsePageToken(q.pageToken);
    const args: unknown[] = [];
    const where: string[] = ["1 = 1"];
    for (const c of parseSearchFilter(q.filter, REGISTERED_MODEL_FILTER)) {
      if (c.type === "tag") where.push(existsCondition("registered_model_tags", "x.name = m.name", c, args));
      else where.push(columnCondition("m.name", c, args));
    }
    const column: Record<string, string> = { name: "m.name", timestamp: "m.creation_time", creation_timestamp: "m.creation_time", last_updated_timestamp: "m.last_updated_time" };
    const orderSql = (q.orderBy ?? []).map((o) => parseOrderBy(o, REGISTERED_MODEL_FILTER)).map((o) => `${column[o.key]} ${o.ascending ? "ASC" : "DESC"}`);
    orderSql.push("m.name ASC");
    const rows = this.db.prepare(`SELECT m.name FROM registered_models m WHERE ${where.join(" AND ")} ORDER BY ${orderSql.join(", ")} LIMIT ? OFFSET ?`).all(...args, maxResults + 1, offset) as Array<{ name: string }>;
    return page(rows.map((r) => this.getRegisteredModel(r.name)), maxResults, offset);
  }

  renameRegisteredModel(name: string, newName: string): RegisteredModel {
    validateModelName(newName);
    this.write(() => {
      this.requireModel(name);
      if (this.modelExists(newName)) throw new AlreadyExistsError(`Registered Model (name=${newName}) already exists.`);
      // ON UPDATE CASCADE carries versions, tags and aliases along.
      this.stmt("UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?").run(newName, Date.now(), name);
    });
    return this.getRegisteredModel(newName);
  }

  updateRegisteredModel(name: string, description: string): RegisteredModel {
    this.write(() => {
      this.requireModel(name);
      this.stmt("UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?").run(description, Date.now(), name);
    });
    return this.getRegisteredModel(name);
  }

  deleteRegisteredModel(name: string): void {
    this.write(() => {
      this.requireModel(name);
      this.stmt("DELETE FROM registered_models WHERE name = ?").run(name);
    });
  }

  setRegisteredModelTag(name: string, tag: KeyValue): void {
    validateRegistryTag("Registered model", tag);
    this.write(() => {
      this.requireModel(name);
      this.stmt("INSERT OR REPLACE INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)").run(name, tag.key, tag.value);
    });
  }

  deleteRegisteredModelTag(name: string, key: string): void {
    this.write(() => {
      this.requireModel(name);
      this.stmt("DELETE FROM registered_model_tags WHERE name = ? AND key = ?").run(name, key);
    });
  }

  setRegisteredModelAlias(name: string, alias: string, version: string): void {
    validateAlias(alias);
    const v = parseModelVersion(version);
    this.write(() => {
      this.versionRow(name, v);
      this.stmt("INSERT OR REPLACE INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)").run(name, alias, v);
      this.stmt("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(Date.now(), name);
    });
  }

  deleteRegisteredModelAlias(name: string, alias: string): void {
    validateAlias(alias);
    this.write(() => {
      this.requireModel(name);
      this.stmt("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?").run(name, alias);
    });
  }

  /** One indexed lookup plus the version row: cheap enough to poll for hot reload. */
  getModelVersionByAlias(name: string, alias: string): ModelVersion {
    this.requireModel(name);
    const row = this.stmt("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?").get(name, alias) as { version: number } | undefined;
    if (!row) throw new NotFoundError(`Registered model alias ${alias} not found.`);
    return this.toModelVersion(this.versionRow(name, row.version));
  }

  getLatestVersions(name: string, stages: string[] = []): ModelVersion[] {
    this.requireModel(name);
    const wanted = stages.length > 0 ? stages.map(canonicalStage) : [...MODEL_STAGES];
    const rows = this.stmt(
      `SELECT v.* FROM model_versions v
       WHERE v.name = ? AND v.version = (SELECT MAX(w.version) FROM model_versions w WHERE w.name = v.name AND w.current_stage = v.current_stage)
       ORDER BY v.version`,
    ).all(name) as ModelVersionRow[];
    return rows.filter((r) => wanted.includes(r.current_stage as ModelStage)).map((r) => this.toModelVersion(r));
  }

  createModelVersion(v: { name: string; source: string; runId?: string; tags?: KeyValue[]; runLink?: string; description?: string }): ModelVersion {
    validateModelName(v.name);
    if (typeof v.source !== "string" || v.source === "") throw new InvalidParameterError("Missing value for required parameter 'source'.");
    for (const t of v.tags ?? []) validateRegistryTag("Model version", t);
    if (v.runId) validateRunId(v.runId);
    const version = this.write(() => {
      this.requireModel(v.name);
      if (v.runId && !this.stmt("SELECT 1 FROM runs WHERE run_uuid = ?").get(v.runId)) throw new NotFoundError(`Run with id=${v.runId} not found`);
      const next = (this.stmt("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM model_versions WHERE name = ?").get(v.name) as { v: number }).v;
      const now = Date.now();
      this.stmt(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, run_link, status) VALUES (?, ?, ?, ?, ?, '', 'None', ?, ?, ?, 'READY')",
      ).run(v.name, next, now, now, v.description ?? "", v.source, v.runId ?? "", v.runLink ?? "");
      for (const t of v.tags ?? []) this.stmt("INSERT OR REPLACE INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)").run(v.name, next, t.key, t.value);
      this.stmt("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(now, v.name);
      return next;
    });
    return this.getModelVersion(v.name, String(version));
  }

  private versionRow(name: string, version: number): ModelVersionRow {
    this.requireModel(name);
    const row = this.stmt("SELECT * FROM model_versions WHERE name = ? AND version = ?").get(name, version) as ModelVersionRow | undefined;
    if (!row) throw new NotFoundError(`Model Version (name=${name}, version=${version}) not found`);
    return row;
  }

  private toModelVersion(row: ModelVersionRow): ModelVersion {
    return {
      name: row.name,
      version: String(row.version),
      creation_timestamp: row.creation_time,
      last_updated_timestamp: row.last_updated_time,
      user_id: row.user_id,
      current_stage: row.current_stage as ModelStage,
      description: row.description,
      source: row.source,
      run_id: row.run_id,
      run_link: row.run_link,
      status: "READY",
      tags: this.stmt("SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? ORDER BY key").all(row.name, row.version) as KeyValue[],
      aliases: (this.stmt("SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY alias").all(row.name, row.version) as Array<{ alias: string }>).map((a) => a.alias),
    };
  }

  getModelVersion(name: string, version: string): ModelVersion {
    return this.toModelVersion(this.versionRow(name, parseModelVersion(version)));
  }

  searchModelVersions(q: SearchQuery): Page<ModelVersion> {
    const maxResults = validateMaxResults(q.maxResults, LIMITS.SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT, LIMITS.SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD);
    const offset = parsePageToken(q.pageToken);
    const args: unknown[] = [];
    const where: string[] = ["1 = 1"];
    const column: Record<string, string> = {
      name: "v.name",
      run_id: "v.run_id",
      source_path: "v.source",
      version_number: "v.version",
      timestamp: "v.creation_time",
      creation_timestamp: "v.creation_time",
      last_updated_timestamp: "v.last_updated_time",
    };
    for (const c of parseSearchFilter(q.filter, MODEL_VERSION_FILTER)) {
      if (c.type === "tag") where.push(existsCondition("model_version_tags", "x.name = v.name AND x.version = v.version", c, args));
      else where.push(columnCondition(column[c.key], c, args));
    }
    const orderSql = (q.orderBy ?? []).map((o) => parseOrderBy(o, MODEL_VERSION_FILTER)).map((o) => `${column[o.key]} ${o.ascending ? "ASC" : "DESC"}`);
    orderSql.push("v.name ASC", "v.version DESC");
    const rows = this.db.prepare(`SELECT v.* FROM model_versions v WHERE ${where.join(" AND ")} ORDER BY ${orderSql.join(", ")} LIMIT ? OFFSET ?`).all(...args, maxResults + 1, offset) as ModelVersionRow[];
    return page(rows.map((r) => this.toModelVersion(r)), maxResults, offset);
  }

  updateModelVersion(name: string, version: string, description: string): ModelVersion {
    const v = parseModelVersion(version);
    this.write(() => {
      this.versionRow(name, v);
      this.stmt("UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?").run(description, Date.now(), name, v);
    });
    return this.getModelVersion(name, version);
  }

  deleteModelVersion(name: string, version: string): void {
    const v = parseModelVersion(version);
    this.write(() => {
      this.versionRow(name, v);
      this.stmt("DELETE FROM model_versions WHERE name = ? AND version = ?").run(name, v);
      this.stmt("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(Date.now(), name);
    });
  }

  transitionModelVersionStage(name: string, version: string, stage: string, archiveExistingVersions: boolean): ModelVersion {
    const v = parseModelVersion(version);
    const target = canonicalStage(stage);
    if (archiveExistingVersions && target !== "Staging" && target !== "Production") {
      throw new InvalidParameterError(`Model version transition cannot archive existing model versions because '${target}' is not an Active stage. Valid stages are Staging, Production.`);
    }
    this.write(() => {
      this.versionRow(name, v);
      const now = Date.now();
      if (archiveExistingVersions) {
        this.stmt("UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ? WHERE name = ? AND current_stage = ? AND version != ?").run(now, name, target, v);
      }
      this.stmt("UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?").run(target, now, name, v);
      this.stmt("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(now, name);
    });
    return this.getModelVersion(name, version);
  }

  setModelVersionTag(name: string, version: string, tag: KeyValue): void {
    validateRegistryTag("Model version", tag);
    const v = parseModelVersion(version);
    this.write(() => {
      this.versionRow(name, v);
      this.stmt("INSERT OR REPLACE INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)").run(name, v, tag.key, tag.value);
    });
  }

  deleteModelVersionTag(name: string, version: string, key: string): void {
    const v = parseModelVersion(version);
    this.write(() => {
      this.versionRow(name, v);
      this.stmt("DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?").run(name, v, key);
    });
  }
}

// ------------------------------------------------------------------ helpers

interface MetricRow {
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
}

function toMetric(r: MetricRow): Metric {
  return { key: r.key, value: r.is_nan ? NaN : r.value, timestamp: r.timestamp, step: r.step };
}

function toRunInfo(row: RunRow): RunInfo {
  const info: RunInfo = {
    run_id: row.run_uuid,
    run_uuid: row.run_uuid,
    run_name: row.name,
    experiment_id: String(row.experiment_id),
    user_id: row.user_id,
    status: row.status as RunStatus,
    start_time: row.start_time,
    artifact_uri: row.artifact_uri,
    lifecycle_stage: row.lifecycle_stage as RunInfo["lifecycle_stage"],
  };
  if (row.end_time !== null && row.end_time !== undefined) info.end_time = row.end_time;
  return info;
}

function compareMetricOrder(a: Metric, b: Metric): number {
  if (a.step !== b.step) return a.step - b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  const av = Number.isNaN(a.value) ? 0 : a.value;
  const bv = Number.isNaN(b.value) ? 0 : b.value;
  return av > bv ? 1 : av < bv ? -1 : 0;
}

function parseExperimentId(id: string): number {
  if (typeof id !== "string" && typeof id !== "number") throw new InvalidParameterError(`Invalid experiment ID: '${String(id)}'`);
  const s = String(id);
  if (!/^\d+$/.test(s)) throw new InvalidParameterError(`Invalid experiment ID: '${s}'`);
  return Number(s);
}

export function canonicalStage(stage: string): ModelStage {
  const found = MODEL_STAGES.find((s) => s.toLowerCase() === String(stage).toLowerCase());
  if (!found) throw new InvalidParameterError(`Invalid Model Version stage: ${stage}. Value must be one of None, Staging, Production, Archived.`);
  return found;
}

function randomRunName(): string {
  const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}

function lifecycleCondition(column: string, viewType: ViewType | undefined): string {
  switch (viewType ?? "ACTIVE_ONLY") {
    case "ACTIVE_ONLY":
      return `${column} = 'active'`;
    case "DELETED_ONLY":
      return `${column} = 'deleted'`;
    case "ALL":
      return "1 = 1";
    default:
      throw new InvalidParameterError(`view_type must be one of 'ACTIVE_ONLY', 'DELETED_ONLY', 'ALL', got '${String(viewType)}'`);
  }
}

function page<T>(rows: T[], maxResults: number, offset: number): Page<T> {
  if (rows.length > maxResults) return { items: rows.slice(0, maxResults), next_page_token: createPageToken(offset + maxResults) };
  return { items: rows };
}

/** `column <op> ?` with LIKE kept case-sensitive and ILIKE comparing lower-cased sides. */
function columnCondition(column: string, c: FilterClause, args: unknown[]): string {
  switch (c.comparator) {
    case "ILIKE":
      args.push(c.value);
      return `LOWER(${column}) LIKE LOWER(?)`;
    case "IN":
    case "NOT IN":
      args.push(JSON.stringify(c.value));
      return `${column} ${c.comparator} (SELECT value FROM json_each(?))`;
    default:
      args.push(c.value);
      return `${column} ${c.comparator} ?`;
  }
}

function existsCondition(table: string, join: string, c: FilterClause, args: unknown[]): string {
  args.push(c.key);
  return `EXISTS (SELECT 1 FROM ${table} x WHERE ${join} AND x.key = ? AND ${columnCondition("x.value", c, args)})`;
}

function runCondition(c: FilterClause, args: unknown[]): string {
  switch (c.type) {
    case "metric":
      args.push(c.key);
      return `EXISTS (SELECT 1 FROM latest_metrics x WHERE x.run_uuid = r.run_uuid AND x.key = ? AND x.is_nan = 0 AND ${columnCondition("x.value", c, args)})`;
    case "parameter":
      return existsCondition("params", "x.run_uuid = r.run_uuid", c, args);
    case "tag":
      return existsCondition("tags", "x.run_uuid = r.run_uuid", c, args);
    case "dataset": {
      if (c.key === "context") {
        args.push("mlflow.data.context");
        return `EXISTS (SELECT 1 FROM input_tags x WHERE x.run_uuid = r.run_uuid AND x.key = ? AND ${columnCondition("x.value", c, args)})`;
      }
      return `EXISTS (SELECT 1 FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid = r.run_uuid AND ${columnCondition(`d.${c.key}`, c, args)})`;
    }
    case "attribute": {
      const column = c.key === "run_id" ? "r.run_uuid" : c.key === "run_name" ? "r.name" : `r.${c.key}`;
      return columnCondition(column, c, args);
    }
  }
}

/** MLflow sorts missing (and NaN) values last whatever the direction, then by value. */
function orderClause(o: OrderByClause, i: number, joins: string[], orderSql: string[], args: unknown[]): void {
  const dir = o.ascending ? "ASC" : "DESC";
  if (o.type === "attribute") {
    const column = o.key === "run_id" ? "r.run_uuid" : o.key === "run_name" ? "r.name" : `r.${o.key}`;
    orderSql.push(`(${column} IS NULL) ASC`, `${column} ${dir}`);
    return;
  }
  const alias = `o${i}`;
  const table = o.type === "metric" ? "latest_metrics" : o.type === "parameter" ? "params" : "tags";
  joins.push(`LEFT JOIN ${table} ${alias} ON ${alias}.run_uuid = r.run_uuid AND ${alias}.key = ?`);
  args.push(o.key);
  if (o.type === "metric") orderSql.push(`(${alias}.value IS NULL OR ${alias}.is_nan = 1) ASC`, `${alias}.value ${dir}`);
  else orderSql.push(`(${alias}.value IS NULL) ASC`, `${alias}.value ${dir}`);
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
