import { test } from "node:test";
import assert from "node:assert/strict";
import { AggregatorRegistry, Histogram, Registry, type Metric } from "prom-client";
import { TypedHistogram } from "../../src/serving/metrics.js";

const BOUNDS = [0, 16, 32, 64, 128];
const VALUES = [0, 3, 16, 16.5, 40, 64, 100, 128, 129, 5000, 7];

test("TypedHistogram prints exactly what prom-client's Histogram prints for the same observations", async () => {
  const ours = new Registry();
  const typed = new TypedHistogram("h", "help text", BOUNDS);
  ours.registerMetric(typed as unknown as Metric);
  const reference = new Registry();
  const histogram = new Histogram({ name: "h", help: "help text", buckets: BOUNDS, registers: [reference] });
  for (const v of VALUES) {
    typed.observe(v);
    histogram.observe(v);
  }
  assert.equal(await ours.metrics(), await reference.metrics());
});

test("TypedHistograms from several workers aggregate like prom-client's (buckets, sum and count summed)", async () => {
  const parts = [VALUES.slice(0, 5), VALUES.slice(5)];
  const typedJson = [];
  const referenceJson = [];
  for (const part of parts) {
    const ours = new Registry();
    const typed = new TypedHistogram("h", "help text", BOUNDS);
    ours.registerMetric(typed as unknown as Metric);
    const reference = new Registry();
    const histogram = new Histogram({ name: "h", help: "help text", buckets: BOUNDS, registers: [reference] });
    for (const v of part) {
      typed.observe(v);
      histogram.observe(v);
    }
    typedJson.push(await ours.getMetricsAsJSON());
    referenceJson.push(await reference.getMetricsAsJSON());
  }
  const aggregated = await AggregatorRegistry.aggregate(typedJson).metrics();
  assert.equal(aggregated, await AggregatorRegistry.aggregate(referenceJson).metrics());
  assert.match(aggregated, /^h_count 11$/m);
  assert.match(aggregated, /^h_bucket\{le="\+Inf"\} 11$/m);
});
