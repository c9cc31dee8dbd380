import assert from "node:assert/strict";
import { writeFile, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { readDatasetCsv } from "../../src/data/files.js";
import { parseReferenceProfile } from "../../src/monitoring/profile.js";
import { makeProject, polarityBinDir, readJson, runCli, spawnCliUntil, stop, type CliResult } from "../e2e/helpers.js";

/**
 * The pipeline puts the monitoring reference profile into the model bundle: `polarity repro`
 * on the repo's dvc.yaml and params.yaml (built-in uci-sentences), then `polarity serve` of
 * the local bundle and of the registered `models:/` version exports the drift gauges with no
 * `polarity monitor profile` step in between.
 */
describe("repro → serve: drift monitoring out of the box", { timeout: 300_000 }, () => {
  let dir: string;
  let path: string;
  let repro: CliResult;
  let heldOut: { texts: string[]; labels: (string | number)[] };

  before(async () => {
    dir = await makeProject("profile");
    path = `${await polarityBinDir()}:${process.env.PATH ?? ""}`;
    repro = await runCli(["repro"], dir, { PATH: path });
    heldOut = await readDatasetCsv(join(dir, "data", "raw", "test.csv"));
    // The serve processes below inherit this: drift is computed every 200 ms instead of 2 s.
    process.env.POLARITY_MONITOR_INTERVAL_MS = "200";
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("the train stage profiles the fitted model on the held-out split; evaluate's accuracy (rounded to 6 places) is the profile's", async () => {
    assert.equal(repro.code, 0, repro.stderr + repro.stdout);
    assert.match(
      repro.stdout,
      new RegExp(`\\[train\\] reference profile for drift monitoring on ${heldOut.texts.length} held-out texts \\(data/raw/test\\.csv\\)`),
    );
    const bundle = await readJson<{ metadata: Record<string, unknown> }>(join(dir, "models", "model.json"));
    const profile = parseReferenceProfile(bundle.metadata.referenceProfile);
    assert.equal(profile.rows, heldOut.texts.length);
    assert.deepEqual(profile.classes, [0, 1]);
    const metrics = await readJson<{ accuracy: number }>(join(dir, "reports", "metrics.json"));
    assert.ok(Math.abs(profile.accuracy! - metrics.accuracy) < 1e-6, `profile ${profile.accuracy} vs evaluate ${metrics.accuracy}`);
  });

  test("dvc.lock records the held-out split as a dependency of train, so a change to it reruns train", async () => {
    const lock = parseYaml(await readFile(join(dir, "dvc.lock"), "utf8")) as { stages: Record<string, { deps: { path: string }[] }> };
    assert.ok(
      lock.stages.train.deps.some((d) => d.path === "data/raw/test.csv"),
      JSON.stringify(lock.stages.train.deps),
    );
    // Edit the held-out split by hand: train (and evaluate) see a changed dependency.
    const file = join(dir, "data", "raw", "test.csv");
    const original = await readFile(file);
    try {
      await writeFile(file, original.toString("utf8") + '"an extra held-out sentence, lovely",1\n');
      const status = await runCli(["status", "--json", "--single-item", "train"], dir, { PATH: path });
      assert.equal(status.code, 0, status.stderr);
      const changed = JSON.parse(status.stdout) as Record<string, { "changed deps"?: Record<string, string> }[]>;
      assert.deepEqual(
        changed.train?.flatMap((e) => Object.keys(e["changed deps"] ?? {})),
        ["data/raw/test.csv"],
        status.stdout,
      );
    } finally {
      await writeFile(file, original);
    }
  });

  for (const model of ["models/model.json", "models:/sentiment@staging"]) {
    test(`polarity serve --model ${model} exports the drift gauges after traffic, without monitor profile`, async () => {
      const { child, match } = await spawnCliUntil(
        ["serve", "--model", model, "--host", "127.0.0.1", "--port", "0", "--poll-interval", "0"],
        dir,
        /serving \S+ version \S+ on (http:\/\/127\.0\.0\.1:\d+)/,
      );
      try {
        const url = match[1];
        const res = await fetch(`${url}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ texts: heldOut.texts.slice(0, 150) }),
        });
        assert.equal(res.status, 200);
        // The monitor's timer (200 ms here) computes drift off the request path: poll /metrics, bounded.
        let text = "";
        for (let i = 0; i < 100 && !/^model_drift\{statistic="score_psi"\}/m.test(text); i++) {
          await new Promise((r) => setTimeout(r, 100));
          text = await (await fetch(`${url}/metrics`)).text();
        }
        assert.match(text, /^model_reference_profile_loaded 1$/m);
        for (const s of ["score_psi", "score_js", "length_psi", "length_js", "class_mix_tv", "oov_shift", "top_terms_chi2"])
          assert.match(text, new RegExp(`^model_drift\\{statistic="${s}"\\} [0-9.e+-]+$`, "m"), s);
        // Held-out texts against their own profile: no statistic over its threshold.
        const value = (s: string, name = "model_drift") => Number(new RegExp(`^${name}\\{statistic="${s}"\\} (\\S+)$`, "m").exec(text)?.[1]);
        for (const s of ["score_psi", "class_mix_tv", "oov_shift"]) assert.ok(value(s) < value(s, "model_drift_threshold"), `${s} ${value(s)}`);
      } finally {
        assert.equal(await stop(child), 0);
      }
    });
  }
});
