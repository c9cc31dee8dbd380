import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadUciSentences } from "../../src/data/builtin.js";
import { createVectorizer } from "../../src/features/factory.js";
import { createPreprocessor, LIGHT_PREPROCESS_CONFIG } from "../../src/text/preprocess.js";
import { balancedLanes, FoldWorkerPool } from "../../src/tuning/pool.js";
import { expandSpace, vocabularyKey } from "../../src/tuning/space.js";
import { FoldScorer, sameBinaryPattern } from "../../src/tuning/trials.js";

const { texts, labels } = loadUciSentences();
const sub = { texts: texts.slice(0, 600), labels: labels.slice(0, 600) };

function withoutTime(m: Record<string, number | null>): Record<string, number | null> {
  const { fitSeconds: _ignored, ...rest } = m;
  return rest;
}

describe("NBSVM fits shared between BoW and TF-IDF of the same n-grams", { timeout: 120_000 }, () => {
  it("sameBinaryPattern: BoW and TF-IDF of the same n-grams match; other n-grams, another stored sign or shape do not", () => {
    const tokenize = createPreprocessor(LIGHT_PREPROCESS_CONFIG);
    const tokens = sub.texts.map((t) => tokenize(t));
    const fit = (f: Parameters<typeof createVectorizer>[0]) => createVectorizer(f, LIGHT_PREPROCESS_CONFIG).fitTransform(tokens);
    const bow = fit({ kind: "bow", ngramRange: [1, 2] });
    const tfidf = fit({ kind: "tfidf", ngramRange: [1, 2], sublinearTf: true });
    assert.ok(sameBinaryPattern(bow, tfidf));
    assert.ok(!sameBinaryPattern(bow, fit({ kind: "bow", ngramRange: [1, 1] })));
    const negated = { ...bow, data: bow.data.slice() };
    negated.data[7] = -negated.data[7];
    assert.ok(!sameBinaryPattern(bow, negated));
    assert.ok(!sameBinaryPattern(bow, { ...bow, rows: bow.rows - 1 }));
    const moved = { ...bow, indices: bow.indices.slice() };
    moved.indices[3] = (moved.indices[3] + 1) % bow.cols;
    assert.ok(!sameBinaryPattern(bow, moved));
    assert.equal(vocabularyKey({ kind: "bow", ngramRange: [1, 2] }), vocabularyKey({ kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }));
    assert.notEqual(vocabularyKey({ kind: "bow", ngramRange: [1, 2] }), vocabularyKey({ kind: "bow", ngramRange: [1, 1] }));
  });

  it("the twin group's NBSVM folds equal an unshared scorer's (svm base along the C path, and logreg base); other models are not shared", () => {
    const configs = expandSpace({
      preprocess: ["light"],
      features: [
        { kind: "tfidf", ngram_range: [1, 2], sublinear_tf: true },
        { kind: "bow", ngram_range: [1, 2] },
        { kind: "bow", ngram_range: [1, 1] },
      ],
      model: [
        { kind: "nbsvm", C: [0.1, 1] },
        { kind: "nbsvm", base: "logreg", C: 1 },
        { kind: "svm", C: 1 },
      ],
    });
    const shared = new FoldScorer(sub.texts, sub.labels, 3, 5);
    const results = configs.map((c) => [0, 1, 2].map((f) => shared.scoreFold(c, f)));
    // BoW (1, 2) reuses TF-IDF (1, 2)'s three NBSVM settings on 3 folds; (1, 1) and the SVM never.
    assert.equal(shared.sharedBinaryFits, 9);
    configs.forEach((c, i) => {
      // A scorer that sees only this features config fits everything itself.
      const alone = new FoldScorer(sub.texts, sub.labels, 3, 5);
      for (const prev of configs) {
        if (prev === c) break;
        if (prev.features === c.features) for (let f = 0; f < 3; f++) alone.scoreFold(prev, f);
      }
      for (let f = 0; f < 3; f++) assert.deepEqual(withoutTime(alone.scoreFold(c, f)), withoutTime(results[i][f]), `config ${i} fold ${f}`);
      assert.equal(alone.sharedBinaryFits, 0);
    });
  });

  it("the pool sends BoW and TF-IDF of the same n-grams to the same worker, and pooled results equal in-process ones", async () => {
    const configs = expandSpace({
      preprocess: ["light", "default"],
      features: [
        { kind: "tfidf", ngram_range: [1, 2], sublinear_tf: true },
        { kind: "bow", ngram_range: [1, 2] },
      ],
      model: [{ kind: "nbsvm", C: [0.1, 1] }],
    });
    const pool = new FoldWorkerPool(sub.texts, sub.labels, 3, 5, configs, 2);
    try {
      const lanes = pool.lanes;
      for (const c of configs) {
        const twin = configs.find((o) => o.preprocess === c.preprocess && o.model === c.model && o.features.kind !== c.features.kind);
        assert.ok(twin);
        for (let f = 0; f < 3; f++) assert.equal(lanes.unitOf(c, f), lanes.unitOf(twin, f));
      }
      const local = new FoldScorer(sub.texts, sub.labels, 3, 5);
      for (const c of configs) {
        for (let f = 0; f < 3; f++) assert.deepEqual(withoutTime(await pool.scoreFold(c, f)), withoutTime(local.scoreFold(c, f)));
      }
    } finally {
      await pool.close();
    }
  });
});

describe("balancedLanes", () => {
  it("spreads (group, fold) pairs by estimated work: heavy groups' odd folds do not pile up on one worker", () => {
    const configs = expandSpace({
      preprocess: ["light", "default", { base: "light", negation_scope: true }],
      features: [{ kind: "bow", ngram_range: [1, 2] }],
      model: [{ kind: "nb", alpha: [0.5, 1] }],
    });
    const groupOf = configs.map((c) => (["light", "default"].indexOf(c.preprocessName) === -1 ? 2 : ["light", "default"].indexOf(c.preprocessName)));
    const tokens = (name: string): number => {
      const c = configs.find((x) => x.preprocessName === name);
      assert.ok(c);
      const tokenize = createPreprocessor(c.preprocess);
      return sub.texts.reduce((s, t, i) => (i % Math.ceil(sub.texts.length / 256) === 0 ? s + tokenize(t).length + 1 : s), 0);
    };
    // Stop-word removal makes "default" the light group: the heavy ones' extra folds must not share a worker.
    const cost = [tokens("light"), tokens("default"), tokens(configs[configs.length - 1].preprocessName)].map((t) => 2 * t);
    assert.ok(cost[1] < 0.8 * Math.min(cost[0], cost[2]), `costs ${cost}`);
    const lanes = balancedLanes(sub.texts, configs, groupOf, 5, 2);
    assert.deepEqual(balancedLanes(sub.texts, configs, groupOf, 5, 2), lanes, "deterministic");
    const load = [0, 0];
    lanes.forEach((lane, u) => (load[lane] += cost[Math.floor(u / 5)]));
    assert.ok(Math.abs(load[0] - load[1]) <= Math.max(...cost), `loads ${load}`);
    // Round robin, (g·5 + f) mod 2, puts 3 folds of both heavy groups on worker 0.
    const rr = [0, 0];
    for (let u = 0; u < 15; u++) rr[u % 2] += cost[Math.floor(u / 5)];
    assert.ok(Math.abs(load[0] - load[1]) < Math.abs(rr[0] - rr[1]), `balanced ${load} vs round robin ${rr}`);
    assert.deepEqual([...balancedLanes(sub.texts, configs, groupOf, 5, 1)], new Array(15).fill(0));
  });
});
