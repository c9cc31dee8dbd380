import type { Command } from "commander";
import { DEFAULT_MODEL_URI, DEFAULT_PORT, DEFAULT_SERVE_CONFIG } from "../serving/config.js";
import { action } from "./run-command.js";

/** `polarity serve`: the model server (see src/serving/config.ts for every flag's environment variable). */
export function register(program: Command): void {
  program
    .command("serve")
    .description("Serve a model over HTTP: web page, JSON/MLflow/KServe V2 prediction APIs, /metrics, health, hot reload")
    .option(
      "-m, --model <uri>",
      `model to serve: models:/name@alias, models:/name/<version>, runs:/id/path or a local model file/dir (env MODEL_URI; default ${DEFAULT_MODEL_URI}, falling back to @staging, then the newest version)`,
    )
    .option("--host <host>", `interface to listen on (env HOST; default ${DEFAULT_SERVE_CONFIG.host}; 0.0.0.0 in containers)`)
    .option("-p, --port <port>", `port (env PORT; default ${DEFAULT_PORT}; 0 = any free port)`)
    .option("--tracking-uri <uri>", "tracking store or server holding the registry (env MLFLOW_TRACKING_URI)")
    .option(
      "--poll-interval <ms>",
      `how often to check the registry for a moved alias, in ms; 0 disables hot reload (env MODEL_POLL_INTERVAL_MS; default ${DEFAULT_SERVE_CONFIG.pollIntervalMs})`,
    )
    .option("-w, --workers <n>", "worker processes sharing the port (node:cluster); /metrics on any worker reports the sum (env WEB_CONCURRENCY; default 1)")
    .option(
      "--max-text-length <n>",
      `longest text accepted, in UTF-16 code units (String.length; env MAX_TEXT_LENGTH; default ${DEFAULT_SERVE_CONFIG.maxTextLength})`,
    )
    .option("--max-batch-size <n>", `most texts per request (env MAX_BATCH_SIZE; default ${DEFAULT_SERVE_CONFIG.maxBatchSize})`)
    .option("--body-limit <bytes>", `largest request body (env BODY_LIMIT_BYTES; default ${DEFAULT_SERVE_CONFIG.bodyLimitBytes})`)
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (env LOG_LEVEL; default info)")
    .option("--access-log", "log every request (env ACCESS_LOG=1; default off: only errors, with request ids)")
    .option(
      "--shutdown-timeout <ms>",
      `how long SIGTERM waits for in-flight requests (env SHUTDOWN_TIMEOUT_MS; default ${DEFAULT_SERVE_CONFIG.shutdownTimeoutMs})`,
    )
    .option(
      "--pre-stop-delay <ms>",
      "after SIGTERM, stay up this long answering (unready, Connection: close) before draining; set it above the load balancer's deregistration delay (env PRE_STOP_DELAY_MS; default 0)",
    )
    .option(
      "--request-timeout <ms>",
      `a request's headers and body must arrive within this (env REQUEST_TIMEOUT_MS; default ${DEFAULT_SERVE_CONFIG.requestTimeoutMs}; 0 = none)`,
    )
    .option("--idle-timeout <ms>", `close a connection silent for this long (env IDLE_TIMEOUT_MS; default ${DEFAULT_SERVE_CONFIG.idleTimeoutMs})`)
    .option(
      "--keep-alive-timeout <ms>",
      `close an idle kept-alive connection after this (env KEEP_ALIVE_TIMEOUT_MS; default ${DEFAULT_SERVE_CONFIG.keepAliveTimeoutMs})`,
    )
    .option("--max-batch-chars <n>", `most characters in all the texts of one request (env MAX_BATCH_CHARS; default ${DEFAULT_SERVE_CONFIG.maxBatchChars})`)
    .option("--max-explain-texts <n>", `most texts per request with explain: true (env MAX_EXPLAIN_TEXTS; default ${DEFAULT_SERVE_CONFIG.maxExplainTexts})`)
    .option(
      "--max-inflight-chars <n>",
      `characters being scored off the event loop at once; past it requests get 503 + Retry-After (env MAX_INFLIGHT_CHARS; default ${DEFAULT_SERVE_CONFIG.maxInflightChars})`,
    )
    .option("--max-model-bytes <n>", `refuse model versions bigger than this (env MAX_MODEL_BYTES; default ${DEFAULT_SERVE_CONFIG.maxModelBytes})`)
    .option(
      "--auth-token <token>",
      "require Authorization: Bearer <token> on every route but the health probes (env POLARITY_SERVE_TOKEN, preferred: flags show in ps)",
    )
    .option("--auth <user:password>", "require HTTP Basic credentials (env POLARITY_SERVE_USERNAME / POLARITY_SERVE_PASSWORD)")
    .action(
      action(async (opts: Record<string, string | boolean | undefined>) => {
        const { serve } = await import("../serving/cluster.js");
        await serve({
          modelUri: opts.model as string | undefined,
          host: opts.host as string | undefined,
          port: opts.port as string | undefined,
          trackingUri: opts.trackingUri as string | undefined,
          pollIntervalMs: opts.pollInterval as string | undefined,
          workers: opts.workers as string | undefined,
          maxTextLength: opts.maxTextLength as string | undefined,
          maxBatchSize: opts.maxBatchSize as string | undefined,
          bodyLimitBytes: opts.bodyLimit as string | undefined,
          logLevel: opts.logLevel as string | undefined,
          accessLog: opts.accessLog === true ? true : undefined,
          shutdownTimeoutMs: opts.shutdownTimeout as string | undefined,
          preStopDelayMs: opts.preStopDelay as string | undefined,
          requestTimeoutMs: opts.requestTimeout as string | undefined,
          idleTimeoutMs: opts.idleTimeout as string | undefined,
          keepAliveTimeoutMs: opts.keepAliveTimeout as string | undefined,
          maxBatchChars: opts.maxBatchChars as string | undefined,
          maxExplainTexts: opts.maxExplainTexts as string | undefined,
          maxInflightChars: opts.maxInflightChars as string | undefined,
          maxModelBytes: opts.maxModelBytes as string | undefined,
          authToken: opts.authToken as string | undefined,
          authBasic: opts.auth as string | undefined,
        });
      }),
    );
}
