// Issue 9 item 1: order_by keys from a request reached the SQL text (`e.${key}`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { attackTarget } from "./tracking-helpers.js";

const SEARCH = "/api/2.0/mlflow/experiments/search";

test('experiments/search: a tags."…" order key is a bound tag name, not SQL (no reordering by an injected expression)', { timeout: 60_000 }, async () => {
  const t = await attackTarget();
  try {
    const ids: string[] = [];
    for (const [name, rank] of [
      ["a", "2"],
      ["b", "3"],
      ["c", "1"],
    ]) {
      const r = await t.api("/api/2.0/mlflow/experiments/create", { name, tags: [{ key: "rank", value: rank }] });
      assert.equal(r.status, 200);
      ids.push(r.json.experiment_id as string);
      await new Promise((r) => setTimeout(r, 5)); // distinct creation times
    }
    const names = (r: { json: Record<string, unknown> }) => (r.json.experiments as Array<{ name: string }>).map((e) => e.name);
    const baseline = await t.api(SEARCH, { max_results: 10 });
    assert.equal(baseline.status, 200);
    // Before the fix this ordered by -experiment_id DESC (ids ascending): an injected expression.
    const injected = await t.api(SEARCH, { max_results: 10, order_by: ['tags."0 - experiment_id" DESC'] });
    assert.equal(injected.status, 200);
    assert.deepEqual(names(injected), names(baseline), "an unknown tag key orders nothing");
    // A boolean oracle on sqlite_version() and a recursive CTE are just tag names now.
    for (const key of [
      "(CASE WHEN sqlite_version() LIKE '3%' THEN experiment_id ELSE 0 - experiment_id END)",
      "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT max(x) FROM c)",
    ]) {
      const r = await t.api(SEARCH, { max_results: 10, order_by: [`tags."${key}" ASC`] });
      assert.ok(r.status === 200 || r.status === 400, `status ${r.status}`);
      if (r.status === 200) assert.deepEqual(names(r), names(baseline));
    }
    // Ordering by a real tag works through a join on the bound key.
    const byRank = await t.api(SEARCH, { max_results: 10, order_by: ["tags.rank ASC"] });
    assert.equal(byRank.status, 200);
    assert.deepEqual(names(byRank).slice(0, 3), ["c", "a", "b"]);
  } finally {
    await t.close();
  }
});

test("registered-models/search and model-versions/search order by tags.x instead of failing with 500", { timeout: 60_000 }, async () => {
  const t = await attackTarget();
  try {
    for (const [name, tier] of [
      ["m1", "b"],
      ["m2", "a"],
    ]) {
      assert.equal((await t.api("/api/2.0/mlflow/registered-models/create", { name, tags: [{ key: "tier", value: tier }] })).status, 200);
      const v = await t.api("/api/2.0/mlflow/model-versions/create", {
        name,
        source: "mlflow-artifacts:/0/x/artifacts/model",
        tags: [{ key: "tier", value: tier }],
      });
      assert.equal(v.status, 200);
    }
    const models = await t.api(`/api/2.0/mlflow/registered-models/search?order_by=${encodeURIComponent("tags.tier ASC")}`);
    assert.equal(models.status, 200, JSON.stringify(models.json));
    assert.deepEqual(
      (models.json.registered_models as Array<{ name: string }>).map((m) => m.name),
      ["m2", "m1"],
    );
    const versions = await t.api(`/api/2.0/mlflow/model-versions/search?order_by=${encodeURIComponent("tags.tier DESC")}`);
    assert.equal(versions.status, 200, JSON.stringify(versions.json));
    assert.deepEqual(
      (versions.json.model_versions as Array<{ name: string }>).map((m) => m.name),
      ["m1", "m2"],
    );
    const injected = await t.api(`/api/2.0/mlflow/model-versions/search?order_by=${encodeURIComponent('tags."version * -1" ASC')}`);
    assert.equal(injected.status, 200);
  } finally {
    await t.close();
  }
});
