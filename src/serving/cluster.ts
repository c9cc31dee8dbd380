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
 * Workers run with a larger young generation (V8's semi-space, 16 MB by default on 64-bit):
 * each request leaves a few kilobytes of short-lived garbage, and fewer scavenges (which also
 * wake V8's helper threads) cost less CPU per request. Measured with `wrk -t2 -c32` on single
 * texts, alternated in one run at load ~7: 95–102 µs of server CPU per request against
 * 98–123 µs without it (+4 to +27 % req/s). A value given in execArgv or NODE_OPTIONS wins.
 */
const SEMI_SPACE_FLAG = "--max-semi-space-size";
const WORKER_SEMI_SPACE_MB = 32;

function workerExecArgv(): string[] {
  const given = process.execArgv.some((a) => a.startsWith(SEMI_SPACE_FLAG)) || (process.env.NODE_OPTIONS ?? "").includes(SEMI_SPACE_FLAG);
  return given ? process.execArgv : [...process.execArgv, `${SEMI_SPACE_FLAG}=${WORKER_SEMI_SPACE_MB}`];
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
