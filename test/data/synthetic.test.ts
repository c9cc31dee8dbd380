import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AliasSampler, generateSyntheticCorpus } from "../../src/data/synthetic.js";
import { loadUciSentences } from "../../src/data/builtin.js";
import { LIGHT_PREPROCESS_CONFIG, preprocess } from "../../src/text/index.js";

/** The words of a text as written (the synthetic corpus is made of them). */
const words = (text: string): string[] => preprocess(text, LIGHT_PREPROCESS_CONFIG);
import { InvalidParameterError } from "../../src/util/errors.js";
import { Random } from "../../src/util/random.js";

describe("generateSyntheticCorpus", () => {
  it("is deterministic: the same seed gives the same corpus, another seed a different one", () => {
    const a = generateSyntheticCorpus({ n: 500, seed: 11 });
    assert.deepEqual(generateSyntheticCorpus({ n: 500, seed: 11 }), a);
    const b = generateSyntheticCorpus({ n: 500, seed: 12 });
    assert.notDeepEqual(b.texts, a.texts);
  });
  it("draws lengths from the real sentences: mean ≈ 12 tokens, within the real range", () => {
    const { texts } = generateSyntheticCorpus({ n: 20000, seed: 3 });
    const realLengths = loadUciSentences().texts.map((t) => words(t).length);
    const realMean = realLengths.reduce((a, b) => a + b, 0) / realLengths.length;
    const lengths = texts.map((t) => words(t).length);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    assert.ok(Math.abs(realMean - 12) < 0.5, `real mean ${realMean}`);
    assert.ok(Math.abs(mean - realMean) < 0.3, `synthetic mean ${mean} vs real ${realMean}`);
    assert.ok(Math.min(...lengths) >= Math.min(...realLengths) && Math.max(...lengths) <= Math.max(...realLengths));
    // The spread matches too, not just the mean: share of short (<= 5 tokens) documents.
    const shortShare = (ls: number[]) => ls.filter((l) => l <= 5).length / ls.length;
    assert.ok(Math.abs(shortShare(lengths) - shortShare(realLengths)) < 0.03);
  });
  it("uses only words of the real vocabulary, and light preprocessing gives the words back", () => {
    const vocab = new Set(loadUciSentences().texts.flatMap((t) => words(t)));
    for (const text of generateSyntheticCorpus({ n: 300, seed: 5 }).texts) {
      const tokens = words(text);
      assert.equal(tokens.join(" "), text);
      for (const t of tokens) assert.ok(vocab.has(t), t);
    }
  });
  it("makes labels learnable: word log-odds from one half classify the other half well", () => {
    const { texts, labels } = generateSyntheticCorpus({ n: 20000, seed: 9 });
    const half = texts.length / 2;
    const counts = [new Map<string, number>(), new Map<string, number>()];
    const totals = [0, 0];
    for (let i = 0; i < half; i++) {
      for (const t of words(texts[i])) {
        counts[labels[i]].set(t, (counts[labels[i]].get(t) ?? 0) + 1);
        totals[labels[i]]++;
      }
    }
    let correct = 0;
    for (let i = half; i < texts.length; i++) {
      let score = 0;
      for (const t of words(texts[i]))
        score += Math.log(((counts[1].get(t) ?? 0) + 1) / (totals[1] + 1)) - Math.log(((counts[0].get(t) ?? 0) + 1) / (totals[0] + 1));
      if ((score > 0 ? 1 : 0) === labels[i]) correct++;
    }
    const accuracy = correct / half;
    assert.ok(accuracy > 0.75, `accuracy ${accuracy}`);
    const positives = labels.filter((y) => y === 1).length / labels.length;
    assert.ok(Math.abs(positives - 0.5) < 0.02, `positive share ${positives}`);
  });
  it("positiveRate sets the class balance", () => {
    const { labels } = generateSyntheticCorpus({ n: 5000, seed: 1, positiveRate: 0.9, labelNoise: 0 });
    const share = labels.filter((y) => y === 1).length / labels.length;
    assert.ok(Math.abs(share - 0.9) < 0.02, `share ${share}`);
  });
  it("rejects bad options", () => {
    assert.throws(() => generateSyntheticCorpus({ n: 0 }), InvalidParameterError);
    assert.throws(() => generateSyntheticCorpus({ n: 10, mixing: 2 }), /mixing must be a number in \[0, 1\]/);
    assert.throws(() => generateSyntheticCorpus({ n: 10, size: 3 } as never), /'size'/);
    assert.throws(() => generateSyntheticCorpus({ n: 10, seed: Number.NaN }), /seed must be a finite number/);
  });
});

describe("AliasSampler", () => {
  it("draws each outcome with its weight's probability", () => {
    const s = new AliasSampler([1, 0, 3, 6]);
    const rng = new Random(4);
    const hits = [0, 0, 0, 0];
    const n = 200000;
    for (let i = 0; i < n; i++) hits[s.sample(rng)]++;
    assert.equal(hits[1], 0);
    [0.1, 0, 0.3, 0.6].forEach((p, i) => assert.ok(Math.abs(hits[i] / n - p) < 0.005, `outcome ${i}: ${hits[i] / n}`));
  });
});
