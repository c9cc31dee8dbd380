import cluster from "node:cluster";

/**
 * The cluster primary's side of `/metrics` in cluster mode (metrics.ts has the workers' side):
 * a worker asks the primary, which collects every worker's registry with prom-client's
 * AggregatorRegistry and answers the sums. Kept apart from metrics.ts so the primary does not
 * load prom-client (and @opentelemetry/api with it) before forking its workers: it is loaded
 * at the first request (start → ready, issue 12).
 */
export const METRICS_REQ = "polarity:cluster-metrics-req";
export const METRICS_RES = "polarity:cluster-metrics-res";

/** Call once in the primary: answers workers' /metrics requests with the aggregated text. */
export function serveClusterMetricsFromPrimary(): void {
  let aggregator: Promise<{ clusterMetrics(): Promise<string> }> | undefined;
  cluster.on("message", (worker, message: unknown) => {
    const m = message as { type?: string; id?: number };
    if (m?.type !== METRICS_REQ || typeof m.id !== "number") return;
    const id = m.id;
    aggregator ??= import("prom-client").then(({ AggregatorRegistry }) => new AggregatorRegistry());
    aggregator
      .then((a) => a.clusterMetrics())
      .then(
        (text) => worker.isConnected() && worker.send({ type: METRICS_RES, id, text }),
        (err: Error) => worker.isConnected() && worker.send({ type: METRICS_RES, id, error: err.message }),
      );
  });
}
