import { DEFAULT_HTTP_TIMEOUTS } from "../http/limits.js";
import { InvalidParameterError } from "../util/errors.js";
import { requireInteger } from "../util/validate.js";

/**
 * Everything `polarity serve` / `startServing()` can be told. Each field has a flag and an
 * environment variable; flags win over the environment, the environment over the default.
 *
 * | field              | flag                  | env                         | default                          |
 * |--------------------|-----------------------|-----------------------------|----------------------------------|
 * | host               | --host                | HOST                        | 127.0.0.1 (use 0.0.0.0 in a container) |
 * | port               | --port                | PORT                        | 8080                             |
 * | modelUri           | --model               | MODEL_URI                   | models:/sentiment@production     |
 * | trackingUri        | --tracking-uri        | MLFLOW_TRACKING_URI         | the tracking client's default    |
 * | pollIntervalMs     | --poll-interval       | MODEL_POLL_INTERVAL_MS      | 30000 (0 = never poll)           |
 * | workers            | --workers             | WEB_CONCURRENCY             | 1 (node:cluster when > 1)        |
 * | maxTextLength      | --max-text-length     | MAX_TEXT_LENGTH             | 20000 UTF-16 code units per text |
 * | maxBatchSize       | --max-batch-size      | MAX_BATCH_SIZE              | 10000 texts per request          |
 * | bodyLimitBytes     | --body-limit          | BODY_LIMIT_BYTES            | 4 MiB                            |
 * | logLevel           | --log-level           | LOG_LEVEL                   | info                             |
 * | accessLog          | --access-log          | ACCESS_LOG=1                | off (errors are always logged)   |
 * | shutdownTimeoutMs  | --shutdown-timeout    | SHUTDOWN_TIMEOUT_MS         | 10000                            |
 * | preStopDelayMs     | --pre-stop-delay      | PRE_STOP_DELAY_MS           | 0 (ms unready but still serving after SIGTERM) |
 * | requestTimeoutMs   | --request-timeout     | REQUEST_TIMEOUT_MS          | 30000 (whole request must arrive) |
 * | idleTimeoutMs      | --idle-timeout        | IDLE_TIMEOUT_MS             | 120000 (silent socket closed)    |
 * | keepAliveTimeoutMs | --keep-alive-timeout  | KEEP_ALIVE_TIMEOUT_MS       | 72000 (above LB idle timeouts)   |
 * | maxBatchChars      | --max-batch-chars     | MAX_BATCH_CHARS             | 2000000 characters per request   |
 * | maxExplainTexts    | --max-explain-texts   | MAX_EXPLAIN_TEXTS           | 100 texts with explain: true     |
 * | maxInflightChars   | --max-inflight-chars  | MAX_INFLIGHT_CHARS          | 8000000 (over it: 503 + Retry-After) |
 * | maxModelBytes      | --max-model-bytes     | MAX_MODEL_BYTES             | 256 MiB (bigger versions refused)|
 * | authToken          | --auth-token          | POLARITY_SERVE_TOKEN        | none (predictions open)          |
 * | authBasic          | --auth (user:password)| POLARITY_SERVE_USERNAME/_PASSWORD | none                       |
 */
export interface ServeConfig {
  host: string;
  port: number;
  modelUri: string;
  trackingUri?: string;
  pollIntervalMs: number;
  workers: number;
  maxTextLength: number;
  maxBatchSize: number;
  bodyLimitBytes: number;
  logLevel: LogLevel;
  accessLog: boolean;
  shutdownTimeoutMs: number;
  preStopDelayMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxBatchChars: number;
  maxExplainTexts: number;
  maxInflightChars: number;
  maxModelBytes: number;
  authToken?: string;
  /** `user:password` for HTTP Basic. */
  authBasic?: string;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_PORT = 8080;
export const DEFAULT_MODEL_URI = "models:/sentiment@production";

export const DEFAULT_SERVE_CONFIG: Readonly<ServeConfig> = Object.freeze({
  host: "127.0.0.1",
  port: DEFAULT_PORT,
  modelUri: DEFAULT_MODEL_URI,
  pollIntervalMs: 30_000,
  workers: 1,
  maxTextLength: 20_000,
  maxBatchSize: 10_000,
  bodyLimitBytes: 4 * 1024 * 1024,
  logLevel: "info",
  accessLog: false,
  shutdownTimeoutMs: 10_000,
  preStopDelayMs: 0,
  requestTimeoutMs: DEFAULT_HTTP_TIMEOUTS.requestTimeoutMs,
  idleTimeoutMs: DEFAULT_HTTP_TIMEOUTS.idleTimeoutMs,
  keepAliveTimeoutMs: DEFAULT_HTTP_TIMEOUTS.keepAliveTimeoutMs,
  maxBatchChars: 2_000_000,
  maxExplainTexts: 100,
  maxInflightChars: 8_000_000,
  maxModelBytes: 256 * 1024 * 1024,
});

type Env = Record<string, string | undefined>;

/** Values as they arrive from flags or the environment: strings or already-typed values. */
export type ServeConfigInput = { [K in keyof ServeConfig]?: ServeConfig[K] | string };

/**
 * Merges explicit options (flags, library callers) over the environment over the defaults,
 * validating each value with a message that names the flag and the variable.
 */
export function resolveServeConfig(options: ServeConfigInput = {}, env: Env = process.env): ServeConfig {
  const pick = <K extends keyof ServeConfig>(key: K, envName: string): ServeConfig[K] | string | undefined => {
    const explicit = options[key];
    if (explicit !== undefined && explicit !== "") return explicit;
    const fromEnv = env[envName];
    return fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
  };
  const int = (key: keyof ServeConfig, envName: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = pick(key, envName);
    if (raw === undefined) return DEFAULT_SERVE_CONFIG[key] as number;
    const value = typeof raw === "number" ? raw : /^\s*-?\d+\s*$/.test(String(raw)) ? Number(raw) : NaN;
    try {
      return requireInteger(`${key} (--${kebab(key)} / ${envName})`, value, min, max);
    } catch {
      throw new InvalidParameterError(`${key} (--${kebab(key)} / ${envName}) must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    }
  };

  const logLevel = String(pick("logLevel", "LOG_LEVEL") ?? DEFAULT_SERVE_CONFIG.logLevel);
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new InvalidParameterError(`logLevel (--log-level / LOG_LEVEL) must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(logLevel)}`);
  }
  const accessLogRaw = pick("accessLog", "ACCESS_LOG");
  const accessLog = accessLogRaw === undefined ? DEFAULT_SERVE_CONFIG.accessLog : accessLogRaw === true || /^(1|true|yes|on)$/i.test(String(accessLogRaw));
  const trackingUri = pick("trackingUri", "MLFLOW_TRACKING_URI");
  const authToken = pick("authToken", "POLARITY_SERVE_TOKEN");
  let authBasic = pick("authBasic", "POLARITY_SERVE_AUTH");
  if (authBasic === undefined && env.POLARITY_SERVE_USERNAME) authBasic = `${env.POLARITY_SERVE_USERNAME}:${env.POLARITY_SERVE_PASSWORD ?? ""}`;
  if (authBasic !== undefined && !String(authBasic).includes(":")) {
    throw new InvalidParameterError("authBasic (--auth / POLARITY_SERVE_USERNAME and POLARITY_SERVE_PASSWORD) must be user:password");
  }

  return {
    host: String(pick("host", "HOST") ?? DEFAULT_SERVE_CONFIG.host),
    port: int("port", "PORT", 0, 65535),
    modelUri: String(pick("modelUri", "MODEL_URI") ?? DEFAULT_SERVE_CONFIG.modelUri),
    ...(trackingUri !== undefined ? { trackingUri: String(trackingUri) } : {}),
    pollIntervalMs: int("pollIntervalMs", "MODEL_POLL_INTERVAL_MS", 0),
    workers: int("workers", "WEB_CONCURRENCY", 1, 256),
    maxTextLength: int("maxTextLength", "MAX_TEXT_LENGTH", 1),
    maxBatchSize: int("maxBatchSize", "MAX_BATCH_SIZE", 1),
    bodyLimitBytes: int("bodyLimitBytes", "BODY_LIMIT_BYTES", 1024),
    logLevel: logLevel as LogLevel,
    accessLog,
    shutdownTimeoutMs: int("shutdownTimeoutMs", "SHUTDOWN_TIMEOUT_MS", 0),
    preStopDelayMs: int("preStopDelayMs", "PRE_STOP_DELAY_MS", 0),
    requestTimeoutMs: int("requestTimeoutMs", "REQUEST_TIMEOUT_MS", 0),
    idleTimeoutMs: int("idleTimeoutMs", "IDLE_TIMEOUT_MS", 0),
    keepAliveTimeoutMs: int("keepAliveTimeoutMs", "KEEP_ALIVE_TIMEOUT_MS", 1),
    maxBatchChars: int("maxBatchChars", "MAX_BATCH_CHARS", 1),
    maxExplainTexts: int("maxExplainTexts", "MAX_EXPLAIN_TEXTS", 1),
    maxInflightChars: int("maxInflightChars", "MAX_INFLIGHT_CHARS", 1),
    maxModelBytes: int("maxModelBytes", "MAX_MODEL_BYTES", 1024),
    ...(authToken !== undefined ? { authToken: String(authToken) } : {}),
    ...(authBasic !== undefined ? { authBasic: String(authBasic) } : {}),
  };
}

function kebab(name: string): string {
  const special: Record<string, string> = {
    modelUri: "model",
    pollIntervalMs: "poll-interval",
    bodyLimitBytes: "body-limit",
    shutdownTimeoutMs: "shutdown-timeout",
    preStopDelayMs: "pre-stop-delay",
    requestTimeoutMs: "request-timeout",
    idleTimeoutMs: "idle-timeout",
    keepAliveTimeoutMs: "keep-alive-timeout",
    authBasic: "auth",
  };
  return special[name] ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
