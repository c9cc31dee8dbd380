import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { behaviourSuite, runBehaviourSuite, typo } from "../../src/evaluation/behaviour.js";
import { vaderLexicon, vaderLexiconOf, vaderScores } from "../../src/features/lexicon.js";
import { loadUciSentences } from "../../src/data/builtin.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { TrackingClient } from "../../src/tracking/client.js";
import { Random } from "../../src/util/random.js";
import { makeTempDir } from "../support/temp-dir.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
function polarity(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the behavioural suite", { timeout: 60_000 }, () => {
  test("cases are generated deterministically from the seed; every capability and test type is present", () => {
    const a = behaviourSuite(7);
    assert.deepEqual(behaviourSuite(7), a);
    assert.notDeepEqual(behaviourSuite(8), a, "typo positions and name pairs follow the seed");
    assert.deepEqual([...new Set(a.map((t) => t.type))].sort(), ["DIR", "INV", "MFT"]);
    assert.deepEqual(
      new Set(a.map((t) => t.capability)),
      new Set(["vocabulary", "negation", "intensifiers", "emoji", "typos", "names and locations", "filler"]),
    );
    for (const t of a) assert.ok(t.cases.length >= 30, `${t.name}: ${t.cases.length} cases`);
    for (const c of a.find((t) => t.name === "names swapped")!.cases) assert.notEqual(c.text, c.perturbed);
  });

  test("typo swaps two adjacent letters inside one word", () => {
    const r = new Random(1);
    for (let i = 0; i < 50; i++) {
      const t = typo("The food was delicious", () => r.nextFloat());
      assert.ok(t !== null && t.length === 22 && t !== "The food was delicious" && t.startsWith("The "), String(t));
      assert.deepEqual([...t].sort(), [..."The food was delicious"].sort());
    }
    assert.equal(typo("a b c", Math.random), null);
  });

  test("failure rates are counted per test, type and capability: a constant scorer fails exactly the negative MFT cases", async () => {
    const tests = behaviourSuite(42);
    const report = await runBehaviourSuite(tests, (texts) => new Float64Array(texts.length).fill(0.9));
    const negativeMft = tests.filter((t) => t.type === "MFT").reduce((n, t) => n + t.cases.filter((c) => c.expected === "negative").length, 0);
    assert.equal(report.byType.MFT.failures, negativeMft);
    assert.equal(report.byType.INV.failures, 0);
    assert.equal(report.byType.DIR.failures, 0, "no movement is within the tolerance");
    assert.equal(
      report.overall.cases,
      tests.reduce((n, t) => n + t.cases.length, 0),
    );
    assert.equal(report.byCapability.emoji.failureRate, 0.5);
    assert.equal(report.tests[0].examples.length, 3);
  });

  test("VADER as the checked system: its rules pass negation and intensifier tests a bag of words fails", async () => {
    const lex = vaderLexiconOf(vaderLexicon());
    const report = await runBehaviourSuite(behaviourSuite(42), (texts) => texts.map((t) => (vaderScores(t, lex).compound + 1) / 2));
    const byName = Object.fromEntries(report.tests.map((t) => [t.name, t]));
    assert.equal(byName["negation moves the score"].failures, 0);
    assert.equal(byName["intensifiers"].failures, 0);
    assert.equal(byName["names swapped"].failures, 0);
  });
});

describe("polarity check", { timeout: 300_000 }, () => {
  const dir = makeTempDir("polarity-check-").dir;
  const { texts, labels } = loadUciSentences();
  for (const lexicon of ["none", "vader"] as const) {
    const m = SentimentModel.train(texts, labels, {
      features: { kind: "tfidf", ngramRange: [1, 2], lexicon },
      model: { kind: "logreg", C: 10 },
      classNames: { "0": "negative", "1": "positive" },
    });
    writeFileSync(join(dir, `${lexicon}.json`), JSON.stringify(m.toJSON()));
  }

  test("reports failure rates per test type and capability; the lexicon block lowers them", () => {
    const run = (model: string) => {
      const r = polarity(["check", "--model", model, "--no-track", "--json"], dir);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as {
        byType: Record<string, { failureRate: number }>;
        overall: { failureRate: number };
        byCapability: Record<string, { failureRate: number }>;
      };
    };
    const plain = run("none.json");
    const lex = run("vader.json");
    assert.ok(lex.overall.failureRate < plain.overall.failureRate, `${lex.overall.failureRate} vs ${plain.overall.failureRate}`);
    assert.ok(lex.byCapability.emoji.failureRate < plain.byCapability.emoji.failureRate, "emoji");
    const table = polarity(["check", "--model", "none.json", "--no-track"], dir);
    assert.match(table.stdout, /^test type\s+cases\s+failed\s+failure rate$/m);
    assert.match(table.stdout, /^MFT\s+\d+\s+\d+\s+\d+\.\d%$/m);
  });

  test("--max-failure-rate gates with exit code 1; --out writes the report", () => {
    const r = polarity(["check", "--model", "none.json", "--no-track", "--max-failure-rate", "0.01", "--out", "report.json"], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /check failed: MFT failure rate \d+\.\d%, .* above --max-failure-rate 0\.01/);
    assert.equal(JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).format, "polarity.behaviour-report");
    assert.equal(polarity(["check", "--model", "vader.json", "--no-track", "--max-failure-rate", "0.9"], dir).status, 0);
  });

  test("logs the failure rates to the tracking store: a new run, or an existing one with --run-id", async () => {
    const uri = `sqlite:///${join(dir, "mlruns.db")}`;
    const r = polarity(["check", "--model", "vader.json", "--tracking-uri", uri, "--json"], dir);
    assert.equal(r.status, 0, r.stderr);
    const runId = (JSON.parse(r.stdout) as { runId: string }).runId;
    const client = TrackingClient.open({ trackingUri: uri });
    try {
      const run = await client.getRun(runId);
      const metrics = Object.fromEntries(run.data.metrics!.map((m) => [m.key, m.value]));
      assert.ok(
        metrics.behaviour_mft_failure_rate >= 0 && metrics.behaviour_dir_failure_rate >= 0 && metrics.behaviour_negation_failure_rate >= 0,
        JSON.stringify(metrics),
      );
      assert.ok("behaviour_names_and_locations_failure_rate" in metrics, "capability metric keys are sanitised");
      const exp = await client.getOrCreateExperiment("existing");
      const other = await client.createRun(exp, { runName: "evaluate" });
      const r2 = polarity(["check", "--model", "vader.json", "--tracking-uri", uri, "--run-id", other.info.run_id], dir);
      assert.equal(r2.status, 0, r2.stderr);
      const again = await client.getRun(other.info.run_id);
      assert.ok(
        again.data.metrics!.some((m) => m.key === "behaviour_failure_rate"),
        "metrics logged into the given run",
      );
    } finally {
      await client.close();
    }
  });

  test("bad input: a missing model, bad rates, a run that does not exist", () => {
    const missing = polarity(["check", "--model", "nope.json", "--no-track"], dir);
    assert.equal(missing.status, 3, missing.stderr);
    for (const [args, message] of [
      [["--max-failure-rate", "2"], /--max-failure-rate must be a rate in \[0, 1\], got '2'/],
      [["--tolerance", "x"], /--tolerance must be a number/],
      [["--positive", "7"], /--positive 7: the model's classes are 0 \(negative\), 1 \(positive\)/],
    ] as const) {
      const r = polarity(["check", "--model", "none.json", "--no-track", ...args], dir);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
