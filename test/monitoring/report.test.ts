import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { readDatasetCsv } from "../../src/data/files.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import type { MonitoringInput } from "../../src/monitoring/config.js";
import { LocalFileModelSource } from "../../src/serving/model-source.js";
import { startServing, type RunningServer } from "../../src/serving/server.js";
import { skipUnless, systemBinary } from "../support/system-binaries.js";
import { profiledModel, type LabelledSet } from "./fixtures.js";

/**
 * The loop end to end: a real server writes its prediction and feedback logs, `polarity
 * monitor report` (the real CLI, a child process) reads them against the bundle's reference
 * profile, `polarity monitor export-feedback` turns feedback into an ingestable CSV, and the
 * HTML report renders in headless Chromium.
 */
const ROOT = join(import.meta.dirname, "../..");
const SCREENSHOT = join(ROOT, "artifacts/monitoring-report.png");
const fixture = profiledModel("imdb");

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function serveAndSend(dir: string, monitoring: MonitoringInput, traffic: LabelledSet, count: number, labelled: number): Promise<void> {
  const modelFile = join(dir, "model.json");
  if (!existsSync(modelFile)) writeFileSync(modelFile, JSON.stringify(fixture.json));
  const server: RunningServer = await startServing({
    source: new LocalFileModelSource(modelFile, (json) => SentimentModel.fromJSON(json)),
    host: "127.0.0.1",
    port: 0,
    pollIntervalMs: 0,
    logLevel: "silent",
    handleSignals: false,
    monitoring: { intervalMs: 100, logSampleRate: 1, ...monitoring },
  });
  try {
    const feedback: { id: string; label: number }[] = [];
    for (let i = 0; i < count; i += 25) {
      const texts = Array.from({ length: 25 }, (_, j) => traffic.texts[(i + j) % traffic.texts.length]);
      const res = await fetch(`${server.url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ texts }) });
      const body = (await res.json()) as { predictions: { id: string }[] };
      body.predictions.forEach((p, j) => feedback.push({ id: p.id, label: traffic.labels[(i + j) % traffic.labels.length] }));
      await new Promise((r) => setTimeout(r, 5)); // spread over time: several drift snapshots
    }
    for (let i = 0; i < labelled; i += 100) {
      const res = await fetch(`${server.url}/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ feedback: feedback.slice(i, Math.min(labelled, i + 100)) }),
      });
      assert.equal(res.status, 200);
    }
  } finally {
    await server.close(); // flushes the logs
  }
}

describe("prediction log → monitor report / export-feedback", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "polarity-monitor-report-"));
  const calm = join(dir, "calm");
  const shifted = join(dir, "shifted");
  const privateDir = join(dir, "private");

  before(async () => {
    for (const d of [calm, shifted, privateDir]) mkdirSync(d);
    await serveAndSend(calm, { logDir: join(calm, "logs"), logText: true }, fixture.stream, 400, 300);
    await serveAndSend(shifted, { logDir: join(shifted, "logs"), logText: true }, fixture.otherDomain, 600, 300);
    await serveAndSend(privateDir, { logDir: join(privateDir, "logs") }, fixture.stream, 100, 50);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the log holds no raw text unless text logging is on", () => {
    const logDir = join(privateDir, "logs");
    const lines = [
      ...readFileSync(join(logDir, "predictions.jsonl"), "utf8").trim().split("\n"),
      ...readFileSync(join(logDir, "feedback.jsonl"), "utf8").trim().split("\n"),
    ];
    assert.ok(lines.length >= 150);
    const all = lines.join("\n");
    for (const l of lines) assert.equal("text" in JSON.parse(l), false);
    for (const t of fixture.stream.texts.slice(0, 100)) if (t.length > 12) assert.ok(!all.includes(JSON.stringify(t).slice(1, -1)), `text leaked: ${t}`);
    const preds = lines.map((l) => JSON.parse(l) as { type: string }).filter((r) => r.type === "prediction");
    assert.equal(preds.length, 100, "sample rate 1 logs every prediction");
    // The report still shows the most-shifted terms: the server's drift snapshots carry them (vocabulary terms only).
    const r = cli("monitor", "report", "--model", join(privateDir, "model.json"), "--log-dir", logDir, "--json");
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { counts: { textsProfiled: number }; terms: { term: string }[] };
    assert.equal(report.counts.textsProfiled, 0);
    assert.ok(report.terms.length > 0);
    const vocabulary = new Set((fixture.json.metadata.referenceProfile as { topTerms: { terms: string[] } }).topTerms.terms);
    for (const t of report.terms) assert.ok(vocabulary.has(t.term));
  });

  test("an in-distribution log: report --json says no drift and exits 0", () => {
    const r = cli(
      "monitor",
      "report",
      "--model",
      join(calm, "model.json"),
      "--log-dir",
      join(calm, "logs"),
      "--json",
      "--window",
      "100",
      "--feedback-window",
      "100",
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      status: string;
      alarms: string[];
      counts: { predictions: number; feedback: number; textsProfiled: number; driftSnapshots: number };
      windows: unknown[];
      live: { accuracy: number; drop: boolean };
      terms: unknown[];
    };
    assert.equal(report.status, "ok", JSON.stringify(report.alarms));
    assert.equal(report.counts.predictions, 400);
    assert.equal(report.counts.feedback, 300);
    assert.equal(report.counts.textsProfiled, 400);
    assert.ok(report.counts.driftSnapshots >= 1);
    assert.equal(report.windows.length, 4);
    assert.ok(report.live.accuracy > 0.75 && !report.live.drop);
    assert.ok(report.terms.length > 0);
  });

  test("another domain's log: report exits 5 naming the drifted statistics, and writes the HTML", () => {
    const out = join(shifted, "report.html");
    const r = cli("monitor", "report", "--model", join(shifted, "model.json"), "--log-dir", join(shifted, "logs"), "--out", out, "--window", "200");
    assert.equal(r.status, 5, r.stdout + r.stderr);
    assert.match(r.stdout, /^DRIFT \(.*oov_shift.*\)/);
    const html = readFileSync(out, "utf8");
    assert.match(html, /Drift detected/);
    assert.doesNotMatch(html, /<script[^>]+src=/, "no external script");
  });

  test("export-feedback writes a text,label CSV the ingest stage reads", async () => {
    const out = join(calm, "feedback.csv");
    const r = cli("monitor", "export-feedback", "--log-dir", join(calm, "logs"), "--out", out, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { rows: 300, labels: 300, withoutText: 0, out });
    const data = await readDatasetCsv(out);
    assert.equal(data.texts.length, 300);
    assert.deepEqual(data.texts.slice(0, 3), fixture.stream.texts.slice(0, 3));
    assert.deepEqual(data.labels.slice(0, 3).map(Number), fixture.stream.labels.slice(0, 3));
    // Without logged text there is nothing to export: a clear error, not an empty dataset.
    const none = cli("monitor", "export-feedback", "--log-dir", join(privateDir, "logs"), "--out", join(privateDir, "x.csv"));
    assert.equal(none.status, 2);
    assert.match(none.stderr, /POLARITY_MONITOR_LOG_TEXT=1/);
  });

  test("bad input: a missing log directory and a bundle without a profile are one-line errors", () => {
    const missing = cli("monitor", "report", "--model", join(calm, "model.json"), "--log-dir", join(dir, "nope"), "--json");
    assert.equal(missing.status, 3);
    assert.match(missing.stderr, /^error: log directory .* does not exist/);
    const bare = { ...fixture.json, metadata: {} };
    writeFileSync(join(dir, "bare.json"), JSON.stringify(bare));
    const noProfile = cli("monitor", "report", "--model", join(dir, "bare.json"), "--log-dir", join(calm, "logs"), "--json");
    assert.equal(noProfile.status, 2);
    assert.match(noProfile.stderr, /has no reference profile \(bundles from polarity repro carry one\); add one with: polarity monitor profile/);
  });

  test("monitor profile adds a reference profile to a bundle", () => {
    const csv = join(dir, "heldout.csv");
    writeFileSync(
      csv,
      "text,label\n" +
        fixture.stream.texts
          .slice(0, 120)
          .map((t, i) => `"${t.replaceAll('"', '""')}",${fixture.stream.labels[i]}`)
          .join("\n") +
        "\n",
    );
    const r = cli("monitor", "profile", "--model", join(dir, "bare.json"), "--data", csv);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(dir, "bare.json"), "utf8")) as { metadata: { referenceProfile: { rows: number; accuracy: number } } };
    assert.equal(json.metadata.referenceProfile.rows, 120);
    assert.ok(json.metadata.referenceProfile.accuracy > 0.6);
  });

  test("the HTML report renders its charts in headless Chromium (screenshot saved)", { skip: skipUnless("chromium") }, async () => {
    const browser = await chromium.launch({
      executablePath: systemBinary("chromium")!,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
      const requests: string[] = [];
      page.on("request", (req) => {
        if (!req.url().startsWith("file:")) requests.push(req.url());
      });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`file://${join(shifted, "report.html")}`);
      await page.waitForSelector("body[data-rendered=true]", { timeout: 30_000 });
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [], "the report loads nothing from the network");
      const canvases = await page.locator(".chart canvas").count();
      assert.ok(canvases >= 6, `${canvases} charts drawn`);
      assert.equal(await page.locator("#status").textContent(), "Drift detected");
      assert.match((await page.locator("#summary").textContent()) ?? "", /oov_shift.*DRIFT/s);
      mkdirSync(join(ROOT, "artifacts"), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.ok(readdirSync(join(ROOT, "artifacts")).includes("monitoring-report.png"));
    } finally {
      await browser.close();
    }
  });
});
