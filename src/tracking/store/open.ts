import { InvalidParameterError } from "../../util/errors.js";
import { redactUri, type LocalTarget, type PostgresTarget } from "../uri.js";
import type { ModelRegistryStore } from "./registry-store.js";
import { SqlBackend, type SqlBackendOptions } from "./sql/backend.js";
import type { SqlDriver } from "./sql/driver.js";
import { SqlModelRegistryStore } from "./sql/registry-store.js";
import { SqliteDriver, type SqliteDriverOptions } from "./sql/sqlite-driver.js";
import { SqlTrackingStore } from "./sql/tracking-store.js";
import type { TrackingStore } from "./tracking-store.js";

/** A tracking store and a registry store over one database, opened and closed together. */
export interface Stores {
  tracking: TrackingStore;
  registry: ModelRegistryStore;
  /** Settles when the schema is current (rejects with the migration error). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export type OpenStoreOptions = SqlBackendOptions & SqliteDriverOptions;

/** Both SQL stores over a driver (any dialect). */
export function openSqlStores(driver: SqlDriver, options: SqlBackendOptions = {}): Stores & { backend: SqlBackend } {
  const backend = new SqlBackend(driver, options);
  return {
    backend,
    tracking: new SqlTrackingStore(backend),
    registry: new SqlModelRegistryStore(backend),
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
export function openStores(target: LocalTarget | PostgresTarget, options: OpenStoreOptions = {}): Stores {
  if (target.kind === "local") return openSqliteStores(target.dbPath, options);
  // The PostgreSQL dialect and driver adapter plug in here (docs/tracking.md, "Adding a SQL backend").
  throw new InvalidParameterError(`PostgreSQL store '${redactUri(target.url)}' is not available in this build yet; use sqlite:///path.db or a local directory`);
}
