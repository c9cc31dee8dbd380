import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import pg from "pg";
import { openPostgresStores, openSqliteStores, type Stores } from "../../src/tracking/store/open.js";
import type { Metric } from "../../src/tracking/types.js";
import { freshPostgresDatabase, skipUnlessPostgres, type TestDatabase } from "../support/postgres.js";
import { tempDir } from "./helpers.js";

/**
 * log-batch's history insert on PostgreSQL is a plain INSERT (no ON CONFLICT, which costs
 * PostgreSQL about twice the CPU per row); a duplicate makes it fail, and the batch is done
 * again with ON CONFLICT DO NOTHING. These check that MLflow's semantics survive that: an exact
 * duplicate (key, timestamp, step, value) is stored once, whether repeated in a batch, sent
 * again in a later batch, or sent by two writers at once — and that the retried batch's params,
 * tags and latest metrics are exactly those of one clean attempt. Same checks on SQLite.
 */
const backends: { name: string; skip: string | false; open(): Promise<{ stores: Stores; done(): Promise<void> }> }[] = [
  {
    name: "SQLite",
    skip: false,
    open: async () => {
      const t = tempDir("polarity-dup-");
      const stores = openSqliteStores(join(t.dir, "d.db"));
      return { stores, done: async () => (await stores.close(), t.cleanup()) };
    },
  },
  {
    name: "PostgreSQL",
    skip: skipUnlessPostgres(),
    open: async () => {
      const db: TestDatabase = await freshPostgresDatabase();
      const stores = openPostgresStores(db.url);
      return { stores, done: async () => (await stores.close(), await db.drop()) };
    },
  },
];

const m = (key: string, value: number, timestamp: number, step: number): Metric => ({ key, value, timestamp, step });

/** History as "value@timestamp/step" strings, in a fixed order (NaN and ±inf spelled out). */
async function history(stores: Stores, runId: string, key: string): Promise<string[]> {
  const items = (await stores.tracking.getMetricHistory(runId, key)).items;
  return items.map((x) => `${String(x.value)}@${x.timestamp}/${x.step}`).sort();
}

for (const backend of backends) {
  describe(`log-batch duplicates on ${backend.name}`, { skip: backend.skip, timeout: 120_000 }, () => {
    let stores: Stores;
    let done: () => Promise<void>;
    before(async () => {
      ({ stores, done } = await backend.open());
      await stores.ready;
    });
    after(async () => done?.());

    const newRun = async () => (await stores.tracking.createRun({ experimentId: "0" })).info.run_id;

    test("an exact duplicate inside one batch is stored once; near-duplicates are kept", async () => {
      const run = await newRun();
      await stores.tracking.logBatch(
        run,
        [m("a", 1, 10, 0), m("a", 1, 10, 0), m("a", 1, 10, 1), m("a", 1, 11, 0), m("a", 2, 10, 0), m("a", NaN, 10, 0), m("a", NaN, 10, 0), m("a", 0, 10, 0)],
        [{ key: "p", value: "1" }],
        [{ key: "t", value: "x" }],
      );
      assert.deepEqual(await history(stores, run, "a"), ["0@10/0", "1@10/0", "1@10/1", "1@11/0", "2@10/0", "NaN@10/0"]);
      const got = await stores.tracking.getRun(run);
      assert.deepEqual(got.data.params, [{ key: "p", value: "1" }]);
      assert.equal(got.data.tags.find((t) => t.key === "t")?.value, "x");
      assert.deepEqual(
        got.data.metrics.map((x) => [x.key, x.value, x.timestamp, x.step]),
        [["a", 1, 10, 1]],
      );
    });

    test("a batch sent again (a client retry) changes nothing; a batch half made of old rows adds only the new ones", async () => {
      const run = await newRun();
      const first = Array.from({ length: 300 }, (_, i) => m(`k${i % 7}`, i === 5 ? Infinity : i === 6 ? -Infinity : i / 3, 1000 + (i % 4), i));
      await stores.tracking.logBatch(run, first, [{ key: "lr", value: "0.1" }], []);
      const before7 = await history(stores, run, "k5");
      await stores.tracking.logBatch(run, first, [{ key: "lr", value: "0.1" }], []);
      assert.deepEqual(await history(stores, run, "k5"), before7);
      const mixed = [...first.slice(0, 150), ...Array.from({ length: 150 }, (_, i) => m(`k${i % 7}`, -i, 2000, 1000 + i))];
      await stores.tracking.logBatch(run, mixed, [], [{ key: "after", value: "retry" }]);
      let total = 0;
      for (let k = 0; k < 7; k++) total += (await history(stores, run, `k${k}`)).length;
      assert.equal(total, 450);
      assert.ok((await history(stores, run, "k5")).includes("Infinity@1001/5"));
      assert.ok((await history(stores, run, "k6")).includes("-Infinity@1002/6"));
      const got = await stores.tracking.getRun(run);
      assert.equal(got.data.tags.find((t) => t.key === "after")?.value, "retry");
      // latest: the greatest (step, timestamp, value) per key, i.e. the rows of the second half
      const latest = new Map(got.data.metrics.map((x) => [x.key, x]));
      for (let k = 0; k < 7; k++) {
        const steps = Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 7 === k);
        const i = steps[steps.length - 1];
        assert.deepEqual([latest.get(`k${k}`)?.step, latest.get(`k${k}`)?.value], [1000 + i, -i === 0 ? 0 : -i]);
      }
    });

    test("a duplicate together with a changed param still fails as MLflow's error, and nothing of the batch is kept", async () => {
      const run = await newRun();
      await stores.tracking.logBatch(run, [m("x", 1, 1, 1)], [{ key: "p", value: "old" }], []);
      await assert.rejects(
        stores.tracking.logBatch(run, [m("x", 1, 1, 1), m("x", 2, 2, 2)], [{ key: "p", value: "new" }], []),
        /Changing param values is not allowed/,
      );
      assert.deepEqual(await history(stores, run, "x"), ["1@1/1"]);
    });

    test("writers racing with the same and overlapping batches on one run: every distinct row once, nothing lost", async () => {
      const run = await newRun();
      const batchOf = (w: number) => Array.from({ length: 200 }, (_, i) => m(`c${i % 5}`, ((i * 7 + w) % 13) / 13, 5000, (w % 3) * 100 + i));
      await Promise.all(Array.from({ length: 8 }, (_, w) => stores.tracking.logBatch(run, batchOf(w), [{ key: "shared", value: "same" }], [])));
      const want = new Set<string>();
      for (let w = 0; w < 8; w++) for (const x of batchOf(w)) want.add(`${x.key}|${String(x.value)}@${x.timestamp}/${x.step}`);
      const got: string[] = [];
      for (let k = 0; k < 5; k++) for (const h of await history(stores, run, `c${k}`)) got.push(`c${k}|${h}`);
      assert.equal(got.length, want.size);
      assert.deepEqual(new Set(got), want);
    });
  });
}

describe("log-batch on PostgreSQL inserts history rows without ON CONFLICT unless it must", { skip: skipUnlessPostgres(), timeout: 60_000 }, () => {
  test("a clean batch runs the plain INSERT; a duplicate runs it once more with ON CONFLICT DO NOTHING", async () => {
    const db = await freshPostgresDatabase();
    const stores = openPostgresStores(db.url);
    const seen: string[] = [];
    const original = pg.Client.prototype.query;
    (pg.Client.prototype as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
      const text = typeof args[0] === "string" ? args[0] : (args[0] as { text?: string })?.text;
      if (typeof text === "string" && /INSERT INTO metrics\b/.test(text)) seen.push(/ON CONFLICT DO NOTHING/.test(text) ? "ignore" : "plain");
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    try {
      const run = (await stores.tracking.createRun({ experimentId: "0" })).info.run_id;
      await stores.tracking.logBatch(run, [m("a", 1, 1, 1), m("a", 2, 1, 2)], [], []);
      assert.deepEqual(seen, ["plain"]);
      await stores.tracking.logBatch(run, [m("a", 2, 1, 2), m("a", 3, 1, 3)], [], []);
      assert.deepEqual(seen, ["plain", "plain", "ignore"]);
      assert.deepEqual(await history(stores, run, "a"), ["1@1/1", "2@1/2", "3@1/3"]);
    } finally {
      (pg.Client.prototype as { query: unknown }).query = original;
      await stores.close();
      await db.drop();
    }
  });
});
