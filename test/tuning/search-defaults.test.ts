import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseParams } from "../../src/stages/params.js";
import { SEARCH_DEFAULTS } from "../../src/stages/search-defaults.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("polarity tune's settings without a params file are the params schema's train.search defaults", () => {
  const { space, ...rest } = parseParams({}).train.search;
  assert.equal(space, undefined);
  assert.deepEqual({ ...SEARCH_DEFAULTS }, rest);
  assert.ok(Object.isFrozen(SEARCH_DEFAULTS));
});

test("polarity tune without params.yaml searches with the defaults; a tracking store it cannot open fails the command", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "polarity-tune-defaults-"));
  try {
    writeFileSync(join(dir, "space.yaml"), "preprocess: [light]\nfeatures: [{kind: bow, ngram_range: [1, 1]}]\nmodel: [{kind: nb, alpha: [0.5, 1]}]\n");
    const tune = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), "tune", "--space", "space.yaml", "--folds", "2", "--jobs", "1", ...args],
        {
          cwd: dir,
          encoding: "utf8",
          timeout: 120_000,
        },
      );
    const r = tune("--no-track", "--json");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { method: string; metric: string; trials: { folds: number }[] };
    assert.equal(out.method, SEARCH_DEFAULTS.method);
    assert.equal(out.metric, SEARCH_DEFAULTS.metric);
    assert.deepEqual(
      out.trials.map((t) => t.folds),
      [2, 2],
    );
    // The store is opened while the search runs: its error still ends the command (and its workers).
    writeFileSync(join(dir, "not-a-dir"), "");
    const bad = tune("--tracking-uri", `sqlite:///${join(dir, "not-a-dir", "mlruns.db")}`);
    assert.notEqual(bad.status, 0);
    assert.equal(bad.error, undefined, "the command ends by itself");
    assert.match(bad.stderr, /not-a-dir/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
