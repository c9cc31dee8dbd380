import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import { resolveMonitoringConfig } from "../../src/monitoring/config.js";
import { ModelMonitor } from "../../src/monitoring/monitor.js";
import { profiledModel } from "./fixtures.js";

/**
 * The texts the drift tick profiles are a sample spread over the interval: after a tick that
 * saw N predictions, every floor(N / textsPerTick)-th text is kept, so a busy interval gives
 * about textsPerTick texts from all of it (not the last textsPerTick), and a quiet one keeps
 * every text.
 */

const fixture = profiledModel();
const loaded = { model: fixture.model, name: "sentiment", version: "1" };
const k = fixture.model.classes.length;

/** Records each text as the serving fast path does (one text per request). */
function feed(monitor: ModelMonitor, texts: readonly string[]): void {
  for (const t of texts) {
    const proba = fixture.model.predictProba([t]);
    let b = 0;
    for (let c = 1; c < k; c++) if (proba[c] > proba[b]) b = c;
    monitor.recordScores(loaded, proba, k, Uint32Array.of(b), [t]);
  }
}

function textWindow(monitor: ModelMonitor): { total: number; tokens: Float64Array; size: number } {
  // The window the drift statistics read (as computeDrift does).
  const state = (monitor as unknown as { state: { texts: { total: number; tokens: Float64Array; size: number } } }).state;
  return state.texts;
}

describe("ModelMonitor text sample", { timeout: 60_000 }, () => {
  test("a quiet interval keeps every text; a busy one keeps every stride-th, spread over the interval", async () => {
    const monitor = new ModelMonitor(resolveMonitoringConfig({ intervalMs: 0, textsPerTick: 10 }, {}), new Registry());
    const stream = fixture.stream.texts;
    // Quiet: 8 predictions, stride 1 → all 8 profiled.
    feed(monitor, stream.slice(0, 8));
    await monitor.tick();
    assert.equal(textWindow(monitor).total, 8);
    // The first busy interval still has stride 1 (set from the 8 before it): the ring keeps the last 10.
    feed(monitor, stream.slice(0, 200));
    await monitor.tick();
    assert.equal(textWindow(monitor).total, 18);
    // Now stride floor(200 / 10) = 20: of the next 200, texts 0, 20, …, 180 (every 20th, from all of the interval).
    const next = stream.slice(200, 400);
    feed(monitor, next);
    await monitor.tick();
    const w = textWindow(monitor);
    assert.equal(w.total, 28);
    // Their token counts, in order, are those of the stride-th texts (the window appends in arrival order).
    const probe = new ModelMonitor(resolveMonitoringConfig({ intervalMs: 0, textsPerTick: 10 }, {}), new Registry());
    const sampled = next.filter((_, i) => i % 20 === 0);
    feed(probe, sampled);
    await probe.tick();
    const p = textWindow(probe);
    assert.equal(p.total, 10);
    const last10 = Array.from({ length: 10 }, (_, j) => w.tokens[(w.total - 10 + j) % w.tokens.length]);
    assert.deepEqual(last10, [...p.tokens.slice(0, 10)]);
    // Traffic drops: stride floor(200 / 10) = 20 for this interval, then back to 1 after a quiet tick.
    feed(monitor, stream.slice(400, 405));
    await monitor.tick();
    assert.equal(textWindow(monitor).total, 29, "5 predictions at stride 20: only the first (the countdown ran out at the interval's end)");
    feed(monitor, stream.slice(405, 410));
    await monitor.tick();
    assert.equal(textWindow(monitor).total, 34, "stride back to 1 after the quiet interval");
  });
});
