import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { LocalFileModelSource } from "../../src/serving/model-source.js";
import { startServing, type RunningServer } from "../../src/serving/server.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { skipUnless, systemBinary } from "../support/system-binaries.js";
import { profiledModel } from "./fixtures.js";
import { freePort } from "../support/free-port.js";

/**
 * The model server (with a profiled model) scraped by a real Prometheus (Debian's) loaded
 * with deploy/prometheus's rules; after real traffic and feedback, every dashboard panel
 * query, every variable query and every recording / alerting expression goes through
 * Prometheus's HTTP API.
 */
const ROOT = join(import.meta.dirname, "../..");
const PROMETHEUS = systemBinary("prometheus") ?? "";
const RATE_INTERVAL = "10s";

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string }; allValue?: string }[] };
}

interface ApiAnswer {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

export function dashboardQueries(dashboard: Dashboard): { panel: Panel; expr: string }[] {
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ panel, expr: t.expr })));
}

/** What Grafana does before sending a query: variables and $__rate_interval replaced (the "All" value of job/version is their allValue). */
function substitute(expr: string): string {
  return expr.replaceAll("$__rate_interval", RATE_INTERVAL).replaceAll("$job", ".*").replaceAll("$version", ".*");
}

describe("a real Prometheus scrapes the monitored server; dashboards and rules evaluate", { timeout: 180_000, skip: skipUnless("prometheus") }, () => {
  const dir = mkdtempSync(join(tmpdir(), "polarity-prom-live-"));
  let server: RunningServer;
  let prometheus: ChildProcess;
  let promUrl = "";
  let promLog = "";
  const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/dashboards/polarity-model-server.json"), "utf8")) as Dashboard;

  async function api(path: string): Promise<ApiAnswer> {
    const res = await fetch(`${promUrl}${path}`);
    const body = (await res.json()) as ApiAnswer;
    return body;
  }
  const query = (expr: string): Promise<ApiAnswer> => api(`/api/v1/query?query=${encodeURIComponent(expr)}`);

  /** Prometheus scrapes and evaluates on its own clock: ask until `accept` holds (bounded). */
  async function until<T>(what: string, probe: () => Promise<T>, accept: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | string = "no answer";
    while (Date.now() < deadline) {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited (${prometheus.exitCode}): ${promLog.slice(-2000)}`);
      try {
        last = await probe();
        if (accept(last)) return last;
      } catch {
        // still starting
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}; last answer ${JSON.stringify(last).slice(0, 500)}`);
  }

  before(async () => {
    const fixture = profiledModel("imdb");
    const modelFile = join(dir, "model.json");
    writeFileSync(modelFile, JSON.stringify(fixture.json));
    server = await startServing({
      source: new LocalFileModelSource(modelFile, (json) => SentimentModel.fromJSON(json)),
      host: "127.0.0.1",
      port: 0,
      pollIntervalMs: 0,
      logLevel: "silent",
      handleSignals: false,
      monitoring: { intervalMs: 200 },
    });
    const local = readFileSync(join(ROOT, "deploy/prometheus/prometheus-local.yml"), "utf8")
      .replace("scrape_interval: 15s", "scrape_interval: 500ms")
      .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
      .replaceAll("  - rules/", `  - ${join(ROOT, "deploy/prometheus/rules")}/`)
      .replace('"127.0.0.1:8080"', `"${new URL(server.url).host}"`);
    writeFileSync(join(dir, "prometheus.yml"), local);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prometheus.stderr!.on("data", (d: Buffer) => (promLog = (promLog + d.toString()).slice(-20_000)));

    // Traffic: batches and single texts, the other protocols, a few client errors, feedback.
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const ids: { id: string; label: number }[] = [];
    const texts = fixture.stream.texts;
    for (let i = 0; i < 240; i += 20) {
      const res = (await (await post("/predict", { texts: texts.slice(i, i + 20) })).json()) as { predictions: { id: string }[] };
      res.predictions.forEach((p, j) => ids.push({ id: p.id, label: fixture.stream.labels[i + j] }));
    }
    for (let i = 240; i < 260; i++) {
      const res = (await (await post("/predict", { text: texts[i] })).json()) as { id: string };
      ids.push({ id: res.id, label: fixture.stream.labels[i] });
    }
    await post("/invocations", { inputs: texts.slice(260, 280) });
    await post("/predict", { nope: 1 });
    await fetch(`${server.url}/no-such-route`);
    const fb = await post("/feedback", { feedback: ids.slice(0, 150) });
    assert.equal(fb.status, 200);
    assert.deepEqual(await fb.json(), { recorded: 150, duplicates: 0 });
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill("SIGTERM");
      await once(prometheus, "exit");
    }
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the drift and live-accuracy gauges reach Prometheus", async () => {
    const drift = await until(
      "model_drift in Prometheus",
      () => query('model_drift{statistic="score_psi"}'),
      (r) => r.data.result.length === 1,
    );
    assert.ok(Number.isFinite(Number(drift.data.result[0].value[1])));
    const oov = await until(
      "top-term drift",
      () => query('model_drift{statistic="top_terms_chi2"}'),
      (r) => r.data.result.length === 1,
    );
    assert.ok(Number(oov.data.result[0].value[1]) >= 0);
    const acc = await until(
      "live accuracy",
      () => query("model_live_accuracy"),
      (r) => r.data.result.length === 1 && !Number.isNaN(Number(r.data.result[0].value[1])),
    );
    const value = Number(acc.data.result[0].value[1]);
    assert.ok(value > 0.6 && value <= 1, `live accuracy ${value}`);
    const labelled = await query("model_feedback_labelled_total");
    assert.equal(Number(labelled.data.result[0].value[1]), 150);
  });

  test("every dashboard panel query parses and evaluates; the request, prediction, drift and live-accuracy panels return data", async () => {
    // Rates need two scrapes inside the window after the traffic.
    await until(
      "a rate over the traffic",
      () => query(`sum(rate(model_prediction_count_total[${RATE_INTERVAL}]))`),
      (r) => r.data.result.length > 0,
    );
    const mustHaveData =
      /Request rate|latency|Error ratio|Model version|Predictions by class|Positive ratio|Drift|Live accuracy|Labelled|vocabulary|CPU|memory|Event loop/i;
    const queries = dashboardQueries(dashboard);
    assert.ok(queries.length >= 20);
    const empty: string[] = [];
    for (const { panel, expr } of queries) {
      const r = await query(substitute(expr));
      assert.equal(r.status, "success", `panel "${panel.title}": ${r.error} in ${expr}`);
      if (mustHaveData.test(panel.title) && r.data.result.length === 0) empty.push(`${panel.title}: ${expr}`);
    }
    assert.deepEqual(empty, [], "panels without data");
  });

  test("the version and job variables list what the server reports", async () => {
    const version = await api(`/api/v1/label/version/values?match[]=model_info`);
    const served = server.app.polarity.holder.current!.version;
    assert.ok((version.data as unknown as string[]).includes(served));
    const jobs = await api(`/api/v1/label/job/values?match[]=model_info`);
    assert.deepEqual(jobs.data, ["polarity-local"]);
    // Filtering by the served version keeps the data; another version empties the panel.
    const expr = dashboardQueries(dashboard).find((q) => q.panel.title === "Predictions by class")!.expr;
    const some = await query(expr.replaceAll("$__rate_interval", RATE_INTERVAL).replaceAll("$job", ".*").replaceAll("$version", served));
    assert.ok(some.data.result.length > 0);
    const none = await query(expr.replaceAll("$__rate_interval", RATE_INTERVAL).replaceAll("$job", ".*").replaceAll("$version", "no-such-version"));
    assert.equal(none.data.result.length, 0);
  });

  test("every recording and alerting expression evaluates in Prometheus, and the rule groups run healthy", async () => {
    for (const file of ["recording.yml", "alerts.yml"]) {
      const doc = parse(readFileSync(join(ROOT, "deploy/prometheus/rules", file), "utf8")) as {
        groups: { rules: { expr: string; record?: string; alert?: string }[] }[];
      };
      for (const rule of doc.groups.flatMap((g) => g.rules)) {
        const r = await query(rule.expr);
        assert.equal(r.status, "success", `${rule.record ?? rule.alert}: ${r.error}`);
      }
    }
    const rules = await until(
      "every rule evaluated",
      () =>
        api("/api/v1/rules") as unknown as Promise<{
          data: { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] };
        }>,
      (r) => r.data.groups.flatMap((g) => g.rules).every((x) => !x.lastEvaluation.startsWith("0001")),
    );
    const all = rules.data.groups.flatMap((g) => g.rules);
    assert.equal(all.length, 24);
    for (const r of all) assert.equal(r.health, "ok", `${r.name}: ${r.lastError}`);
    // The recorded series exist for what the traffic produced.
    for (const name of [
      "polarity:requests:rate5m",
      "polarity:predictions_total:rate5m",
      "polarity:positive_ratio:rate5m",
      "polarity:live_accuracy:ratio1h",
      "polarity:model_drift:max",
      "polarity:model_versions:count",
    ]) {
      await until(
        name,
        () => query(name),
        (r) => r.data.result.length > 0,
      );
    }
  });
});
