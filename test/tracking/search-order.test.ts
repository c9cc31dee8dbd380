import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { TrackingClient } from "../../src/tracking/client.js";
import type { Metric, Run } from "../../src/tracking/types.js";
import { inProcessHarness, type Harness } from "./helpers.js";

/**
 * Search order and latest metrics against a reference computed here from what was logged,
 * on the store the suite runs on (SQLite, or PostgreSQL with POLARITY_TEST_STORE=postgresql):
 * - MLflow's order (sqlalchemy_store `_get_orderby_clauses`): present values by value, then
 *   NaN, then missing, whatever the direction; ties by start_time DESC, then run_uuid;
 * - a search ordered by a metric it also filters on (the store's inner-join form) returns the
 *   same runs in the same order, page after page, as the reference;
 * - the latest metric of a key, logged in batches of many keys (more than one multi-row
 *   upsert's worth), is the greatest (step, timestamp, value) — MLflow's rule.
 */

interface Logged {
  id: string;
  start: number;
  params: Record<string, string>;
  /** Latest value per key (NaN kept); a key absent from the map was never logged. */
  metrics: Map<string, number>;
}

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

type Cmp = ">" | ">=" | "<" | "<=" | "=" | "!=";
const COMPARE: Record<Cmp, (a: number, b: number) => boolean> = {
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  "=": (a, b) => a === b,
  "!=": (a, b) => a !== b,
};

/** Metric filters keep runs whose latest value is present, not NaN, and compares true. */
function matches(run: Logged, filters: Array<[key: string, cmp: Cmp, value: number]>, param?: [string, string]): boolean {
  if (param && run.params[param[0]] !== param[1]) return false;
  return filters.every(([key, cmp, value]) => {
    const v = run.metrics.get(key);
    return v !== undefined && !Number.isNaN(v) && COMPARE[cmp](v, value);
  });
}

type Order = { metric: string; ascending: boolean } | { startTime: true; ascending: boolean };

function referenceOrder(runs: Logged[], orders: Order[]): string[] {
  const byOrder = (a: Logged, b: Logged, o: Order): number => {
    if ("startTime" in o) return o.ascending ? a.start - b.start : b.start - a.start;
    const rank = (r: Logged) => {
      const v = r.metrics.get(o.metric);
      return v === undefined ? 2 : Number.isNaN(v) ? 1 : 0;
    };
    const ra = rank(a);
    const rb = rank(b);
    if (ra !== rb) return ra - rb;
    if (ra !== 0) return 0;
    const va = a.metrics.get(o.metric)!;
    const vb = b.metrics.get(o.metric)!;
    return o.ascending ? va - vb : vb - va;
  };
  const sorted = [...runs].sort((a, b) => {
    for (const o of orders) {
      const c = byOrder(a, b, o);
      if (c !== 0) return c;
    }
    if (!orders.some((o) => "startTime" in o) && a.start !== b.start) return b.start - a.start;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  return sorted.map((r) => r.id);
}

function orderBy(orders: Order[]): string[] {
  return orders.map((o) => ("startTime" in o ? "attributes.start_time" : `metrics.${o.metric}`) + (o.ascending ? " ASC" : " DESC"));
}

function filterText(filters: Array<[string, Cmp, number]>, param?: [string, string]): string | undefined {
  const parts = filters.map(([k, c, v]) => `metrics.${k} ${c} ${v}`);
  if (param) parts.push(`params.${param[0]} = '${param[1]}'`);
  return parts.length > 0 ? parts.join(" AND ") : undefined;
}

describe("search order and latest metrics (reference computed from what was logged)", { timeout: 180_000 }, () => {
  let h: Harness;
  let c: TrackingClient;
  let exp: string;
  const runs: Logged[] = [];

  before(async () => {
    h = await inProcessHarness();
    c = h.client;
    exp = await c.createExperiment("search-order");
    const rand = rng(1717);
    for (let i = 0; i < 48; i++) {
      // start times repeat (ties fall to run_uuid); acc values repeat (ties fall to start_time)
      const start = 1_700_000_000_000 + (i % 9);
      const run = await c.createRun(exp, { runName: `r${i}`, startTime: start });
      const logged: Logged = { id: run.info.run_id, start, params: { model: i % 3 === 0 ? "svm" : "logreg" }, metrics: new Map() };
      const metrics: Metric[] = [];
      if (i % 11 === 5) metrics.push({ key: "acc", value: NaN, timestamp: 1, step: 0 });
      else if (i % 13 !== 7) metrics.push({ key: "acc", value: Math.floor(rand() * 10) / 10, timestamp: 1, step: 0 });
      if (i % 4 !== 1) metrics.push({ key: "loss", value: Math.round(rand() * 200) / 100, timestamp: 1, step: 0 });
      for (const m of metrics) logged.metrics.set(m.key, m.value);
      await c.logBatch(run.info.run_id, { metrics, params: [{ key: "model", value: logged.params.model }] });
      runs.push(logged);
    }
    assert.ok(
      [...runs].some((r) => Number.isNaN(r.metrics.get("acc") ?? 0)),
      "the data has NaN accuracies",
    );
    assert.ok(
      [...runs].some((r) => !r.metrics.has("acc")),
      "the data has runs without accuracy",
    );
  });
  after(async () => h.close());

  const cases: Array<{ filters: Array<[string, Cmp, number]>; param?: [string, string]; orders: Order[] }> = [
    // no filter: NaN after present values, missing after NaN, in both directions
    { filters: [], orders: [{ metric: "acc", ascending: false }] },
    { filters: [], orders: [{ metric: "acc", ascending: true }] },
    // ordered by the filtered metric (the store's inner-join form)
    { filters: [["acc", ">", 0.3]], orders: [{ metric: "acc", ascending: false }] },
    {
      filters: [
        ["acc", ">=", 0.2],
        ["acc", "<", 0.8],
      ],
      orders: [{ metric: "acc", ascending: true }],
    },
    { filters: [["acc", "!=", 0.5]], param: ["model", "svm"], orders: [{ metric: "acc", ascending: false }] },
    {
      filters: [["acc", "<=", 0.6]],
      orders: [
        { startTime: true, ascending: true },
        { metric: "acc", ascending: false },
      ],
    },
    {
      filters: [["acc", ">", 0.1]],
      orders: [
        { metric: "loss", ascending: true },
        { metric: "acc", ascending: false },
      ],
    },
    // filtered on one metric, ordered by another (the LEFT JOIN form)
    { filters: [["loss", "<", 1.2]], orders: [{ metric: "acc", ascending: false }] },
    {
      filters: [
        ["acc", "=", 0.4],
        ["loss", ">=", 0],
      ],
      orders: [{ metric: "loss", ascending: false }],
    },
  ];

  for (const k of cases) {
    const filter = filterText(k.filters, k.param);
    const order = orderBy(k.orders);
    test(`filter ${filter ?? "(none)"}, order ${order.join(", ")}: same runs and order as the reference, page by page`, async () => {
      const want = referenceOrder(
        runs.filter((r) => matches(r, k.filters, k.param)),
        k.orders,
      );
      assert.ok(want.length > 0, "the case selects some runs");
      const got: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = await c.searchRuns({ experimentIds: [exp], filter, orderBy: order, maxResults: 5, pageToken });
        got.push(...page.runs.map((r: Run) => r.info.run_id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(got, want);
    });
  }

  test("bulk-inserted params and metrics keep awkward text exactly (array literals on PostgreSQL)", async () => {
    const run = (await c.createRun(exp, { runName: "awkward" })).info.run_id;
    const values = ["a,b", "{x}", '"quoted"', "back\\slash", "NULL", "", " padded ", "é✓ 日本", "line\nbreak", "'single'", "(1, 2)"];
    const params = values.map((value, i) => ({ key: `p${i}`, value }));
    const metrics: Metric[] = [
      { key: "m.a/b-c_d", value: 1.5e-300, timestamp: 1, step: 0 },
      { key: "m e", value: -0.1, timestamp: 1, step: 0 },
      { key: "big", value: 1.7976931348623157e308, timestamp: 2, step: 3 },
    ];
    await c.logBatch(run, { params, metrics });
    const got = await c.getRun(run);
    assert.deepEqual(Object.fromEntries(got.data.params.map((p) => [p.key, p.value])), Object.fromEntries(params.map((p) => [p.key, p.value])));
    assert.deepEqual(Object.fromEntries(got.data.metrics.map((m) => [m.key, m.value])), Object.fromEntries(metrics.map((m) => [m.key, m.value])));
    // re-logging the same values is accepted; a changed one is MLflow's error and nothing of that batch lands
    await c.logBatch(run, { params: params.slice(0, 3) });
    await assert.rejects(
      c.logBatch(run, {
        params: [
          { key: "fresh", value: "1" },
          { key: "p1", value: "{y}" },
        ],
      }),
      /Changing param values is not allowed.*'key': 'p1', 'old_value': '\{x\}', 'new_value': '\{y\}'/,
    );
    assert.ok(!(await c.getRun(run)).data.params.some((p) => p.key === "fresh"), "the failed batch rolled back");
  });

  test("the latest metric of each key in multi-key batches is the greatest (step, timestamp, value)", async () => {
    const run = (await c.createRun(exp, { runName: "batched" })).info.run_id;
    const rand = rng(99);
    const expected = new Map<string, Metric>();
    const later = (a: Metric, b: Metric) =>
      a.step !== b.step
        ? a.step > b.step
        : a.timestamp !== b.timestamp
          ? a.timestamp > b.timestamp
          : (Number.isNaN(a.value) ? 0 : a.value) > (Number.isNaN(b.value) ? 0 : b.value);
    for (let batch = 0; batch < 4; batch++) {
      const metrics: Metric[] = [];
      // 600 distinct keys per batch (more than one 250-row upsert), a few values each, in random order
      for (let i = 0; i < 1000; i++) {
        const key = `k${Math.floor(rand() * 600)}`;
        const value = rand() < 0.05 ? NaN : Math.floor(rand() * 4);
        metrics.push({ key, value, timestamp: 1 + Math.floor(rand() * 3), step: Math.floor(rand() * 3) });
      }
      await c.logBatch(run, { metrics });
      for (const m of metrics) {
        const prev = expected.get(m.key);
        if (!prev || later(m, prev)) expected.set(m.key, m);
      }
    }
    const got = new Map((await c.getRun(run)).data.metrics.map((m) => [m.key, m]));
    assert.equal(got.size, expected.size);
    for (const [key, want] of expected) {
      const m = got.get(key)!;
      assert.deepEqual(
        { step: m.step, timestamp: m.timestamp, value: Number.isNaN(m.value) ? "NaN" : m.value },
        { step: want.step, timestamp: want.timestamp, value: Number.isNaN(want.value) ? "NaN" : want.value },
        key,
      );
    }
  });
});
