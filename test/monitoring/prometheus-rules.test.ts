import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { skipUnless, systemBinary } from "../support/system-binaries.js";

const PROM_DIR = join(import.meta.dirname, "../../deploy/prometheus");
const PROMTOOL = systemBinary("promtool") ?? "";

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd: PROM_DIR, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}

function rulesOf(file: string): AlertRule[] {
  const doc = parse(readFileSync(join(PROM_DIR, "rules", file), "utf8")) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

describe("Prometheus configuration and rules (promtool)", { timeout: 120_000, skip: skipUnless("promtool") }, () => {
  test("promtool check config passes for the local (static) configuration and its rule files", () => {
    const r = promtool("check", "config", "prometheus-local.yml");
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  test("promtool check config passes for the cluster configuration (pod discovery checked apart: Debian's build leaves out the kubernetes SD)", () => {
    const text = readFileSync(join(PROM_DIR, "prometheus.yml"), "utf8");
    const config = parse(text) as {
      scrape_configs: {
        job_name: string;
        kubernetes_sd_configs?: { role: string }[];
        relabel_configs: { source_labels?: string[]; action?: string; regex?: string }[];
      }[];
    };
    const job = config.scrape_configs.find((j) => j.job_name === "polarity-model-server");
    assert.ok(job, "a polarity-model-server job");
    assert.deepEqual(job.kubernetes_sd_configs, [{ role: "pod" }]);
    // Keeps only pods of the Deployment in deploy/k8s that opt in.
    const keeps = job.relabel_configs.filter((r) => r.action === "keep").map((r) => `${r.source_labels?.join(",")}=${r.regex}`);
    assert.ok(keeps.includes("__meta_kubernetes_pod_label_app_kubernetes_io_name=polarity-model-server"));
    assert.ok(keeps.includes("__meta_kubernetes_pod_annotation_prometheus_io_scrape=true"));
    const deployment = readFileSync(join(PROM_DIR, "../k8s/base/model-server-deployment.yaml"), "utf8");
    assert.match(deployment, /app\.kubernetes\.io\/name: polarity-model-server/);
    assert.match(deployment, /prometheus\.io\/scrape: "true"/);

    const probe = promtool("check", "config", "prometheus.yml");
    if (probe.status === 0) return; // a Prometheus built with Kubernetes discovery checks it whole
    assert.match(probe.out, /kubernetes_sd_configs not found/, probe.out);
    // Everything else (relabelling, rule files) through promtool with the discovery swapped for a static target.
    const dir = mkdtempSync(join(tmpdir(), "polarity-promcfg-"));
    try {
      cpSync(join(PROM_DIR, "rules"), join(dir, "rules"), { recursive: true });
      writeFileSync(
        join(dir, "prometheus.yml"),
        text.replace("    kubernetes_sd_configs:\n      - role: pod\n", '    static_configs:\n      - targets: ["10.0.0.1:8080"]\n'),
      );
      const r = spawnSync(PROMTOOL, ["check", "config", "prometheus.yml"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("promtool check rules passes for the recording and alerting rules", () => {
    const r = promtool("check", "rules", "rules/recording.yml", "rules/alerts.yml");
    assert.equal(r.status, 0, r.out);
  });

  test("every alert the issue asks for exists, with a summary and a runbook in docs/monitoring.md", () => {
    const alerts = rulesOf("alerts.yml").filter((r) => r.alert);
    const names = alerts.map((a) => a.alert);
    for (const name of [
      "PolarityHighErrorRatio",
      "PolarityLatencyP99OverBudget",
      "PolarityNoTraffic",
      "PolarityModelReloadFailed",
      "PolarityModelVersionMismatch",
      "PolarityPredictionMixShift",
      "PolarityInputDrift",
      "PolarityLiveAccuracyDrop",
    ]) {
      assert.ok(names.includes(name), `alert ${name}`);
    }
    const docs = readFileSync(join(PROM_DIR, "../../docs/monitoring.md"), "utf8").toLowerCase();
    for (const a of alerts) {
      assert.ok(a.annotations?.summary && a.annotations.runbook, `${a.alert} has summary and runbook`);
      const anchor = a.annotations.runbook_url?.split("#")[1];
      assert.ok(
        anchor && docs.includes(`### ${a.alert!.toLowerCase()}`),
        `${a.alert}: docs/monitoring.md has a '### ${a.alert}' section (runbook_url #${anchor})`,
      );
      assert.equal(anchor, a.alert!.toLowerCase());
    }
  });

  test("promtool test rules: each alert fires on its synthetic series and stays silent on the healthy ones", () => {
    const tests = parse(readFileSync(join(PROM_DIR, "tests/alerts.test.yml"), "utf8")) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const firing = new Set<string>();
    const silent = new Set<string>();
    for (const t of tests.tests) for (const a of t.alert_rule_test ?? []) (a.exp_alerts.length > 0 ? firing : silent).add(a.alertname);
    for (const a of rulesOf("alerts.yml").filter((r) => r.alert)) {
      assert.ok(firing.has(a.alert!), `a test where ${a.alert} fires`);
      assert.ok(silent.has(a.alert!), `a test where ${a.alert} does not fire`);
    }
    const r = promtool("test", "rules", "tests/alerts.test.yml");
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  test("a broken expectation makes promtool test rules fail (the unit tests can fail)", () => {
    const dir = mkdtempSync(join(tmpdir(), "polarity-promtest-"));
    try {
      cpSync(join(PROM_DIR, "rules"), join(dir, "rules"), { recursive: true });
      const text = readFileSync(join(PROM_DIR, "tests/alerts.test.yml"), "utf8")
        .replaceAll("../rules/", "rules/")
        .replace("values: '0+60x30'", "values: '0+1x30'");
      writeFileSync(join(dir, "t.yml"), text);
      const r = spawnSync(PROMTOOL, ["test", "rules", "t.yml"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
      assert.notEqual(r.status, 0);
      assert.match(`${r.stdout}${r.stderr}`, /PolarityHighErrorRatio/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
