import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveServerStore } from "../../src/cli/server.js";
import { openStores } from "../../src/tracking/store/open.js";
import type { PostgresDriver } from "../../src/tracking/store/sql/postgres-driver.js";
import { parseTrackingUri, withPoolSize, type PostgresTarget } from "../../src/tracking/uri.js";
import { InvalidParameterError } from "../../src/util/errors.js";
import { freshPostgresDatabase, skipUnlessPostgres, testStoreUri } from "../support/postgres.js";
import { tempDir } from "./helpers.js";

/**
 * How a server finds and sizes its store (issue 17): the PostgreSQL pool size from the URI's
 * `pool_size`, `--db-pool-size` or POLARITY_DB_POOL_SIZE / MLFLOW_SQLALCHEMYSTORE_POOL_SIZE,
 * and the store URI and artifact destination from POLARITY_* / MLflow's variables, so a
 * deployment keeps the database password out of the command line.
 */

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const PG = "postgresql://u:secret@db.example:5432/polarity";

function pgTarget(uri: string): PostgresTarget {
  const t = parseTrackingUri(uri);
  assert.equal(t.kind, "postgresql");
  return t as PostgresTarget;
}

describe("PostgreSQL pool size and server store settings", { timeout: 120_000 }, () => {
  test("pool_size is read from the URI and removed from what the driver gets; other options stay", () => {
    assert.deepEqual(
      { url: pgTarget(`${PG}?sslmode=require&pool_size=3&application_name=x`).url, poolSize: pgTarget(`${PG}?sslmode=require&pool_size=3`).poolSize },
      { url: `${PG}?sslmode=require&application_name=x`, poolSize: 3 },
    );
    assert.equal(pgTarget(`${PG}?pool_size=25`).url, PG);
    assert.equal(pgTarget(`postgres://u:secret@db.example/polarity?pool_size=1000`).poolSize, 1000);
    assert.equal(pgTarget(PG).poolSize, undefined);
    assert.equal(pgTarget(`${PG}?sslmode=disable`).url, `${PG}?sslmode=disable`);
    for (const bad of ["0", "1001", "-2", "ten", "3.5", "", "1e3"]) {
      assert.throws(
        () => parseTrackingUri(`${PG}?pool_size=${bad}`),
        (err: unknown) => err instanceof InvalidParameterError && /pool_size must be a whole number of connections from 1 to 1000/.test(err.message),
        bad,
      );
    }
    assert.throws(() => parseTrackingUri(`${PG}?pool_size=2&pool_size=3`), /given twice/);
    assert.equal(withPoolSize(`${PG}?pool_size=2&sslmode=require`, 7), `${PG}?sslmode=require&pool_size=7`);
    assert.equal(withPoolSize(PG, 4), `${PG}?pool_size=4`);
  });

  test("the server's store: flag, else POLARITY_*, else MLflow's variable, else the default", () => {
    const sqlite = "sqlite:///x.db";
    assert.deepEqual(resolveServerStore({}, {}), { backendStoreUri: "sqlite:///mlruns.db", artifactsDestination: "./mlartifacts" });
    assert.deepEqual(resolveServerStore({}, { MLFLOW_BACKEND_STORE_URI: sqlite, MLFLOW_ARTIFACTS_DESTINATION: "s3://b/m" }), {
      backendStoreUri: sqlite,
      artifactsDestination: "s3://b/m",
    });
    assert.deepEqual(resolveServerStore({}, { POLARITY_BACKEND_STORE_URI: PG, MLFLOW_BACKEND_STORE_URI: sqlite, POLARITY_ARTIFACTS_DESTINATION: "s3://a/p" }), {
      backendStoreUri: PG,
      artifactsDestination: "s3://a/p",
    });
    assert.deepEqual(resolveServerStore({ backendStoreUri: sqlite, artifactsDestination: "/d" }, { POLARITY_BACKEND_STORE_URI: PG }), {
      backendStoreUri: sqlite,
      artifactsDestination: "/d",
    });
    // an empty variable counts as unset (a ConfigMap key left blank)
    assert.equal(resolveServerStore({}, { POLARITY_BACKEND_STORE_URI: " ", MLFLOW_BACKEND_STORE_URI: sqlite }).backendStoreUri, sqlite);
    assert.throws(() => resolveServerStore({}, { POLARITY_BACKEND_STORE_URI: "mysql://u@h/db" }), /Unsupported tracking URI/);
  });

  test("pool size: --db-pool-size, else the URI's pool_size, else POLARITY_DB_POOL_SIZE / MLFLOW_SQLALCHEMYSTORE_POOL_SIZE", () => {
    const pool = (o: Parameters<typeof resolveServerStore>[0], env: NodeJS.ProcessEnv) => pgTarget(resolveServerStore(o, env).backendStoreUri).poolSize;
    assert.equal(pool({ backendStoreUri: PG }, {}), undefined, "unset: the driver's default (10)");
    assert.equal(pool({ backendStoreUri: PG }, { MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "4" }), 4);
    assert.equal(pool({ backendStoreUri: PG }, { POLARITY_DB_POOL_SIZE: "6", MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "4" }), 6);
    assert.equal(pool({ backendStoreUri: `${PG}?pool_size=8` }, { POLARITY_DB_POOL_SIZE: "6" }), 8, "the URI is more specific than the environment");
    assert.equal(pool({ backendStoreUri: `${PG}?pool_size=8`, dbPoolSize: "12" }, { POLARITY_DB_POOL_SIZE: "6" }), 12, "the flag wins");
    assert.throws(() => resolveServerStore({ backendStoreUri: PG, dbPoolSize: "0" }, {}), /--db-pool-size must be a whole number/);
    assert.throws(() => resolveServerStore({ backendStoreUri: PG }, { POLARITY_DB_POOL_SIZE: "lots" }), /POLARITY_DB_POOL_SIZE must be a whole number/);
    assert.throws(() => resolveServerStore({ backendStoreUri: "sqlite:///x.db", dbPoolSize: "5" }, {}), /applies to a postgresql:\/\/ backend store only/);
    // a machine-wide variable does not break an embedded store
    assert.equal(resolveServerStore({ backendStoreUri: "sqlite:///x.db" }, { POLARITY_DB_POOL_SIZE: "5" }).backendStoreUri, "sqlite:///x.db");
  });

  test("a real pool never opens more connections than pool_size", { skip: skipUnlessPostgres() }, async () => {
    const db = await freshPostgresDatabase();
    const u = new URL(db.url);
    u.searchParams.set("pool_size", "3");
    const target = parseTrackingUri(u.toString());
    assert.equal(target.kind, "postgresql");
    const stores = openStores(target);
    try {
      await stores.ready;
      const driver = stores.backend.driver as PostgresDriver;
      assert.equal(driver.pool.options.max, 3);
      let most = 0;
      const watch = setInterval(() => (most = Math.max(most, driver.pool.totalCount)), 5);
      await Promise.all(Array.from({ length: 8 }, () => driver.all("SELECT pg_sleep(0.1)")));
      clearInterval(watch);
      assert.ok(most >= 2 && most <= 3, `connections used: ${most}`);
      const backends = await driver.get<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()");
      assert.ok(backends!.n <= 3, `server-side connections: ${backends!.n}`);
    } finally {
      await stores.close();
      await db.drop();
    }
  });

  test("polarity server takes its store from POLARITY_BACKEND_STORE_URI and POLARITY_ARTIFACTS_DESTINATION (no flags)", async () => {
    const { dir, cleanup } = tempDir();
    const store = await testStoreUri(join(dir, "env.db"));
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "server", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        POLARITY_BACKEND_STORE_URI: store.uri,
        POLARITY_ARTIFACTS_DESTINATION: join(dir, "env-artifacts"),
        POLARITY_DB_POOL_SIZE: "2",
        POLARITY_SERVER_TOKEN: "",
      },
    });
    try {
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.on("exit", (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
      });
      const res = await fetch(`${url}/api/2.0/mlflow/experiments/create`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "from-env" }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const { experiment_id } = (await res.json()) as { experiment_id: string };
      const put = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/r/artifacts/a.txt`, { method: "PUT", body: "hello" });
      assert.equal(put.status, 200);
      // the experiment is in the database the variable names, the artifact under the variable's directory
      const direct = parseTrackingUri(store.uri);
      assert.ok(direct.kind !== "http");
      const stores = openStores(direct);
      try {
        assert.equal((await stores.tracking.getExperimentByName("from-env")).experiment_id, experiment_id);
      } finally {
        await stores.close();
      }
      const listed = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/r/artifacts/a.txt`);
      assert.equal(await listed.text(), "hello");
      assert.ok(existsSync(join(dir, "env-artifacts", experiment_id, "r", "artifacts", "a.txt")));
    } finally {
      const exited = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await exited;
      await store.drop();
      cleanup();
    }
  });
});
