import { InvalidParameterError } from "../../../util/errors.js";
import type { SqlDialect } from "./dialect.js";
import type { SqlDriver } from "./driver.js";

/**
 * Schema migrations, applied in order; `schema_version` holds how many have run. Never edit a
 * shipped entry: append a new one. Each is rendered for a dialect (column types, SQLite's
 * WITHOUT ROWID, the metrics insertion-order column), so every backend has the same tables.
 */
export const MIGRATIONS: ReadonlyArray<(d: SqlDialect) => string> = [
  (d) => {
    const { text, int, bigint, double } = d.types;
    const compact = d.compactTable;
    return `
  CREATE TABLE experiments (
    experiment_id ${int} PRIMARY KEY,
    name ${text} NOT NULL UNIQUE,
    artifact_location ${text} NOT NULL,
    lifecycle_stage ${text} NOT NULL DEFAULT 'active',
    creation_time ${bigint} NOT NULL,
    last_update_time ${bigint} NOT NULL
  );
  CREATE TABLE experiment_tags (
    experiment_id ${int} NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (experiment_id, key)
  );
  CREATE TABLE runs (
    run_uuid ${text} PRIMARY KEY,
    name ${text} NOT NULL,
    experiment_id ${int} NOT NULL REFERENCES experiments(experiment_id),
    user_id ${text} NOT NULL,
    status ${text} NOT NULL,
    start_time ${bigint} NOT NULL,
    end_time ${bigint},
    artifact_uri ${text} NOT NULL,
    lifecycle_stage ${text} NOT NULL DEFAULT 'active'
  );
  CREATE INDEX runs_experiment ON runs(experiment_id, start_time);
  CREATE TABLE params (
    run_uuid ${text} NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (run_uuid, key)
  )${compact};
  CREATE TABLE tags (
    run_uuid ${text} NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (run_uuid, key)
  )${compact};
  CREATE TABLE metrics (${d.metricSeq.definition}
    run_uuid ${text} NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key ${text} NOT NULL,
    value ${double} NOT NULL,
    is_nan ${int} NOT NULL,
    timestamp ${bigint} NOT NULL,
    step ${bigint} NOT NULL
  );
  CREATE UNIQUE INDEX metrics_identity ON metrics(run_uuid, key, timestamp, step, value, is_nan);
  CREATE TABLE latest_metrics (
    run_uuid ${text} NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    key ${text} NOT NULL,
    value ${double} NOT NULL,
    is_nan ${int} NOT NULL,
    timestamp ${bigint} NOT NULL,
    step ${bigint} NOT NULL,
    PRIMARY KEY (run_uuid, key)
  )${compact};
  CREATE INDEX latest_metrics_key_value ON latest_metrics(key, value);
  CREATE TABLE datasets (
    dataset_uuid ${text} PRIMARY KEY,
    experiment_id ${int} NOT NULL,
    name ${text} NOT NULL, digest ${text} NOT NULL,
    source_type ${text} NOT NULL, source ${text} NOT NULL,
    schema ${text}, profile ${text},
    UNIQUE (experiment_id, name, digest)
  );
  CREATE TABLE run_inputs (
    run_uuid ${text} NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    dataset_uuid ${text} NOT NULL REFERENCES datasets(dataset_uuid),
    position ${int} NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid)
  );
  CREATE TABLE input_tags (
    run_uuid ${text} NOT NULL, dataset_uuid ${text} NOT NULL,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid, key),
    FOREIGN KEY (run_uuid, dataset_uuid) REFERENCES run_inputs(run_uuid, dataset_uuid) ON DELETE CASCADE
  );
  CREATE TABLE registered_models (
    name ${text} PRIMARY KEY,
    creation_time ${bigint} NOT NULL,
    last_updated_time ${bigint} NOT NULL,
    description ${text} NOT NULL DEFAULT ''
  );
  CREATE TABLE registered_model_tags (
    name ${text} NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE ON UPDATE CASCADE,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (name, key)
  );
  CREATE TABLE model_versions (
    name ${text} NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE ON UPDATE CASCADE,
    version ${int} NOT NULL,
    creation_time ${bigint} NOT NULL,
    last_updated_time ${bigint} NOT NULL,
    description ${text} NOT NULL DEFAULT '',
    user_id ${text} NOT NULL DEFAULT '',
    current_stage ${text} NOT NULL DEFAULT 'None',
    source ${text} NOT NULL,
    run_id ${text} NOT NULL DEFAULT '',
    run_link ${text} NOT NULL DEFAULT '',
    status ${text} NOT NULL DEFAULT 'READY',
    PRIMARY KEY (name, version)
  );
  CREATE TABLE model_version_tags (
    name ${text} NOT NULL, version ${int} NOT NULL,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON DELETE CASCADE ON UPDATE CASCADE
  );
  CREATE TABLE registered_model_aliases (
    name ${text} NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE ON UPDATE CASCADE,
    alias ${text} NOT NULL,
    version ${int} NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON DELETE CASCADE ON UPDATE CASCADE
  );
  `;
  },
  // 2 — runs ordered by a metric they are also filtered on (`metrics.accuracy > 0.8`, ordered by
  // accuracy) walk this index in value order and stop at the page (search-sql.ts,
  // orderByFilteredChild). Partial on is_nan = 0, which every metric filter has; covering, so
  // no table row is read: PostgreSQL INCLUDEs run_uuid, SQLite's WITHOUT ROWID index already
  // carries the primary key. It replaces the plain (key, value) index, which no query needs now.
  (d) => `
  CREATE INDEX latest_metrics_present_key_value ON latest_metrics (key, value)${d.name === "postgresql" ? " INCLUDE (run_uuid)" : ""} WHERE is_nan = 0;
  DROP INDEX latest_metrics_key_value;
  `,
  // 3 — MLflow 3's logged models (issue 11): models with their own id and artifact location,
  // their tags, params and linked metrics, and the runs that took them as input or produced them.
  (d) => {
    const { text, int, bigint, double } = d.types;
    const compact = d.compactTable;
    return `
  CREATE TABLE logged_models (
    model_id ${text} PRIMARY KEY,
    experiment_id ${int} NOT NULL REFERENCES experiments(experiment_id),
    name ${text} NOT NULL,
    artifact_location ${text} NOT NULL,
    creation_timestamp_ms ${bigint} NOT NULL,
    last_updated_timestamp_ms ${bigint} NOT NULL,
    status ${int} NOT NULL,
    lifecycle_stage ${text} NOT NULL DEFAULT 'active',
    model_type ${text},
    source_run_id ${text},
    status_message ${text}
  );
  CREATE INDEX logged_models_experiment ON logged_models(experiment_id, creation_timestamp_ms);
  CREATE TABLE logged_model_tags (
    model_id ${text} NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (model_id, key)
  )${compact};
  CREATE TABLE logged_model_params (
    model_id ${text} NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    key ${text} NOT NULL, value ${text} NOT NULL,
    PRIMARY KEY (model_id, key)
  )${compact};
  CREATE TABLE logged_model_metrics (
    model_id ${text} NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
    key ${text} NOT NULL,
    timestamp ${bigint} NOT NULL,
    step ${bigint} NOT NULL,
    run_id ${text} NOT NULL,
    value ${double} NOT NULL,
    is_nan ${int} NOT NULL,
    experiment_id ${int} NOT NULL,
    dataset_name ${text},
    dataset_digest ${text},
    PRIMARY KEY (model_id, key, timestamp, step, run_id)
  )${compact};
  CREATE TABLE run_logged_models (
    run_uuid ${text} NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
    direction ${text} NOT NULL,
    model_id ${text} NOT NULL,
    step ${bigint} NOT NULL,
    PRIMARY KEY (run_uuid, direction, model_id)
  )${compact};
  `;
  },
  // 4 — a registered model's highest version number ever given, so a deleted version's number
  // is never given again (MLflow keeps deleted versions as tombstones for the same reason).
  (d) => `
  ALTER TABLE registered_models ADD COLUMN last_version ${d.types.int} NOT NULL DEFAULT 0;
  UPDATE registered_models SET last_version = (SELECT COALESCE(MAX(v.version), 0) FROM model_versions v WHERE v.name = registered_models.name);
  `,
  // 5 — PostgreSQL: no foreign key from the metrics history to runs. Its per-row check (a
  // lookup and a row lock on the run for every metric) was ~40% of the database's CPU in a
  // 1,000-metric log-batch (bench/tracking-postgres.ts). log-batch, the one writer of history
  // rows (besides `polarity db migrate-from`, which copies the runs first), reads the run
  // `FOR KEY SHARE` once per batch instead (SqlDialect.keyShareLock): the same guarantee as the
  // check; runs are never hard-deleted anyway. SQLite keeps its in-process check.
  (d) => (d.name === "postgresql" ? "ALTER TABLE metrics DROP CONSTRAINT metrics_run_uuid_fkey;" : ""),
];

export interface MigrateOptions {
  /**
   * Whether an existing database on an older schema is upgraded in place. The embedded SQLite
   * store does it on open; a shared database (PostgreSQL) is upgraded only by an explicit
   * `polarity db upgrade`, as with `mlflow db upgrade`, so one new server replica cannot
   * migrate a database the others still use. A new, empty database is always initialised.
   */
  upgradeExisting?: boolean;
}

/**
 * Brings the database to the current schema in one transaction and seeds experiment 0
 * ('Default', artifacts under `defaultArtifactRoot/0`) on a new database.
 */
export async function migrate(driver: SqlDriver, defaultArtifactRoot: string, options: MigrateOptions = {}): Promise<void> {
  const run = () => migrateLocked(driver, defaultArtifactRoot, options.upgradeExisting ?? true);
  await (driver.withMigrationLock ? driver.withMigrationLock(run) : run());
}

async function migrateLocked(driver: SqlDriver, defaultArtifactRoot: string, upgradeExisting: boolean): Promise<void> {
  await driver.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  await driver.transaction(async (tx) => {
    const row = await tx.get<{ version: number }>("SELECT version FROM schema_version");
    const current = row ? Number(row.version) : 0;
    if (current > MIGRATIONS.length) {
      throw new InvalidParameterError(`Tracking database schema version ${current} is newer than this Polarity (${MIGRATIONS.length}); upgrade Polarity`);
    }
    if (current > 0 && current < MIGRATIONS.length && !upgradeExisting) {
      throw new InvalidParameterError(
        `Tracking database schema version ${current} is out of date (this Polarity needs ${MIGRATIONS.length}): back it up, then run 'polarity db upgrade <store-uri>'`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) await tx.exec(MIGRATIONS[v](driver.dialect));
    if (current === 0) {
      const now = Date.now();
      await tx.run(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', ?, 'active', ?, ?)",
        [`${defaultArtifactRoot}/0`, now, now],
      );
    }
    if (!row) await tx.run("INSERT INTO schema_version (version) VALUES (?)", [MIGRATIONS.length]);
    else if (current !== MIGRATIONS.length) await tx.run("UPDATE schema_version SET version = ?", [MIGRATIONS.length]);
  });
}

export async function schemaVersion(driver: SqlDriver): Promise<number> {
  const row = await driver.get<{ version: number }>("SELECT version FROM schema_version");
  return row ? Number(row.version) : 0;
}
