import { InvalidParameterError, NotFoundError } from "../../../util/errors.js";
import { parseSearchFilter, type FilterClause, type FilterDialect } from "../../search-filter.js";
import { LOGGED_MODEL_STATUSES, type KeyValue, type LoggedModel, type LoggedModelMetric, type LoggedModelStatus, type Page } from "../../types.js";
import { LIMITS, validateKey, validateLength } from "../../validation.js";
import type { LoggedModelOrderBy, LoggedModelSearch, LoggedModelStore, NewLoggedModel } from "../logged-model-store.js";
import type { SqlBackend } from "./backend.js";
import type { SqlExecutor } from "./driver.js";
import type { MetricRow } from "./tracking-store.js";

/** Bounds on logged-model search (MLflow's default page is 50; the cap is ours: each model is four queries). */
export const LOGGED_MODEL_SEARCH = {
  MAX_RESULTS_DEFAULT: 50,
  MAX_RESULTS_THRESHOLD: 1000,
  MAX_EXPERIMENT_IDS: 1000,
  MAX_ORDER_BY: 20,
  MAX_DATASETS: 100,
} as const;
/** MLflow 3 stores logged-model tag values as Text; MAX_TAG_VAL_LENGTH there is 8000. */
export const MAX_LOGGED_MODEL_TAG_VALUE_LENGTH = 8000;

/** Filter attributes → columns (SqlLoggedModel's columns and its ALIASES); nothing else reaches the SQL text. */
const ATTRIBUTE_COLUMNS: Readonly<Record<string, string>> = {
  model_id: "m.model_id",
  name: "m.name",
  model_type: "m.model_type",
  source_run_id: "m.source_run_id",
  status: "m.status",
  artifact_location: "m.artifact_location",
  creation_timestamp_ms: "m.creation_timestamp_ms",
  creation_timestamp: "m.creation_timestamp_ms",
  creation_time: "m.creation_timestamp_ms",
  last_updated_timestamp_ms: "m.last_updated_timestamp_ms",
  last_updated_timestamp: "m.last_updated_timestamp_ms",
};

const LOGGED_MODEL_FILTER: FilterDialect = {
  what: "logged models",
  entities: ["metric", "parameter", "tag", "attribute"],
  numericAttributes: ["creation_timestamp_ms", "creation_timestamp", "creation_time", "last_updated_timestamp_ms", "last_updated_timestamp"],
  stringAttributes: ["model_id", "name", "model_type", "source_run_id", "status", "artifact_location"],
  listAttributes: ["model_id", "name", "model_type", "source_run_id", "status"],
  orderAttributes: [],
};

interface ModelRow {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  status: number;
  lifecycle_stage: string;
  model_type: string | null;
  source_run_id: string | null;
  status_message: string | null;
}

interface LoggedModelMetricRow extends MetricRow {
  run_id: string;
  dataset_name: string | null;
  dataset_digest: string | null;
}

/** LoggedModelStatus enum number (service.proto) of a status name. */
export function loggedModelStatusNumber(status: LoggedModelStatus): number {
  return LOGGED_MODEL_STATUSES.indexOf(status) + 1;
}

/** Python's repr of a str, as MLflow's `{key!r}` messages show it. */
function pyRepr(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function notFound(modelId: string): NotFoundError {
  return new NotFoundError(`Logged model with ID '${modelId}' not found.`);
}

export function validateLoggedModelTag(t: KeyValue): void {
  validateKey("tag", t.key);
  if (typeof t.value !== "string") throw new InvalidParameterError(`Tag value for '${t.key}' must be a string`);
  validateLength("Tag value", MAX_LOGGED_MODEL_TAG_VALUE_LENGTH, t.value);
}

export function validateLoggedModelParam(p: KeyValue): void {
  validateKey("parameter", p.key);
  if (typeof p.value !== "string") throw new InvalidParameterError(`Param value for '${p.key}' must be a string, got ${typeof p.value}`);
  validateLength("Param value", LIMITS.MAX_PARAM_VAL_LENGTH, p.value);
}

/** `{experiment_ids, filter_string, order_by, offset}` as base64 JSON, as MLflow's SearchLoggedModelsPaginationToken. */
interface PageToken {
  experiment_ids: string[];
  filter_string: string | null;
  order_by: LoggedModelOrderBy[] | null;
  offset: number;
}

function encodeToken(t: PageToken): string {
  return Buffer.from(JSON.stringify(t)).toString("base64");
}

function decodeToken(token: string): PageToken {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw new Error("not base64");
    parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
  } catch (err) {
    throw new InvalidParameterError(`Invalid page token: ${token.slice(0, 200)}. ${(err as Error).message}`);
  }
  const t = parsed as Partial<PageToken> | null;
  if (!t || typeof t !== "object" || !Number.isInteger(t.offset) || (t.offset as number) < 0 || !Array.isArray(t.experiment_ids)) {
    throw new InvalidParameterError(`Invalid page token: ${token.slice(0, 200)}`);
  }
  return t as PageToken;
}

function canonicalOrderBy(orderBy: LoggedModelOrderBy[] | undefined): LoggedModelOrderBy[] | null {
  if (!orderBy || orderBy.length === 0) return null;
  return orderBy.map((o) => ({
    field_name: o.field_name,
    ascending: o.ascending ?? true,
    ...(o.dataset_name ? { dataset_name: o.dataset_name } : {}),
    ...(o.dataset_digest ? { dataset_digest: o.dataset_digest } : {}),
  }));
}

/** Accumulates SQL text and its bound arguments in text order. */
class Sql {
  readonly parts: string[] = [];
  readonly args: unknown[] = [];
  add(text: string, ...args: unknown[]): this {
    this.parts.push(text);
    this.args.push(...args);
    return this;
  }
}

/** The logged-model store over any SQL backend (see SqlBackend and the dialects). */
export class SqlLoggedModelStore implements LoggedModelStore {
  constructor(readonly backend: SqlBackend) {}

  private get dialect() {
    return this.backend.dialect;
  }

  /** The model row, deleted ones included (MLflow's `session.query(SqlLoggedModel).get(model_id)`). */
  private async row(q: SqlExecutor, modelId: string): Promise<ModelRow> {
    const row = await q.get<ModelRow>("SELECT * FROM logged_models WHERE model_id = ?", [modelId]);
    if (!row) throw notFound(modelId);
    return row;
  }

  async createLoggedModel(m: NewLoggedModel): Promise<LoggedModel> {
    for (const p of m.params) validateLoggedModelParam(p);
    for (const t of m.tags) validateLoggedModelTag(t);
    const keys = new Set<string>();
    for (const p of m.params) {
      if (keys.has(p.key)) throw new InvalidParameterError(`Duplicate parameter keys have been submitted: ['${p.key}'].`);
      keys.add(p.key);
    }
    const now = Date.now();
    await this.backend.write(async (tx) => {
      await tx.run(
        `INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
        [
          m.modelId,
          Number(m.experimentId),
          m.name,
          m.artifactLocation,
          now,
          now,
          loggedModelStatusNumber("LOGGED_MODEL_PENDING"),
          m.modelType ?? null,
          m.sourceRunId ?? null,
        ],
      );
      for (const p of m.params) await tx.run("INSERT INTO logged_model_params (model_id, key, value) VALUES (?, ?, ?)", [m.modelId, p.key, p.value]);
      const upsert = this.dialect.upsert("logged_model_tags", ["model_id", "key", "value"], ["model_id", "key"]);
      for (const t of m.tags) await tx.run(upsert, [m.modelId, t.key, t.value]);
    });
    return this.getLoggedModel(m.modelId);
  }

  async getLoggedModel(modelId: string, allowDeleted = false): Promise<LoggedModel> {
    const q = await this.backend.read();
    const row = await this.row(q, modelId);
    if (row.lifecycle_stage === "deleted" && !allowDeleted) throw notFound(modelId);
    return this.load(q, row);
  }

  private async load(q: SqlExecutor, row: ModelRow): Promise<LoggedModel> {
    const [tags, params, metrics] = await Promise.all([
      q.all<KeyValue>("SELECT key, value FROM logged_model_tags WHERE model_id = ? ORDER BY key", [row.model_id]),
      q.all<KeyValue>("SELECT key, value FROM logged_model_params WHERE model_id = ? ORDER BY key", [row.model_id]),
      q.all<LoggedModelMetricRow>(
        "SELECT key, value, is_nan, timestamp, step, run_id, dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id = ? ORDER BY key, timestamp, step, run_id",
        [row.model_id],
      ),
    ]);
    const status = LOGGED_MODEL_STATUSES[Number(row.status) - 1] ?? "LOGGED_MODEL_PENDING";
    return {
      info: {
        model_id: row.model_id,
        experiment_id: String(row.experiment_id),
        name: row.name,
        creation_timestamp_ms: Number(row.creation_timestamp_ms),
        last_updated_timestamp_ms: Number(row.last_updated_timestamp_ms),
        artifact_uri: row.artifact_location,
        status,
        ...(row.model_type !== null ? { model_type: row.model_type } : {}),
        ...(row.source_run_id !== null ? { source_run_id: row.source_run_id } : {}),
        ...(row.status_message !== null ? { status_message: row.status_message } : {}),
        tags,
        registrations: [],
      },
      data: {
        params,
        metrics: metrics.map((r): LoggedModelMetric => ({
          key: r.key,
          value: Number(r.is_nan) === 1 ? NaN : Number(r.value),
          timestamp: Number(r.timestamp),
          step: Number(r.step),
          model_id: row.model_id,
          run_id: r.run_id,
          ...(r.dataset_name !== null ? { dataset_name: r.dataset_name } : {}),
          ...(r.dataset_digest !== null ? { dataset_digest: r.dataset_digest } : {}),
        })),
      },
    };
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    await this.backend.write(async (tx) => {
      await this.row(tx, modelId);
      await tx.run("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? WHERE model_id = ?", [Date.now(), modelId]);
    });
  }

  async finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    await this.backend.write(async (tx) => {
      await this.row(tx, modelId);
      await tx.run("UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?", [
        loggedModelStatusNumber(status),
        Date.now(),
        modelId,
      ]);
    });
    return this.getLoggedModel(modelId, true);
  }

  async setLoggedModelTags(modelId: string, tags: KeyValue[]): Promise<void> {
    for (const t of tags) validateLoggedModelTag(t);
    await this.backend.write(async (tx) => {
      await this.row(tx, modelId);
      const upsert = this.dialect.upsert("logged_model_tags", ["model_id", "key", "value"], ["model_id", "key"]);
      for (const t of tags) await tx.run(upsert, [modelId, t.key, t.value]);
    });
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    await this.backend.write(async (tx) => {
      await this.row(tx, modelId);
      const { changes } = await tx.run("DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?", [modelId, key]);
      if (changes === 0) throw new NotFoundError(`No tag with key ${pyRepr(key)} found for model with ID ${pyRepr(modelId)}.`);
    });
  }

  async logLoggedModelParams(modelId: string, params: KeyValue[]): Promise<void> {
    for (const p of params) validateLoggedModelParam(p);
    await this.backend.write(async (tx) => {
      await this.row(tx, modelId);
      for (const p of params) {
        const prev = await tx.get<{ value: string }>("SELECT value FROM logged_model_params WHERE model_id = ? AND key = ?", [modelId, p.key]);
        if (prev === undefined) await tx.run("INSERT INTO logged_model_params (model_id, key, value) VALUES (?, ?, ?)", [modelId, p.key, p.value]);
        else if (prev.value !== p.value) {
          throw new InvalidParameterError(
            `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${prev.value.slice(0, 250)}' for logged model ID='${modelId}'. Attempted logging new value '${p.value.slice(0, 250)}'.`,
          );
        }
      }
    });
  }

  async logModelMetrics(runId: string, experimentId: string, metrics: LoggedModelMetric[]): Promise<void> {
    if (metrics.length === 0) return;
    await this.backend.write(async (tx) => {
      const known = new Set<string>();
      for (const m of metrics) {
        if (!known.has(m.model_id)) {
          await this.row(tx, m.model_id);
          known.add(m.model_id);
        }
        const isNan = Number.isNaN(m.value);
        await tx.run(
          `INSERT INTO logged_model_metrics (model_id, key, timestamp, step, run_id, value, is_nan, experiment_id, dataset_name, dataset_digest)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          [
            m.model_id,
            m.key,
            m.timestamp,
            m.step,
            runId,
            isNan ? 0 : m.value,
            isNan ? 1 : 0,
            Number(experimentId),
            m.dataset_name ?? null,
            m.dataset_digest ?? null,
          ],
        );
      }
    });
  }

  async logRunModelInputs(runId: string, modelIds: string[]): Promise<void> {
    await this.backend.write(async (tx) => {
      const insert = this.dialect.insertIgnore("run_logged_models", ["run_uuid", "direction", "model_id", "step"]);
      for (const id of modelIds) await tx.run(insert, [runId, "input", id, 0]);
    });
  }

  async logRunModelOutputs(runId: string, outputs: Array<{ model_id: string; step: number }>): Promise<void> {
    await this.backend.write(async (tx) => {
      const upsert = this.dialect.upsert("run_logged_models", ["run_uuid", "direction", "model_id", "step"], ["run_uuid", "direction", "model_id"]);
      for (const o of outputs) await tx.run(upsert, [runId, "output", o.model_id, o.step]);
    });
  }

  async runModelIo(runId: string): Promise<{ inputs: Array<{ model_id: string }>; outputs: Array<{ model_id: string; step: number }> }> {
    const q = await this.backend.read();
    const rows = await q.all<{ direction: string; model_id: string; step: number }>(
      "SELECT direction, model_id, step FROM run_logged_models WHERE run_uuid = ? ORDER BY direction, model_id",
      [runId],
    );
    return {
      inputs: rows.filter((r) => r.direction === "input").map((r) => ({ model_id: r.model_id })),
      outputs: rows.filter((r) => r.direction === "output").map((r) => ({ model_id: r.model_id, step: Number(r.step) })),
    };
  }

  async searchLoggedModels(s: LoggedModelSearch): Promise<Page<LoggedModel>> {
    const maxResults = s.maxResults === undefined || s.maxResults === 0 ? LOGGED_MODEL_SEARCH.MAX_RESULTS_DEFAULT : s.maxResults;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > LOGGED_MODEL_SEARCH.MAX_RESULTS_THRESHOLD) {
      throw new InvalidParameterError(
        `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer at most ${LOGGED_MODEL_SEARCH.MAX_RESULTS_THRESHOLD}`,
      );
    }
    if (s.experimentIds.length > LOGGED_MODEL_SEARCH.MAX_EXPERIMENT_IDS) {
      throw new InvalidParameterError(
        `A logged model search can name at most ${LOGGED_MODEL_SEARCH.MAX_EXPERIMENT_IDS} experiment IDs, got ${s.experimentIds.length}`,
      );
    }
    const experimentIds = s.experimentIds.map((id) => {
      if (!/^\d{1,18}$/.test(id)) throw new InvalidParameterError(`Invalid experiment ID: '${id.slice(0, 100)}'`);
      return Number(id);
    });
    if ((s.orderBy?.length ?? 0) > LOGGED_MODEL_SEARCH.MAX_ORDER_BY)
      throw new InvalidParameterError(`At most ${LOGGED_MODEL_SEARCH.MAX_ORDER_BY} order_by entries are allowed`);
    if ((s.datasets?.length ?? 0) > LOGGED_MODEL_SEARCH.MAX_DATASETS)
      throw new InvalidParameterError(`At most ${LOGGED_MODEL_SEARCH.MAX_DATASETS} datasets are allowed`);
    const datasets = s.datasets ?? [];
    if (datasets.some((d) => !d.dataset_name)) throw new InvalidParameterError("`dataset_name` in the `datasets` clause must be specified.");
    const orderBy = canonicalOrderBy(s.orderBy);
    const filterString = s.filter || null;
    let offset = 0;
    if (s.pageToken) {
      const t = decodeToken(s.pageToken);
      const show = (v: unknown) => JSON.stringify(v);
      if (show(t.experiment_ids) !== show(s.experimentIds)) {
        throw new InvalidParameterError(
          `Experiment IDs in the page token do not match the requested experiment IDs. Expected: ${show(s.experimentIds)}. Found: ${show(t.experiment_ids)}`,
        );
      }
      if ((t.filter_string ?? null) !== filterString) {
        throw new InvalidParameterError(
          `Filter string in the page token does not match the requested filter string. Expected: ${show(filterString)}. Found: ${show(t.filter_string)}`,
        );
      }
      if (show(t.order_by ?? null) !== show(orderBy)) {
        throw new InvalidParameterError(
          `Order by in the page token does not match the requested order by. Expected: ${show(orderBy)}. Found: ${show(t.order_by)}`,
        );
      }
      offset = t.offset;
    }
    if (experimentIds.length === 0) return { items: [] };

    const where = new Sql();
    where.add("m.lifecycle_stage <> 'deleted'");
    where.add(this.dialect.inList("m.experiment_id", false), this.dialect.listArg(experimentIds));
    const datasetSql = (alias: string): Sql | undefined => {
      if (datasets.length === 0) return undefined;
      const d = new Sql();
      for (const ds of datasets) {
        if (ds.dataset_digest) d.add(`(${alias}.dataset_name = ? AND ${alias}.dataset_digest = ?)`, ds.dataset_name, ds.dataset_digest);
        else d.add(`${alias}.dataset_name = ?`, ds.dataset_name);
      }
      return d;
    };
    let metricFilters = 0;
    for (const c of parseSearchFilter(s.filter, LOGGED_MODEL_FILTER)) {
      if (c.type === "attribute") {
        const column = ATTRIBUTE_COLUMNS[c.key];
        const clause = column === "m.status" ? statusClause(c) : c;
        where.add(...this.condition(column, clause));
      } else if (c.type === "metric") {
        metricFilters++;
        const [cond, ...args] = this.condition("x.value", c);
        const ds = datasetSql("x");
        where.add(
          `EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.key = ? AND x.is_nan = 0 AND ${cond}${ds ? ` AND (${ds.parts.join(" OR ")})` : ""})`,
          c.key,
          ...args,
          ...(ds?.args ?? []),
        );
      } else {
        const table = c.type === "parameter" ? "logged_model_params" : "logged_model_tags";
        const [cond, ...args] = this.condition("x.value", c);
        where.add(`EXISTS (SELECT 1 FROM ${table} x WHERE x.model_id = m.model_id AND x.key = ? AND ${cond})`, c.key, ...args);
      }
    }
    const ds = datasetSql("x");
    if (ds && metricFilters === 0) {
      where.add(`EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND (${ds.parts.join(" OR ")}))`, ...ds.args);
    }

    const order = new Sql();
    let hasCreation = false;
    for (const o of orderBy ?? []) {
      const dir = o.ascending === false ? "DESC" : "ASC";
      if (!o.field_name.includes(".")) {
        const column = Object.prototype.hasOwnProperty.call(ATTRIBUTE_COLUMNS, o.field_name) ? ATTRIBUTE_COLUMNS[o.field_name] : undefined;
        if (column === undefined) throw new InvalidParameterError(`Invalid order by field name: ${o.field_name}`);
        if (column === "m.creation_timestamp_ms") hasCreation = true;
        order.add(`CASE WHEN ${column} IS NULL THEN 1 ELSE 0 END ASC`).add(`${column} ${dir}`);
        continue;
      }
      const [entity, key] = [o.field_name.slice(0, o.field_name.indexOf(".")), o.field_name.slice(o.field_name.indexOf(".") + 1)];
      if (entity !== "metrics") throw new InvalidParameterError(`Invalid order by field name: ${o.field_name}. Only metrics are supported.`);
      // The model's latest value of the metric (newest timestamp, then step), optionally on one dataset.
      const latest = new Sql().add("SELECT mm.value FROM logged_model_metrics mm WHERE mm.model_id = m.model_id AND mm.key = ? AND mm.is_nan = 0", key);
      if (o.dataset_name) latest.add("AND mm.dataset_name = ?", o.dataset_name);
      if (o.dataset_digest) latest.add("AND mm.dataset_digest = ?", o.dataset_digest);
      latest.add(`ORDER BY mm.timestamp DESC, mm.step DESC ${this.dialect.limitOffset}`, 1, 0);
      const expr = `(${latest.parts.join(" ")})`;
      order.add(`CASE WHEN ${expr} IS NULL THEN 1 ELSE 0 END ASC`, ...latest.args).add(`${expr} ${dir}`, ...latest.args);
    }
    if (!hasCreation) order.add("m.creation_timestamp_ms DESC");
    order.add("m.model_id ASC");

    const sql = `SELECT m.* FROM logged_models m WHERE ${where.parts.join(" AND ")} ORDER BY ${order.parts.join(", ")} ${this.dialect.limitOffset}`;
    const q = await this.backend.read();
    const rows = await q.all<ModelRow>(sql, [...where.args, ...order.args, maxResults + 1, offset]);
    const items: LoggedModel[] = [];
    for (const r of rows.slice(0, maxResults)) items.push(await this.load(q, r));
    if (rows.length <= maxResults) return { items };
    return {
      items,
      next_page_token: encodeToken({ experiment_ids: s.experimentIds, filter_string: filterString, order_by: orderBy, offset: offset + maxResults }),
    };
  }

  /** `column <op> ?` and its arguments; LIKE case-sensitive, ILIKE not, IN lists bound as one argument. */
  private condition(column: string, c: FilterClause): [string, ...unknown[]] {
    switch (c.comparator) {
      case "ILIKE":
        return [this.dialect.ilike(column), c.value];
      case "IN":
      case "NOT IN":
        return [this.dialect.inList(column, c.comparator === "NOT IN"), this.dialect.listArg(c.value as string[])];
      default:
        return [`${column} ${c.comparator} ?`, c.value];
    }
  }
}

/** `status = 'READY'` (or the enum name) compares the stored enum number. */
function statusClause(c: FilterClause): FilterClause {
  const toNumber = (v: string): number => {
    const name = (/^LOGGED_MODEL_/.test(v) ? v : v === "FAILED" ? "LOGGED_MODEL_UPLOAD_FAILED" : `LOGGED_MODEL_${v}`) as LoggedModelStatus;
    const n = LOGGED_MODEL_STATUSES.indexOf(name);
    if (n < 0) throw new InvalidParameterError(`Invalid logged model status '${v}'. Valid values are ${["PENDING", "READY", "FAILED"].join(", ")}`);
    return n + 1;
  };
  if (c.comparator !== "=" && c.comparator !== "!=" && c.comparator !== "IN" && c.comparator !== "NOT IN") {
    throw new InvalidParameterError(`Invalid comparator '${c.comparator}' for attribute 'status': use =, !=, IN or NOT IN`);
  }
  if (Array.isArray(c.value)) return { ...c, value: c.value.map(toNumber) as unknown as string[] };
  return { ...c, value: toNumber(String(c.value)) };
}
