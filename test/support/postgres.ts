import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * PostgreSQL for the tracking suites. `.ci/run` starts Debian's cluster and exports
 * POLARITY_TEST_POSTGRES_URL (a role allowed to create databases); without it the
 * PostgreSQL runs skip with one line. `POLARITY_TEST_STORE=postgresql` runs the tracking
 * suites on PostgreSQL instead of SQLite — one suite, two backends.
 */
export const POSTGRES_URL = process.env.POLARITY_TEST_POSTGRES_URL || undefined;

export function skipUnlessPostgres(): string | false {
  return POSTGRES_URL ? false : "needs PostgreSQL: set POLARITY_TEST_POSTGRES_URL (bash .ci/run starts one: apt-get install -y postgresql)";
}

/** The backend the tracking suites run on this time. */
export function testStoreBackend(): "sqlite" | "postgresql" {
  const want = process.env.POLARITY_TEST_STORE;
  if (want === "postgresql") {
    if (!POSTGRES_URL) throw new Error("POLARITY_TEST_STORE=postgresql needs POLARITY_TEST_POSTGRES_URL");
    return "postgresql";
  }
  return "sqlite";
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server, dropped by `drop()` (connections are terminated first). */
export async function freshPostgresDatabase(prefix = "polarity_t"): Promise<TestDatabase> {
  if (!POSTGRES_URL) throw new Error("POLARITY_TEST_POSTGRES_URL is not set");
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A store URI for a tracking test: a SQLite file under `dir`, or a fresh PostgreSQL database. */
export async function testStoreUri(sqlitePath: string): Promise<{ uri: string; drop(): Promise<void> }> {
  if (testStoreBackend() === "sqlite") return { uri: `sqlite:///${sqlitePath}`, drop: async () => {} };
  const db = await freshPostgresDatabase();
  return { uri: db.url, drop: db.drop };
}
