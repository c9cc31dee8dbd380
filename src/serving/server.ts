import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { PolarityError, errorMessage } from "../util/errors.js";
import { buildServer } from "./app.js";
import { resolveServeConfig, type ServeConfig, type ServeConfigInput } from "./config.js";
import { createModelSource } from "./sources.js";
import type { ModelSource } from "./model-source.js";

export interface StartServingOptions extends ServeConfigInput {
  /** A ready-made model source; by default one is built from modelUri/trackingUri. */
  source?: ModelSource;
  /** Exit the process gracefully on SIGTERM/SIGINT (default true; tests that embed the server pass false). */
  handleSignals?: boolean;
  logger?: FastifyBaseLogger;
  /** Drift / feedback monitoring settings (src/monitoring/config.ts). */
  monitoring?: import("../monitoring/config.js").MonitoringInput;
}

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  config: ServeConfig;
  /** Graceful stop: readiness goes 503, no new connections, in-flight requests finish (bounded by shutdownTimeoutMs). */
  close(): Promise<void>;
}

/**
 * Loads the model, then listens: when this resolves the server is ready (/readyz 200).
 * Throws with a clear message when the model cannot be loaded (nothing is left listening).
 * This is what `polarity serve` runs in each process, and what `npm start` calls last.
 */
export async function startServing(options: StartServingOptions = {}): Promise<RunningServer> {
  const { source: givenSource, handleSignals = true, logger, monitoring, ...configInput } = options;
  const config = resolveServeConfig(configInput);
  const source = givenSource ?? (await createModelSource(config));
  // The model file is read (and a large one hashed off the main thread) while the server is built.
  source.prefetch?.();
  const app = await buildServer({ source, config, ...(logger ? { logger } : {}), ...(monitoring ? { monitoring } : {}) });
  const ctx = app.polarity;
  try {
    await ctx.holder.loadInitial();
  } catch (err) {
    await app.close();
    throw err;
  }
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close();
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "EADDRINUSE" ? "the port is already in use (choose another with --port / PORT)" : code === "EACCES" ? "permission denied" : errorMessage(err);
    throw new PolarityError("IO_ERROR", `cannot listen on ${config.host}:${config.port}: ${why}`, { cause: err });
  }
  ctx.holder.startPolling(config.pollIntervalMs);
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
  const model = ctx.holder.current!;
  app.log.info(
    { url, model: model.name, version: model.version, alias: model.alias, pollIntervalMs: config.pollIntervalMs },
    `serving ${model.name} version ${model.version} on ${url}`,
  );

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= gracefulClose(app, config);
    return closing;
  };
  if (handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      app.log.info({ signal }, `received ${signal}: draining and shutting down`);
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, "shutdown did not finish cleanly");
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  return { app, url, port, config, close };
}

/**
 * Kubernetes-style shutdown (issue 9 item 8):
 * 1. unready at once: /readyz and /v2/health/ready answer 503, so the endpoints controller
 *    takes the pod out of rotation;
 * 2. for `preStopDelayMs` keep listening and serving (traffic still routed here while the
 *    endpoint removal propagates), every response with `Connection: close`, so kept-alive
 *    clients reconnect elsewhere instead of finding a closed socket (ECONNRESET);
 * 3. stop listening, and wait until every connection has ended: busy ones close themselves
 *    after their response has been written out (Connection: close), idle kept-alive ones are
 *    closed once no request is running on them. A response is never cut by the drain itself.
 * 4. if connections remain after `shutdownTimeoutMs`, they are cut and the promise rejects
 *    with how many (the CLI then exits 1, not 0).
 */
async function gracefulClose(app: FastifyInstance, config: Pick<ServeConfig, "preStopDelayMs" | "shutdownTimeoutMs">): Promise<void> {
  const ctx = app.polarity;
  ctx.draining = true;
  ctx.holder.stopPolling();
  if (config.preStopDelayMs > 0) {
    app.log.info({ preStopDelayMs: config.preStopDelayMs }, `unready; still serving for ${config.preStopDelayMs} ms (pre-stop delay)`);
    await new Promise((resolve) => setTimeout(resolve, config.preStopDelayMs));
  }
  const server = app.server;
  const allClosed = new Promise<void>((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
  // server.close() closes connections idle at that instant; later ones become idle when their
  // response is done (those with Connection: close end themselves).
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), config.shutdownTimeoutMs);
  });
  const result = await Promise.race([allClosed.then(() => "closed" as const), timeout]);
  clearTimeout(timer);
  clearInterval(sweeper);
  if (result === "timeout") {
    const open = await new Promise<number>((resolve) => server.getConnections((_err, n) => resolve(n ?? 0)));
    server.closeAllConnections();
    await app.close();
    throw new Error(`${open} connection(s) still busy after ${config.shutdownTimeoutMs} ms (--shutdown-timeout); they were cut`);
  }
  await app.close();
  app.log.info("server closed: all in-flight requests finished");
}
