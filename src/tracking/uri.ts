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
export type HttpTarget = { kind: "http"; baseUrl: string };

/**
 * `http(s)://…` → HTTP; `sqlite:///rel.db` / `sqlite:////abs.db` / a `*.db` path → that file;
 * any other local path (or `file:` URI) → a directory holding `mlruns.db` and `mlartifacts/`.
 * Local artifacts default to `mlartifacts/` beside the database file.
 */
export function parseTrackingUri(uri: string, artifactsDir?: string): LocalTarget | HttpTarget {
  if (/^https?:\/\//i.test(uri)) return { kind: "http", baseUrl: uri.replace(/\/+$/, "") };
  let dbPath: string;
  if (uri.startsWith("sqlite:")) {
    const m = /^sqlite:\/\/\/(.+)$/.exec(uri);
    if (!m) throw new InvalidParameterError(`Invalid tracking URI '${uri}': expected sqlite:///relative.db or sqlite:////absolute.db`);
    dbPath = resolve(m[1]);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith("file:")) {
    throw new InvalidParameterError(`Unsupported tracking URI '${uri}': use http(s)://host[:port], sqlite:///path.db or a local directory`);
  } else {
    const path = resolve(uri.replace(/^file:(\/\/)?/, ""));
    dbPath = /\.(db|sqlite3?)$/i.test(path) ? path : join(path, "mlruns.db");
  }
  return { kind: "local", dbPath, artifactsDir: resolve(artifactsDir ?? join(dirname(dbPath), DEFAULT_ARTIFACTS_DIR_NAME)) };
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
  if (slash <= 0 || slash === rest.length - 1) throw new InvalidParameterError(`Invalid model URI '${uri}': expected models:/<name>/<version|stage|latest> or models:/<name>@<alias>`);
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
