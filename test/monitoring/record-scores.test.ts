import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { resolveMonitoringConfig } from "../../src/monitoring/config.js";
import { ModelMonitor } from "../../src/monitoring/monitor.js";
import { Random } from "../../src/util/random.js";
import { profiledModel } from "./fixtures.js";

/**
 * ModelMonitor.recordScores (the serving fast path's hook, typed scores) must leave the monitor
 * exactly as record() of the equivalent Prediction objects does: same drift statistics, same
 * windows, ids of the same form that /feedback scores the same way.
 */

const fixture = profiledModel("imdb");
const loaded = { model: fixture.model, name: "sentiment", version: "1" };

function newMonitor(): ModelMonitor {
  return new ModelMonitor(resolveMonitoringConfig({ intervalMs: 0 }, {}), new Registry());
}

function argmax(proba: Float64Array, k: number): Uint32Array {
  const n = proba.length / k;
  const best = new Uint32Array(n);
  for (let i = 0, o = 0; i < n; i++, o += k) {
    let b = 0;
    for (let c = 1; c < k; c++) if (proba[o + c] > proba[o + b]) b = c;
    best[i] = b;
  }
  return best;
}

describe("ModelMonitor.recordScores", { timeout: 60_000 }, () => {
  test("gives the same drift, windows and id classes as record() of the same predictions", async () => {
    const viaObjects = newMonitor();
    const viaScores = newMonitor();
    const rng = new Random(11);
    const k = fixture.model.classes.length;
    for (let tick = 0; tick < 30; tick++) {
      // Mixed traffic: in-distribution and other-domain sentences, one to three per request.
      for (let r = 0; r < 40; r++) {
        const set = rng.nextInt(3) === 0 ? fixture.otherDomain : fixture.stream;
        const texts = Array.from({ length: 1 + rng.nextInt(3) }, () => set.texts[rng.nextInt(set.texts.length)]);
        const a = viaObjects.record(loaded, fixture.model.predict(texts), texts);
        const proba = fixture.model.predictProba(texts);
        const b = viaScores.recordScores(loaded, proba, k, argmax(proba, k), texts);
        assert.equal(b.length, texts.length);
        // Ids: <boot>-<sequence>-<class>; the sequence and class agree, the boot differs per monitor.
        assert.deepEqual(
          b.map((id) => id.split("-").slice(1).join("-")),
          a.map((id) => id.split("-").slice(1).join("-")),
        );
      }
      await viaObjects.tick();
      await viaScores.tick();
    }
    assert.ok(viaObjects.lastDrift && viaScores.lastDrift, "both monitors computed drift");
    assert.deepEqual(viaScores.lastDrift.values, viaObjects.lastDrift.values);
    assert.equal(viaScores.lastDrift.predictions, viaObjects.lastDrift.predictions);
    assert.equal(viaScores.lastDrift.texts, viaObjects.lastDrift.texts);
  });

  test("its ids are scored by /feedback like record()'s, and a wrong column count is refused", async () => {
    const monitor = newMonitor();
    const texts = fixture.stream.texts.slice(0, 20);
    const k = fixture.model.classes.length;
    const proba = fixture.model.predictProba(texts);
    const best = argmax(proba, k);
    const ids = monitor.recordScores(loaded, proba, k, best, texts);
    // The true label = the predicted one for the first 10, the other class for the rest.
    const items = ids.map((id, i) => ({ id, label: fixture.model.classes[i < 10 ? best[i] : 1 - best[i]] }));
    assert.deepEqual(monitor.feedback(loaded, items), { recorded: 20, duplicates: 0 });
    await monitor.tick();
    assert.equal(monitor.lastLive?.accuracy, 0.5);
    assert.throws(() => monitor.recordScores(loaded, proba, k + 1, best, texts), /3 score columns for a model with 2 classes/);
  });
});
