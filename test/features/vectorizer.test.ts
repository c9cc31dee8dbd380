import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense, csrToDense, type CsrMatrix } from "../../src/features/csr.js";
import { CountVectorizer, TfidfVectorizer, vectorizerFromJSON } from "../../src/features/vectorizer.js";
import { TfidfTransformer } from "../../src/features/tfidf.js";
import { collectGarbage } from "../../src/util/collect-garbage.js";
import { DataError, InvalidParameterError, PolarityError } from "../../src/util/errors.js";

// Default token pattern drops one-letter words ("a"). Sorted vocabulary: cat dog ran sat the.
const DOCS = ["the cat sat", "The cat CAT ran", "a dog ran"];
const COUNTS = [
  [1, 0, 0, 1, 1],
  [2, 0, 1, 0, 1],
  [0, 1, 1, 0, 0],
];
// Document frequencies: cat 2, dog 1, ran 2, sat 1, the 2; n = 3.
const DF = [2, 1, 2, 1, 2];

function assertClose(actual: number[][], expected: number[][], tol = 1e-12): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((row, i) => {
    assert.equal(row.length, expected[i].length, `row ${i} width`);
    row.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) <= tol, `[${i}][${j}] = ${v}, expected ${expected[i][j]}`));
  });
}

function normalizeRows(rows: number[][], norm: "l1" | "l2"): number[][] {
  return rows.map((r) => {
    const s = norm === "l2" ? Math.sqrt(r.reduce((a, v) => a + v * v, 0)) : r.reduce((a, v) => a + Math.abs(v), 0);
    return s === 0 ? r : r.map((v) => v / s);
  });
}

function assertSortedRows(X: CsrMatrix): void {
  for (let i = 0; i < X.rows; i++) {
    for (let p = X.indptr[i] + 1; p < X.indptr[i + 1]; p++) assert.ok(X.indices[p - 1] < X.indices[p], `row ${i} columns sorted and unique`);
  }
}

describe("CountVectorizer", () => {
  it("counts lowercased 2+-letter words with columns in sorted term order", () => {
    const v = new CountVectorizer();
    const X = v.fitTransform(DOCS);
    assert.deepEqual(v.getFeatureNames(), ["cat", "dog", "ran", "sat", "the"]);
    assert.deepEqual(csrToDense(X), COUNTS);
    assert.deepEqual(
      [...v.vocabulary],
      [
        ["cat", 0],
        ["dog", 1],
        ["ran", 2],
        ["sat", 3],
        ["the", 4],
      ],
    );
    assertSortedRows(X);
  });
  it("fit then transform equals fitTransform, and unseen terms are ignored", () => {
    const v = new CountVectorizer().fit(DOCS);
    assert.deepEqual(csrToDense(v.transform(DOCS)), COUNTS);
    assert.deepEqual(csrToDense(v.transform(["zebra cat zebra", ""])), [
      [1, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
  });
  it("ngramRange [1, 2] adds space-joined bigrams, sorted with the unigrams", () => {
    const v = new CountVectorizer({ ngramRange: [1, 2] });
    const X = v.fitTransform(DOCS);
    assert.deepEqual(v.getFeatureNames(), ["cat", "cat cat", "cat ran", "cat sat", "dog", "dog ran", "ran", "sat", "the", "the cat"]);
    assert.deepEqual(csrToDense(X), [
      [1, 0, 0, 1, 0, 0, 0, 1, 1, 1],
      [2, 1, 1, 0, 0, 0, 1, 0, 1, 1],
      [0, 0, 0, 0, 1, 1, 1, 0, 0, 0],
    ]);
  });
  it("ngramRange [2, 3] keeps only bigrams and trigrams", () => {
    const v = new CountVectorizer({ ngramRange: [2, 3] });
    v.fit(["a b c d"].map((d) => d.split(" ")));
    assert.deepEqual(v.getFeatureNames(), ["a b", "a b c", "b c", "b c d", "c d"]);
  });
  it("binary turns counts into 0/1", () => {
    assert.deepEqual(
      csrToDense(new CountVectorizer({ binary: true }).fitTransform(DOCS)),
      COUNTS.map((r) => r.map((x) => (x > 0 ? 1 : 0))),
    );
  });
  it("lowercase: false keeps case (and upper case sorts first)", () => {
    const v = new CountVectorizer({ lowercase: false }).fit(DOCS);
    assert.deepEqual(v.getFeatureNames(), ["CAT", "The", "cat", "dog", "ran", "sat", "the"]);
  });
  it("minDf: an integer is a document count, a fraction a proportion", () => {
    assert.deepEqual(new CountVectorizer({ minDf: 2 }).fit(DOCS).getFeatureNames(), ["cat", "ran", "the"]);
    // 0.5 · 3 docs = 1.5 → df >= 1.5
    assert.deepEqual(new CountVectorizer({ minDf: 0.5 }).fit(DOCS).getFeatureNames(), ["cat", "ran", "the"]);
    assert.deepEqual(new CountVectorizer({ minDf: 0.34 }).fit(DOCS).getFeatureNames(), ["cat", "ran", "the"]);
    assert.deepEqual(new CountVectorizer({ minDf: 0.33 }).fit(DOCS).getFeatureNames(), ["cat", "dog", "ran", "sat", "the"]);
  });
  it("maxDf: a fraction is a proportion, plain 1 means 100 %, {count: 1} means one document", () => {
    assert.deepEqual(new CountVectorizer({ maxDf: 0.5 }).fit(DOCS).getFeatureNames(), ["dog", "sat"]);
    assert.deepEqual(new CountVectorizer({ maxDf: 1 }).fit(DOCS).getFeatureNames(), ["cat", "dog", "ran", "sat", "the"]);
    assert.deepEqual(new CountVectorizer({ maxDf: { count: 1 } }).fit(DOCS).getFeatureNames(), ["dog", "sat"]);
    assert.deepEqual(new CountVectorizer({ maxDf: 2 }).fit(DOCS).getFeatureNames(), ["cat", "dog", "ran", "sat", "the"]);
    assert.deepEqual(new CountVectorizer({ minDf: { proportion: 0.5 }, maxDf: { proportion: 0.7 } }).fit(DOCS).getFeatureNames(), ["cat", "ran", "the"]);
  });
  it("transform after heavy pruning counts only the kept n-grams", () => {
    const v = new CountVectorizer({ ngramRange: [1, 2], minDf: 2 });
    const X = v.fitTransform(DOCS);
    assert.deepEqual(v.getFeatureNames(), ["cat", "ran", "the", "the cat"]);
    const expected = [
      [1, 0, 1, 1],
      [2, 1, 1, 1],
      [0, 1, 0, 0],
    ];
    assert.deepEqual(csrToDense(X), expected);
    assert.deepEqual(csrToDense(v.transform(DOCS)), expected);
    assert.deepEqual(csrToDense(v.transform(["cat sat the cat ran"])), [[2, 1, 1, 1]]);
  });
  it("pruning that leaves nothing, or maxDf below minDf, is an error", () => {
    assert.throws(
      () => new CountVectorizer({ minDf: { proportion: 1 } }).fit(DOCS),
      (e: unknown) => e instanceof DataError && /no terms remain/.test(e.message),
    );
    assert.throws(() => new CountVectorizer({ minDf: 3, maxDf: 2 }).fit(DOCS), /maxDf corresponds to fewer documents than minDf/);
  });
  it("maxFeatures keeps the largest total counts, ties broken by term order, applied after min/max df", () => {
    // total counts: cat 3, ran 2, the 2, dog 1, sat 1
    assert.deepEqual(new CountVectorizer({ maxFeatures: 2 }).fit(DOCS).getFeatureNames(), ["cat", "ran"]);
    assert.deepEqual(new CountVectorizer({ maxFeatures: 3 }).fit(DOCS).getFeatureNames(), ["cat", "ran", "the"]);
    assert.deepEqual(new CountVectorizer({ maxFeatures: 2, maxDf: { count: 1 } }).fit(DOCS).getFeatureNames(), ["dog", "sat"]);
    assert.deepEqual(new CountVectorizer({ maxFeatures: 10 }).fit(DOCS).getFeatureNames(), ["cat", "dog", "ran", "sat", "the"]);
  });
  it("maxFeatures ranks binary counts when binary is set (as scikit-learn does)", () => {
    const docs = ["xx xx xx yy", "yy zz", "yy zz"]; // counts: xx 3, yy 3, zz 2; doc freqs: xx 1, yy 3, zz 2
    assert.deepEqual(new CountVectorizer({ maxFeatures: 2 }).fit(docs).getFeatureNames(), ["xx", "yy"]);
    assert.deepEqual(new CountVectorizer({ maxFeatures: 2, binary: true }).fit(docs).getFeatureNames(), ["yy", "zz"]);
  });
  it("tokenPattern follows Python semantics: (?u)\\w is Unicode, one group selects the token", () => {
    assert.deepEqual(new CountVectorizer().fit(["naïve café 日本 x_y"]).getFeatureNames(), ["café", "naïve", "x_y", "日本"]);
    assert.deepEqual(new CountVectorizer({ tokenPattern: "(?u)\\b\\w+\\b" }).fit(["a cat"]).getFeatureNames(), ["a", "cat"]);
    assert.deepEqual(new CountVectorizer({ tokenPattern: "(\\w+)!" }).fit(["wow! meh great!"]).getFeatureNames(), ["great", "wow"]);
    assert.throws(() => new CountVectorizer({ tokenPattern: "(\\w)(\\w)" }), /at most one is allowed/);
    assert.throws(
      () => new CountVectorizer({ tokenPattern: "(" }),
      (e: unknown) => e instanceof InvalidParameterError && /not a valid regular expression/.test(e.message),
    );
  });
  it("accepts pre-tokenised documents as they are (no lowercasing, no token pattern)", () => {
    const v = new CountVectorizer({ ngramRange: [1, 2] });
    const X = v.fitTransform([
      ["Not", "a", "hit"],
      ["a", "hit"],
    ]);
    assert.deepEqual(v.getFeatureNames(), ["Not", "Not a", "a", "a hit", "hit"]);
    assert.deepEqual(csrToDense(X), [
      [1, 1, 1, 1, 1],
      [0, 0, 1, 1, 1],
    ]);
  });
  it("tokenises raw strings with preprocess() when given a preprocess config", () => {
    const v = new CountVectorizer({ preprocess: { wordForm: "none", removeStopwords: false, negationScope: true } });
    v.fit(["I didn't like it.", "Liked it :)"]);
    assert.deepEqual(v.getFeatureNames(), [":)", "did", "i", "it", "liked", "not", "not_it", "not_like"]);
    // The default config: stopwords out, stems, negation scope.
    assert.deepEqual(new CountVectorizer({ preprocess: {} }).fit(["I didn't like it.", "Liked it :)"]).getFeatureNames(), [
      ":)",
      "did",
      "like",
      "not",
      "not_like",
    ]);
  });
  it("sorts terms by code point like Python, also for astral characters and control characters", () => {
    assert.deepEqual(new CountVectorizer().fit([["😀", "\uFF01", "z"]]).getFeatureNames(), ["z", "\uFF01", "😀"]);
    assert.deepEqual(new CountVectorizer({ ngramRange: [1, 2] }).fit([["ab", "ab\tc", "ab"]]).getFeatureNames(), ["ab", "ab\tc", "ab\tc ab", "ab ab\tc"]);
  });
  it("rejects tokens containing a space when n-grams > 1 would make names ambiguous", () => {
    assert.throws(
      () => new CountVectorizer({ ngramRange: [1, 2] }).fit([["a b", "c"]]),
      (e: unknown) => e instanceof DataError && /contains a space/.test(e.message),
    );
    assert.deepEqual(new CountVectorizer().fit([["a b", "c"]]).getFeatureNames(), ["a b", "c"]);
  });
  it("a fixed vocabulary keeps its column order and ignores min/max df", () => {
    const v = new CountVectorizer({ vocabulary: ["the", "cat", "zebra"], minDf: 3 });
    assert.deepEqual(csrToDense(v.fitTransform(DOCS)), [
      [1, 1, 0],
      [1, 2, 0],
      [0, 0, 0],
    ]);
    assert.deepEqual(v.getFeatureNames(), ["the", "cat", "zebra"]);
    assert.deepEqual(new CountVectorizer({ vocabulary: { cat: 1, the: 0 } }).fit(DOCS).getFeatureNames(), ["the", "cat"]);
    assert.deepEqual(csrToDense(new CountVectorizer({ vocabulary: ["the cat", "ran"], ngramRange: [1, 2] }).fitTransform(DOCS)), [
      [1, 0],
      [1, 1],
      [0, 1],
    ]);
  });
  it("rejects bad fixed vocabularies", () => {
    assert.throws(() => new CountVectorizer({ vocabulary: ["a", "a"] }), /duplicate term in vocabulary: "a"/);
    assert.throws(() => new CountVectorizer({ vocabulary: { a: 0, b: 2 } }), /columns must be 0..1/);
    assert.throws(() => new CountVectorizer({ vocabulary: [] }), /empty vocabulary passed to fit/);
  });
  it("empty corpora and stopword-only corpora are DataErrors with scikit-learn's message", () => {
    assert.throws(
      () => new CountVectorizer().fit([]),
      (e: unknown) => e instanceof DataError && /empty vocabulary/.test(e.message),
    );
    assert.throws(() => new CountVectorizer().fit(["a", "b c", ""]), /empty vocabulary; perhaps the documents only contain stop words/);
    assert.throws(() => new CountVectorizer().fit("just one string" as never), /got a single string/);
    assert.throws(() => new CountVectorizer().fit([42 as never]), /document 0 must be a string or an array of tokens/);
  });
  it("rejects unknown, NaN and infinite options", () => {
    assert.throws(
      () => new CountVectorizer({ ngram_range: [1, 2] } as never),
      (e: unknown) => e instanceof InvalidParameterError && /'ngram_range'/.test(e.message),
    );
    assert.throws(() => new CountVectorizer({ minDf: Number.NaN }), InvalidParameterError);
    assert.throws(() => new CountVectorizer({ maxDf: Number.POSITIVE_INFINITY }), InvalidParameterError);
    assert.throws(() => new CountVectorizer({ minDf: 1.5 }), /integer document count >= 1 or a proportion/);
    assert.throws(() => new CountVectorizer({ maxFeatures: 0 }), InvalidParameterError);
    assert.throws(() => new CountVectorizer({ ngramRange: [2, 1] }), /lower bound is larger/);
    assert.throws(() => new CountVectorizer({ binary: "yes" as never }), InvalidParameterError);
  });
  it("transform before fit is an error", () => {
    assert.throws(
      () => new CountVectorizer().transform(DOCS),
      (e: unknown) => e instanceof PolarityError && /not fitted/.test(e.message),
    );
  });
});

describe("TfidfVectorizer", () => {
  const smoothIdf = DF.map((df) => Math.log((1 + 3) / (1 + df)) + 1);
  const plainIdf = DF.map((df) => Math.log(3 / df) + 1);
  const weight = (tf: number[][], idf: number[]) => tf.map((r) => r.map((x, j) => x * idf[j]));

  it("defaults: smooth idf ln((1+n)/(1+df)) + 1, then l2 row norm", () => {
    const v = new TfidfVectorizer();
    const X = v.fitTransform(DOCS);
    assertClose([Array.from(v.idf!)], [smoothIdf]);
    assertClose(csrToDense(X), normalizeRows(weight(COUNTS, smoothIdf), "l2"));
    assertClose(csrToDense(v.transform(DOCS)), csrToDense(X));
    assertSortedRows(X);
  });
  it("smoothIdf false: idf = ln(n/df) + 1", () => {
    const v = new TfidfVectorizer({ smoothIdf: false, norm: null });
    assertClose(csrToDense(v.fitTransform(DOCS)), weight(COUNTS, plainIdf));
    assertClose([Array.from(v.idf!)], [plainIdf]);
  });
  it("sublinearTf: tf → 1 + ln(tf)", () => {
    const sub = COUNTS.map((r) => r.map((x) => (x > 0 ? 1 + Math.log(x) : 0)));
    assertClose(csrToDense(new TfidfVectorizer({ sublinearTf: true, norm: null }).fitTransform(DOCS)), weight(sub, smoothIdf));
  });
  it("norm l1 divides by the sum of absolute values; null leaves rows unscaled", () => {
    assertClose(csrToDense(new TfidfVectorizer({ norm: "l1" }).fitTransform(DOCS)), normalizeRows(weight(COUNTS, smoothIdf), "l1"));
    assertClose(csrToDense(new TfidfVectorizer({ norm: null }).fitTransform(DOCS)), weight(COUNTS, smoothIdf));
  });
  it("useIdf false: normalised term frequencies, no idf", () => {
    const v = new TfidfVectorizer({ useIdf: false });
    assertClose(csrToDense(v.fitTransform(DOCS)), normalizeRows(COUNTS, "l2"));
    assert.equal(v.idf, null);
  });
  it("binary applies before idf", () => {
    const bin = COUNTS.map((r) => r.map((x) => (x > 0 ? 1 : 0)));
    assertClose(csrToDense(new TfidfVectorizer({ binary: true, norm: null }).fitTransform(DOCS)), weight(bin, smoothIdf));
  });
  it("with a fixed vocabulary, fitTransform weights once and equals transform", () => {
    const v = new TfidfVectorizer({ vocabulary: ["the", "cat"], sublinearTf: true, norm: null });
    const docs = ["the cat cat", "cat"];
    // df: the 1, cat 2; n = 2 → idf = ln(3/2) + 1, ln(3/3) + 1
    const expected = [
      [Math.log(1.5) + 1, (1 + Math.log(2)) * 1],
      [0, 1],
    ];
    assertClose(csrToDense(v.fitTransform(docs)), expected);
    assertClose(csrToDense(v.transform(docs)), expected);
  });
  it("an empty document is an all-zero row", () => {
    const X = new TfidfVectorizer().fit(DOCS).transform(["", "unknown words only"]);
    assert.deepEqual(Array.from(X.indptr), [0, 0, 0]);
  });
  it("rejects bad tf-idf options", () => {
    assert.throws(() => new TfidfVectorizer({ norm: "l3" as never }), /norm must be 'l1', 'l2' or null/);
    assert.throws(() => new TfidfVectorizer({ smoothIdf: 1 as never }), InvalidParameterError);
    assert.throws(() => new TfidfVectorizer({ sublinear_tf: true } as never), /'sublinear_tf'/);
  });
  it("TfidfTransformer alone gives the same matrix from counts", () => {
    const t = new TfidfTransformer();
    assertClose(csrToDense(t.fitTransform(csrFromDense(COUNTS))), csrToDense(new TfidfVectorizer().fitTransform(DOCS)));
    assert.throws(() => t.transform(csrFromDense([[1, 2]])), /2 columns, the transformer was fitted on 5/);
    assert.throws(() => new TfidfTransformer({ smoothIdf: false }).fit(csrFromDense([[1, 0]])), /occurs in no document/);
  });
});

describe("vectorizer JSON", () => {
  const TEST_DOCS = ["the cat ran away", "a dog", "", "cat cat cat"];

  it("round-trips a count vectorizer: transform after fromJSON equals before", () => {
    const v = new CountVectorizer({ ngramRange: [1, 2], minDf: 1, binary: true }).fit(DOCS);
    const json = JSON.parse(JSON.stringify(v.toJSON()));
    assert.equal(json.format, "polarity.vectorizer");
    assert.equal(json.version, 1);
    assert.equal(json.kind, "count");
    assert.deepEqual(json.vocabulary, v.getFeatureNames());
    assert.equal(json.idf, undefined);
    const back = vectorizerFromJSON(json);
    assert.ok(back instanceof CountVectorizer && !(back instanceof TfidfVectorizer));
    assert.deepEqual(back.transform(TEST_DOCS), v.transform(TEST_DOCS));
  });
  it("round-trips a tf-idf vectorizer with a preprocess config, bit for bit", () => {
    const v = new TfidfVectorizer({ ngramRange: [1, 2], sublinearTf: true, preprocess: { negationScope: true } }).fit(DOCS);
    const json = JSON.parse(JSON.stringify(v.toJSON()));
    assert.equal(json.kind, "tfidf");
    assert.equal(json.idf.length, json.vocabulary.length);
    const back = vectorizerFromJSON(json) as TfidfVectorizer;
    assert.deepEqual(back.transform(TEST_DOCS), v.transform(TEST_DOCS));
    assert.deepEqual(back.idf, v.idf);
    assert.deepEqual(back.toJSON(), v.toJSON());
  });
  it("rejects malformed JSON with clear errors", () => {
    const good = new TfidfVectorizer().fit(DOCS).toJSON();
    const bad = (patch: object) => () => vectorizerFromJSON({ ...good, ...patch });
    assert.throws(bad({ version: 2 }), (e: unknown) => e instanceof DataError && /unsupported version 2/.test(e.message));
    assert.throws(bad({ format: "other" }), /format must be "polarity.vectorizer"/);
    assert.throws(bad({ kind: "hashing" }), /kind must be/);
    assert.throws(bad({ idf: [1, 2] }), /idf must be an array of 5 numbers/);
    assert.throws(bad({ idf: [1, 2, 3, 4, null] }), /idf\[4\] must be a finite number/);
    assert.throws(bad({ vocabulary: ["a", "a", "b", "c", "d"] }), /duplicate vocabulary term "a"/);
    assert.throws(bad({ vocabulary: [] }), /non-empty array/);
    assert.throws(bad({ options: { ...good.options, bogus: 1 } }), /bad options: .*'bogus'/);
    assert.throws(() => vectorizerFromJSON({ ...new CountVectorizer().fit(DOCS).toJSON(), idf: [1] }), /count vectorizer has no idf/);
    assert.throws(() => vectorizerFromJSON("nope"), /expected an object/);
  });
});

describe("CountVectorizer and the documents' memory", () => {
  it("a fitted vocabulary does not keep the text its documents were cut from alive (long tokens are copied out of it)", () => {
    collectGarbage();
    const baseline = process.memoryUsage().heapUsed;
    // One ~20 MB string, the documents cut out of it as a CSV reader does (V8 makes substrings
    // of 13+ characters views of their parent), with a thousand distinct long tokens in all.
    let file: string | null = Array.from({ length: 300_000 }, (_, i) => `${i % 1000}extraordinarily wonderful moviegoing experience`).join("\n");
    const docs = file.split("\n");
    file = null;
    const vectorizer = new CountVectorizer({ lowercase: false }).fit(docs);
    docs.length = 0;
    collectGarbage();
    const grown = process.memoryUsage().heapUsed - baseline;
    assert.equal(vectorizer.nFeatures, 1000 + 3);
    assert.ok(vectorizer.vocabulary.has("7extraordinarily"));
    assert.ok(grown < 8 * 2 ** 20, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MB`);
  });
});
