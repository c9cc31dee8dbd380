/**
 * What differs between the SQL databases behind the tracking and registry stores. The stores
 * write their SQL once, with `?` placeholders and the helpers below; a dialect turns that
 * into its database's SQL. See docs/tracking.md ("Adding a SQL backend").
 */
export interface SqlDialect {
  readonly name: "sqlite" | "postgresql";
  /** Column types used by the schema (migrations). */
  readonly types: { text: string; int: string; bigint: string; double: string };
  /** Appended to tables with a composite primary key and no other index need (SQLite: WITHOUT ROWID). */
  readonly compactTable: string;
  /** The metrics history table's insertion order column ("rowid" in SQLite; a BIGSERIAL elsewhere). */
  readonly metricSeq: { column: string; definition: string };
  /** Rewrites `?` placeholders into the driver's form (`$1, $2, …` for PostgreSQL). */
  placeholders(sql: string): string;
  /** `column IN (<list bound as one parameter>)`; `listArg` makes that parameter. */
  inList(column: string, negate: boolean): string;
  listArg(values: readonly (string | number)[]): unknown;
  /** Case-insensitive LIKE against a bound pattern. LIKE itself must be case-sensitive (MLflow's semantics). */
  ilike(column: string): string;
  /** `INSERT … ON CONFLICT (key) DO UPDATE` (insert-or-replace of the non-key columns). */
  upsert(table: string, columns: readonly string[], key: readonly string[]): string;
  /** `INSERT … ON CONFLICT DO NOTHING`. */
  insertIgnore(table: string, columns: readonly string[]): string;
  /** `LIMIT ? OFFSET ?` (two bound parameters, limit first). */
  readonly limitOffset: string;
  /**
   * Appended to a SELECT of one row that later statements of the transaction depend on, to keep
   * it from being deleted or re-keyed until commit (PostgreSQL `FOR KEY SHARE`, what a foreign
   * key check takes). Empty for SQLite, whose write transactions are serial.
   */
  readonly keyShareLock: string;
  /**
   * Statements inserting many rows into `table` (`INSERT INTO table (columns) <rows> <suffix>`,
   * the suffix e.g. an `ON CONFLICT` clause), each with its arguments. SQLite: multi-row VALUES
   * lists, one parameter per value, BULK_ROWS_PER_STATEMENT rows a statement. PostgreSQL: ONE
   * statement whatever the row count, `SELECT * FROM unnest(?::type[], …)` with one array
   * parameter per column — one round trip and a statement text that does not grow with the batch.
   */
  bulkInsert(table: string, columns: readonly BulkColumn[], rows: readonly (readonly unknown[])[], suffix: string): BulkStatement[];
  /**
   * Present when a plain INSERT that may fail on a duplicate key is much cheaper than
   * `ON CONFLICT DO NOTHING` (PostgreSQL: the latter probes every unique index before and after
   * each row's speculative insertion, and logs more WAL): then a store inserts without the
   * clause first and, on the error this recognises — a duplicate in `index` — rolls back and
   * does the transaction again with it (what MLflow's SQLAlchemy store does on an
   * IntegrityError). Absent (SQLite): always `ON CONFLICT DO NOTHING`.
   */
  isDuplicateKeyError?(err: unknown, index: string): boolean;
}

/** A column of a bulk insert; `type` is the PostgreSQL element type of its array parameter. */
export interface BulkColumn {
  name: string;
  type: "text" | "integer" | "bigint" | "double precision";
}

export interface BulkStatement {
  sql: string;
  args: unknown[];
}

/** Rows per multi-row VALUES statement: 250 rows × 6 columns stays well under SQLite's parameter limit. */
export const BULK_ROWS_PER_STATEMENT = 250;

function valuesList(columns: readonly string[]): string {
  return columns.map(() => "?").join(", ");
}

const valuesSqlCache = new Map<string, string>();

/** Multi-row `VALUES (?, …), (…)` statements (SQLite; any SQL database). The SQL text per shape is built once. */
export function valuesBulkInsert(table: string, columns: readonly BulkColumn[], rows: readonly (readonly unknown[])[], suffix: string): BulkStatement[] {
  const out: BulkStatement[] = [];
  const width = columns.length;
  for (let start = 0; start < rows.length; start += BULK_ROWS_PER_STATEMENT) {
    const n = Math.min(BULK_ROWS_PER_STATEMENT, rows.length - start);
    const key = `${table}\u0000${columns.map((c) => c.name).join(",")}\u0000${n}\u0000${suffix}`;
    let sql = valuesSqlCache.get(key);
    if (sql === undefined) {
      const row = `(${valuesList(columns.map((c) => c.name))})`;
      sql = `INSERT INTO ${table} (${columns.map((c) => c.name).join(", ")}) VALUES ${Array.from({ length: n }, () => row).join(", ")} ${suffix}`;
      if (valuesSqlCache.size < 256) valuesSqlCache.set(key, sql);
    }
    const args = new Array<unknown>(n * width);
    for (let r = 0; r < n; r++) {
      const row = rows[start + r];
      for (let c = 0; c < width; c++) args[r * width + c] = row[c];
    }
    out.push({ sql, args });
  }
  return out;
}

/** Both SQLite (≥ 3.24) and PostgreSQL spell upserts this way. */
export function standardUpsert(table: string, columns: readonly string[], key: readonly string[]): string {
  const rest = columns.filter((c) => !key.includes(c));
  const action = rest.length > 0 ? `DO UPDATE SET ${rest.map((c) => `${c} = excluded.${c}`).join(", ")}` : "DO NOTHING";
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${valuesList(columns)}) ON CONFLICT (${key.join(", ")}) ${action}`;
}

export function standardInsertIgnore(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${valuesList(columns)}) ON CONFLICT DO NOTHING`;
}

export const sqliteDialect: SqlDialect = {
  name: "sqlite",
  types: { text: "TEXT", int: "INTEGER", bigint: "INTEGER", double: "REAL" },
  compactTable: " WITHOUT ROWID",
  metricSeq: { column: "rowid", definition: "" },
  placeholders: (sql) => sql,
  inList: (column, negate) => `${column} ${negate ? "NOT IN" : "IN"} (SELECT value FROM json_each(?))`,
  listArg: (values) => JSON.stringify(values),
  // The SQLite driver sets PRAGMA case_sensitive_like = ON (as MLflow's SQLite engine does).
  ilike: (column) => `LOWER(${column}) LIKE LOWER(?)`,
  upsert: standardUpsert,
  insertIgnore: standardInsertIgnore,
  limitOffset: "LIMIT ? OFFSET ?",
  keyShareLock: "",
  bulkInsert: valuesBulkInsert,
};
