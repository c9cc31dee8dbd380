import cluster from "node:cluster";
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from "prom-client";
import type { Label, LoadedModel, Prediction } from "./model-types.js";
import { METRICS_REQ, METRICS_RES } from "./cluster-metrics.js";

/** Latency buckets (seconds): finer than prometheus_client's defaults because predictions take well under 1 ms. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const PROBABILITY_BUCKETS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1];
const INPUT_LENGTH_BUCKETS = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one),
 * so that several servers in one process (tests) do not collide.
 *
 * Names kept from the seed's Flask app for dashboard compatibility:
 * `app_request_count_total{method,endpoint}`, `app_request_latency_seconds{endpoint}`,
 * `model_prediction_count_total{prediction}`. `endpoint` is the route pattern
 * (`/v2/models/:name/infer`), never the raw URL, and `<unmatched>` for 404s, so label
 * cardinality stays bounded whatever clients send.
 *
 * Label children are cached per route/label so the per-request cost is a Map lookup and
 * two increments.
 */
export class ServingMetrics {
  readonly registry = new Registry();
  private readonly requestCount: TypedLabelledCounter;
  private readonly requestLatency: TypedLabelledHistogram;
  private readonly predictionCount: TypedLabelledCounter;
  private readonly predictionProbability: TypedHistogram;
  private readonly inputLength: TypedHistogram;
  private readonly errorCount: Counter<"status_code">;
  private readonly reloads: Counter<"result">;
  private readonly modelInfo: Gauge<"name" | "version" | "alias">;
  private readonly canaryRefusals: Counter;
  private readonly shed: Counter;
  private readonly requestChildren = new Map<string, RequestSeries>();
  private readonly predictionChildren = new Map<Label, { value: number }>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Typed, like the per-text histograms: prom-client's labelled observe()/inc() hash the
    // labels on every call, a few per cent of a single-text request's CPU in a profile.
    this.requestCount = new TypedLabelledCounter("app_request_count_total", "Total number of HTTP requests, by method and route pattern.");
    this.requestLatency = new TypedLabelledHistogram("app_request_latency_seconds", "HTTP request latency in seconds, by route pattern.", LATENCY_BUCKETS);
    this.registry.registerMetric(this.requestCount as unknown as Metric);
    this.registry.registerMetric(this.requestLatency as unknown as Metric);
    this.predictionCount = new TypedLabelledCounter("model_prediction_count_total", "Number of predictions, by predicted label.");
    this.registry.registerMetric(this.predictionCount as unknown as Metric);
    this.predictionProbability = new TypedHistogram("model_prediction_probability", "Probability of the predicted label.", PROBABILITY_BUCKETS);
    this.inputLength = new TypedHistogram("model_input_length_chars", "Length of each input text in UTF-16 code units.", INPUT_LENGTH_BUCKETS);
    this.registry.registerMetric(this.predictionProbability as unknown as Metric);
    this.registry.registerMetric(this.inputLength as unknown as Metric);
    this.errorCount = new Counter({
      name: "app_error_count_total",
      help: "HTTP responses with status >= 400, by status code.",
      labelNames: ["status_code"],
      registers,
    });
    this.reloads = new Counter({ name: "model_reload_total", help: "Model loads, by result (success, failure).", labelNames: ["result"], registers });
    // `max` so that a cluster's aggregated /metrics shows 1, not the number of workers.
    this.modelInfo = new Gauge({
      name: "model_info",
      help: "The model being served (value 1).",
      labelNames: ["name", "version", "alias"],
      registers,
      aggregator: "max",
    });
    this.canaryRefusals = new Counter({
      name: "model_canary_refusals_total",
      help: "Model versions refused by the canary check (non-finite, saturated or wildly changed outputs).",
      registers,
    });
    this.shed = new Counter({ name: "app_load_shed_total", help: "Requests refused with 503 because the work budget was exhausted.", registers });
    this.reloads.inc({ result: "success" }, 0);
    this.reloads.inc({ result: "failure" }, 0);
  }

  observeRequest(method: string, endpoint: string, statusCode: number, seconds: number): void {
    this.requestSeries(method, endpoint).observe(seconds);
    if (statusCode >= 400) this.errorCount.labels(String(statusCode)).inc();
  }

  /** The request count and latency series of one route: a caller on a hot path keeps it (fast-path.ts). */
  requestSeries(method: string, endpoint: string): RequestSeries {
    const key = `${method} ${endpoint}`;
    let series = this.requestChildren.get(key);
    if (!series) {
      series = new RequestSeries(this.requestCount.child({ method, endpoint }), this.requestLatency.child({ endpoint }));
      this.requestChildren.set(key, series);
    }
    return series;
  }

  /**
   * Records a batch of predictions: label counts (one increment per label, not per text),
   * the probability of each predicted label and each input's length.
   */
  observePredictions(predictions: readonly Prediction[], texts: readonly string[]): void {
    let firstKey = "";
    let firstCount = 0;
    let others: Map<string, number> | null = null;
    for (let i = 0; i < predictions.length; i++) {
      const p = predictions[i];
      const key = typeof p.label === "string" ? p.label : String(p.label);
      this.predictionProbability.observe(p.probabilities[key]);
      this.inputLength.observe(texts[i].length);
      if (firstCount === 0 || key === firstKey) {
        firstKey = key;
        firstCount++;
      } else {
        others ??= new Map();
        others.set(key, (others.get(key) ?? 0) + 1);
      }
    }
    if (firstCount > 0) this.predictionChild(firstKey).value += firstCount;
    if (others) for (const [key, n] of others) this.predictionChild(key).value += n;
  }

  /**
   * observePredictions for typed scores (Predictor.scoreTyped): the same three metrics from
   * `proba` (n × k) and the predicted class index of each text.
   */
  observeScores(proba: Float64Array, k: number, best: Uint32Array, classes: readonly Label[], texts: readonly string[]): void {
    if (best.length === 1) {
      const b = best[0];
      this.predictionProbability.observe(proba[b]);
      this.inputLength.observe(texts[0].length);
      this.predictionChild(classes[b]).value++;
      return;
    }
    const perClass = new Float64Array(k);
    for (let i = 0; i < best.length; i++) {
      const b = best[i];
      this.predictionProbability.observe(proba[i * k + b]);
      this.inputLength.observe(texts[i].length);
      perClass[b]++;
    }
    for (let c = 0; c < k; c++) if (perClass[c] > 0) this.predictionChild(classes[c]).value += perClass[c];
  }

  /** The count of one predicted label (by the label itself or its string form: 1 and "1" are one series, as in prom-client). */
  private predictionChild(label: Label): { value: number } {
    let child = this.predictionChildren.get(label);
    if (!child) {
      const key = String(label);
      child = this.predictionChildren.get(key) ?? this.predictionCount.child({ prediction: key });
      this.predictionChildren.set(label, child);
      this.predictionChildren.set(key, child);
    }
    return child;
  }

  modelSwapped(next: LoadedModel, previous: LoadedModel | null): void {
    this.setModelInfo(next, previous);
    this.reloads.inc({ result: "success" });
  }

  /** model_info follows the served model: the previous series is removed, not left at 1. */
  setModelInfo(next: LoadedModel, previous: LoadedModel | null): void {
    if (previous) this.modelInfo.remove(previous.name, previous.version, previous.alias ?? "");
    this.modelInfo.set({ name: next.name, version: next.version, alias: next.alias ?? "" }, 1);
  }

  canaryRefused(): void {
    this.canaryRefusals.inc();
  }

  loadShed(): void {
    this.shed.inc();
  }

  modelLoadFailed(): void {
    this.reloads.inc({ result: "failure" });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** This process's metrics, or, in a cluster worker, the sum over all workers (see clusterMetricsText). */
  async text(): Promise<string> {
    if (cluster.isWorker && process.send) return requestClusterMetrics();
    return this.registry.metrics();
  }
}

/**
 * A label-less histogram over a Float64Array, for the per-text histograms: observe() is a
 * bound scan and two additions. prom-client's Histogram.observe (label hashing, a closure
 * per call) was ~6% of the CPU of a 1,000-text batch in a profile. It speaks the same
 * get() contract as prom-client's metrics, so the registry prints it and the cluster
 * AggregatorRegistry sums it like any histogram.
 */
export class TypedHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly data: HistogramChild;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.data = new HistogramChild({}, bounds);
  }

  observe(value: number): void {
    this.data.observe(value);
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }>;
  }> {
    const values = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.data.counts[i];
      values.push({ labels: { le: this.bounds[i] }, value: cumulative, metricName: `${this.name}_bucket` });
    }
    values.push({ labels: { le: "+Inf" }, value: this.data.count, metricName: `${this.name}_bucket` });
    values.push({ labels: {}, value: this.data.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.data.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** One route's request count and latency (children of the labelled typed metrics below). */
export class RequestSeries {
  constructor(
    private readonly count: { value: number },
    private readonly latency: HistogramChild,
  ) {}

  observe(seconds: number): void {
    this.count.value++;
    this.latency.observe(seconds);
  }
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/** A counter with labels over plain numbers, speaking prom-client's get() contract (printed and cluster-summed like a Counter). */
export class TypedLabelledCounter {
  readonly type = "counter";
  readonly aggregator = "sum";
  private readonly children = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  child(labels: Record<string, string>): { value: number } {
    const key = JSON.stringify(labels);
    let c = this.children.get(key);
    if (!c) {
      c = { labels: { ...labels }, value: 0 };
      this.children.set(key, c);
    }
    return c;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const c of this.children.values()) values.push({ labels: c.labels, value: c.value });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const c of this.children.values()) c.value = 0;
  }
}

class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram with labels over typed arrays, printed like prom-client's (`le` first, then the labels). */
export class TypedLabelledHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly children = new Map<string, HistogramChild>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  child(labels: Record<string, string>): HistogramChild {
    const key = JSON.stringify(labels);
    let c = this.children.get(key);
    if (!c) {
      c = new HistogramChild({ ...labels }, this.bounds);
      this.children.set(key, c);
    }
    return c;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const c of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += c.counts[i];
        values.push({ labels: { le: this.bounds[i], ...c.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: "+Inf", ...c.labels }, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...c.labels }, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...c.labels }, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const c of this.children.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}

// ---- cluster aggregation ----------------------------------------------------------------
// In cluster mode each worker has its own registry. prom-client's AggregatorRegistry lives
// in the primary and collects every worker's registry over IPC. A worker asked for
// /metrics forwards the request to the primary and serves the aggregated text, so any
// worker reports the cluster-wide sums (counters and histograms summed, model_info max).

let nextRequestId = 0;
const pending = new Map<number, { resolve(text: string): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
let workerListenerInstalled = false;

/** Call in each worker with its registry: makes the worker answer the primary's aggregation requests. */
export function registerWorkerMetrics(metrics: ServingMetrics): void {
  // Constructing an AggregatorRegistry in a worker installs prom-client's IPC responder.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
  if (workerListenerInstalled) return;
  workerListenerInstalled = true;
  process.on("message", (message: unknown) => {
    const m = message as { type?: string; id?: number; text?: string; error?: string };
    if (m?.type !== METRICS_RES || typeof m.id !== "number") return;
    const waiter = pending.get(m.id);
    if (!waiter) return;
    pending.delete(m.id);
    clearTimeout(waiter.timer);
    if (m.error) waiter.reject(new Error(m.error));
    else waiter.resolve(m.text ?? "");
  });
}

function requestClusterMetrics(): Promise<string> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error("the cluster primary did not answer the metrics request within 5 s"));
    }, 5000);
    pending.set(id, { resolve, reject, timer });
    process.send!({ type: METRICS_REQ, id });
  });
}
