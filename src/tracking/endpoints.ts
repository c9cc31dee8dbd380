import { Type as T, type Static, type TProperties, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import { DEFAULT_MAX_JSON_DEPTH, jsonNestingExceeds } from "../http/limits.js";
import { InvalidParameterError } from "../util/errors.js";

/**
 * MLflow's REST endpoints (paths and HTTP methods from service.proto and model_registry.proto)
 * with one JSON schema each. The table drives the fastify routes, the HTTP transport and the
 * in-process transport alike, so all three agree on names, methods and validation.
 */

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface EndpointDef {
  method: HttpMethod;
  path: string;
  schema: TSchema;
}

const Str = T.String();
const Int = T.Integer();
const KV = T.Object({ key: T.String(), value: T.String() });
const Tags = T.Array(KV);
const ViewType = T.Union([T.Literal("ACTIVE_ONLY"), T.Literal("DELETED_ONLY"), T.Literal("ALL")]);
const MetricValue = T.Union([T.Number(), T.Literal("NaN"), T.Literal("Infinity"), T.Literal("-Infinity")]);
/** MLflow 3 links a metric to a logged model (model_id) and to the dataset it was computed on. */
const MetricModelLink = {
  model_id: T.Optional(Str),
  dataset_name: T.Optional(Str),
  dataset_digest: T.Optional(Str),
};
const MetricSchema = T.Object({ key: Str, value: MetricValue, timestamp: Int, step: T.Optional(Int), ...MetricModelLink, run_id: T.Optional(Str) });
const DatasetSchema = T.Object({
  name: Str,
  digest: Str,
  source_type: Str,
  source: Str,
  schema: T.Optional(Str),
  profile: T.Optional(Str),
});
/**
 * A search request. `maxResults` is the cap MLflow's handler enforces before the store sees the
 * request (`_assert_less_than_or_equal(int(x), N)`, answered with its "Invalid value … supplied"
 * message); searches without one leave the bound to the store.
 */
const search = (maxResults?: number) => ({
  max_results: T.Optional(maxResults === undefined ? Int : T.Integer({ maximum: maxResults })),
  page_token: T.Optional(Str),
  filter: T.Optional(Str),
  order_by: T.Optional(T.Array(Str)),
});
/** LoggedModelStatus by name or number; a model is finalized as READY (2) or UPLOAD_FAILED (3). */
const FinalStatus = T.Union([T.Literal("LOGGED_MODEL_READY"), T.Literal("LOGGED_MODEL_UPLOAD_FAILED"), T.Literal(2), T.Literal(3)]);

const ep = <P extends TProperties>(method: HttpMethod, path: string, props: P) => ({ method, path, schema: T.Object(props) });

export const ENDPOINTS = {
  createExperiment: ep("POST", "experiments/create", { name: Str, artifact_location: T.Optional(Str), tags: T.Optional(Tags) }),
  getExperiment: ep("GET", "experiments/get", { experiment_id: Str }),
  getExperimentByName: ep("GET", "experiments/get-by-name", { experiment_name: Str }),
  searchExperiments: ep("POST", "experiments/search", { ...search(), view_type: T.Optional(ViewType) }),
  deleteExperiment: ep("POST", "experiments/delete", { experiment_id: Str }),
  restoreExperiment: ep("POST", "experiments/restore", { experiment_id: Str }),
  updateExperiment: ep("POST", "experiments/update", { experiment_id: Str, new_name: T.Optional(Str) }),
  setExperimentTag: ep("POST", "experiments/set-experiment-tag", { experiment_id: Str, key: Str, value: Str }),

  createRun: ep("POST", "runs/create", {
    experiment_id: Str,
    user_id: T.Optional(Str),
    run_name: T.Optional(Str),
    start_time: T.Optional(Int),
    tags: T.Optional(Tags),
  }),
  getRun: ep("GET", "runs/get", { run_id: T.Optional(Str), run_uuid: T.Optional(Str) }),
  updateRun: ep("POST", "runs/update", {
    run_id: T.Optional(Str),
    run_uuid: T.Optional(Str),
    status: T.Optional(T.Union([T.Literal("RUNNING"), T.Literal("SCHEDULED"), T.Literal("FINISHED"), T.Literal("FAILED"), T.Literal("KILLED")])),
    end_time: T.Optional(Int),
    run_name: T.Optional(Str),
  }),
  deleteRun: ep("POST", "runs/delete", { run_id: Str }),
  restoreRun: ep("POST", "runs/restore", { run_id: Str }),
  searchRuns: ep("POST", "runs/search", { ...search(50_000), experiment_ids: T.Optional(T.Array(Str)), run_view_type: T.Optional(ViewType) }),
  logMetric: ep("POST", "runs/log-metric", {
    run_id: T.Optional(Str),
    run_uuid: T.Optional(Str),
    key: Str,
    value: MetricValue,
    timestamp: Int,
    step: T.Optional(Int),
    ...MetricModelLink,
  }),
  logParam: ep("POST", "runs/log-parameter", { run_id: T.Optional(Str), run_uuid: T.Optional(Str), key: Str, value: Str }),
  setTag: ep("POST", "runs/set-tag", { run_id: T.Optional(Str), run_uuid: T.Optional(Str), key: Str, value: Str }),
  deleteTag: ep("POST", "runs/delete-tag", { run_id: Str, key: Str }),
  logBatch: ep("POST", "runs/log-batch", { run_id: Str, metrics: T.Optional(T.Array(MetricSchema)), params: T.Optional(Tags), tags: T.Optional(Tags) }),
  // `datasets` is required unless `models` is given (MLflow 2.12 requires it; MLflow 3's client sends models alone): checked by the service.
  logInputs: ep("POST", "runs/log-inputs", {
    run_id: Str,
    datasets: T.Optional(T.Array(T.Object({ tags: T.Optional(Tags), dataset: DatasetSchema }))),
    models: T.Optional(T.Array(T.Object({ model_id: Str }))),
  }),
  logOutputs: ep("POST", "runs/outputs", { run_id: Str, models: T.Array(T.Object({ model_id: Str, step: Int })) }),
  logModel: ep("POST", "runs/log-model", { run_id: Str, model_json: Str }),
  getMetricHistory: ep("GET", "metrics/get-history", {
    run_id: T.Optional(Str),
    run_uuid: T.Optional(Str),
    metric_key: Str,
    page_token: T.Optional(Str),
    max_results: T.Optional(Int),
  }),
  // MLflow 3's logged models. `:name` segments are path parameters, merged into the request.
  createLoggedModel: ep("POST", "logged-models", {
    experiment_id: Str,
    name: T.Optional(Str),
    model_type: T.Optional(Str),
    source_run_id: T.Optional(Str),
    params: T.Optional(Tags),
    tags: T.Optional(Tags),
  }),
  searchLoggedModels: ep("POST", "logged-models/search", {
    experiment_ids: T.Array(Str),
    filter: T.Optional(Str),
    datasets: T.Optional(T.Array(T.Object({ dataset_name: Str, dataset_digest: T.Optional(Str) }))),
    max_results: T.Optional(Int),
    order_by: T.Optional(
      T.Array(T.Object({ field_name: Str, ascending: T.Optional(T.Boolean()), dataset_name: T.Optional(Str), dataset_digest: T.Optional(Str) })),
    ),
    page_token: T.Optional(Str),
  }),
  getLoggedModel: ep("GET", "logged-models/:model_id", { model_id: Str, allow_deleted: T.Optional(T.Boolean()) }),
  finalizeLoggedModel: ep("PATCH", "logged-models/:model_id", { model_id: Str, status: FinalStatus }),
  deleteLoggedModel: ep("DELETE", "logged-models/:model_id", { model_id: Str }),
  setLoggedModelTags: ep("PATCH", "logged-models/:model_id/tags", { model_id: Str, tags: T.Optional(Tags) }),
  deleteLoggedModelTag: ep("DELETE", "logged-models/:model_id/tags/:tag_key", { model_id: Str, tag_key: Str }),
  logLoggedModelParams: ep("POST", "logged-models/:model_id/params", { model_id: Str, params: T.Optional(Tags) }),
  listLoggedModelArtifacts: ep("GET", "logged-models/:model_id/artifacts/directories", {
    model_id: Str,
    artifact_directory_path: T.Optional(Str),
    page_token: T.Optional(Str),
  }),
  listArtifacts: ep("GET", "artifacts/list", { run_id: T.Optional(Str), run_uuid: T.Optional(Str), path: T.Optional(Str), page_token: T.Optional(Str) }),

  createRegisteredModel: ep("POST", "registered-models/create", { name: Str, tags: T.Optional(Tags), description: T.Optional(Str) }),
  getRegisteredModel: ep("GET", "registered-models/get", { name: Str }),
  searchRegisteredModels: ep("GET", "registered-models/search", search(1000)),
  renameRegisteredModel: ep("POST", "registered-models/rename", { name: Str, new_name: Str }),
  updateRegisteredModel: ep("PATCH", "registered-models/update", { name: Str, description: T.Optional(Str) }),
  deleteRegisteredModel: ep("DELETE", "registered-models/delete", { name: Str }),
  setRegisteredModelTag: ep("POST", "registered-models/set-tag", { name: Str, key: Str, value: Str }),
  deleteRegisteredModelTag: ep("DELETE", "registered-models/delete-tag", { name: Str, key: Str }),
  getLatestVersions: ep("POST", "registered-models/get-latest-versions", { name: Str, stages: T.Optional(T.Array(Str)) }),
  setRegisteredModelAlias: ep("POST", "registered-models/alias", { name: Str, alias: Str, version: Str }),
  deleteRegisteredModelAlias: ep("DELETE", "registered-models/alias", { name: Str, alias: Str }),
  getModelVersionByAlias: ep("GET", "registered-models/alias", { name: Str, alias: Str }),

  createModelVersion: ep("POST", "model-versions/create", {
    name: Str,
    source: Str,
    run_id: T.Optional(Str),
    tags: T.Optional(Tags),
    run_link: T.Optional(Str),
    description: T.Optional(Str),
  }),
  getModelVersion: ep("GET", "model-versions/get", { name: Str, version: Str }),
  searchModelVersions: ep("GET", "model-versions/search", search(200_000)),
  updateModelVersion: ep("PATCH", "model-versions/update", { name: Str, version: Str, description: T.Optional(Str) }),
  deleteModelVersion: ep("DELETE", "model-versions/delete", { name: Str, version: Str }),
  transitionModelVersionStage: ep("POST", "model-versions/transition-stage", {
    name: Str,
    version: Str,
    stage: Str,
    archive_existing_versions: T.Optional(T.Boolean()),
  }),
  getModelVersionDownloadUri: ep("GET", "model-versions/get-download-uri", { name: Str, version: Str }),
  setModelVersionTag: ep("POST", "model-versions/set-tag", { name: Str, version: Str, key: Str, value: Str }),
  deleteModelVersionTag: ep("DELETE", "model-versions/delete-tag", { name: Str, version: Str, key: Str }),
} satisfies Record<string, EndpointDef>;

export type EndpointName = keyof typeof ENDPOINTS;

/** The validated request message of an endpoint, typed from its schema. */
export type RequestOf<K extends EndpointName> = Static<(typeof ENDPOINTS)[K]["schema"]>;

/** MLflow also answers these GET-able calls with the other method (its clients use both). */
export const EXTRA_METHODS: Partial<Record<EndpointName, HttpMethod[]>> = {
  searchExperiments: ["GET"],
  getLatestVersions: ["GET"],
};

export const API_PREFIX = "/api/2.0/mlflow/";
export const ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts";

const checkers = new Map<TSchema, TypeCheck<TSchema>>();

/**
 * Validates and coerces one request message (query args arrive as strings: "5" → 5, one value
 * → [value]). Errors read like MLflow's: missing required parameter, or invalid value.
 */
export function validateRequest(schema: TSchema, raw: unknown, options: { fromQuery?: boolean } = {}): Record<string, unknown> {
  let checker = checkers.get(schema);
  if (!checker) checkers.set(schema, (checker = TypeCompiler.Compile(schema)));
  if (raw === null || raw === undefined) raw = {};
  // Older MLflow clients post their JSON double-encoded as a string (handlers.py decodes it twice too).
  if (typeof raw === "string") {
    if (jsonNestingExceeds(Buffer.from(raw), DEFAULT_MAX_JSON_DEPTH) >= 0)
      throw new InvalidParameterError(`Request body nests JSON deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new InvalidParameterError("Request body must be a JSON object");
    }
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InvalidParameterError("Request body must be a JSON object");
  // Drop undefined and null members (protobuf parsing leaves a null field unset, so
  // `{"run_id": null}` is a missing run_id); query keys written `ids[]=a` or `ids[0]=a`, as
  // MLflow's JS client sends them, become `ids`.
  const input: Record<string, unknown> = {};
  for (const [key, rawValue] of Object.entries(raw as Record<string, unknown>)) {
    if (rawValue === undefined || rawValue === null) continue;
    const v = withoutNullMembers(rawValue);
    const bracket = /^(.+?)\[\d*\]$/.exec(key);
    if (!bracket) input[key] = v;
    else {
      const k = bracket[1];
      const prev = input[k];
      input[k] = [...(prev === undefined ? [] : Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])];
    }
  }
  const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const [k, s] of Object.entries(props)) {
    if ((s as { type?: string }).type === "array" && input[k] !== undefined && !Array.isArray(input[k])) input[k] = [input[k]];
  }
  // Query strings carry only strings: convert them by the schema. JSON bodies keep their
  // types, except MLflow's int-like and float-like strings ("5", "0.5"), which handlers.py
  // accepts; a number where a string belongs is refused, as MLflow does.
  const sent = { ...input }; // as the client sent it (Value.Convert may convert members in place)
  const converted = options.fromQuery ? Value.Convert(schema, input) : convertNumericStrings(schema, input);
  if (checker.Check(converted)) return converted as Record<string, unknown>;
  const err = checker.Errors(converted).First()!;
  const docs = "See the API docs for more information about request parameters.";
  const segments = err.path.replace(/^\//, "").split("/");
  const top = segments[0];
  // A missing member inside an array names its path as MLflow's log-batch handler does
  // ('metrics[0].timestamp'); any other invalid value names the top-level parameter
  // ('metrics', not 'metrics.0.value'), shown as the client sent it.
  if (err.type === ValueErrorType.ObjectRequiredProperty) {
    const path = segments.map((seg, i) => (i > 0 && /^\d+$/.test(seg) ? `[${seg}]` : i > 0 ? `.${seg}` : seg)).join("");
    throw new InvalidParameterError(`Missing value for required parameter '${path}'. ${docs}`);
  }
  const value = sent[top];
  throw new InvalidParameterError(
    `Invalid value ${pythonStr(value, 200)} for parameter '${top}' supplied. Hint: Value was of type '${pythonType(value)}'. ${docs}`,
  );
}

/**
 * Protobuf parsing leaves a null field unset, nested ones too: `{"timestamp": null}` is a missing
 * timestamp. Copy-on-write: a value with nothing to drop comes back as it is (a 1,000-metric
 * log-batch is not copied twice on its way in).
 */
function withoutNullMembers(value: unknown): unknown {
  if (Array.isArray(value)) return mapArrayCow(value, withoutNullMembers);
  if (value && typeof value === "object")
    return mapObjectCow(value as Record<string, unknown>, (_k, v) => (v === null || v === undefined ? DROP : withoutNullMembers(v)));
  return value;
}

const DROP: unique symbol = Symbol("drop");

/** `f` over each member (DROP leaves it out); the object itself when `f` changed and dropped nothing. */
function mapObjectCow(obj: Record<string, unknown>, f: (key: string, value: unknown) => unknown): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in obj) {
    const v = obj[k];
    const next = f(k, v);
    if (out === undefined && next !== v) {
      out = {};
      for (const k2 in obj) {
        if (k2 === k) break;
        out[k2] = obj[k2];
      }
    }
    if (out !== undefined && next !== DROP) out[k] = next;
  }
  return out ?? obj;
}

/** `array.map(f)`, but the array itself when `f` changed no element. */
function mapArrayCow(value: unknown[], f: (v: unknown) => unknown): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const next = f(value[i]);
    if (out === undefined && next !== value[i]) out = value.slice(0, i);
    if (out !== undefined) out.push(next);
  }
  return out ?? value;
}

/** `int("5")` / `float("0.5")`-style conversion of string leaves where the schema wants numbers (copy-on-write, as above). */
function convertNumericStrings(schema: TSchema, value: unknown): unknown {
  const s = schema as { type?: string; properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[] };
  // In-process callers hand over JS non-finite numbers; on the wire they are "NaN"/"Infinity".
  if (typeof value === "number" && !Number.isFinite(value) && (s.anyOf ?? []).some((o) => (o as { const?: unknown }).const === "NaN")) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  if (typeof value === "string") {
    if (s.type === "integer" && /^-?\d+$/.test(value.trim())) return Number(value);
    const wantsNumber = s.type === "number" || (s.anyOf ?? []).some((o) => (o as { type?: string }).type === "number");
    if (wantsNumber && /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
    return value;
  }
  if (Array.isArray(value) && s.type === "array" && s.items) {
    const items = s.items;
    return mapArrayCow(value, (v) => convertNumericStrings(items, v));
  }
  if (value && typeof value === "object" && !Array.isArray(value) && s.type === "object" && s.properties) {
    const properties = s.properties;
    return mapObjectCow(value as Record<string, unknown>, (k, v) => (properties[k] ? convertNumericStrings(properties[k], v) : v));
  }
  return value;
}

/** How Python's f-string shows a JSON value (MLflow's messages embed `{value}`). */
function pythonStr(value: unknown, max: number, nested = false): string {
  let out: string;
  if (typeof value === "string") out = nested ? `'${value}'` : value;
  else if (typeof value === "boolean") out = value ? "True" : "False";
  else if (value === null || value === undefined) out = "None";
  else if (Array.isArray(value)) out = `[${value.map((v) => pythonStr(v, max, true)).join(", ")}]`;
  else if (typeof value === "object")
    out = `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `'${k}': ${pythonStr(v, max, true)}`)
      .join(", ")}}`;
  else out = String(value);
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

function pythonType(value: unknown): string {
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (value === null || value === undefined) return "NoneType";
  return Array.isArray(value) ? "list" : "dict";
}
