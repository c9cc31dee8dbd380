import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SERVE_CONFIG, resolveServeConfig } from "../../src/serving/config.js";
import { InvalidParameterError } from "../../src/util/errors.js";

test("defaults: port 8080, models:/sentiment@production, 30 s polling, one process", () => {
  const config = resolveServeConfig({}, {});
  assert.deepEqual(config, { ...DEFAULT_SERVE_CONFIG });
  assert.equal(config.port, 8080);
  assert.equal(config.modelUri, "models:/sentiment@production");
});

test("the environment overrides defaults and flags override the environment", () => {
  const env = {
    PORT: "9000",
    HOST: "0.0.0.0",
    MODEL_URI: "models:/m@staging",
    MLFLOW_TRACKING_URI: "http://tracking:5000",
    MODEL_POLL_INTERVAL_MS: "500",
    WEB_CONCURRENCY: "2",
    MAX_TEXT_LENGTH: "100",
    MAX_BATCH_SIZE: "7",
    BODY_LIMIT_BYTES: "65536",
    LOG_LEVEL: "warn",
    ACCESS_LOG: "1",
    SHUTDOWN_TIMEOUT_MS: "1500",
    PRE_STOP_DELAY_MS: "3000",
    REQUEST_TIMEOUT_MS: "2000",
    POLARITY_SERVE_TOKEN: "s3cret",
  };
  const fromEnv = resolveServeConfig({}, env);
  assert.deepEqual(fromEnv, {
    ...DEFAULT_SERVE_CONFIG,
    preStopDelayMs: 3000,
    requestTimeoutMs: 2000,
    authToken: "s3cret",
    host: "0.0.0.0",
    port: 9000,
    modelUri: "models:/m@staging",
    trackingUri: "http://tracking:5000",
    pollIntervalMs: 500,
    workers: 2,
    maxTextLength: 100,
    maxBatchSize: 7,
    bodyLimitBytes: 65536,
    logLevel: "warn",
    accessLog: true,
    shutdownTimeoutMs: 1500,
  });
  const flags = resolveServeConfig({ port: "7000", modelUri: "./model.json", workers: 1, logLevel: "debug" }, env);
  assert.equal(flags.port, 7000);
  assert.equal(flags.modelUri, "./model.json");
  assert.equal(flags.workers, 1);
  assert.equal(flags.logLevel, "debug");
  assert.equal(flags.host, "0.0.0.0", "unset flags still come from the environment");
});

test("bad values are refused with the flag and the variable named", () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: "80a" }, /port \(--port \/ PORT\) must be an integer in \[0, 65535\], got "80a"/],
    [{ PORT: "70000" }, /port .* in \[0, 65535\]/],
    [{ WEB_CONCURRENCY: "0" }, /workers \(--workers \/ WEB_CONCURRENCY\)/],
    [{ MODEL_POLL_INTERVAL_MS: "-5" }, /pollIntervalMs \(--poll-interval \/ MODEL_POLL_INTERVAL_MS\)/],
    [{ BODY_LIMIT_BYTES: "10" }, /bodyLimitBytes \(--body-limit \/ BODY_LIMIT_BYTES\) must be an integer in \[1024,/],
    [{ LOG_LEVEL: "loud" }, /logLevel \(--log-level \/ LOG_LEVEL\) must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => resolveServeConfig({}, env),
      (err: unknown) => err instanceof InvalidParameterError && message.test(err.message),
    );
  }
});
