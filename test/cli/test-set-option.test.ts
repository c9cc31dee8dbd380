import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TrackingClient } from "../../src/tracking/client.js";
import { makeTempDir } from "../support/temp-dir.js";

// Issue 13: `--test <path>` on tune and compare (cv's is in cv-options.test.ts): the final fit
// is scored on a separately supplied test set, printed, returned in --json and logged to the parent run.

const root = fileURLToPath(new URL("../..", import.meta.url));
function polarity(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fixture(): string {
  const dir = makeTempDir("polarity-test-set-").dir;
  const good = ["great and wonderful", "I love it", "excellent value, really good", "superb, works perfectly", "happy with it, nice", "best purchase ever"];
  const bad = ["terrible and awful", "I hate it", "broken, really bad", "worst purchase ever", "poor quality, sad", "useless and disappointing"];
  const rows = ["text,label"];
  for (let r = 0; r < 4; r++)
    for (const [texts, label] of [
      [good, 1],
      [bad, 0],
    ] as const)
      for (const t of texts) rows.push(`"${t} ${r}",${label}`);
  writeFileSync(join(dir, "train.csv"), rows.join("\n") + "\n");
  writeFileSync(
    join(dir, "held-out.csv"),
    ["text,label", '"wonderful, I love it",1', '"awful, I hate it",0', '"really good value",1', '"awful and broken",0'].join("\n") + "\n",
  );
  writeFileSync(join(dir, "space.yaml"), "preprocess: [light]\nfeatures:\n  - kind: tfidf\nmodel:\n  - kind: logreg\n    C: [1, 10]\n");
  return dir;
}

describe("--test on tune and compare", { timeout: 600_000 }, () => {
  test("tune --test scores the best configuration fitted on the whole dataset and logs test_* to the parent run", async () => {
    const dir = fixture();
    const db = `sqlite:///${join(dir, "mlruns.db")}`;
    const r = polarity(
      ["tune", "--dataset", "train.csv", "--space", "space.yaml", "--folds", "2", "--jobs", "0", "--tracking-uri", db, "--test", "held-out.csv", "--json"],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { parentRunId: string; test: { source: string; accuracy: number; n_test: number } };
    assert.equal(out.test.source, "held-out.csv");
    assert.equal(out.test.n_test, 4);
    assert.ok(out.test.accuracy >= 0.75, `accuracy ${out.test.accuracy}`);
    const client = TrackingClient.open({ trackingUri: db });
    try {
      const run = await client.getRun(out.parentRunId);
      const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
      assert.equal(metrics.test_accuracy, out.test.accuracy);
      assert.ok("test_f1" in metrics);
    } finally {
      await client.close();
    }
    const table = polarity(
      ["tune", "--dataset", "train.csv", "--space", "space.yaml", "--folds", "2", "--jobs", "0", "--no-track", "--test", "held-out.csv"],
      dir,
    );
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /test: the best configuration fitted on all 48 texts scores accuracy \d\.\d{4}, F1 \d\.\d{4}.* on 4 texts from held-out\.csv/);
  });

  test("a test label the dataset lacks is a one-line error (exit 2); a missing test file fails before the search starts", () => {
    const dir = fixture();
    writeFileSync(join(dir, "odd.csv"), 'text,label\n"zebra crossing",2\n"good",1\n');
    const odd = polarity(["tune", "--dataset", "train.csv", "--space", "space.yaml", "--folds", "2", "--jobs", "0", "--no-track", "--test", "odd.csv"], dir);
    assert.equal(odd.status, 2, odd.stderr);
    assert.match(odd.stderr, /--test odd\.csv: labels "2" are not in train\.csv \(classes 0, 1\)/);
    assert.doesNotMatch(odd.stderr, /\n\s+at /);
    const missing = polarity(["compare", "--dataset", "train.csv", "--folds", "2", "--jobs", "0", "--no-track", "--test", "missing.csv"], dir);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /missing\.csv/);
  });

  test("compare --test scores every configuration fitted on the whole dataset", () => {
    const dir = fixture();
    const html = join(dir, "compare.html");
    const r = polarity(
      ["compare", "--dataset", "train.csv", "--folds", "2", "--trees", "3", "--jobs", "0", "--no-track", "--html", html, "--test", "held-out.csv", "--json"],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { trials: Array<{ model: string; test?: { source: string; n_test: number; accuracy: number } }> };
    assert.equal(out.trials.length, 12);
    for (const t of out.trials) {
      assert.ok(t.test, `${t.model} has a test score`);
      assert.equal(t.test.n_test, 4);
      assert.ok(t.test.accuracy >= 0 && t.test.accuracy <= 1);
    }
  });
});
