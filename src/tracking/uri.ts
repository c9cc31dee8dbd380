import { dirname, join, resolve } from "node:path";
import { InvalidParameterError } from "../util/errors.js";

/** The embedded default: a SQLite file and an artifact directory in the working directory. */
export const DEFAULT_TRACKING_URI = "sqlite:///mlruns.db";
export const DEFAULT_ARTIFACTS_DIR_NAME = "mlartifacts";

/** Resolution order: explicit option → MLFLOW_TRACKING_URI → `sqlite:///mlruns.db` (+ `./mlartifacts/`). */
export function resolveTrackingUri(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env.MLFLOW_TRACKING_URI || DEFAULT_TRACKING_URI;
}

export type LocalTarget = { kind: "local"; dbPath: string; artifactsDir: string };
export type PostgresTarget = {
  kind: "postgresql";
  /** The connection URI handed to the driver (Polarity's own query options removed). */
  url: string;
  artifactsDir: string;
  /** Connections per process from `?pool_size=N` (1–1000), when the URI sets it. */
  poolSize?: number;
};

/** Connections a PostgreSQL pool may hold, per server process (`pool_size`, `--db-pool-size`). */
export const MAX_POOL_SIZE = 1000;

/**
 * A pool size from a URI option, a flag or an environment variable (`what` names it in the
 * error): a whole number from 1 to MAX_POOL_SIZE.
 */
export function parsePoolSize(value: string, what: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_POOL_SIZE)
    throw new InvalidParameterError(`${what} must be a whole number of connections from 1 to ${MAX_POOL_SIZE}, got '${value}'`);
  return n;
}
export type HttpTarget = { kind: "http"; baseUrl: string; username?: string; password?: string };
export type StoreTarget = LocalTarget | PostgresTarget | HttpTarget;

/** `scheme://user:secret@host` → `scheme://user:***@host`, for every message that shows a URI. */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/*)([^/@:]*):([^/@]*)@/i, "$1$2:***@");
}

/**
 * The one parser for store and tracking URIs (server flags, MLFLOW_TRACKING_URI, params.yaml):
 * - `http(s)://[user:password@]host…` → a remote server (userinfo becomes Basic credentials);
 * - `sqlite:///rel.db` / `sqlite:////abs.db` / a `*.db` path → that SQLite file;
 * - `postgresql://…` (also `postgres://`, `postgresql+driver://`) → a PostgreSQL store;
 * - any other local path (or `file:` URI) → a directory holding `mlruns.db` and `mlartifacts/`;
 * - any other scheme → a clear error (never a file named after the URI).
 * Local artifacts default to `mlartifacts/` beside the database file.
 */
export function parseTrackingUri(uri: string, artifactsDir?: string): StoreTarget {
  if (typeof uri !== "string" || uri.trim() === "")
    throw new InvalidParameterError("Empty tracking URI: use http(s)://host[:port], sqlite:///path.db or a local directory");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") return httpTarget(uri);
  if (scheme === "postgresql" || scheme === "postgres" || scheme?.startsWith("postgresql+")) {
    if (!/^[a-z0-9+]+:\/\/[^/]/i.test(uri))
      throw new InvalidParameterError(`Invalid PostgreSQL URI '${redactUri(uri)}': expected postgresql://user:password@host:port/database`);
    const { url, poolSize } = takePoolSize(uri.replace(/^postgres(ql)?(\+[a-z0-9]+)?:/i, "postgresql:"));
    const target: PostgresTarget = { kind: "postgresql", url, artifactsDir: resolve(artifactsDir ?? DEFAULT_ARTIFACTS_DIR_NAME) };
    if (poolSize !== undefined) target.poolSize = poolSize;
    return target;
  }
  let dbPath: string;
  if (scheme === "sqlite") {
    const m = /^sqlite:\/\/\/(.+)$/i.exec(uri);
    if (!m) throw new InvalidParameterError(`Invalid tracking URI '${redactUri(uri)}': expected sqlite:///relative.db or sqlite:////absolute.db`);
    dbPath = resolve(m[1]);
  } else if (scheme === "file") {
    dbPath = localDbPath(resolve(uri.replace(/^file:(\/\/)?/i, "")));
  } else if (scheme !== undefined && scheme.length > 1) {
    throw new InvalidParameterError(
      `Unsupported tracking URI '${redactUri(uri)}': use http(s)://host[:port], sqlite:///path.db, postgresql://user:password@host/db or a local directory`,
    );
  } else {
    dbPath = localDbPath(resolve(uri));
  }
  return { kind: "local", dbPath, artifactsDir: resolve(artifactsDir ?? join(dirname(dbPath), DEFAULT_ARTIFACTS_DIR_NAME)) };
}

/**
 * Removes Polarity's `pool_size` option from a PostgreSQL URI's query (the driver would not
 * know it); every other option (sslmode, application_name, …) stays for the driver.
 */
function takePoolSize(uri: string): { url: string; poolSize?: number } {
  const q = uri.indexOf("?");
  if (q < 0) return { url: uri };
  const hash = uri.indexOf("#", q);
  const query = uri.slice(q + 1, hash < 0 ? undefined : hash);
  let poolSize: number | undefined;
  const kept: string[] = [];
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name !== "pool_size") {
      if (part !== "") kept.push(part);
      continue;
    }
    if (poolSize !== undefined) throw new InvalidParameterError("PostgreSQL URI option pool_size is given twice");
    poolSize = parsePoolSize(eq < 0 ? "" : part.slice(eq + 1), "PostgreSQL URI option pool_size");
  }
  return { url: uri.slice(0, q) + (kept.length > 0 ? `?${kept.join("&")}` : "") + (hash < 0 ? "" : uri.slice(hash)), poolSize };
}

/** The PostgreSQL URI with its `pool_size` option set to `poolSize` (replacing any there). */
export function withPoolSize(uri: string, poolSize: number): string {
  const hash = uri.indexOf("#");
  const head = hash < 0 ? uri : uri.slice(0, hash);
  const q = head.indexOf("?");
  const base = q < 0 ? head : head.slice(0, q);
  const kept =
    q < 0
      ? []
      : head
          .slice(q + 1)
          .split("&")
          .filter((p) => p !== "" && !/^pool_size(=|$)/.test(p));
  return `${base}?${[...kept, `pool_size=${poolSize}`].join("&")}${hash < 0 ? "" : uri.slice(hash)}`;
}

function localDbPath(path: string): string {
  return /\.(db|sqlite3?)$/i.test(path) ? path : join(path, "mlruns.db");
}

function httpTarget(uri: string): HttpTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidParameterError(`Invalid tracking URI '${redactUri(uri)}': not a valid http(s) URL`);
  }
  const target: HttpTarget = { kind: "http", baseUrl: "" };
  if (url.username || url.password) {
    target.username = decodeURIComponent(url.username);
    target.password = decodeURIComponent(url.password);
    url.username = "";
    url.password = "";
  }
  target.baseUrl = url
    .toString()
    .replace(/[?#].*$/, "")
    .replace(/\/+$/, "");
  return target;
}

export type ModelUri =
  | { kind: "version"; name: string; version: string }
  | { kind: "alias"; name: string; alias: string }
  | { kind: "stage"; name: string; stage: string }
  | { kind: "latest"; name: string };

const STAGES = ["none", "staging", "production", "archived"];

/** `models:/name/3`, `models:/name@alias`, `models:/name/Production`, `models:/name/latest`. */
export function parseModelUri(uri: string): ModelUri {
  const m = /^models:\/(?!\/)(.+)$/.exec(uri);
  if (!m) throw new InvalidParameterError(`Invalid model URI '${uri}': expected models:/<name>/<version|stage|latest> or models:/<name>@<alias>`);
  const rest = m[1].replace(/\/+$/, "");
  const at = rest.lastIndexOf("@");
  const slash = rest.lastIndexOf("/");
  if (at > 0 && at > slash) return { kind: "alias", name: rest.slice(0, at), alias: rest.slice(at + 1) };
  if (slash <= 0 || slash === rest.length - 1)
    throw new InvalidParameterError(`Invalid model URI '${uri}': expected models:/<name>/<version|stage|latest> or models:/<name>@<alias>`);
  const name = rest.slice(0, slash);
  const suffix = rest.slice(slash + 1);
  if (/^\d+$/.test(suffix)) return { kind: "version", name, version: String(Number(suffix)) };
  if (suffix.toLowerCase() === "latest") return { kind: "latest", name };
  if (STAGES.includes(suffix.toLowerCase())) return { kind: "stage", name, stage: suffix };
  throw new InvalidParameterError(`Invalid model URI '${uri}': '${suffix}' is not a version number, a stage (None, Staging, Production, Archived) or 'latest'`);
}

/** `runs:/<run_id>/<path>` → run id and artifact path ("" for the run root). */
export function parseRunsUri(uri: string): { runId: string; path: string } {
  const m = /^runs:\/(?!\/)([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new InvalidParameterError(`Invalid runs URI '${uri}': expected runs:/<run_id>/<artifact path>`);
  return { runId: m[1], path: m[2].replace(/\/+$/, "") };
}
