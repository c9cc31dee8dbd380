import { createRequire } from "node:module";
import type * as Pg from "pg";
import { PolarityError } from "../../../util/errors.js";
import { redactUri } from "../../uri.js";
import { standardInsertIgnore, standardUpsert, type BulkColumn, type BulkStatement, type SqlDialect } from "./dialect.js";
import type { SqlDriver, SqlExecutor, TransactionOptions } from "./driver.js";

/**
 * PostgreSQL behind the SQL stores (docs/tracking.md, "Adding a SQL backend"): the dialect
 * below plus an adapter over `pg.Pool`. Write transactions run SERIALIZABLE and are retried
 * on serialisation failures and deadlocks, so the stores' read-then-write sequences (the next
 * experiment id, the next model version) stay correct with many writers on many server
 * replicas — a unique-key race between two creates surfaces as a serialisation failure, and
 * the retry then sees the winner's row (MLflow's error code). A transaction made only of
 * self-contained statements (log-batch: ON CONFLICT inserts and upserts;
 * TransactionOptions.statementsAtomic) runs READ COMMITTED instead.
 */
export const postgresDialect: SqlDialect = {
  name: "postgresql",
  types: { text: "TEXT", int: "INTEGER", bigint: "BIGINT", double: "DOUBLE PRECISION" },
  compactTable: "",
  metricSeq: { column: "seq", definition: "seq BIGSERIAL," },
  placeholders: (sql) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  },
  inList: (column, negate) => (negate ? `NOT (${column} = ANY(?))` : `${column} = ANY(?)`),
  listArg: (values) => [...values],
  ilike: (column) => `${column} ILIKE ?`,
  upsert: standardUpsert,
  insertIgnore: standardInsertIgnore,
  limitOffset: "LIMIT ? OFFSET ?",
  keyShareLock: " FOR KEY SHARE",
  bulkInsert: unnestBulkInsert,
  isDuplicateKeyError: (err, index) => sqlState(err) === "23505" && (err as { constraint?: unknown }).constraint === index,
};

/**
 * `INSERT INTO t (a, b, c) SELECT ?::text, u.b, u.c FROM unnest(?::bigint[], ?::text[]) AS u(b, c)`:
 * any number of rows in one statement. A column whose value is the same in every row (a batch's
 * run id, usually is_nan and the timestamp) is bound once as a scalar instead of as an array
 * of copies — less to serialise, send and parse. Each array goes as its PostgreSQL literal,
 * written here in one pass (arrayLiteral) rather than by pg's generic per-element serialiser.
 */
function unnestBulkInsert(table: string, columns: readonly BulkColumn[], rows: readonly (readonly unknown[])[], suffix: string): BulkStatement[] {
  const n = rows.length;
  if (n === 0) return [];
  const select: string[] = [];
  const scalars: unknown[] = [];
  const sources: string[] = [];
  const aliases: string[] = [];
  const arrays: unknown[] = [];
  const first = rows[0];
  let varying = 0;
  const constant = columns.map((_, c) => {
    if (n === 1) return false;
    const v = first[c];
    for (let r = 1; r < n; r++) if (rows[r][c] !== v) return false;
    return true;
  });
  for (const k of constant) if (!k) varying++;
  if (varying === 0) constant.fill(false); // unnest needs at least one array
  columns.forEach((col, c) => {
    if (constant[c]) {
      select.push(`?::${col.type}`);
      scalars.push(first[c]);
      return;
    }
    select.push(`u.${col.name}`);
    sources.push(`?::${col.type}[]`);
    aliases.push(col.name);
    arrays.push(arrayLiteral(rows, c, col.type === "text"));
  });
  const names = columns.map((c) => c.name).join(", ");
  return [
    {
      sql: `INSERT INTO ${table} (${names}) SELECT ${select.join(", ")} FROM unnest(${sources.join(", ")}) AS u(${aliases.join(", ")}) ${suffix}`,
      args: [...scalars, ...arrays],
    },
  ];
}

const NEEDS_ESCAPE = /["\\]/;

/**
 * Column `c` of `rows` as a PostgreSQL array literal (`{"a","b\\"c"}`, `{1.5,-2,Infinity}`), what
 * pg would send for the JS array, without its per-element dispatch and two regex replaces. Text
 * elements are always quoted (so the text NULL stays text); null and undefined are NULL; numbers
 * go as JavaScript prints them (shortest round-trip form; Infinity, -Infinity and NaN are also
 * PostgreSQL's spellings). A value of any other type falls back to pg's own serialiser.
 */
export function arrayLiteral(rows: readonly (readonly unknown[])[], c: number, text: boolean): unknown {
  let out = "{";
  for (let r = 0; r < rows.length; r++) {
    const v = rows[r][c];
    if (r > 0) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else if (text && typeof v === "string") out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/["\\]/g, "\\$&")}"` : `"${v}"`;
    else if (!text && typeof v === "number") out += String(v);
    else return rows.map((row) => row[c]);
  }
  return `${out}}`;
}

/** SQLSTATEs worth retrying the whole transaction for. */
const RETRYABLE = new Set(["40001", "40P01"]);
/** SQLSTATE classes that mean the database is unreachable or going away (→ 503, retry later). */
const UNAVAILABLE_CLASSES = ["08", "57"];
const UNAVAILABLE_NET = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

export interface PostgresDriverOptions {
  /** Connections in the pool (per server process). Default 10. */
  poolSize?: number;
  /** Attempts of a write transaction on serialisation failures. Default 10. */
  maxAttempts?: number;
  /** Give up waiting for a pooled connection or a new one after this long (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /** Per-statement timeout on the server (ms). Default 60 s. */
  statementTimeoutMs?: number;
}

// BIGINT (int8) columns hold epoch milliseconds and steps, well inside 2^53: parse them as
// numbers for this driver's connections only (pg's global parser table is left alone).
const INT8_OID = 20;
const typeParsers = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (v: string) => Number(v) : loadPg().types.getTypeParser(oid, format as "text")) as typeof Pg.types.getTypeParser,
};

let pgModule: typeof Pg | null = null;
/**
 * pg, loaded when the first PostgreSQL store opens: every SQLite use of the tracking store
 * (tune, compare, the server, the pipeline) imports this module, and loading pg took 60-80 ms.
 */
function loadPg(): typeof Pg {
  return (pgModule ??= createRequire(import.meta.url)("pg") as typeof Pg);
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

/** True when the error means "the database is not reachable right now" rather than a bad statement. */
export function isUnavailable(err: unknown): boolean {
  const code = sqlState(err);
  if (code && UNAVAILABLE_NET.has(code)) return true;
  if (code && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CLASSES.some((c) => code.startsWith(c));
  const message = err instanceof Error ? err.message : "";
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

/** Database outages become a retryable 503 with MLflow's error shape; everything else passes through. */
function translate(err: unknown, url: string): unknown {
  if (err instanceof PolarityError) return err;
  const code = sqlState(err) ?? "";
  // Wrong credentials, a database that does not exist, no permission: the configuration is wrong.
  if (code.startsWith("28") || code === "3D000" || code === "42501") {
    return new PolarityError("INVALID_PARAMETER_VALUE", `Cannot use the tracking database ${redactUri(url)}: ${(err as Error).message}`);
  }
  if (isUnavailable(err)) {
    return new PolarityError("TEMPORARILY_UNAVAILABLE", `The tracking database ${redactUri(url)} is unavailable; retry later`);
  }
  return err;
}

function ignore(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  readonly pool: Pg.Pool;
  private readonly maxAttempts: number;
  private readonly sqlCache = new Map<string, string>();

  constructor(
    readonly url: string,
    options: PostgresDriverOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 10;
    this.pool = new (loadPg().Pool)({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      statement_timeout: options.statementTimeoutMs ?? 60_000,
      idleTimeoutMillis: 30_000,
      types: typeParsers,
    });
    // An idle client losing its connection (a database restart) must not crash the process:
    // the pool drops it and the next query opens a new one.
    this.pool.on("error", () => {});
  }

  private sql(text: string): string {
    let out = this.sqlCache.get(text);
    if (out === undefined) {
      out = this.dialect.placeholders(text);
      if (this.sqlCache.size < 4096) this.sqlCache.set(text, out);
    }
    return out;
  }

  private executor(q: Pg.Pool | Pg.PoolClient): SqlExecutor {
    return {
      all: async <T>(text: string, args: readonly unknown[] = []) => (await q.query(this.sql(text), args as unknown[])).rows as T[],
      get: async <T>(text: string, args: readonly unknown[] = []) => (await q.query(this.sql(text), args as unknown[])).rows[0] as T | undefined,
      run: async (text: string, args: readonly unknown[] = []) => ({ changes: (await q.query(this.sql(text), args as unknown[])).rowCount ?? 0 }),
      exec: async (text: string) => void (await q.query(text)),
    };
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translate(err, this.url);
    }
  }

  all<T>(sql: string, args?: readonly unknown[]): Promise<T[]> {
    return this.guard(() => this.executor(this.pool).all<T>(sql, args));
  }

  get<T>(sql: string, args?: readonly unknown[]): Promise<T | undefined> {
    return this.guard(() => this.executor(this.pool).get<T>(sql, args));
  }

  run(sql: string, args?: readonly unknown[]): Promise<{ changes: number }> {
    return this.guard(() => this.executor(this.pool).run(sql, args));
  }

  exec(sql: string): Promise<void> {
    return this.guard(() => this.executor(this.pool).exec(sql));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const begin = options.statementsAtomic ? "BEGIN ISOLATION LEVEL READ COMMITTED" : "BEGIN ISOLATION LEVEL SERIALIZABLE";
    return this.guard(async () => {
      for (let attempt = 1; ; attempt++) {
        const client = await this.pool.connect();
        // A connection lost while this client is checked out is emitted as 'error' on the client;
        // the pending query rejects with it anyway, so only keep it from being an uncaught event.
        client.on("error", ignore);
        let broken = false;
        try {
          await client.query(begin);
          const result = await fn(this.executor(client));
          await client.query("COMMIT");
          return result;
        } catch (err) {
          await client.query("ROLLBACK").catch(() => (broken = true));
          if (RETRYABLE.has(sqlState(err) ?? "") && attempt < this.maxAttempts) {
            // Jittered exponential back-off so the losers of one race don't collide again.
            await sleep(Math.min(200, 2 ** attempt) * (0.5 + Math.random()));
            continue;
          }
          throw err;
        } finally {
          client.off("error", ignore);
          client.release(broken);
        }
      }
    });
  }

  /**
   * Runs `fn` holding a session-level advisory lock, so that server replicas starting together
   * migrate one at a time (the others then find the schema current).
   */
  async withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.guard(async () => {
      const client = await this.pool.connect();
      client.on("error", ignore);
      try {
        await client.query("SELECT pg_advisory_lock(7061727469)"); // "polari" — any constant shared by all replicas
        try {
          return await fn();
        } finally {
          await client.query("SELECT pg_advisory_unlock(7061727469)");
        }
      } finally {
        client.off("error", ignore);
        client.release();
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
