import { InvalidParameterError, NotFoundError } from "../util/errors.js";
import type { KeyValue } from "./types.js";

/** Limits from mlflow/utils/validation.py, so that anything MLflow accepts we accept and vice versa. */
export const LIMITS = {
  MAX_PARAMS_TAGS_PER_BATCH: 100,
  MAX_METRICS_PER_BATCH: 1000,
  MAX_DATASETS_PER_BATCH: 1000,
  MAX_ENTITIES_PER_BATCH: 1000,
  MAX_BATCH_LOG_REQUEST_SIZE: 1_000_000,
  MAX_PARAM_VAL_LENGTH: 6000,
  MAX_TAG_VAL_LENGTH: 5000,
  MAX_EXPERIMENT_NAME_LENGTH: 500,
  MAX_EXPERIMENT_TAG_KEY_LENGTH: 250,
  MAX_EXPERIMENT_TAG_VAL_LENGTH: 5000,
  MAX_ENTITY_KEY_LENGTH: 250,
  MAX_MODEL_REGISTRY_TAG_KEY_LENGTH: 250,
  MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH: 5000,
  MAX_DATASET_NAME_SIZE: 500,
  MAX_DATASET_DIGEST_SIZE: 36,
  MAX_DATASET_SCHEMA_SIZE: 1048575,
  MAX_DATASET_SOURCE_SIZE: 65535,
  MAX_DATASET_PROFILE_SIZE: 16777215,
  MAX_INPUT_TAG_KEY_SIZE: 255,
  MAX_INPUT_TAG_VALUE_SIZE: 500,
  MAX_REGISTERED_MODEL_ALIAS_LENGTH: 255,
  /** MLflow's SQL schema: registered_models.description and model_versions.description are String(5000). */
  MAX_DESCRIPTION_LENGTH: 5000,
  /** MLflow's SQL schema: runs.name is String(250). */
  MAX_RUN_NAME_LENGTH: 250,
  SEARCH_MAX_RESULTS_DEFAULT: 1000,
  SEARCH_MAX_RESULTS_THRESHOLD: 50000,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT: 100,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD: 1000,
  SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT: 10000,
  SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD: 200000,
} as const;

const VALID_KEY = /^[/\w.\- ]*$/;
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
const ALIAS = /^[\w-]*$/;
const VERSION_ALIAS = /^[vV]\d+$/;
const BAD_CHARACTERS = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).";

/** posixpath.normpath, enough to tell whether a key "would resolve to another name" as a file path. */
export function normalizePosixPath(p: string): string {
  if (p === "") return ".";
  const absolute = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  return absolute ? "/" + joined : joined || ".";
}

function pathNotUnique(name: string): boolean {
  const norm = normalizePosixPath(name);
  return norm !== name || norm === "." || norm.startsWith("..") || norm.startsWith("/");
}

/** Metric, param and tag names: `[/\w.\- ]`, ≤250 chars, and must not normalise to another path. */
export function validateKey(kind: "metric" | "parameter" | "tag", name: unknown): string {
  if (typeof name !== "string") throw new InvalidParameterError(`${capital(kind)} name cannot be None. A key name must be provided.`);
  if (!VALID_KEY.test(name)) throw new InvalidParameterError(`Invalid ${kind} name: '${name}'. ${BAD_CHARACTERS}`);
  if (pathNotUnique(name)) {
    throw new InvalidParameterError(
      `Invalid ${kind} name: '${name}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${normalizePosixPath(name)}'`,
    );
  }
  validateLength(`${capital(kind === "parameter" ? "param" : kind)} key`, LIMITS.MAX_ENTITY_KEY_LENGTH, name);
  return name;
}

export function validateLength(what: string, limit: number, value: string | undefined): void {
  if (value !== undefined && value.length > limit) {
    throw new InvalidParameterError(`${what} '${value.slice(0, 250)}' had length ${value.length}, which exceeded length limit of ${limit}`);
  }
}

export function validateParam(p: KeyValue): void {
  validateKey("parameter", p.key);
  if (typeof p.value !== "string") throw new InvalidParameterError(`Param value for '${p.key}' must be a string, got ${typeof p.value}`);
  validateLength("Param value", LIMITS.MAX_PARAM_VAL_LENGTH, p.value);
}

export function validateRunTag(t: KeyValue): void {
  validateKey("tag", t.key);
  if (typeof t.value !== "string") throw new InvalidParameterError(`Tag value for '${t.key}' must be a string, got ${typeof t.value}`);
  validateLength("Tag value", LIMITS.MAX_TAG_VAL_LENGTH, t.value);
}

export function validateExperimentTag(t: KeyValue): void {
  validateKey("tag", t.key);
  validateLength("Tag key", LIMITS.MAX_EXPERIMENT_TAG_KEY_LENGTH, t.key);
  validateLength("Tag value", LIMITS.MAX_EXPERIMENT_TAG_VAL_LENGTH, t.value);
}

export function validateRegistryTag(kind: "Registered model" | "Model version", t: KeyValue): void {
  validateKey("tag", t.key);
  if (typeof t.value !== "string") throw new InvalidParameterError(`${kind} tag value for '${t.key}' must be a string`);
  validateLength(`${kind} key`, LIMITS.MAX_MODEL_REGISTRY_TAG_KEY_LENGTH, t.key);
  validateLength(`${kind} value`, LIMITS.MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH, t.value);
}

export function validateMetric(key: string, value: number, timestamp: number, step: number): void {
  validateKey("metric", key);
  if (typeof value !== "number") {
    throw new InvalidParameterError(
      `Got invalid value ${String(value)} for metric '${key}' (timestamp=${timestamp}). Please specify value as a valid double (64-bit floating point)`,
    );
  }
  if (typeof timestamp !== "number" || !Number.isInteger(timestamp) || timestamp < 0) {
    throw new InvalidParameterError(
      `Got invalid timestamp ${String(timestamp)} for metric '${key}' (value=${value}). Timestamp must be a nonnegative long (64-bit integer) `,
    );
  }
  if (typeof step !== "number" || !Number.isInteger(step)) {
    throw new InvalidParameterError(`Got invalid step ${String(step)} for metric '${key}' (value=${value}). Step must be a valid long (64-bit integer).`);
  }
}

export function validateBatchLimits(metrics: number, params: number, tags: number): void {
  const check = (entity: string, limit: number, length: number) => {
    if (length > limit) {
      throw new InvalidParameterError(
        `A batch logging request can contain at most ${limit} ${entity}. Got ${length} ${entity}. Please split up ${entity} across multiple requests and try again.`,
      );
    }
  };
  check("metrics", LIMITS.MAX_METRICS_PER_BATCH, metrics);
  check("params", LIMITS.MAX_PARAMS_TAGS_PER_BATCH, params);
  check("tags", LIMITS.MAX_PARAMS_TAGS_PER_BATCH, tags);
  check("metrics, params, and tags", LIMITS.MAX_ENTITIES_PER_BATCH, metrics + params + tags);
}

export function validateRunId(runId: unknown): string {
  if (typeof runId !== "string" || !RUN_ID.test(runId)) throw new InvalidParameterError(`Invalid run ID: '${String(runId)}'`);
  return runId;
}

export function validateExperimentName(name: unknown): string {
  if (name === "" || name === undefined || name === null) throw new InvalidParameterError(`Invalid experiment name: '${String(name ?? "")}'`);
  if (typeof name !== "string") throw new InvalidParameterError(`Invalid experiment name: ${String(name)}. Expects a string.`);
  if (name.length > LIMITS.MAX_EXPERIMENT_NAME_LENGTH) {
    throw new InvalidParameterError(`Experiment name exceeds the maximum length of ${LIMITS.MAX_EXPERIMENT_NAME_LENGTH} characters`);
  }
  return name;
}

export function validateModelName(name: unknown): string {
  if (typeof name !== "string" || name === "") throw new InvalidParameterError("Registered model name cannot be empty.");
  return name;
}

/** Model versions are positive integers; returns the number so callers compare numerically. */
export function parseModelVersion(version: unknown): number {
  const s = String(version ?? "");
  if (!/^\d+$/.test(s)) throw new InvalidParameterError(`Model version must be an integer, got '${s}'`);
  return Number(s);
}

export function validateAlias(alias: unknown): string {
  if (typeof alias !== "string" || alias === "") throw new InvalidParameterError("Registered model alias name cannot be empty.");
  if (!ALIAS.test(alias))
    throw new InvalidParameterError(`Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`);
  validateLength("Registered model alias name", LIMITS.MAX_REGISTERED_MODEL_ALIAS_LENGTH, alias);
  if (alias.toLowerCase() === "latest") throw new InvalidParameterError("'latest' alias name (case insensitive) is reserved.");
  if (VERSION_ALIAS.test(alias)) throw new InvalidParameterError(`Version alias name '${alias}' is reserved.`);
  return alias;
}

export function validateMaxResults(value: number | undefined, fallback: number, threshold: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidParameterError(`Invalid value for request parameter max_results. It must be a positive integer, but got value ${value}`);
  }
  if (value > threshold) {
    throw new InvalidParameterError(`Invalid value for request parameter max_results. It must be at most ${threshold}, but got value ${value}`);
  }
  return value;
}

/** Offset page tokens, encoded like MLflow's: base64 of `{"offset": N}`. */
export function createPageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64");
}

export function parsePageToken(token: string | undefined): number {
  if (!token) return 0;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw new InvalidParameterError("Invalid page token, could not base64-decode");
  const decoded = Buffer.from(token, "base64").toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded);
  } catch {
    throw new InvalidParameterError(`Invalid page token, decoded value=${decoded}`);
  }
  const offset = (parsed as { offset?: unknown } | null)?.offset;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw new InvalidParameterError(`Invalid page token, parsed value=${decoded}`);
  }
  return offset;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Characters MLflow 3's `_validate_logged_model_name` refuses in a logged model's name. */
const LOGGED_MODEL_NAME_BAD_CHARS = ["/", ":", ".", "%", '"', "'"];
/** MLflow's SQL schema: logged_models.name is String(500). */
export const MAX_LOGGED_MODEL_NAME_LENGTH = 500;

/** MLflow 3's `_validate_logged_model_name`: unset is fine (a name is generated), empty or path-like is not. */
export function validateLoggedModelName(name: string | undefined): void {
  if (name === undefined) return;
  if (name === "" || LOGGED_MODEL_NAME_BAD_CHARS.some((c) => name.includes(c))) {
    const repr = name.includes("'") && !name.includes('"') ? `"${name}"` : `'${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
    throw new InvalidParameterError(
      `Invalid model name (${repr.slice(0, 600)}) provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%', '"', "'")`,
    );
  }
  validateLength("Logged model name", MAX_LOGGED_MODEL_NAME_LENGTH, name);
}

/** Logged model ids are `m-` + 32 hex digits here; other servers' ids (ULIDs) fit the same bound. */
const MODEL_ID = /^m-[A-Za-z0-9]{1,64}$/;

/** An id that cannot be a logged model's is not found, as MLflow answers any unknown id (never looked up). */
export function validateLoggedModelId(modelId: unknown): string {
  if (typeof modelId !== "string" || !MODEL_ID.test(modelId)) {
    throw new NotFoundError(
      `Logged model with ID '${String(modelId)
        .slice(0, 100)
        .replace(/[^\x20-\x7e]/g, "?")}' not found.`,
    );
  }
  return modelId;
}

/**
 * MLflow's tracking store bound on experiments/search and runs/search (sqlalchemy_store
 * `_validate_max_results_param`), with its wording. The registry keeps its own (validateMaxResults).
 */
export function validateTrackingMaxResults(value: number | undefined): void {
  if (value === undefined) return;
  if (value < 1) throw new InvalidParameterError(`Invalid value ${value} for parameter 'max_results' supplied. It must be a positive integer`);
  if (value > LIMITS.SEARCH_MAX_RESULTS_THRESHOLD) {
    throw new InvalidParameterError(`Invalid value ${value} for parameter 'max_results' supplied. It must be at most ${LIMITS.SEARCH_MAX_RESULTS_THRESHOLD}`);
  }
}
