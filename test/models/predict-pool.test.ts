import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { loadUciSentences } from "../../src/data/builtin.js";
import { PARALLEL_MIN_TEXTS, PredictionPool } from "../../src/models/parallel/predict-pool.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";
import { Random } from "../../src/util/random.js";

let model: SentimentModel;
/** Default pool: calling thread + 1 worker. */
let pool: PredictionPool;
/** Two workers, idle calling thread. */
let workersOnly: PredictionPool;
/** A few thousand texts the model has not seen: built-in sentences with words shuffled (seeded). */
let unseen: string[];

before(async () => {
  const { texts, labels } = loadUciSentences();
  model = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 1 } });
  const rng = new Random(3);
  unseen = Array.from({ length: 6000 }, (_, i) => {
    const words = texts[(i * 7) % texts.length].split(" ");
    for (let j = words.length - 1; j > 0; j--) {
      const r = Math.floor(rng.nextFloat() * (j + 1));
      [words[j], words[r]] = [words[r], words[j]];
    }
    return words.join(" ");
  });
  pool = await PredictionPool.create(model);
  workersOnly = await PredictionPool.create(model, { workers: 2, useCallingThread: false });
});

after(async () => {
  await pool.close();
  await workersOnly.close();
});

test("parallel probabilities equal the serial model's exactly, in input order", async () => {
  const serial = model.predictProba(unseen);
  const parallel = await pool.predictProba(unseen);
  assert.equal(parallel.length, unseen.length * model.classes.length);
  assert.deepEqual(Array.from(parallel), Array.from(serial));
  assert.deepEqual(Array.from(await workersOnly.predictProba(unseen)), Array.from(serial));
  // Order: the same texts reversed give the rows reversed.
  const reversed = await pool.predictProba([...unseen].reverse());
  const k = model.classes.length;
  for (let i = 0; i < unseen.length; i++) {
    const j = unseen.length - 1 - i;
    for (let c = 0; c < k; c++) assert.equal(reversed[j * k + c], serial[i * k + c]);
  }
});

test("a pool built from the model's JSON predicts the same as one built from the model", async () => {
  const fromJson = await PredictionPool.create(JSON.parse(JSON.stringify(model.toJSON())) as ReturnType<SentimentModel["toJSON"]>, { workers: 1 });
  try {
    assert.deepEqual(Array.from(await fromJson.predictProba(unseen.slice(0, 3000))), Array.from(model.predictProba(unseen.slice(0, 3000))));
    assert.deepEqual(Array.from(await fromJson.predictProba(unseen.slice(0, 5))), Array.from(model.predictProba(unseen.slice(0, 5))));
  } finally {
    await fromJson.close();
  }
});

test("a batch below the parallel threshold is scored on the calling thread with the same result", async () => {
  const small = unseen.slice(0, PARALLEL_MIN_TEXTS - 1);
  assert.deepEqual(Array.from(await pool.predictProba(small)), Array.from(model.predictProba(small)));
  assert.deepEqual(Array.from(await pool.predictProba(["I love it"])), Array.from(model.predictProba(["I love it"])));
});

test("an empty batch gives an empty result", async () => {
  const out = await pool.predictProba([]);
  assert.equal(out.length, 0);
});

test("bad input is a DataError naming the offending text", async () => {
  const texts: unknown[] = [...unseen];
  texts[4321] = 42;
  await assert.rejects(pool.predictProba(texts as string[]), (e: unknown) => e instanceof DataError && /texts\[4321\] must be a string/.test(e.message));
  await assert.rejects(pool.predictProba("one text" as unknown as string[]), DataError);
});

test("concurrent batches each get their own rows", async () => {
  const a = unseen.slice(0, 3000);
  const b = unseen.slice(3000);
  const [pa, pb] = await Promise.all([pool.predictProba(a), pool.predictProba(b)]);
  assert.deepEqual(Array.from(pa), Array.from(model.predictProba(a)));
  assert.deepEqual(Array.from(pb), Array.from(model.predictProba(b)));
});

test("a closed pool rejects with a clear error; closing twice is harmless", async () => {
  const p = await PredictionPool.create(model, { workers: 1 });
  await p.close();
  await p.close();
  await assert.rejects(p.predictProba(unseen), (e: unknown) => e instanceof InvalidParameterError && /pool is closed/.test(e.message));
  await assert.rejects(p.predictProba(["short"]), /pool is closed/);
});

test("invalid pool options and a malformed model JSON are rejected at creation", async () => {
  await assert.rejects(PredictionPool.create(model, { workers: 0 }), InvalidParameterError);
  await assert.rejects(PredictionPool.create(model, { threads: 2 } as never), InvalidParameterError);
  await assert.rejects(PredictionPool.create(model, { useCallingThread: "yes" } as never), InvalidParameterError);
  const broken = { ...model.toJSON(), version: 7 } as unknown as ReturnType<SentimentModel["toJSON"]>;
  await assert.rejects(PredictionPool.create(broken, { workers: 1 }), (e: unknown) => e instanceof DataError && /unsupported version 7/.test(e.message));
});

test("an idle pool that is never closed does not keep the process alive, and an awaited batch does", () => {
  const poolUrl = new URL("../../src/models/parallel/predict-pool.ts", import.meta.url).href;
  const modelUrl = new URL("../../src/models/sentiment-model.ts", import.meta.url).href;
  const script = [
    `const { PredictionPool } = await import(${JSON.stringify(poolUrl)});`,
    `const { SentimentModel } = await import(${JSON.stringify(modelUrl)});`,
    `const m = SentimentModel.train(["good", "bad", "great", "awful"], [1, 0, 1, 0], { features: { kind: "bow" }, model: { kind: "logreg" } });`,
    `const pool = await PredictionPool.create(m, { workers: 2 });`,
    `const out = await pool.predictProba(Array.from({ length: 3000 }, (_, i) => i % 2 ? "good" : "bad"));`,
    `console.log("rows", out.length / 2);`,
  ].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), "rows 3000");
});

test("a worker that dies makes the batch in flight and later batches reject with a clear error", async () => {
  const p = await PredictionPool.create(model, { workers: 2, useCallingThread: false });
  try {
    // Simulates a crash (e.g. out of memory) of one worker from outside.
    const workers = (p as unknown as { workers: { terminate(): Promise<number> }[] }).workers;
    const stopped = workers[1].terminate();
    const inFlight = p.predictProba(unseen);
    await stopped;
    await assert.rejects(inFlight, /prediction worker exited unexpectedly/);
    await assert.rejects(p.predictProba(unseen), /prediction worker exited unexpectedly/);
  } finally {
    await p.close();
  }
});
