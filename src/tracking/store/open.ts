import type { LocalTarget, PostgresTarget } from "../uri.js";
import type { LoggedModelStore } from "./logged-model-store.js";
import type { ModelRegistryStore } from "./registry-store.js";
import { SqlBackend, type SqlBackendOptions } from "./sql/backend.js";
import type { SqlDriver } from "./sql/driver.js";
import { SqlLoggedModelStore } from "./sql/logged-model-store.js";
import { SqlModelRegistryStore } from "./sql/registry-store.js";
import { PostgresDriver, type PostgresDriverOptions } from "./sql/postgres-driver.js";
import { SqliteDriver, type SqliteDriverOptions } from "./sql/sqlite-driver.js";
import { SqlTrackingStore } from "./sql/tracking-store.js";
import type { TrackingStore } from "./tracking-store.js";

/** A tracking store and a registry store over one database, opened and closed together. */
export interface Stores {
  tracking: TrackingStore;
  registry: ModelRegistryStore;
  /** MLflow 3's logged models (same database). */
  loggedModels: LoggedModelStore;
  /** Settles when the schema is current (rejects with the migration error). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export type OpenStoreOptions = SqlBackendOptions & SqliteDriverOptions & PostgresDriverOptions;

/** Both SQL stores over a driver (any dialect). */
export function openSqlStores(driver: SqlDriver, options: SqlBackendOptions = {}): Stores & { backend: SqlBackend } {
  const backend = new SqlBackend(driver, options);
  return {
    backend,
    tracking: new SqlTrackingStore(backend),
    registry: new SqlModelRegistryStore(backend),
    loggedModels: new SqlLoggedModelStore(backend),
    ready: backend.ready,
    close: () => backend.close(),
  };
}

/** The embedded store: one SQLite file (created with its directory when missing). */
export function openSqliteStores(dbPath: string, options: OpenStoreOptions = {}): Stores & { backend: SqlBackend; driver: SqliteDriver } {
  const driver = new SqliteDriver(dbPath, options);
  return { ...openSqlStores(driver, options), driver };
}

/** The stores behind a parsed store URI (see parseTrackingUri). */
export function openStores(target: LocalTarget | PostgresTarget, options: OpenStoreOptions = {}): Stores & { backend: SqlBackend } {
  if (target.kind === "local") return openSqliteStores(target.dbPath, options);
  return openPostgresStores(target.url, { ...options, poolSize: options.poolSize ?? target.poolSize });
}

/** A shared PostgreSQL database: an older schema is upgraded only by `polarity db upgrade`. */
export function openPostgresStores(url: string, options: OpenStoreOptions = {}): Stores & { backend: SqlBackend; driver: PostgresDriver } {
  const driver = new PostgresDriver(url, options);
  return { ...openSqlStores(driver, { upgradeExisting: false, ...options }), driver };
}
