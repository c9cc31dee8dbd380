import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/** deploy/grafana: structure checks of the provisioning files and the dashboard (its queries run against Prometheus in prometheus-live.test.ts). */
const GRAFANA = join(import.meta.dirname, "../../deploy/grafana");
const GRAFANA_BUILTINS = new Set(["__rate_interval", "__interval", "__range", "__all"]);

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
  includeAll?: boolean;
  allValue?: string;
}
const dashboard = JSON.parse(readFileSync(join(GRAFANA, "dashboards/polarity-model-server.json"), "utf8")) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
};

describe("Grafana dashboard and provisioning", () => {
  test("the datasource provisioning defines the uid the dashboard's datasource variable defaults to", () => {
    const ds = parse(readFileSync(join(GRAFANA, "provisioning/datasources/prometheus.yml"), "utf8")) as {
      apiVersion: number;
      datasources: { uid: string; type: string; url: string }[];
    };
    assert.equal(ds.apiVersion, 1);
    assert.equal(ds.datasources.length, 1);
    assert.equal(ds.datasources[0].type, "prometheus");
    const dsVar = dashboard.templating.list.find((v) => v.name === "datasource")!;
    assert.equal(dsVar.type, "datasource");
    assert.equal(dsVar.query, "prometheus");
    assert.equal((dsVar as unknown as { current: { value: string } }).current.value, ds.datasources[0].uid);
  });

  test("the dashboard provider is a file provider", () => {
    const p = parse(readFileSync(join(GRAFANA, "provisioning/dashboards/polarity.yml"), "utf8")) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    assert.equal(p.apiVersion, 1);
    assert.equal(p.providers[0].type, "file");
    assert.ok(p.providers[0].options.path.startsWith("/"));
  });

  test("panel ids are unique, every panel and target uses the datasource variable, and panels fit the 24-column grid without overlapping", () => {
    assert.ok(dashboard.uid && dashboard.title && dashboard.schemaVersion >= 36);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "unique panel ids");
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      assert.ok(Number.isInteger(p.id) && p.id > 0);
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${p.title}: gridPos`);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          assert.ok(!cells.has(`${i},${j}`), `${p.title} overlaps another panel at ${i},${j}`);
          cells.add(`${i},${j}`);
        }
      if (p.type === "row") continue;
      assert.deepEqual(p.datasource, { type: "prometheus", uid: "${datasource}" }, `${p.title}: datasource`);
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: targets`);
      const refIds = p.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${p.title}: unique refIds`);
      for (const t of p.targets) {
        assert.deepEqual(t.datasource, p.datasource);
        assert.ok(t.expr.trim().length > 0);
      }
    }
  });

  test("variables are valid: unique names, queries over the datasource, and every $variable a query uses is defined", () => {
    const vars = dashboard.templating.list;
    const names = vars.map((v) => v.name);
    assert.equal(new Set(names).size, names.length);
    for (const v of vars.filter((x) => x.type === "query")) {
      assert.deepEqual(v.datasource, { type: "prometheus", uid: "${datasource}" });
      const q = typeof v.query === "string" ? v.query : v.query.query;
      assert.match(q, /^label_values\(/);
      if (v.includeAll) assert.equal(v.allValue, ".*", `${v.name}: 'All' must be a regex matching everything`);
    }
    assert.ok(names.includes("version") && names.includes("job"));
    const used = new Set<string>();
    for (const p of dashboard.panels) for (const t of p.targets ?? []) for (const m of t.expr.matchAll(/\$\{?(\w+)/g)) used.add(m[1]);
    for (const v of vars) {
      const q = typeof v.query === "string" ? v.query : v.query.query;
      for (const m of q.matchAll(/\$\{?(\w+)/g)) used.add(m[1]);
    }
    for (const u of used) assert.ok(names.includes(u) || GRAFANA_BUILTINS.has(u), `$${u} is not defined`);
  });

  test("every panel the issue lists is there, and every data query is restricted to the chosen versions and jobs", () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase());
    for (const want of [
      "request rate by route",
      "latency p50 / p95 / p99",
      "error ratio",
      "predictions by class",
      "positive ratio",
      "model version per pod",
      "drift",
      "live accuracy",
      "cpu",
      "memory",
      "event loop",
    ]) {
      assert.ok(
        titles.some((t) => t.includes(want)),
        `a panel about ${want}`,
      );
    }
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) {
        assert.match(t.expr, /version=~"\$version"/, `${p.title}: filters by $version`);
        assert.match(t.expr, /job=~"\$job"/, `${p.title}: filters by $job`);
        // Aggregated across replicas: the outermost call is an aggregation or a ratio of them.
        if (p.title !== "Model version per pod") assert.match(t.expr, /^(\(?sum|max|avg|histogram_quantile)/, `${p.title}: aggregates across replicas`);
      }
    }
  });
});
