import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
function polarity(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("cv: 10-fold TF-IDF 1-2-gram logistic regression on uci-sentences reaches mean accuracy >= 0.815", () => {
  const r = polarity(["cv", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.n, 3000);
  assert.equal(out.folds.length, 10);
  assert.ok(out.mean.accuracy >= 0.815, `mean accuracy ${out.mean.accuracy}`);
  assert.ok(out.sd.accuracy > 0 && out.sd.accuracy < 0.05);
});

test("cv prints a per-fold table with mean and sd rows", () => {
  const r = polarity(["cv", "--features", "bow", "--ngram", "1", "--model", "nb", "--folds", "3"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^fold\s+accuracy\s+precision/m);
  assert.match(r.stdout, /^mean\s+0\.\d{4}/m);
  assert.match(r.stdout, /^sd\s+0\.\d{4}/m);
  assert.match(r.stdout, /over 3 folds/);
});

test("cv rejects bad options with a one-line error and exit code 2", () => {
  for (const [args, message] of [
    [["--ngram", "2,1"], /--ngram: need 1 <= min <= max/],
    [["--model", "forest"], /--model must be one of 'logreg', 'nb', 'svm'/],
    [["--folds", "1"], /--folds must be in \[2, 1000\]/],
    [["--C", "NaN"], /--C must be a number, got 'NaN'/],
    [["--folds", "ten"], /--folds must be a number, got 'ten'$/m],
    [["--seed", ""], /--seed must be a number, got ''$/m],
    [["--model", "nb", "--C", "2"], /--C applies to logreg and svm/],
  ] as const) {
    const r = polarity(["cv", ...args]);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
});

test("cv on a file with other columns points at --text-column / --label-column, not at params.yaml", () => {
  const r = polarity(["cv", "--dataset", "test/fixtures/seed-reviews.csv", "--folds", "2"]);
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /columns "text" and "label" not found; columns found: "review", "sentiment" — pass --text-column <column> and --label-column <column>/,
  );
  assert.doesNotMatch(r.stderr, /params\.yaml/);
});
