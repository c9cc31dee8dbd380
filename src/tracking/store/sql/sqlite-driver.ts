import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { sqliteDialect } from "./dialect.js";
import type { SqlDriver, SqlExecutor, TransactionOptions } from "./driver.js";

export interface SqliteDriverOptions {
  /** How long a writer waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number;
}

/**
 * better-sqlite3 behind the async driver interface. better-sqlite3 is synchronous, so a
 * statement runs at call time; the one thing to guard is a transaction spanning awaits:
 * while one is open on this connection, other callers wait for it to finish.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = sqliteDialect;
  readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private txOpen = false;
  private txDone: Promise<void> = Promise.resolve();
  private readonly direct: SqlExecutor;

  constructor(path: string, options: SqliteDriverOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 30_000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    // MLflow's SQLite engine also makes LIKE case-sensitive; ILIKE lowers both sides.
    this.db.pragma("case_sensitive_like = ON");
    this.direct = {
      all: async <T>(sql: string, args: readonly unknown[] = []) => this.stmt(sql).all(...args) as T[],
      get: async <T>(sql: string, args: readonly unknown[] = []) => this.stmt(sql).get(...args) as T | undefined,
      run: async (sql, args = []) => ({ changes: this.stmt(sql).run(...args).changes }),
      exec: async (sql) => void this.db.exec(sql),
    };
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  // Each method re-checks `txOpen` right before its statement, with no await in between:
  // several callers can wake when a transaction ends, and only the first may start the next.

  async all<T>(sql: string, args?: readonly unknown[]): Promise<T[]> {
    while (this.txOpen) await this.txDone;
    return this.direct.all<T>(sql, args);
  }

  async get<T>(sql: string, args?: readonly unknown[]): Promise<T | undefined> {
    while (this.txOpen) await this.txDone;
    return this.direct.get<T>(sql, args);
  }

  async run(sql: string, args?: readonly unknown[]): Promise<{ changes: number }> {
    while (this.txOpen) await this.txDone;
    return this.direct.run(sql, args);
  }

  async exec(sql: string): Promise<void> {
    while (this.txOpen) await this.txDone;
    return this.direct.exec(sql);
  }

  /** BEGIN IMMEDIATE, so concurrent processes queue on the busy timeout instead of failing on lock upgrade. */
  // TransactionOptions change nothing here: write transactions are serial (BEGIN IMMEDIATE).
  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, _options?: TransactionOptions): Promise<T> {
    while (this.txOpen) await this.txDone;
    this.txOpen = true;
    let release!: () => void;
    this.txDone = new Promise((r) => (release = r));
    try {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(this.direct);
        this.db.exec("COMMIT");
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
    } finally {
      this.txOpen = false;
      release();
    }
  }

  async close(): Promise<void> {
    while (this.txOpen) await this.txDone;
    this.db.close();
  }
}
