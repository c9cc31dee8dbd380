import type { SqlDriver, SqlExecutor, TransactionOptions } from "./driver.js";
import { migrate, schemaVersion, type MigrateOptions } from "./schema.js";

export interface SqlBackendOptions extends MigrateOptions {
  /** Artifact root URI new experiments get: `${defaultArtifactRoot}/${experiment_id}`. Default `mlflow-artifacts:`. */
  defaultArtifactRoot?: string;
}

/**
 * One database shared by the SQL tracking store and the SQL registry store: the driver, the
 * migrations (run once, awaited by every call) and the write-transaction helper.
 */
export class SqlBackend {
  readonly defaultArtifactRoot: string;
  /** Settles when the schema is current; rejects (e.g. a database from a newer Polarity) on every call. */
  readonly ready: Promise<void>;

  constructor(
    readonly driver: SqlDriver,
    options: SqlBackendOptions = {},
  ) {
    this.defaultArtifactRoot = (options.defaultArtifactRoot ?? "mlflow-artifacts:").replace(/\/+$/, "");
    this.ready = migrate(driver, this.defaultArtifactRoot, options);
    this.ready.catch(() => {}); // surfaced by the first call that awaits it
  }

  get dialect() {
    return this.driver.dialect;
  }

  async read(): Promise<SqlExecutor> {
    await this.ready;
    return this.driver;
  }

  async write<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T> {
    await this.ready;
    return this.driver.transaction(fn, options);
  }

  async schemaVersion(): Promise<number> {
    await this.ready;
    return schemaVersion(this.driver);
  }

  async close(): Promise<void> {
    await this.ready.catch(() => {});
    await this.driver.close();
  }
}
