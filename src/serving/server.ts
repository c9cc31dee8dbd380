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
  const { source: givenSource, handleSignals = true, logger, ...configInput } = options;
  const config = resolveServeConfig(configInput);
  const source = givenSource ?? (await createModelSource(config));
  const app = await buildServer({ source, config, ...(logger ? { logger } : {}) });
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
    const why = code === "EADDRINUSE" ? "the port is already in use (choose another with --port / PORT)" : code === "EACCES" ? "permission denied" : errorMessage(err);
    throw new PolarityError("IO_ERROR", `cannot listen on ${config.host}:${config.port}: ${why}`, { cause: err });
  }
  ctx.holder.startPolling(config.pollIntervalMs);
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
  const model = ctx.holder.current!;
  app.log.info({ url, model: model.name, version: model.version, alias: model.alias, pollIntervalMs: config.pollIntervalMs }, `serving ${model.name} version ${model.version} on ${url}`);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= gracefulClose(app, config.shutdownTimeoutMs);
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
 * Stop accepting, let in-flight requests finish, then resolve. fastify's close() stops the
 * listener, answers 503 to new requests on kept-alive connections and closes idle ones;
 * if requests are still running after `timeoutMs`, their connections are cut and the
 * promise rejects (the CLI then exits 1 instead of 0).
 */
async function gracefulClose(app: FastifyInstance, timeoutMs: number): Promise<void> {
  app.polarity.draining = true;
  app.polarity.holder.stopPolling();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
    timer.unref();
  });
  const result = await Promise.race([app.close().then(() => "closed" as const), timeout]);
  clearTimeout(timer);
  if (result === "timeout") {
    app.server.closeAllConnections();
    throw new Error(`requests still in flight after ${timeoutMs} ms; connections closed`);
  }
  app.log.info("server closed: all in-flight requests finished");
}
