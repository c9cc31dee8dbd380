import cluster from "node:cluster";
import { createRequire } from "node:module";
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { resolveServeConfig, type ServeConfig, type ServeConfigInput } from "./config.js";
import { ServingContext } from "./context.js";
import { fastifyTimeoutOptions, installJsonParser } from "../http/limits.js";
import { installAuth } from "./auth.js";
import { installErrorHandling } from "./http.js";
import { ServingMetrics } from "./metrics.js";
import { ModelHolder } from "./model-holder.js";
import type { ModelSource } from "./model-source.js";
import { Predictor, type BatchScorerFactory } from "./predictor.js";
import { mlflowRoutes } from "./routes/mlflow.js";
import { opsRoutes } from "./routes/ops.js";
import { predictRoutes } from "./routes/predict.js";
import { v2Routes } from "./routes/v2.js";
import { feedbackRoutes } from "./routes/feedback.js";
import { resolveMonitoringConfig, type MonitoringInput } from "../monitoring/config.js";
import { ModelMonitor } from "../monitoring/monitor.js";
import { ErrorBody } from "./schemas.js";
import { FastPredictPath, fastPathServerFactory } from "./fast-path.js";
import { LazySchemaCompilers, registerLazySwagger } from "./lazy-schemas.js";

type SchemaCompilersFactory = NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
let nextRequestId = 0;

function requestIdFrom(req: import("node:http").IncomingMessage): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && REQUEST_ID.test(given)) return given;
  return `req-${(nextRequestId++).toString(36)}`;
}

/**
 * Large batches go to src/models' PredictionPool: one worker thread, the calling thread left
 * free (useCallingThread: false) so the event loop keeps answering while a batch is scored.
 * Models loaded lazily, like the parser (sources.ts).
 */
const predictionPoolScorer: BatchScorerFactory = async (model) => {
  const [{ SentimentModel, predictionsFromProba }, { PredictionPool }] = await Promise.all([
    import("../models/sentiment-model.js"),
    import("../models/parallel/predict-pool.js"),
  ]);
  if (!(model instanceof SentimentModel)) return null;
  const pool = await PredictionPool.create(model, { workers: 1, useCallingThread: false });
  return {
    predict: async (texts) => predictionsFromProba(await pool.predictProba(texts), model.classes),
    close: () => pool.close(),
  };
};

export const SERVER_VERSION: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

const AJV_LOGGER = {
  log: (...args: unknown[]) => console.log(...args),
  warn: (...args: unknown[]) => {
    if (!(args[0] === "DEPRECATED: option unicode." || String(args[0]).startsWith("DEPRECATED: option unicode"))) console.warn(...args);
  },
  error: (...args: unknown[]) => console.error(...args),
};

export interface BuildServerOptions {
  /** Where the model comes from (see createModelSource). */
  source: ModelSource;
  /** Limits, logging, etc.; unset fields come from the environment, then the defaults. */
  config?: ServeConfigInput | ServeConfig;
  /** A pino logger instance to use instead of building one from config.logLevel (tests pass a silent one). */
  logger?: import("fastify").FastifyBaseLogger;
  /** Drift / feedback monitoring settings (src/monitoring/config.ts); unset fields come from the environment. */
  monitoring?: MonitoringInput;
  /**
   * Score large batches on a prediction pool thread (default: yes, except in a cluster worker).
   * With `--workers N` the N processes already share the cores: a pool thread per worker would
   * only add a copy of every batch and its results and a second model per process, so a
   * cluster worker scores every batch itself (bounded by --max-batch-size / --max-batch-chars).
   */
  predictionPool?: boolean;
  /**
   * Compile each route's schemas, and set up the OpenAPI document's generator, at first use
   * (default) instead of during start-up (lazy-schemas.ts). false gives fastify's own eager
   * compilers and @fastify/swagger registered as usual (tests compare the two).
   */
  lazySchemas?: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    polarity: ServingContext;
  }
}

/**
 * Builds the model server (not listening, model not loaded): the caller runs
 * `await app.polarity.holder.loadInitial()` and `app.listen(...)`, or uses startServing().
 * Each server has its own metrics registry and model holder.
 */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const config = resolveServeConfig(options.config ?? {});
  // POST /predict {"text"} is answered before fastify (fast-path.ts); the rest goes through it.
  const fastPath = new FastPredictPath(requestIdFrom);
  // Route schemas are compiled at first use, not during ready() (lazy-schemas.ts).
  const schemas = options.lazySchemas === false ? null : new LazySchemaCompilers();
  const app = Fastify({
    serverFactory: fastPathServerFactory(fastPath),
    ...(schemas ? { schemaController: { compilersFactory: schemas.compilersFactory as SchemaCompilersFactory } } : {}),
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { level: config.logLevel, redact: ["req.headers.authorization", "req.headers.cookie"] } }),
    bodyLimit: config.bodyLimitBytes,
    ...fastifyTimeoutOptions({
      requestTimeoutMs: config.requestTimeoutMs,
      headersTimeoutMs: Math.min(10_000, config.requestTimeoutMs || 10_000),
      idleTimeoutMs: config.idleTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    }),
    // x-request-id is honoured only when it is a short token (echoed in every response and
    // log line); anything else gets a generated id.
    requestIdHeader: false,
    genReqId: requestIdFrom,
    // Per-request "incoming/completed" lines only with --access-log; errors are always logged.
    logController: new LogController({ disableRequestLogging: !config.accessLog }),
    // Shutdown is driven by gracefulClose (server.ts): requests keep being served, with
    // `Connection: close`, until every connection has drained.
    return503OnClosing: false,
    forceCloseConnections: false,
    // unicode: false → maxLength counts UTF-16 code units (String.length), like every other
    // length limit here, instead of a per-character scan of each text.
    // Ajv 8 still honours `unicode` but warns it is deprecated; only that warning is dropped.
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false, unicode: false, logger: AJV_LOGGER } },
  });

  const metrics = new ServingMetrics();
  const monitoringConfig = resolveMonitoringConfig(options.monitoring);
  const monitor = monitoringConfig.enabled ? new ModelMonitor(monitoringConfig, metrics.registry, (err) => app.log.warn({ err }, "monitoring")) : null;
  const pool = options.predictionPool ?? !cluster.isWorker;
  const predictor = new Predictor(metrics, monitor, { maxInflightChars: config.maxInflightChars, ...(pool ? { makeScorer: predictionPoolScorer } : {}) });
  const holder = new ModelHolder(options.source, app.log, {
    onSwap: (next, previous) => {
      metrics.modelSwapped(next, previous);
      monitor?.modelChanged(next);
      predictor.warm(next.model);
      if (previous) predictor.retire(previous.model);
    },
    onRelabel: (next, previous) => metrics.setModelInfo(next, previous),
    onLoadFailure: () => metrics.modelLoadFailed(),
    onCanaryRefused: () => metrics.canaryRefused(),
  });
  const ctx = new ServingContext(config, holder, metrics, predictor, SERVER_VERSION);
  ctx.schemas = schemas;
  app.decorate("polarity", ctx);
  fastPath.attach(ctx);

  installJsonParser(app);
  installErrorHandling(app);
  app.addSchema(ErrorBody);

  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    reply.header("x-content-type-options", "nosniff");
    done();
  });
  installAuth(app, config);
  // While draining, close each connection after its response so kept-alive clients reconnect
  // elsewhere and close() is not held open by idle keep-alive sockets.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (ctx.draining) reply.header("connection", "close");
    done(null, payload);
  });
  app.addHook("onResponse", (request, reply, done) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? "<unmatched>", reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.addHook("onClose", async () => {
    holder.stopPolling();
    await predictor.close();
    await monitor?.close();
    await options.source.close?.();
  });

  const openapi = {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Polarity model server",
        version: SERVER_VERSION,
        description:
          "Sentiment predictions over JSON, MLflow's scoring protocol and the Open Inference Protocol V2, plus health, readiness and Prometheus metrics. Errors are JSON {error_code, message}.",
      },
      tags: [
        { name: "predict", description: "Polarity's JSON API" },
        { name: "mlflow", description: "MLflow scoring protocol" },
        { name: "kserve-v2", description: "Open Inference Protocol V2" },
        { name: "operations", description: "Health, readiness, metrics" },
        { name: "page", description: "The web page" },
      ],
    },
  };
  // The OpenAPI document's generator is set up at its first use, like the route schemas (lazy-schemas.ts).
  if (schemas) registerLazySwagger(app, openapi);
  else await app.register((await import("@fastify/swagger")).default, openapi);

  // Each protocol is an encapsulated plugin so its extra body parsers (form, CSV) stay on its routes.
  await app.register(async (scope) => predictRoutes(scope, ctx));
  await app.register(async (scope) => mlflowRoutes(scope, ctx));
  await app.register(async (scope) => v2Routes(scope, ctx));
  await app.register(async (scope) => opsRoutes(scope, ctx));
  if (monitor) {
    await app.register(async (scope) => feedbackRoutes(scope, ctx, monitor));
    monitor.start();
  }
  return app;
}
