import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadUciSentences } from "../../src/data/builtin.js";
import { SentimentModel, type TrainOptions } from "../../src/models/sentiment-model.js";
import { BINARY_MAGIC, sectionChecksum } from "../../src/models/binary-bundle.js";
import { LocalFileModelSource, loadModelBytes } from "../../src/serving/model-source.js";
import { validateModelBytesOffThread } from "../../src/serving/validate.js";
import { DataError } from "../../src/util/errors.js";
import { Random } from "../../src/util/random.js";

const { texts, labels } = loadUciSentences();
const trainTexts = texts.slice(0, 600);
const trainLabels = labels.slice(0, 600);
const probe = [...texts.slice(2000, 2300), "", "zzz unseen qqq", "not good at all. great :) 😀", "<b>Don't</b> buy it!!! www.x.com"];

function train(options: Omit<TrainOptions, "onProgress" | "onWarning">): SentimentModel {
  return SentimentModel.train(trainTexts, trainLabels, options);
}

const CONFIGS: Array<[string, Omit<TrainOptions, "onProgress" | "onWarning">]> = [
  ["tfidf 1-2 + logreg", { features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }, model: { kind: "logreg", C: 10 } }],
  ["bow 1-3 + afinn + nb", { features: { kind: "bow", ngramRange: [1, 3], lexicon: "afinn" }, model: { kind: "nb" } }],
  [
    "tfidf 2-2, no idf + svm, light",
    {
      preprocess: { removeStopwords: false, wordForm: "none", negationScope: false },
      features: { kind: "tfidf", ngramRange: [2, 2], useIdf: false },
      model: { kind: "svm" },
    },
  ],
  ["bow binary + nbsvm", { features: { kind: "bow", binary: true, minDf: 2 }, model: { kind: "nbsvm" } }],
  ["tfidf + random forest", { features: { kind: "tfidf", maxFeatures: 300 }, model: { kind: "rf", nEstimators: 5, seed: 1 } }],
];

describe("the binary model file (SentimentModel.toBinary / fromBinary)", { timeout: 120_000 }, () => {
  for (const [name, options] of CONFIGS) {
    test(`${name}: fromBinary(toBinary()) predicts bit for bit and writes the same JSON`, () => {
      const model = train(options);
      const bytes = model.toBinary();
      assert.ok(SentimentModel.isBinary(bytes));
      const copy = SentimentModel.fromBinary(bytes);
      assert.deepEqual(Array.from(copy.predictProba(probe)), Array.from(model.predictProba(probe)));
      assert.deepEqual(copy.toJSON(), model.toJSON());
      // A model restored from JSON (its lookup rebuilt from the terms) round-trips too.
      const fromJson = SentimentModel.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
      const again = SentimentModel.fromBinary(fromJson.toBinary({ shared: true }));
      assert.deepEqual(Array.from(again.predictProba(probe)), Array.from(model.predictProba(probe)));
    });
  }

  test("a model loaded from a binary file cannot learn: refitting its vectorizer builds a new lookup", () => {
    const model = SentimentModel.fromBinary(train(CONFIGS[0][1]).toBinary());
    assert.equal(model.explain("great phone, I love it").prediction.label, model.predict(["great phone, I love it"])[0].label);
  });

  test("a misaligned copy of the bytes is read the same (copied once to an aligned buffer)", () => {
    const model = train(CONFIGS[0][1]);
    const bytes = model.toBinary();
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const copy = SentimentModel.fromBinary(shifted.subarray(3));
    assert.deepEqual(Array.from(copy.predictProba(probe)), Array.from(model.predictProba(probe)));
  });
});

describe("corrupt, truncated and hostile binary model files are clear DataErrors", { timeout: 120_000 }, () => {
  const model = train(CONFIGS[1][1]);
  const good = model.toBinary();
  const headerLength = new DataView(good.buffer).getUint32(12, true);
  const header = JSON.parse(Buffer.from(good.subarray(16, 16 + headerLength)).toString("utf8")) as {
    sections: Array<{ name: string; type: string; offset: number; length: number; crc32: number }>;
  } & Record<string, unknown>;
  const sectionOf = (name: string) => header.sections.find((s) => s.name === name)!;

  /** The file with its header replaced (sections keep their offsets: the new header must fit the old space). */
  function withHeader(edit: (h: typeof header) => void, from: Uint8Array = good, reseal = true): Uint8Array {
    const h = structuredClone(header);
    edit(h);
    if (reseal) for (const e of h.sections) e.crc32 = sectionChecksum(from, e.offset, e.length * { u8: 1, u16: 2, i32: 4, f64: 8 }[e.type as "u8"]);
    const json = Buffer.from(JSON.stringify(h), "utf8");
    assert.ok(json.length <= sectionOf("grams.prefix").offset - 16, "the edited header fits");
    const out = from.slice();
    out.fill(0x20, 16, sectionOf("grams.prefix").offset);
    out.set(json, 16);
    new DataView(out.buffer).setUint32(12, json.length, true);
    return out;
  }

  /** The file with one section's checksum recomputed after an edit: what a hostile writer would do. */
  function resealed(bytes: Uint8Array): Uint8Array {
    return withHeader(() => {}, bytes, true);
  }

  function rejects(bytes: Uint8Array, pattern: RegExp): void {
    assert.throws(
      () => SentimentModel.fromBinary(bytes),
      (err: unknown) => err instanceof DataError && pattern.test(err.message),
    );
  }

  test("every truncation is refused with 'truncated' or a missing part, never another error", () => {
    const rng = new Random(3);
    const cuts = [0, 4, 8, 15, 16, 17, headerLength + 15, headerLength + 16, good.length - 1];
    for (let i = 0; i < 40; i++) cuts.push(rng.nextInt(good.length));
    for (const cut of cuts) {
      assert.throws(
        () => SentimentModel.fromBinary(good.subarray(0, cut)),
        (err: unknown) => err instanceof DataError && /truncated|not a Polarity binary model|header is not valid JSON/.test(err.message),
        `cut at ${cut}`,
      );
    }
  });

  test("a wrong magic, version or header length is named", () => {
    const json = new TextEncoder().encode('{"format":"polarity.sentiment-model"}');
    rejects(json, /not a Polarity binary model/);
    const v2 = good.slice();
    new DataView(v2.buffer).setUint32(8, 2, true);
    rejects(v2, /unsupported binary model version 2/);
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(12, 0xffffffff, true);
    rejects(huge, /header length 4294967295 is over the limit/);
    const long = good.slice();
    new DataView(long.buffer).setUint32(12, good.length, true);
    rejects(long, /truncated/);
  });

  test("a section claiming more elements than the file holds is refused before any view is made", () => {
    rejects(
      withHeader((h) => (h.sections.find((s) => s.name === "coef")!.length = 2 ** 40)),
      /truncated \(section "coef" ends at byte/,
    );
    rejects(
      withHeader((h) => (h.sections.find((s) => s.name === "atoms.lengths")!.offset = 3)),
      /section "atoms.lengths" has a bad offset or length/,
    );
    rejects(
      withHeader((h) => (h.sections.find((s) => s.name === "intercept")!.offset = h.sections.find((s) => s.name === "coef")!.offset), good, true),
      /sections overlap/,
    );
    rejects(
      withHeader((h) => (h.sections = h.sections.filter((s) => s.name !== "grams.table"))),
      /section "grams.table" is missing/,
    );
    rejects(
      withHeader((h) => (h.sections.find((s) => s.name === "coef")!.type = "i32")),
      /section "coef" has type i32, expected f64/,
    );
  });

  test("inconsistent n-gram tables, column maps and values are refused", () => {
    const patch = (name: string, type: "i32" | "f64" | "u8", index: number, value: number): Uint8Array => {
      const out = good.slice();
      const s = sectionOf(name);
      const view =
        type === "i32"
          ? new Int32Array(out.buffer, s.offset, s.length)
          : type === "f64"
            ? new Float64Array(out.buffer, s.offset, s.length)
            : new Uint8Array(out.buffer, s.offset, s.length);
      view[index] = value;
      return resealed(out);
    };
    const lengths = new Uint8Array(good.buffer, sectionOf("grams.length").offset, sectionOf("grams.length").length);
    const bigram = lengths.findIndex((l) => l === 2);
    rejects(patch("grams.prefix", "i32", bigram, bigram + 5), /gram \d+ is inconsistent/);
    rejects(patch("grams.length", "u8", bigram, 7), /inconsistent|n-gram table slot/);
    rejects(patch("columns.ofGram", "i32", 0, 1_000_000), /does not map back|map to the/);
    rejects(patch("coef", "f64", 3, NaN), /coef\[3\] is not a finite number/);
    // An n-gram table that is full (no empty slot) would make a probe loop forever.
    const table = sectionOf("grams.table");
    const full = good.slice();
    const slots = new Int32Array(full.buffer, table.offset, table.length);
    for (let k = 0; k < slots.length; k += 3) if (slots[k + 2] === -1) slots.set([0, 0, 0], k);
    rejects(resealed(full), /n-gram table slot \d+ is corrupt|no empty slot/);
    // Without a resealed checksum, any edit of a section is caught as corruption.
    const flipped = good.slice();
    flipped[sectionOf("coef").offset + 5] ^= 0x10;
    rejects(flipped, /section "coef" is corrupt \(its checksum does not match\)/);
  });

  test("a hostile table with an empty slot but misplaced entries cannot hang a lookup", () => {
    const table = sectionOf("grams.table");
    const moved = good.slice();
    const m = new Int32Array(moved.buffer, table.offset, table.length);
    const used = Array.from({ length: m.length / 3 }, (_, i) => i).filter((i) => m[i * 3 + 2] >= 0);
    const free = Array.from({ length: m.length / 3 }, (_, i) => i).filter((i) => m[i * 3 + 2] < 0);
    m.copyWithin(free[free.length - 1] * 3, used[0] * 3, used[0] * 3 + 3);
    m.set([0, 0, -1], used[0] * 3);
    const loaded = SentimentModel.fromBinary(resealed(moved));
    assert.equal(loaded.predictProba(probe).length, probe.length * 2);
  });

  test("random byte flips give a DataError or a working model, never a crash", () => {
    const rng = new Random(11);
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      const bad = good.slice();
      for (let f = 0; f < 3; f++) bad[rng.nextInt(bad.length)] ^= 1 << rng.nextInt(8);
      try {
        SentimentModel.fromBinary(bad).predictProba(["great", "awful :("]);
      } catch (err) {
        assert.ok(err instanceof DataError, `flip ${i}: ${(err as Error).stack}`);
        refused++;
      }
    }
    assert.ok(refused > 0);
  });

  test("the header's model parts are validated as in JSON (classes, preprocess, kinds)", () => {
    rejects(
      withHeader((h) => ((h.model as Record<string, unknown>).classes = [0, 2])),
      /top-level classes/,
    );
    rejects(
      withHeader((h) => ((h.model as Record<string, unknown>).format = "x")),
      /format must be/,
    );
    rejects(
      withHeader((h) => ((h.vectorizer as Record<string, unknown>).kind = "x")),
      /kind must be "count" or "tfidf"/,
    );
    rejects(
      withHeader((h) => (h.linear = "yes")),
      /linear must be true or false/,
    );
  });
});

describe("serving loads binary model files, and a reload hands the main thread ready arrays", { timeout: 120_000 }, () => {
  const model = train(CONFIGS[0][1]);
  const parse = (json: unknown) => SentimentModel.fromJSON(json);

  test("a model directory with model.bin next to model.json serves the binary one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polarity-bin-"));
    try {
      writeFileSync(join(dir, "model.json"), JSON.stringify(model.toJSON()));
      writeFileSync(join(dir, "model.bin"), model.toBinary());
      writeFileSync(join(dir, "MLmodel"), "flavors: {}\n");
      const source = new LocalFileModelSource(dir, parse);
      const loaded = (await (await source.resolve()).load()) as SentimentModel;
      assert.deepEqual(Array.from(loaded.predictProba(probe)), Array.from(model.predictProba(probe)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("while serving, JSON and binary files are validated off-thread and adopted from the worker's binary form", async () => {
    const guard = { validate: validateModelBytesOffThread };
    for (const bytes of [Buffer.from(JSON.stringify(model.toJSON())), Buffer.from(model.toBinary())]) {
      const loaded = (await loadModelBytes(bytes, "m", parse, guard, true)) as SentimentModel;
      assert.deepEqual(Array.from(loaded.predictProba(probe)), Array.from(model.predictProba(probe)));
    }
    const corrupt = Buffer.from(model.toBinary());
    corrupt.write("PLRTYBIN", 0, "latin1");
    new DataView(corrupt.buffer, corrupt.byteOffset).setUint32(12, corrupt.length, true);
    await assert.rejects(
      loadModelBytes(corrupt, "m", parse, guard, true),
      (err: unknown) => err instanceof DataError && /model file m is not a valid model: .*truncated/.test(err.message),
    );
    await assert.rejects(
      loadModelBytes(Buffer.from(BINARY_MAGIC), "m", parse, {}, false),
      (err: unknown) => err instanceof DataError && /truncated/.test(err.message),
    );
  });
});
