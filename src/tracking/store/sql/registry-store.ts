import { AlreadyExistsError, InvalidParameterError, NotFoundError } from "../../../util/errors.js";
import { MODEL_VERSION_FILTER, REGISTERED_MODEL_FILTER, parseOrderBy, parseSearchFilter } from "../../search-filter.js";
import { MODEL_STAGES, type KeyValue, type ModelStage, type ModelVersion, type Page, type RegisteredModel, type RegisteredModelAlias } from "../../types.js";
import {
  LIMITS,
  parseModelVersion,
  parsePageToken,
  validateAlias,
  validateLength,
  validateMaxResults,
  validateModelName,
  validateRegistryTag,
} from "../../validation.js";
import type { ModelRegistryStore } from "../registry-store.js";
import type { SearchQuery } from "../tracking-store.js";
import type { SqlBackend } from "./backend.js";
import type { SqlExecutor } from "./driver.js";
import { SearchSql, columnFor, page } from "./search-sql.js";

/** Request attribute keys → columns; nothing else reaches the SQL text. */
const MODEL_COLUMNS = {
  name: "m.name",
  timestamp: "m.creation_time",
  creation_timestamp: "m.creation_time",
  last_updated_timestamp: "m.last_updated_time",
} as const;
const VERSION_COLUMNS = {
  name: "v.name",
  run_id: "v.run_id",
  source_path: "v.source",
  version_number: "v.version",
  timestamp: "v.creation_time",
  creation_timestamp: "v.creation_time",
  last_updated_timestamp: "v.last_updated_time",
} as const;

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

/** The model registry store over any SQL backend (see SqlBackend and the dialects). */
export class SqlModelRegistryStore implements ModelRegistryStore {
  constructor(readonly backend: SqlBackend) {}

  private get dialect() {
    return this.backend.dialect;
  }

  private async modelExists(q: SqlExecutor, name: string): Promise<boolean> {
    return (await q.get("SELECT 1 FROM registered_models WHERE name = ?", [name])) !== undefined;
  }

  private async requireModel(q: SqlExecutor, name: string): Promise<void> {
    validateModelName(name);
    if (!(await this.modelExists(q, name))) throw new NotFoundError(`Registered Model with name=${name} not found`);
  }

  private async touchModel(tx: SqlExecutor, name: string, now = Date.now()): Promise<void> {
    await tx.run("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", [now, name]);
  }

  async createRegisteredModel(name: string, description = "", tags: KeyValue[] = []): Promise<RegisteredModel> {
    validateModelName(name);
    validateLength("Registered model description", LIMITS.MAX_DESCRIPTION_LENGTH, description);
    for (const t of tags) validateRegistryTag("Registered model", t);
    await this.backend.write(async (tx) => {
      if (await this.modelExists(tx, name)) throw new AlreadyExistsError(`Registered Model (name=${name}) already exists.`);
      const now = Date.now();
      await tx.run("INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)", [name, now, now, description]);
      const upsert = this.dialect.upsert("registered_model_tags", ["name", "key", "value"], ["name", "key"]);
      for (const t of tags) await tx.run(upsert, [name, t.key, t.value]);
    });
    return this.getRegisteredModel(name);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    validateModelName(name);
    const q = await this.backend.read();
    return this.loadModel(q, name);
  }

  private async loadModel(q: SqlExecutor, name: string): Promise<RegisteredModel> {
    const row = await q.get<{ name: string; creation_time: number; last_updated_time: number; description: string }>(
      "SELECT * FROM registered_models WHERE name = ?",
      [name],
    );
    if (!row) throw new NotFoundError(`Registered Model with name=${name} not found`);
    const aliases = await q.all<{ alias: string; version: number }>("SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias", [
      name,
    ]);
    return {
      name: row.name,
      creation_timestamp: Number(row.creation_time),
      last_updated_timestamp: Number(row.last_updated_time),
      description: row.description,
      latest_versions: await this.latestVersions(q, name, [...MODEL_STAGES]),
      tags: await q.all<KeyValue>("SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY key", [name]),
      aliases: aliases.map((a): RegisteredModelAlias => ({ alias: a.alias, version: String(a.version) })),
    };
  }

  async searchRegisteredModels(sq: SearchQuery): Promise<Page<RegisteredModel>> {
    const maxResults = validateMaxResults(
      sq.maxResults,
      LIMITS.SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
      LIMITS.SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
    );
    const offset = parsePageToken(sq.pageToken);
    const clauses = parseSearchFilter(sq.filter, REGISTERED_MODEL_FILTER);
    const s = new SearchSql(this.dialect);
    for (const o of (sq.orderBy ?? []).map((o) => parseOrderBy(o, REGISTERED_MODEL_FILTER))) {
      if (o.type === "tag") s.orderByChild("registered_model_tags", (a) => `${a}.name = m.name`, o.key, o.ascending);
      else s.orderByColumn(columnFor(MODEL_COLUMNS, o.key, "registered models"), o.ascending);
    }
    s.orderByColumn("m.name", true);
    for (const c of clauses) {
      if (c.type === "tag") s.where.push(s.exists("registered_model_tags", "x.name = m.name", c));
      else s.where.push(s.condition(columnFor(MODEL_COLUMNS, c.key, "registered models"), c));
    }
    const q = await this.backend.read();
    const { sql, args } = s.select("m.name", "registered_models m", maxResults + 1, offset);
    const rows = await q.all<{ name: string }>(sql, args);
    const models: RegisteredModel[] = [];
    for (const r of rows) models.push(await this.loadModel(q, r.name));
    return page(models, maxResults, offset);
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    validateModelName(newName);
    await this.backend.write(async (tx) => {
      await this.requireModel(tx, name);
      if (await this.modelExists(tx, newName)) throw new AlreadyExistsError(`Registered Model (name=${newName}) already exists.`);
      // ON UPDATE CASCADE carries versions, tags and aliases along.
      await tx.run("UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?", [newName, Date.now(), name]);
    });
    return this.getRegisteredModel(newName);
  }

  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    validateLength("Registered model description", LIMITS.MAX_DESCRIPTION_LENGTH, description);
    await this.backend.write(async (tx) => {
      await this.requireModel(tx, name);
      await tx.run("UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?", [description, Date.now(), name]);
    });
    return this.getRegisteredModel(name);
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    await this.backend.write(async (tx) => {
      await this.requireModel(tx, name);
      await tx.run("DELETE FROM registered_models WHERE name = ?", [name]);
    });
  }

  async setRegisteredModelTag(name: string, tag: KeyValue): Promise<void> {
    validateRegistryTag("Registered model", tag);
    await this.backend.write(async (tx) => {
      await this.requireModel(tx, name);
      await tx.run(this.dialect.upsert("registered_model_tags", ["name", "key", "value"], ["name", "key"]), [name, tag.key, tag.value]);
    });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.backend.write(async (tx) => {
      await this.requireModel(tx, name);
      await tx.run("DELETE FROM registered_model_tags WHERE name = ? AND key = ?", [name, key]);
    });
  }

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    validateAlias(alias);
    const v = parseModelVersion(version);
    await this.backend.write(async (tx) => {
      await this.versionRow(tx, name, v);
      await tx.run(this.dialect.upsert("registered_model_aliases", ["name", "alias", "version"], ["name", "alias"]), [name, alias, v]);
      await this.touchModel(tx, name);
    });
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    validateAlias(alias);
    await this.backend.write(async (tx) => {
      await this.requireModel(tx, name);
      await tx.run("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?", [name, alias]);
    });
  }

  /** One indexed lookup plus the version row: cheap enough to poll for hot reload. */
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const q = await this.backend.read();
    await this.requireModel(q, name);
    const row = await q.get<{ version: number }>("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", [name, alias]);
    if (!row) throw new NotFoundError(`Registered model alias ${alias} not found.`);
    return this.toModelVersion(q, await this.versionRow(q, name, Number(row.version)));
  }

  async getLatestVersions(name: string, stages: string[] = []): Promise<ModelVersion[]> {
    const q = await this.backend.read();
    await this.requireModel(q, name);
    return this.latestVersions(q, name, stages.length > 0 ? stages.map(canonicalStage) : [...MODEL_STAGES]);
  }

  private async latestVersions(q: SqlExecutor, name: string, wanted: ModelStage[]): Promise<ModelVersion[]> {
    const rows = await q.all<ModelVersionRow>(
      `SELECT v.* FROM model_versions v
       WHERE v.name = ? AND v.version = (SELECT MAX(w.version) FROM model_versions w WHERE w.name = v.name AND w.current_stage = v.current_stage)
       ORDER BY v.version`,
      [name],
    );
    const out: ModelVersion[] = [];
    for (const r of rows) if (wanted.includes(r.current_stage as ModelStage)) out.push(await this.toModelVersion(q, r));
    return out;
  }

  async createModelVersion(v: {
    name: string;
    source: string;
    runId?: string;
    tags?: KeyValue[];
    runLink?: string;
    description?: string;
  }): Promise<ModelVersion> {
    validateModelName(v.name);
    if (typeof v.source !== "string" || v.source === "") throw new InvalidParameterError("Missing value for required parameter 'source'.");
    for (const t of v.tags ?? []) validateRegistryTag("Model version", t);
    validateLength("Model version description", LIMITS.MAX_DESCRIPTION_LENGTH, v.description);
    const version = await this.backend.write(async (tx) => {
      await this.requireModel(tx, v.name);
      await tx.run("UPDATE registered_models SET last_version = last_version + 1 WHERE name = ?", [v.name]);
      const next = Number((await tx.get<{ v: number }>("SELECT last_version AS v FROM registered_models WHERE name = ?", [v.name]))!.v);
      const now = Date.now();
      await tx.run(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, run_link, status) VALUES (?, ?, ?, ?, ?, '', 'None', ?, ?, ?, 'READY')",
        [v.name, next, now, now, v.description ?? "", v.source, v.runId ?? "", v.runLink ?? ""],
      );
      const upsert = this.dialect.upsert("model_version_tags", ["name", "version", "key", "value"], ["name", "version", "key"]);
      for (const t of v.tags ?? []) await tx.run(upsert, [v.name, next, t.key, t.value]);
      await this.touchModel(tx, v.name, now);
      return next;
    });
    return this.getModelVersion(v.name, String(version));
  }

  private async versionRow(q: SqlExecutor, name: string, version: number): Promise<ModelVersionRow> {
    await this.requireModel(q, name);
    const row = await q.get<ModelVersionRow>("SELECT * FROM model_versions WHERE name = ? AND version = ?", [name, version]);
    if (!row) throw new NotFoundError(`Model Version (name=${name}, version=${version}) not found`);
    return row;
  }

  private async toModelVersion(q: SqlExecutor, row: ModelVersionRow): Promise<ModelVersion> {
    const tags = await q.all<KeyValue>("SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? ORDER BY key", [row.name, row.version]);
    const aliases = await q.all<{ alias: string }>("SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY alias", [
      row.name,
      row.version,
    ]);
    return {
      name: row.name,
      version: String(row.version),
      creation_timestamp: Number(row.creation_time),
      last_updated_timestamp: Number(row.last_updated_time),
      user_id: row.user_id,
      current_stage: row.current_stage as ModelStage,
      description: row.description,
      source: row.source,
      run_id: row.run_id,
      run_link: row.run_link,
      status: "READY",
      tags,
      aliases: aliases.map((a) => a.alias),
    };
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const q = await this.backend.read();
    return this.toModelVersion(q, await this.versionRow(q, name, parseModelVersion(version)));
  }

  async searchModelVersions(sq: SearchQuery): Promise<Page<ModelVersion>> {
    const maxResults = validateMaxResults(sq.maxResults, LIMITS.SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT, LIMITS.SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD);
    const offset = parsePageToken(sq.pageToken);
    const clauses = parseSearchFilter(sq.filter, MODEL_VERSION_FILTER);
    const s = new SearchSql(this.dialect);
    for (const o of (sq.orderBy ?? []).map((o) => parseOrderBy(o, MODEL_VERSION_FILTER))) {
      if (o.type === "tag") s.orderByChild("model_version_tags", (a) => `${a}.name = v.name AND ${a}.version = v.version`, o.key, o.ascending);
      else s.orderByColumn(columnFor(VERSION_COLUMNS, o.key, "model versions"), o.ascending);
    }
    // MLflow's order: last_updated_timestamp DESC, name ASC, version_number DESC when none is
    // given; otherwise the given keys, then name ASC and version DESC to break ties.
    if ((sq.orderBy ?? []).length === 0) s.orderByColumn("v.last_updated_time", false);
    s.orderByColumn("v.name", true);
    s.orderByColumn("v.version", false);
    for (const c of clauses) {
      if (c.type === "tag") s.where.push(s.exists("model_version_tags", "x.name = v.name AND x.version = v.version", c));
      else s.where.push(s.condition(columnFor(VERSION_COLUMNS, c.key, "model versions"), c));
    }
    const q = await this.backend.read();
    const { sql, args } = s.select("v.*", "model_versions v", maxResults + 1, offset);
    const rows = await q.all<ModelVersionRow>(sql, args);
    const versions: ModelVersion[] = [];
    for (const r of rows) versions.push(await this.toModelVersion(q, r));
    return page(versions, maxResults, offset);
  }

  async updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    validateLength("Model version description", LIMITS.MAX_DESCRIPTION_LENGTH, description);
    const v = parseModelVersion(version);
    await this.backend.write(async (tx) => {
      await this.versionRow(tx, name, v);
      await tx.run("UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?", [description, Date.now(), name, v]);
    });
    return this.getModelVersion(name, version);
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    const v = parseModelVersion(version);
    await this.backend.write(async (tx) => {
      await this.versionRow(tx, name, v);
      await tx.run("DELETE FROM model_versions WHERE name = ? AND version = ?", [name, v]);
      await this.touchModel(tx, name);
    });
  }

  async transitionModelVersionStage(name: string, version: string, stage: string, archiveExistingVersions: boolean): Promise<ModelVersion> {
    const v = parseModelVersion(version);
    const target = canonicalStage(stage);
    if (archiveExistingVersions && target !== "Staging" && target !== "Production") {
      throw new InvalidParameterError(
        `Model version transition cannot archive existing model versions because '${target}' is not an Active stage. Valid stages are Staging, Production.`,
      );
    }
    await this.backend.write(async (tx) => {
      await this.versionRow(tx, name, v);
      const now = Date.now();
      if (archiveExistingVersions) {
        await tx.run("UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ? WHERE name = ? AND current_stage = ? AND version != ?", [
          now,
          name,
          target,
          v,
        ]);
      }
      await tx.run("UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?", [target, now, name, v]);
      await this.touchModel(tx, name, now);
    });
    return this.getModelVersion(name, version);
  }

  async setModelVersionTag(name: string, version: string, tag: KeyValue): Promise<void> {
    validateRegistryTag("Model version", tag);
    const v = parseModelVersion(version);
    await this.backend.write(async (tx) => {
      await this.versionRow(tx, name, v);
      await tx.run(this.dialect.upsert("model_version_tags", ["name", "version", "key", "value"], ["name", "version", "key"]), [name, v, tag.key, tag.value]);
    });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    const v = parseModelVersion(version);
    await this.backend.write(async (tx) => {
      await this.versionRow(tx, name, v);
      await tx.run("DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?", [name, v, key]);
    });
  }
}

export function canonicalStage(stage: string): ModelStage {
  const found = MODEL_STAGES.find((s) => s.toLowerCase() === String(stage).toLowerCase());
  if (!found) throw new InvalidParameterError(`Invalid Model Version stage: ${stage}. Value must be one of None, Staging, Production, Archived.`);
  return found;
}
