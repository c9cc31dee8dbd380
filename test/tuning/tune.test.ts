import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { loadUciSentences } from "../../src/data/builtin.js";
import { crossValidateTexts } from "../../src/evaluation/cross-validate-text.js";
import { TrackingClient } from "../../src/tracking/client.js";
import { DEFAULT_SEARCH_SPACE, expandSpace } from "../../src/tuning/space.js";
import { runSearch, type SearchResult } from "../../src/tuning/search.js";
import { FoldScorer } from "../../src/tuning/trials.js";
import { FoldWorkerPool, prestartFoldWorkers } from "../../src/tuning/pool.js";
import { InvalidParameterError } from "../../src/util/errors.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A model config's hyperparameters as strings, sorted (what a child run's model.* params hold). */
function trialModel(m: Record<string, unknown>): [string, string][] {
  return Object.entries(m)
    .map(([k, v]): [string, string] => [k, String(v)])
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/** The fake scorers below answer trial id / 10 + fold / 100: every one of 4 trials got its own 3 folds' scores back. */
function assertEachTrialScoredItsOwnFolds(result: SearchResult): void {
  assert.equal(result.trials.length, 4);
  for (const t of result.trials)
    assert.deepEqual(
      t.folds.map((m) => m.accuracy),
      [0, 1, 2].map((f) => t.id / 10 + f / 100),
    );
}

test("the space expands list-valued options into their cartesian product (n-gram ranges as pairs)", () => {
  assert.equal(expandSpace(DEFAULT_SEARCH_SPACE).length, 48);
  const configs = expandSpace({
    preprocess: ["light", { base: "light", remove_stopwords: true }],
    features: [
      {
        kind: "tfidf",
        ngram_range: [
          [1, 1],
          [1, 2],
        ],
        sublinear_tf: [false, true],
      },
      { kind: "bow", ngram_range: [1, 2] },
    ],
    model: [{ kind: "logreg", C: [1, 10] }],
  });
  assert.equal(configs.length, 2 * (4 + 1) * 2);
  assert.deepEqual(configs[0].features, { kind: "tfidf", ngramRange: [1, 1], sublinearTf: false });
  assert.equal(configs[configs.length - 1].preprocess.removeStopwords, true);
  assert.throws(() => expandSpace({ preprocess: ["heavy"], features: [{ kind: "tfidf" }], model: [{ kind: "logreg" }] }), InvalidParameterError);
  assert.throws(() => expandSpace({ preprocess: ["light"], features: [{ kind: "tfidf" }], model: [{ kind: "forest" }] }), /model\[0\]\.kind/);
});

test("a trial's fold scores equal polarity cv's (crossValidateTexts) on the same config and seed", async () => {
  const { texts, labels } = loadUciSentences();
  const sub = { texts: texts.slice(0, 900), labels: labels.slice(0, 900) };
  const [config] = expandSpace({ preprocess: ["light"], features: [{ kind: "tfidf", ngram_range: [1, 2] }], model: [{ kind: "logreg", C: 10 }] });
  const scorer = new FoldScorer(sub.texts, sub.labels, 3, 7);
  const cv = await crossValidateTexts(
    sub.texts,
    sub.labels,
    { preprocess: config.preprocess, features: config.features, model: config.model },
    { folds: 3, seed: 7 },
  );
  for (let f = 0; f < 3; f++) assert.equal(scorer.scoreFold(config, f).accuracy, cv.folds[f].accuracy);
});

test("grid on worker threads gives the same results as in-process; halving prunes and keeps the best on all folds", async () => {
  const { texts, labels } = loadUciSentences();
  const sub = { texts: texts.slice(0, 600), labels: labels.slice(0, 600) };
  const configs = expandSpace({
    preprocess: ["light"],
    features: [{ kind: "bow", ngram_range: [1, 1] }],
    model: [
      { kind: "nb", alpha: [0.1, 1, 10] },
      { kind: "logreg", C: [0.01, 1] },
      { kind: "nbsvm", C: 1 },
    ],
  });
  const scorer = new FoldScorer(sub.texts, sub.labels, 3, 1);
  const local = await runSearch(configs, (c, f) => scorer.scoreFold(c, f), { method: "grid", folds: 3 });
  const pool = new FoldWorkerPool(sub.texts, sub.labels, 3, 1, configs, 2);
  try {
    const pooled = await runSearch(configs, (c, f) => pool.scoreFold(c, f), { method: "grid", folds: 3, concurrency: 2, lanes: pool.lanes });
    assert.deepEqual(
      pooled.trials.map((t) => [t.id, t.mean.accuracy]),
      local.trials.map((t) => [t.id, t.mean.accuracy]),
    );
  } finally {
    await pool.close();
  }
  // Halving's later rungs go back to the workers holding the units (their fold matrices and warm starts).
  const fresh = new FoldScorer(sub.texts, sub.labels, 3, 1);
  const halvingLocal = await runSearch(configs, (c, f) => fresh.scoreFold(c, f), { method: "halving", folds: 3, eta: 2 });
  // Workers started before their data (what `polarity tune` does) serve the same results.
  const halvingPool = new FoldWorkerPool(sub.texts, sub.labels, 3, 1, configs, 2, prestartFoldWorkers(2));
  try {
    const halvingPooled = await runSearch(configs, (c, f) => halvingPool.scoreFold(c, f), {
      method: "halving",
      folds: 3,
      eta: 2,
      concurrency: 2,
      lanes: halvingPool.lanes,
    });
    assert.deepEqual(
      halvingPooled.trials.map((t) => [t.id, t.status, t.mean.accuracy]),
      halvingLocal.trials.map((t) => [t.id, t.status, t.mean.accuracy]),
    );
  } finally {
    await halvingPool.close();
  }
  // Sorted by mean accuracy, best first.
  for (let i = 1; i < local.trials.length; i++) assert.ok(local.trials[i - 1].mean.accuracy >= local.trials[i].mean.accuracy);
  const halving = await runSearch(configs, (c, f) => scorer.scoreFold(c, f), { method: "halving", folds: 3, eta: 2 });
  assert.equal(halving.trials.length, configs.length);
  assert.ok(halving.trials.some((t) => t.status === "pruned"));
  assert.equal(halving.best?.status, "complete");
  assert.equal(halving.best?.folds.length, 3);
  const random = await runSearch(configs, (c, f) => scorer.scoreFold(c, f), { method: "random", nIter: 2, folds: 3, seed: 5 });
  assert.equal(random.trials.length, 2);
});

test("lanes: each lane runs its own units in trial order, and never waits behind another lane's backlog", async () => {
  const configs = expandSpace({ preprocess: ["light"], features: [{ kind: "bow" }], model: [{ kind: "nb", alpha: [0.1, 1, 10, 100] }] });
  const index = new Map(configs.map((c, i) => [c, i]));
  // Lane 0 gets fold 0 of every trial, lane 1 folds 1 and 2. Lane 0's first fit hangs until released.
  const lanes = { count: 2, of: (_c: unknown, fold: number) => (fold === 0 ? 0 : 1) };
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const order: string[] = [];
  const search = runSearch(
    configs,
    async (c, fold) => {
      const id = index.get(c) as number;
      order.push(`${fold === 0 ? 0 : 1}:${id}:${fold}`);
      if (id === 0 && fold === 0) await gate;
      else await new Promise((r) => setImmediate(r));
      return { accuracy: id / 10 + fold / 100 };
    },
    { method: "grid", folds: 3, concurrency: 1, lanes },
  );
  // Let lane 1 run: all 8 of its units finish while lane 0's first one is blocked.
  for (let t = 0; t < 50 && order.filter((o) => o.startsWith("1:")).length < 8; t++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    order.filter((o) => o.startsWith("1:")),
    ["1:0:1", "1:0:2", "1:1:1", "1:1:2", "1:2:1", "1:2:2", "1:3:1", "1:3:2"],
  );
  assert.deepEqual(
    order.filter((o) => o.startsWith("0:")),
    ["0:0:0"],
  );
  release();
  const result = await search;
  assert.deepEqual(
    order.filter((o) => o.startsWith("0:")),
    ["0:0:0", "0:1:0", "0:2:0", "0:3:0"],
  );
  assertEachTrialScoredItsOwnFolds(result);
});

test("claimed lanes: an idle lane claims the costliest unit left, keeps its units' fits in trial order, and a slow lane does not hold the others up", async () => {
  const configs = expandSpace({ preprocess: ["light"], features: [{ kind: "bow" }], model: [{ kind: "nb", alpha: [0.1, 1, 10, 100] }] });
  const index = new Map(configs.map((c, i) => [c, i]));
  // One unit per fold, fold 2 the costliest; lane 0's first fit (trial 0 of unit 2) hangs until released.
  const laneOf = new Map<number, number>();
  const claims: string[] = [];
  const lanes = {
    count: 2,
    unitOf: (_c: unknown, fold: number) => fold,
    cost: (unit: number) => unit,
    family: (unit: number) => unit,
    claim: (unit: number, lane: number) => {
      assert.equal(laneOf.has(unit), false, `unit ${unit} claimed twice`);
      laneOf.set(unit, lane);
      claims.push(`${lane}:${unit}`);
    },
  };
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const order: string[] = [];
  const search = runSearch(
    configs,
    async (c, fold) => {
      const id = index.get(c) as number;
      order.push(`${laneOf.get(fold)}:${id}:${fold}`);
      if (id === 0 && fold === 2) await gate;
      else await new Promise((r) => setImmediate(r));
      return { accuracy: id / 10 + fold / 100 };
    },
    { method: "grid", folds: 3, concurrency: 2, lanes },
  );
  // Lane 1 runs unit 1, then, idle, claims unit 0 while lane 0 is still blocked in unit 2.
  for (let t = 0; t < 100 && order.filter((o) => o.startsWith("1:")).length < 8; t++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(claims, ["0:2", "1:1", "1:0"]);
  assert.deepEqual(
    order.filter((o) => o.startsWith("1:")),
    ["1:0:1", "1:1:1", "1:2:1", "1:3:1", "1:0:0", "1:1:0", "1:2:0", "1:3:0"],
  );
  // Lane 0's second fit in flight ran the rest of unit 2; with the blocked fit still out, lane 0 claims nothing.
  assert.deepEqual(
    order.filter((o) => o.startsWith("0:")),
    ["0:0:2", "0:1:2", "0:2:2", "0:3:2"],
  );
  release();
  const result = await search;
  assert.equal(order.length, 12);
  assert.deepEqual(claims, ["0:2", "1:1", "1:0"]);
  assertEachTrialScoredItsOwnFolds(result);
});

test("claimed lanes: a lane is released once its last fit is back, while another still works, and never gets a fit after that (halving: only after its last rung)", async () => {
  const configs = expandSpace({ preprocess: ["light"], features: [{ kind: "bow" }], model: [{ kind: "nb", alpha: [0.1, 1, 10, 100] }] });
  const index = new Map(configs.map((c, i) => [c, i]));
  const run = async (method: "grid" | "halving", hold: boolean) => {
    const laneOf = new Map<number, number>();
    const events: string[] = [];
    const lanes = {
      count: 2,
      unitOf: (_c: unknown, fold: number) => fold,
      cost: (unit: number) => unit,
      family: (unit: number) => unit,
      claim: (unit: number, lane: number) => void laneOf.set(unit, lane),
      release: (lane: number) => void events.push(`released ${lane}`),
    };
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const search = runSearch(
      configs,
      async (c, fold) => {
        const id = index.get(c) as number;
        const lane = laneOf.get(fold) as number;
        assert.ok(!events.includes(`released ${lane}`), `a fit on lane ${lane} after its release`);
        events.push(`fit ${lane}`);
        // Lane 0's first fit (trial 0 of unit 2, the costliest) hangs until the gate opens.
        if (hold && id === 0 && fold === 2) await gate;
        else await new Promise((r) => setImmediate(r));
        return { accuracy: id / 10 + fold / 100 };
      },
      { method, folds: 3, eta: 2, concurrency: 2, lanes },
    );
    if (hold) {
      for (let t = 0; t < 200 && !events.includes("released 1"); t++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        events.filter((e) => e.startsWith("released")),
        ["released 1"],
        "lane 1 ran out of units while lane 0 is still busy",
      );
      open();
    }
    await search;
    assert.deepEqual(events.filter((e) => e.startsWith("released")).sort(), ["released 0", "released 1"]);
    return events;
  };
  await run("grid", true);
  // Rung 0 scores fold 0 only: lane 1 has nothing to do there, yet fits in the later rungs.
  await run("halving", false);
});

test("claimed lanes: a lane claims units of the families it holds, and the lanes split the families before sharing them", async () => {
  const configs = expandSpace({ preprocess: ["light"], features: [{ kind: "bow" }], model: [{ kind: "nb", alpha: [0.1, 1, 10] }] });
  // Units = folds; family 0: units 0 and 1, family 1: units 2 and 3; unit 3 the costliest.
  const laneOf = new Map<number, number>();
  const lanes = {
    count: 2,
    unitOf: (_c: unknown, fold: number) => fold,
    cost: (unit: number) => unit,
    family: (unit: number) => (unit < 2 ? 0 : 1),
    claim: (unit: number, lane: number) => void laneOf.set(unit, lane),
  };
  const result = await runSearch(
    configs,
    async (_c, fold) => {
      await new Promise((r) => setImmediate(r));
      return { accuracy: fold };
    },
    { method: "grid", folds: 4, concurrency: 2, lanes },
  );
  assert.equal(result.trials.length, 3);
  // Lane 1 starts on family 0 (unit 1) rather than on the costlier unit 2 of lane 0's family.
  assert.deepEqual(
    [...laneOf].sort((a, b) => a[0] - b[0]),
    [
      [0, 1],
      [1, 1],
      [2, 0],
      [3, 0],
    ],
  );
});

describe("polarity tune (CLI)", { timeout: 300_000 }, () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "polarity-tune-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("train.search drives the search; each trial is a child run of one parent run; --write-params writes the best", async () => {
    const params = join(dir, "params.yaml");
    writeFileSync(
      params,
      [
        "# my params",
        "train:",
        "  model: logreg",
        "  search:",
        "    method: grid",
        "    folds: 3",
        "    seed: 3",
        "    space:",
        "      preprocess: [light]",
        "      features: [{kind: tfidf, ngram_range: [1, 2]}]",
        "      model: [{kind: logreg, C: [0.01, 10]}, {kind: nb, alpha: 1}]",
        "",
      ].join("\n"),
    );
    const db = join(dir, "mlruns.db");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "tune", "--params", params, "--tracking-uri", `sqlite:///${db}`, "--jobs", "0", "--write-params", "--json"],
      { cwd: root, encoding: "utf8", timeout: 240_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.trials.length, 3);
    assert.equal(out.trials[0].folds, 3);
    const client = TrackingClient.open({ trackingUri: `sqlite:///${db}` });
    try {
      const exp = await client.getExperimentByName("polarity-tune");
      assert.ok(exp);
      const runs = await client.searchAllRuns({ experimentIds: [exp.experiment_id] });
      const children = runs.filter((run) => run.data.tags?.some((t) => t.key === "mlflow.parentRunId" && t.value === out.parentRunId));
      assert.equal(children.length, 3);
      assert.equal(runs.length, 4);
      for (const c of children) {
        assert.ok(c.data.metrics?.some((m) => m.key === "mean_accuracy"));
        // Params and metrics go in one batch: both land, with the trial's values.
        const params = new Map((c.data.params ?? []).map((p) => [p.key, p.value]));
        assert.equal(params.get("preprocess"), "light");
        assert.ok(params.get("model.kind") === "logreg" || params.get("model.kind") === "nb", JSON.stringify([...params]));
        const trial = out.trials.find(
          (t: { config: { model: Record<string, unknown> } }) =>
            JSON.stringify(trialModel(t.config.model)) ===
            JSON.stringify(trialModel(Object.fromEntries([...params].filter(([k]) => k.startsWith("model.")).map(([k, v]) => [k.slice(6), v])))),
        );
        assert.ok(trial, `a trial for ${JSON.stringify([...params])}`);
        assert.equal(c.data.metrics?.find((m) => m.key === "mean_accuracy")?.value, trial.mean.accuracy);
        assert.equal(c.data.metrics?.find((m) => m.key === "folds_scored")?.value, 3);
      }
    } finally {
      await client.close();
    }
    const written = readFileSync(params, "utf8");
    assert.match(written, /^# my params/);
    const doc = parse(written);
    const best = out.trials[0].config;
    assert.equal(doc.train.model, best.model.kind);
    assert.equal(doc.featurize.kind, "tfidf");
    assert.deepEqual(doc.featurize.ngram_range, [1, 2]);
    assert.equal(doc.preprocess.remove_stopwords, false);
    assert.ok(doc.train.search, "the search section is kept");
    // A logreg winner's C lands in its block.
    if (best.model.kind === "logreg") assert.equal(doc.train.logreg.C, best.model.C);
  });

  test("bad search settings fail with one clear line", () => {
    const params = join(dir, "bad.yaml");
    writeFileSync(params, "train:\n  search:\n    methd: grid\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "tune", "--params", params, "--no-track"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /train\.search.*methd/);
  });
});
