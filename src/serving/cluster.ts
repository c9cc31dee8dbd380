import cluster, { type Worker } from "node:cluster";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { resolveServeConfig, type ServeConfig, type ServeConfigInput } from "./config.js";
import { serveClusterMetricsFromPrimary } from "./cluster-metrics.js";

/**
 * Cluster mode (`--workers N`, N > 1): the primary forks N worker processes that each load
 * the model and listen on the same port (node:cluster shares the socket; on Linux the
 * primary accepts connections and hands them round-robin to workers). The primary serves
 * no HTTP itself; it:
 * - aggregates metrics: a worker's /metrics asks the primary, which collects every
 *   worker's registry with prom-client's AggregatorRegistry, so /metrics on any worker
 *   reports cluster-wide sums (counters, histograms); `model_info` uses max. Per-process
 *   default metrics (memory, CPU, event loop) are summed or averaged as prom-client defines.
 * - restarts a worker that dies unexpectedly (at most once per second);
 * - on SIGTERM/SIGINT, forwards SIGTERM to every worker (each drains its in-flight
 *   requests), waits for them, and exits 0 if all drained cleanly, 1 otherwise.
 * Hot reload runs independently in each worker (each polls the source); during a swap
 * different workers may briefly serve different versions.
 */

const CONFIG_ENV = "POLARITY_SERVE_CONFIG";

/**
 * Workers run with a fixed 32 MB young generation (V8's semi-space; both its minimum and its
 * maximum). Each request leaves a few kilobytes of short-lived garbage, and fewer scavenges
 * (which also wake V8's helper threads) cost less CPU per request. A maximum alone is not
 * enough: V8 starts the semi-space at 1 MB and grows it by a heuristic, so a worker ended up
 * with a young generation anywhere from a few MB to the maximum depending on its start-up
 * (docs/monitoring.md saw the same coin flip in single processes), and `--workers 2` rounds
 * swung by ±10 points. Measured with `wrk -t2 -c32` on single texts against the same tree with
 * the maximum alone, alternated in one run (load 8–11, 2026-12-02): 52.7 µs of server CPU per
 * request against 66.3 µs (bench notes in docs/serving.md). The cost is memory: up to
 * 3 × 32 MB of young generation per worker once touched. A semi-space size given in execArgv,
 * or a maximum in NODE_OPTIONS (which V8 accepts there, unlike the minimum), wins.
 */
const MIN_SEMI_SPACE_FLAG = "--min-semi-space-size";
const MAX_SEMI_SPACE_FLAG = "--max-semi-space-size";
const WORKER_SEMI_SPACE_MB = 32;

/** The node flags a cluster worker starts with: the primary's, plus the young generation's size unless one is given. */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): string[] {
  // V8 reads `_` and `-` in flag names alike.
  const names = [...execArgv, ...nodeOptions.split(/\s+/)].map((a) => a.replaceAll("_", "-"));
  const given = names.some((a) => a.startsWith(MIN_SEMI_SPACE_FLAG) || a.startsWith(MAX_SEMI_SPACE_FLAG));
  return given ? [...execArgv] : [...execArgv, `${MIN_SEMI_SPACE_FLAG}=${WORKER_SEMI_SPACE_MB}`, `${MAX_SEMI_SPACE_FLAG}=${WORKER_SEMI_SPACE_MB}`];
}
export const WORKER_READY = "polarity:worker-ready";
export const WORKER_FAILED = "polarity:worker-failed";

export interface ClusterHandle {
  /** Resolves once every worker is listening, with the URL they share. */
  ready: Promise<string>;
  /** Resolves with the exit code once the cluster has shut down. */
  exited: Promise<number>;
  shutdown(): void;
}

/**
 * Runs the model server: in this process when `workers` is 1, else as a cluster. Resolves
 * once serving; the process then lives until SIGTERM/SIGINT.
 */
export async function serve(options: ServeConfigInput): Promise<{ url: string; workers: number }> {
  const config = resolveServeConfig(options);
  if (config.workers <= 1) {
    // Loaded here, not at the top: a cluster primary serves no HTTP and need not load fastify,
    // the routes and the ML core before forking its workers (start → ready, issue 12).
    const { startServing } = await import("./server.js");
    const server = await startServing(config);
    return { url: server.url, workers: 1 };
  }
  const handle = startCluster(config);
  handle.exited.then((code) => process.exit(code));
  const url = await handle.ready;
  return { url, workers: config.workers };
}

export function startCluster(config: ServeConfig): ClusterHandle {
  if (!cluster.isPrimary) throw new Error("startCluster must run in the cluster primary");
  const log = pino({ level: config.logLevel }).child({ role: "primary" });
  const workerConfig: ServeConfig = { ...config, workers: 1 };
  const here = fileURLToPath(import.meta.url);
  cluster.setupPrimary({ exec: fileURLToPath(new URL(`./worker-entry${extname(here)}`, import.meta.url)), execArgv: workerExecArgv() });
  serveClusterMetricsFromPrimary();

  let shuttingDown = false;
  let startedCount = 0;
  let failedExit = false;
  let lastRestart = 0;
  let resolveReady!: (url: string) => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<string>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  let resolveExited!: (code: number) => void;
  const exited = new Promise<number>((res) => (resolveExited = res));
  let startupDone = false;
  let sharedUrl = "";

  // Workers listen through the primary, which keeps one socket per address:port it was asked
  // for, so with port 0 all workers still share one (randomly chosen) port.
  const fork = (): Worker => {
    const worker = cluster.fork({ [CONFIG_ENV]: JSON.stringify(workerConfig) });
    worker.on("message", (message: { type?: string; url?: string; port?: number; error?: string }) => {
      if (message?.type === WORKER_READY) {
        if (startupDone) log.info({ pid: worker.process.pid }, "replacement worker ready");
        else {
          startedCount++;
          sharedUrl = message.url ?? sharedUrl;
          if (startedCount === config.workers) {
            startupDone = true;
            log.info({ url: sharedUrl, workers: config.workers }, `serving on ${sharedUrl} with ${config.workers} workers`);
            resolveReady(sharedUrl);
          }
        }
      } else if (message?.type === WORKER_FAILED && !startupDone) {
        shuttingDown = true;
        rejectReady(new Error(message.error ?? "a worker failed to start"));
        stopAll();
      }
    });
    return worker;
  };

  const stopAll = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
    const timer = setTimeout(
      () => {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGKILL");
      },
      config.preStopDelayMs + config.shutdownTimeoutMs + 2000,
    );
    timer.unref();
  };

  cluster.on("exit", (worker, code, signal) => {
    if (shuttingDown) {
      // Exit 0 only if every worker drained cleanly.
      if (code !== 0) failedExit = true;
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info({ failedExit }, "all workers stopped");
        resolveExited(failedExit || !startupDone ? 1 : 0);
      }
      return;
    }
    if (!startupDone) {
      // A worker that dies before serving would die again: give up with its exit status.
      shuttingDown = true;
      failedExit = true;
      rejectReady(new Error(`a worker exited during start-up (code ${code}, signal ${signal})`));
      stopAll();
      if (Object.keys(cluster.workers ?? {}).length === 0) resolveExited(1);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, "worker died unexpectedly; starting a new one");
    const wait = Math.max(0, 1000 - (Date.now() - lastRestart));
    lastRestart = Date.now() + wait;
    setTimeout(() => {
      if (!shuttingDown) fork();
    }, wait);
  });

  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, `received ${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} workers`);
    stopAll();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  for (let i = 0; i < config.workers; i++) fork();

  return { ready, exited, shutdown: () => onSignal("SIGTERM") };
}
