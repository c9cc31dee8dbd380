import type { SqlDialect } from "./dialect.js";

/** Runs SQL written with `?` placeholders (the driver applies its dialect's `placeholders`). */
export interface SqlExecutor {
  all<T>(sql: string, args?: readonly unknown[]): Promise<T[]>;
  get<T>(sql: string, args?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, args?: readonly unknown[]): Promise<{ changes: number }>;
  /** Several statements without parameters (schema migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * A connection (or pool) to one database. The SQL stores only ever talk to this interface,
 * so a backend is a dialect plus an adapter implementing it.
 */
export interface SqlDriver extends SqlExecutor {
  readonly dialect: SqlDialect;
  /**
   * Runs `fn` in one write transaction: committed when it resolves, rolled back when it
   * throws. Statements inside must go through `tx`, never through the driver itself.
   * Waiting for other writers (SQLite's busy timeout, PostgreSQL serialisation retries) is
   * the driver's job; `fn` may be called again on a retry.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Serialises migrations across processes sharing the database (PostgreSQL: an advisory lock). */
  withMigrationLock?<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /**
   * Every statement of the transaction is correct on its own however other writers interleave:
   * upserts, `ON CONFLICT` inserts, and reads that can only turn into an error (log-batch). A
   * database with weaker isolation levels may then use one (PostgreSQL: READ COMMITTED instead of
   * SERIALIZABLE — no predicate locks, no serialisation failures to retry). SQLite ignores it:
   * its write transactions are serial anyway.
   */
  statementsAtomic?: boolean;
}
