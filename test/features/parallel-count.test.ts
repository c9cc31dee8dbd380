import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { CsrMatrix } from "../../src/features/csr.js";
import { PARALLEL_MIN_DOCS, countWorkerPrestarted, prestartCountWorker, resolveCountThreads } from "../../src/features/parallel-count.js";
import { CountVectorizer, TfidfVectorizer, type CountVectorizerOptions, type TfidfVectorizerOptions } from "../../src/features/vectorizer.js";
import { generateSyntheticCorpus } from "../../src/data/synthetic.js";
import { LIGHT_PREPROCESS_CONFIG } from "../../src/text/preprocess.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";

// Texts that exercise the preprocessing (Unicode, emoji, emoticons, negations, HTML, URLs)
// spread over both halves of a synthetic corpus, so both threads meet them.
const SPECIAL = [
  "I didn't like it :( <br /> see https://example.com",
  "Ｆｕｌｌ-width ﬁne café naïve 😀👍🏽 <3",
  "not good at all. great!!! isn't it",
  "日本語 テキスト and ünïcödé words",
];

function corpus(n: number, seed: number): string[] {
  const texts = generateSyntheticCorpus({ n, seed }).texts.slice();
  for (let k = 0; k < SPECIAL.length; k++) {
    texts[Math.floor(((k + 0.5) * n) / SPECIAL.length)] = SPECIAL[k];
  }
  return texts;
}

function assertSameMatrix(a: CsrMatrix, b: CsrMatrix): void {
  assert.equal(a.rows, b.rows);
  assert.equal(a.cols, b.cols);
  assert.deepEqual(Array.from(a.indptr), Array.from(b.indptr));
  const nnz = a.indptr[a.rows];
  assert.deepEqual(Array.from(a.indices.subarray(0, nnz)), Array.from(b.indices.subarray(0, nnz)));
  assert.deepEqual(Array.from(a.data.subarray(0, nnz)), Array.from(b.data.subarray(0, nnz)));
}

async function assertEqualFits(make: () => CountVectorizer, docs: string[], unseen: string[]): Promise<void> {
  const serial = make();
  const parallel = make();
  const Xs = serial.fitTransform(docs);
  const Xp = await parallel.fitTransformAsync(docs, { threads: 2 });
  assert.equal(parallel.fitThreads, 2, "the worker counted its part");
  assert.equal(serial.fitThreads, 1);
  assertSameMatrix(Xp, Xs);
  assert.deepEqual(parallel.getFeatureNames(), serial.getFeatureNames());
  assert.deepEqual(parallel.toJSON(), serial.toJSON());
  assertSameMatrix(parallel.transform(unseen), serial.transform(unseen));
}

describe("CountVectorizer.fitTransformAsync (counting on two threads)", { timeout: 120_000 }, () => {
  const docs = corpus(8_000, 3);
  const unseen = corpus(1_000, 4);

  it("TF-IDF 1–2-grams with preprocessing equal the one-thread fit exactly", async () => {
    await assertEqualFits(() => new TfidfVectorizer({ ngramRange: [1, 2], preprocess: LIGHT_PREPROCESS_CONFIG }), docs, unseen);
    await assertEqualFits(() => new TfidfVectorizer({ ngramRange: [1, 3], preprocess: {}, sublinearTf: true }), docs, unseen);
  });

  it("counts with the token pattern, min/max df, maxFeatures and binary equal the one-thread fit", async () => {
    const variants: CountVectorizerOptions[] = [
      {},
      { ngramRange: [1, 2], minDf: 3, maxDf: 0.5 },
      { ngramRange: [2, 2], maxFeatures: 500, binary: true },
      { lowercase: false, tokenPattern: "(?u)\\b\\w+\\b" },
    ];
    for (const o of variants) await assertEqualFits(() => new CountVectorizer(o), docs, unseen);
    const tf: TfidfVectorizerOptions = { ngramRange: [1, 2], minDf: 2, norm: "l1", smoothIdf: false };
    await assertEqualFits(() => new TfidfVectorizer(tf), docs, unseen);
  });

  it("'auto' counts small corpora on one thread; threads is validated", async () => {
    assert.equal(resolveCountThreads("auto", docs.slice(0, PARALLEL_MIN_DOCS - 1)), 1);
    assert.throws(() => resolveCountThreads(3, docs), InvalidParameterError);
    const small = docs.slice(0, 50);
    const v = new CountVectorizer();
    assertSameMatrix(await v.fitTransformAsync(small), new CountVectorizer().fitTransform(small));
    assert.equal(v.fitThreads, 1);
  });

  it("a bad document is the same DataError as with one thread, whichever part it is in", async () => {
    const bad = docs.slice(0, 1000);
    bad[900] = 42 as never;
    await assert.rejects(new CountVectorizer().fitTransformAsync(bad, { threads: 2 }), /document 900 must be a string/);
    // A token with a space (a custom pattern) is refused with n-grams > 1, here in the worker's part.
    const spaced = docs.slice(0, 1000);
    spaced[990] = "alpha beta";
    const o: CountVectorizerOptions = { ngramRange: [1, 2], tokenPattern: "(alpha beta)" };
    assert.throws(() => new CountVectorizer(o).fitTransform(spaced), DataError);
    await assert.rejects(
      new CountVectorizer(o).fitTransformAsync(spaced, { threads: 2 }),
      (err: unknown) => err instanceof DataError && /contains a space/.test(err.message),
    );
  });

  it("a prestarted worker is taken by the next two-thread count, with the same result; one left unused does not keep the process alive", async () => {
    prestartCountWorker();
    assert.equal(countWorkerPrestarted(), true);
    prestartCountWorker(); // only one is kept
    await assertEqualFits(() => new TfidfVectorizer({ ngramRange: [1, 2], preprocess: LIGHT_PREPROCESS_CONFIG }), docs, unseen);
    assert.equal(countWorkerPrestarted(), false, "the count took the prestarted worker");
    // A DataError from the prestarted worker's part is the same as from a fresh one.
    prestartCountWorker();
    const spaced = docs.slice(0, 1000);
    spaced[990] = "alpha beta";
    await assert.rejects(
      new CountVectorizer({ ngramRange: [1, 2], tokenPattern: "(alpha beta)" }).fitTransformAsync(spaced, { threads: 2 }),
      (err: unknown) => err instanceof DataError && /contains a space/.test(err.message),
    );
    // Left waiting (unref'd): the test file must still end.
    prestartCountWorker();
    assert.equal(countWorkerPrestarted(), true);
  });

  it("a fixed vocabulary counts on one thread with the same result", async () => {
    const o = { vocabulary: ["alpha", "the", "good"] };
    assertSameMatrix(await new CountVectorizer(o).fitTransformAsync(docs, { threads: 2 }), new CountVectorizer(o).fitTransform(docs));
  });
});
