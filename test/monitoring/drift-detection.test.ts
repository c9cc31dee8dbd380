import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { resolveMonitoringConfig } from "../../src/monitoring/config.js";
import { driftAlarms, type DriftStatistic } from "../../src/monitoring/drift.js";
import { ModelMonitor } from "../../src/monitoring/monitor.js";
import type { Prediction } from "../../src/models/sentiment-model.js";
import { Random } from "../../src/util/random.js";
import { profiledModel, type LabelledSet } from "./fixtures.js";

/**
 * Drift and accuracy alarms measured on real text through the server's own ModelMonitor
 * (the code the model server runs, ticked by hand instead of by its timer). The model is
 * trained on the Amazon and Yelp sentences and profiled on held-out ones; IMDB sentences
 * are "another domain". Default windows: 1000 predictions, 500 tokenised texts.
 */

const BATCH = 50; // predictions between two ticks (the server ticks every 2 s)
const fixture = profiledModel("imdb");
const loaded = { model: fixture.model, name: "sentiment", version: "1" };

// The model is a pure function of the text: each distinct text is predicted once.
const predictionCache = new Map<string, Prediction>();
function predict(texts: string[]): Prediction[] {
  const missing = [...new Set(texts.filter((t) => !predictionCache.has(t)))];
  if (missing.length > 0) fixture.model.predict(missing).forEach((p, i) => predictionCache.set(missing[i], p));
  return texts.map((t) => predictionCache.get(t)!);
}

function newMonitor(): ModelMonitor {
  return new ModelMonitor(resolveMonitoringConfig({ intervalMs: 0 }, {}), new Registry());
}

/** Draws with replacement from `set`, optionally transforming each text; feeds BATCH at a time; calls `onTick` after each tick. */
async function stream(
  monitor: ModelMonitor,
  set: LabelledSet,
  count: number,
  rng: Random,
  onTick: (fed: number, ids: string[], labels: number[]) => boolean | void,
  transform: (t: string, r: Random) => string = (t) => t,
): Promise<number> {
  for (let fed = 0; fed < count;) {
    const texts: string[] = [];
    const labels: number[] = [];
    for (let i = 0; i < BATCH; i++) {
      const j = rng.nextInt(set.texts.length);
      texts.push(transform(set.texts[j], rng));
      labels.push(set.labels[j]);
    }
    const ids = monitor.record(loaded, predict(texts), texts);
    fed += BATCH;
    await monitor.tick();
    if (onTick(fed, ids, labels) === true) return fed;
  }
  return -1;
}

function alarmsOf(monitor: ModelMonitor): DriftStatistic[] {
  return monitor.lastDrift ? driftAlarms(monitor.lastDrift.values, monitor.config.thresholds) : [];
}

const rounded = (values: Record<string, number>): string => JSON.stringify(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, +v.toFixed(3)])));

describe("drift alarms on real text", { timeout: 180_000 }, () => {
  test("an in-distribution stream raises no drift alarm: false-alarm rate over 20 windows of 1000 predictions", async (t) => {
    const monitor = newMonitor();
    let ticks = 0;
    let alarmed = 0;
    const worst: Record<string, number> = {};
    await stream(monitor, fixture.stream, 20_000, new Random(11), (fed) => {
      if (fed < 1000) return; // the window fills first
      ticks++;
      for (const [k, v] of Object.entries(monitor.lastDrift!.values)) worst[k] = Math.max(worst[k] ?? 0, v);
      if (alarmsOf(monitor).length > 0) alarmed++;
    });
    const rate = alarmed / ticks;
    t.diagnostic(`false alarms: ${alarmed} of ${ticks} checks (${(100 * rate).toFixed(2)} %) over 20 windows; worst values ${rounded(worst)}`);
    assert.ok(ticks >= 350);
    assert.ok(rate <= 0.01, `false-alarm rate ${rate}`);
  });

  /** After 2000 in-distribution requests, streams the shifted traffic: requests until the first alarm of each statistic (within 1500). */
  async function detectionDelays(
    t: { diagnostic(m: string): void },
    name: string,
    set: LabelledSet,
    transform?: (t: string, r: Random) => string,
  ): Promise<{ first: number; by: Partial<Record<DriftStatistic, number>> }> {
    const monitor = newMonitor();
    const rng = new Random(5);
    await stream(monitor, fixture.stream, 2000, rng, () => undefined);
    assert.deepEqual(alarmsOf(monitor), [], "no alarm before the shift");
    const by: Partial<Record<DriftStatistic, number>> = {};
    await stream(
      monitor,
      set,
      1500,
      rng,
      (fed) => {
        for (const a of alarmsOf(monitor)) by[a] ??= fed;
      },
      transform,
    );
    const first = Math.min(...Object.values(by));
    t.diagnostic(
      `${name}: first alarm ${first} requests after the shift; per statistic ${JSON.stringify(by)}; drift at the end ${rounded(monitor.lastDrift!.values)}`,
    );
    return { first, by };
  }

  test("another domain (IMDB reviews) raises drift within 500 requests (OOV shift)", async (t) => {
    const { first, by } = await detectionDelays(t, "IMDB", fixture.otherDomain);
    assert.ok(first <= 500, `first alarm after ${first}`);
    assert.ok(by.oov_shift !== undefined && by.oov_shift <= 500, "the new vocabulary shows as OOV shift");
  });

  test("texts six times longer raise drift within 300 requests, and length drift within 600", async (t) => {
    const sixSentences = (first: string, r: Random): string =>
      [first, ...Array.from({ length: 5 }, () => fixture.stream.texts[r.nextInt(fixture.stream.texts.length)])].join(" ");
    const { first, by } = await detectionDelays(t, "6x longer texts", fixture.stream, sixSentences);
    assert.ok(first <= 300, `first alarm after ${first}`);
    assert.ok(Math.min(by.length_psi ?? Infinity, by.length_js ?? Infinity) <= 600);
  });

  test("three-word texts raise length drift within 300 requests", async (t) => {
    const { first, by } = await detectionDelays(t, "3-word texts", fixture.stream, (text) => text.split(" ").slice(0, 3).join(" "));
    assert.ok(first <= 300, `first alarm after ${first}`);
    assert.ok(Math.min(by.length_psi ?? Infinity, by.length_js ?? Infinity) <= 300);
  });
});

describe("live-accuracy alarms from feedback", { timeout: 180_000 }, () => {
  const reference = (fixture.json.metadata.referenceProfile as { accuracy: number }).accuracy;
  const MIN_LABELLED = 100;
  /** The rule of PolarityLiveAccuracyDrop, on the monitor's window: accuracy below reference − 0.1 with enough labels. */
  const dropped = (m: ModelMonitor): boolean => !!m.lastLive && m.lastLive.labelled >= MIN_LABELLED && m.lastLive.accuracy < reference - 0.1;

  async function feed(
    monitor: ModelMonitor,
    set: LabelledSet,
    count: number,
    rng: Random,
    flip: number,
    stop: (fed: number) => boolean | void,
  ): Promise<number> {
    return stream(monitor, set, count, rng, (fed, ids, labels) => {
      const result = monitor.feedback(
        loaded,
        ids.map((id, i) => ({ id, label: rng.nextFloat() < flip ? 1 - labels[i] : labels[i] })),
      );
      assert.equal(result.recorded, ids.length);
      return stop(fed);
    });
  }

  test("true labels of in-distribution traffic raise no accuracy alarm over 10 windows of 500 labels", async (t) => {
    const monitor = newMonitor();
    let checks = 0;
    let alarms = 0;
    let lowest = 1;
    await feed(monitor, fixture.stream, 5_000, new Random(3), 0, (fed) => {
      if (fed < MIN_LABELLED) return;
      checks++;
      lowest = Math.min(lowest, monitor.lastLive!.accuracy);
      if (dropped(monitor)) alarms++;
    });
    t.diagnostic(`reference accuracy ${reference.toFixed(3)}; live accuracy never below ${lowest.toFixed(3)}; false alarms ${alarms} of ${checks} checks`);
    assert.equal(alarms, 0);
  });

  test("labels that disagree with 30 % more predictions raise the accuracy alarm within 500 labels", async (t) => {
    const monitor = newMonitor();
    const rng = new Random(9);
    await feed(monitor, fixture.stream, 1000, rng, 0, () => undefined);
    assert.equal(dropped(monitor), false);
    const delay = await feed(monitor, fixture.stream, 2000, rng, 0.3, () => dropped(monitor));
    t.diagnostic(
      `accuracy alarm ${delay} labels after the change (live accuracy ${monitor.lastLive!.accuracy.toFixed(3)} vs reference ${reference.toFixed(3)})`,
    );
    assert.ok(delay > 0 && delay <= 500, `delay ${delay}`);
  });

  test("another domain's labels: the live accuracy is measured (and reported) against the reference", async (t) => {
    const monitor = newMonitor();
    await feed(monitor, fixture.otherDomain, 1000, new Random(4), 0, () => undefined);
    t.diagnostic(`IMDB live accuracy ${monitor.lastLive!.accuracy.toFixed(3)} (F1 ${monitor.lastLive!.f1.toFixed(3)}) vs reference ${reference.toFixed(3)}`);
    assert.ok(monitor.lastLive!.accuracy < reference);
  });
});
