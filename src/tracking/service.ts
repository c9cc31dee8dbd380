import { randomUUID } from "node:crypto";
import { InvalidParameterError } from "../util/errors.js";
import { isAbsolute, relative, resolve as resolvePath, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { LocalArtifactStore, assertSafeArtifactPath, fileUriPath, isLocalArtifactStore, mlflowArtifactsPath, type ArtifactStore } from "./artifact-store.js";
import { ENDPOINTS, validateRequest, type EndpointName, type RequestOf } from "./endpoints.js";
import { parseRunsUri } from "./uri.js";
import type { LoggedModelStore } from "./store/logged-model-store.js";
import type { ModelRegistryStore } from "./store/registry-store.js";
import type { TrackingStore } from "./store/tracking-store.js";
import { LIMITS, validateLength, validateLoggedModelId, validateLoggedModelName, validateRunId, validateTrackingMaxResults } from "./validation.js";
import type { FileInfo, KeyValue, LoggedModelMetric, LoggedModelStatus, Metric, Run } from "./types.js";

type Req = Record<string, unknown>;
type Handlers = { [K in EndpointName]: (req: RequestOf<K>) => Promise<object> };

/** The run tag MLflow's runs/log-model appends each logged model's MLmodel (as JSON) to. */
export const LOGGED_MODELS_TAG = "mlflow.log-model.history";

export interface TrackingServiceOptions {
  /**
   * Refuse client-supplied local artifact locations outside the artifact root (a server must
   * not create directories wherever a client asks). Off for the embedded client, whose user
   * owns the machine anyway.
   */
  confineArtifactLocations?: boolean;
}

/**
 * The REST service layer: one handler per MLflow endpoint, taking the request message and
 * returning the response message. The HTTP server and the in-process transport both call
 * `handle`, so both give byte-for-byte the same answers.
 */
export class TrackingService {
  private readonly handlers: Handlers;

  readonly tracking: TrackingStore;
  readonly registry: ModelRegistryStore;
  readonly loggedModels: LoggedModelStore;

  constructor(
    stores: { tracking: TrackingStore; registry: ModelRegistryStore; loggedModels: LoggedModelStore },
    /** Root of the proxied `mlflow-artifacts:` store; undefined disables it. */
    readonly artifacts: ArtifactStore | undefined,
    readonly options: TrackingServiceOptions = {},
  ) {
    const t = (this.tracking = stores.tracking);
    const g = (this.registry = stores.registry);
    const lm = (this.loggedModels = stores.loggedModels);
    this.handlers = {
      createExperiment: async (r) => ({ experiment_id: await t.createExperiment(r.name, this.experimentArtifactLocation(r.artifact_location), tagsOf(r)) }),
      getExperiment: async (r) => ({ experiment: await t.getExperiment(r.experiment_id) }),
      getExperimentByName: async (r) => ({ experiment: await t.getExperimentByName(r.experiment_name) }),
      searchExperiments: async (r) => {
        validateTrackingMaxResults(r.max_results);
        const p = await t.searchExperiments({ ...searchArgs(r), viewType: r.view_type });
        return withToken({ experiments: p.items }, p.next_page_token);
      },
      deleteExperiment: async (r) => (await t.deleteExperiment(r.experiment_id), {}),
      restoreExperiment: async (r) => (await t.restoreExperiment(r.experiment_id), {}),
      updateExperiment: async (r) => {
        if (r.new_name !== undefined) await t.renameExperiment(r.experiment_id, r.new_name);
        else await t.getExperiment(r.experiment_id);
        return {};
      },
      setExperimentTag: async (r) => (await t.setExperimentTag(r.experiment_id, { key: r.key, value: r.value }), {}),

      createRun: async (r) => ({
        run: await t.createRun({
          experimentId: r.experiment_id,
          userId: r.user_id,
          startTime: r.start_time,
          runName: r.run_name,
          tags: tagsOf(r),
        }),
      }),
      getRun: async (r) => ({ run: await this.withModelIo(await t.getRun(runIdOf(r))) }),
      updateRun: async (r) => ({
        run_info: await t.updateRun(runIdOf(r), { status: r.status, endTime: r.end_time, runName: r.run_name }),
      }),
      deleteRun: async (r) => (await t.deleteRun(r.run_id), {}),
      restoreRun: async (r) => (await t.restoreRun(r.run_id), {}),
      searchRuns: async (r) => {
        validateTrackingMaxResults(r.max_results);
        const p = await t.searchRuns({ ...searchArgs(r), experimentIds: r.experiment_ids ?? [], viewType: r.run_view_type });
        return withToken({ runs: p.items }, p.next_page_token);
      },
      logMetric: async (r) => {
        const runId = runIdOf(r);
        await t.logBatch(runId, [toMetric(r)], [], []);
        await this.linkModelMetrics(runId, [r]);
        return {};
      },
      logParam: async (r) => (await t.logBatch(runIdOf(r), [], [{ key: r.key, value: r.value }], []), {}),
      setTag: async (r) => (await t.setTag(runIdOf(r), { key: r.key, value: r.value }), {}),
      deleteTag: async (r) => (await t.deleteTag(r.run_id, r.key), {}),
      logBatch: async (r) => {
        const metrics = (r.metrics ?? []).map(toMetric);
        await t.logBatch(r.run_id, metrics, r.params ?? [], r.tags ?? []);
        await this.linkModelMetrics(r.run_id, r.metrics ?? []);
        return {};
      },
      logInputs: async (r) => {
        if (r.datasets === undefined && r.models === undefined) {
          throw new InvalidParameterError("Missing value for required parameter 'datasets'. See the API docs for more information about request parameters.");
        }
        if (r.datasets !== undefined || (r.models ?? []).length === 0) {
          const datasets = (r.datasets ?? []).map((d) => ({ tags: d.tags ?? [], dataset: d.dataset }));
          await t.logInputs(r.run_id, datasets);
        }
        const models = r.models ?? [];
        if (models.length > 0) {
          boundCount("models", models.length);
          await this.activeRun(r.run_id);
          await lm.logRunModelInputs(
            r.run_id,
            models.map((m) => validateLoggedModelId(m.model_id)),
          );
        }
        return {};
      },
      logOutputs: async (r) => {
        boundCount("models", r.models.length);
        await this.activeRun(r.run_id);
        for (const m of r.models) validateLoggedModelId(m.model_id);
        await lm.logRunModelOutputs(r.run_id, r.models);
        return {};
      },
      getMetricHistory: async (r) => {
        const p = await t.getMetricHistory(runIdOf(r), r.metric_key, r.max_results, r.page_token);
        return withToken({ metrics: p.items }, p.next_page_token);
      },
      logModel: async (r) => {
        let model: unknown;
        try {
          model = JSON.parse(r.model_json);
        } catch {
          throw new InvalidParameterError(`Malformed model info. \n ${r.model_json.slice(0, 500)} \n is not a valid JSON.`);
        }
        if (!model || typeof model !== "object" || Array.isArray(model)) throw new InvalidParameterError("Model json must be a JSON object");
        const missing = ["artifact_path", "flavors", "utc_time_created", "run_id"].filter((k) => !(k in (model as object)));
        if (missing.length > 0) throw new InvalidParameterError(`Model json is missing mandatory fields: {${missing.map((k) => `'${k}'`).join(", ")}}`);
        const run = await t.getRun(r.run_id);
        const previous = run.data.tags.find((tag) => tag.key === LOGGED_MODELS_TAG)?.value;
        let history: unknown[] = [];
        try {
          const parsed: unknown = previous ? JSON.parse(previous) : [];
          if (Array.isArray(parsed)) history = parsed;
        } catch {
          history = [];
        }
        await t.setTag(r.run_id, { key: LOGGED_MODELS_TAG, value: JSON.stringify([...history, model]) });
        return {};
      },
      createLoggedModel: async (r) => {
        const name = r.name || undefined; // handlers.py: `request_message.name or None`
        validateLoggedModelName(name);
        validateLength("Model type", MAX_MODEL_TYPE_LENGTH, r.model_type);
        if (r.source_run_id) validateRunId(r.source_run_id);
        boundCount("params", (r.params ?? []).length);
        boundCount("tags", (r.tags ?? []).length);
        const exp = await t.getExperiment(r.experiment_id);
        if (exp.lifecycle_stage !== "active") {
          throw new InvalidParameterError(`The experiment ${exp.experiment_id} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`);
        }
        // sqlalchemy_store.create_logged_model: m-<uuid hex>, artifacts under <experiment>/models/<id>/artifacts.
        const modelId = `m-${randomUUID().replace(/-/g, "")}`;
        const model = await lm.createLoggedModel({
          modelId,
          experimentId: exp.experiment_id,
          name: name ?? randomModelName(),
          artifactLocation: appendToUriPath(exp.artifact_location, "models", modelId, "artifacts"),
          modelType: r.model_type,
          sourceRunId: r.source_run_id || undefined,
          params: r.params ?? [],
          tags: r.tags ?? [],
        });
        return { model };
      },
      searchLoggedModels: async (r) => {
        const p = await lm.searchLoggedModels({
          experimentIds: r.experiment_ids,
          filter: r.filter,
          datasets: r.datasets,
          maxResults: r.max_results,
          orderBy: r.order_by,
          pageToken: r.page_token,
        });
        return withToken({ models: p.items }, p.next_page_token);
      },
      getLoggedModel: async (r) => ({ model: await lm.getLoggedModel(validateLoggedModelId(r.model_id), r.allow_deleted ?? false) }),
      finalizeLoggedModel: async (r) => ({ model: await lm.finalizeLoggedModel(validateLoggedModelId(r.model_id), finalStatus(r.status)) }),
      deleteLoggedModel: async (r) => (await lm.deleteLoggedModel(validateLoggedModelId(r.model_id)), {}),
      setLoggedModelTags: async (r) => {
        boundCount("tags", (r.tags ?? []).length);
        await lm.setLoggedModelTags(validateLoggedModelId(r.model_id), r.tags ?? []);
        return {};
      },
      deleteLoggedModelTag: async (r) => (await lm.deleteLoggedModelTag(validateLoggedModelId(r.model_id), r.tag_key), {}),
      logLoggedModelParams: async (r) => {
        boundCount("params", (r.params ?? []).length);
        await lm.logLoggedModelParams(validateLoggedModelId(r.model_id), r.params ?? []);
        return {};
      },
      listLoggedModelArtifacts: async (r) => {
        const model = await lm.getLoggedModel(validateLoggedModelId(r.model_id));
        const files = await this.listRunArtifacts(model.info.artifact_uri, r.artifact_directory_path ?? "");
        return { root_uri: model.info.artifact_uri, files };
      },
      listArtifacts: async (r) => {
        const run = await t.getRun(runIdOf(r));
        const path = r.path ?? "";
        const files = await this.listRunArtifacts(run.info.artifact_uri, path);
        return { root_uri: run.info.artifact_uri, files };
      },

      createRegisteredModel: async (r) => ({ registered_model: await g.createRegisteredModel(r.name, r.description ?? "", tagsOf(r)) }),
      getRegisteredModel: async (r) => ({ registered_model: await g.getRegisteredModel(r.name) }),
      searchRegisteredModels: async (r) => {
        const p = await g.searchRegisteredModels(searchArgs(r));
        return withToken({ registered_models: p.items }, p.next_page_token);
      },
      renameRegisteredModel: async (r) => ({ registered_model: await g.renameRegisteredModel(r.name, r.new_name) }),
      updateRegisteredModel: async (r) => ({ registered_model: await g.updateRegisteredModel(r.name, r.description ?? "") }),
      deleteRegisteredModel: async (r) => (await g.deleteRegisteredModel(r.name), {}),
      setRegisteredModelTag: async (r) => (await g.setRegisteredModelTag(r.name, { key: r.key, value: r.value }), {}),
      deleteRegisteredModelTag: async (r) => (await g.deleteRegisteredModelTag(r.name, r.key), {}),
      getLatestVersions: async (r) => ({ model_versions: await g.getLatestVersions(r.name, r.stages ?? []) }),
      setRegisteredModelAlias: async (r) => (await g.setRegisteredModelAlias(r.name, r.alias, r.version), {}),
      deleteRegisteredModelAlias: async (r) => (await g.deleteRegisteredModelAlias(r.name, r.alias), {}),
      getModelVersionByAlias: async (r) => ({ model_version: await g.getModelVersionByAlias(r.name, r.alias) }),

      createModelVersion: async (r) => {
        // As MLflow: the run may live in another tracking server, so an unknown run_id is
        // accepted; only a local source needs the run (its artifact directory must hold it).
        const runId = r.run_id || undefined;
        if (runId) validateRunId(runId);
        await this.validateModelVersionSource(r.source, runId);
        return {
          model_version: await g.createModelVersion({
            name: r.name,
            source: r.source,
            runId,
            tags: tagsOf(r),
            runLink: r.run_link,
            description: r.description,
          }),
        };
      },
      getModelVersion: async (r) => ({ model_version: await g.getModelVersion(r.name, r.version) }),
      searchModelVersions: async (r) => {
        const p = await g.searchModelVersions(searchArgs(r));
        return withToken({ model_versions: p.items }, p.next_page_token);
      },
      updateModelVersion: async (r) => ({ model_version: await g.updateModelVersion(r.name, r.version, r.description ?? "") }),
      deleteModelVersion: async (r) => (await g.deleteModelVersion(r.name, r.version), {}),
      transitionModelVersionStage: async (r) => ({
        model_version: await g.transitionModelVersionStage(r.name, r.version, r.stage, r.archive_existing_versions ?? false),
      }),
      getModelVersionDownloadUri: async (r) => ({ artifact_uri: await this.downloadUri((await g.getModelVersion(r.name, r.version)).source) }),
      setModelVersionTag: async (r) => (await g.setModelVersionTag(r.name, r.version, { key: r.key, value: r.value }), {}),
      deleteModelVersionTag: async (r) => (await g.deleteModelVersionTag(r.name, r.version, r.key), {}),
    };
  }

  /** Validates `raw` against the endpoint's schema, then runs it. */
  async handle(endpoint: EndpointName, raw: unknown): Promise<object> {
    return this.handleValidated(endpoint, validateRequest(ENDPOINTS[endpoint].schema, raw, { fromQuery: ENDPOINTS[endpoint].method === "GET" }));
  }

  /** For callers (the fastify routes) whose request already went through `validateRequest`. */
  async handleValidated(endpoint: EndpointName, req: Req): Promise<object> {
    // `req` passed validateRequest against this endpoint's schema, so it is RequestOf<endpoint>.
    return (this.handlers[endpoint] as (r: Req) => Promise<object>)(req);
  }

  /**
   * MLflow's _validate_source: a local source (a path or `file:` URI) must sit inside the
   * artifact directory of the run given by run_id; any other source must carry no relative
   * path segments (`..`, also percent-encoded) that would reach outside its root.
   */
  async validateModelVersionSource(source: string, runId: string | undefined): Promise<void> {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
    const local = scheme === undefined || scheme.length === 1 || scheme === "file";
    if (local) {
      if (runId) {
        const run = await this.tracking.getRun(runId);
        const runDir = this.localArtifactDir(run.info.artifact_uri);
        const path = resolvePath(fileUriPath(source) ?? source);
        if (runDir !== undefined) {
          const rel = relative(runDir, path);
          if (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) return;
        }
      }
      throw new InvalidParameterError(
        `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`,
      );
    }
    let decoded = source;
    for (let i = 0; i < 10; i++) {
      let next = decoded;
      try {
        next = decodeURIComponent(decoded);
      } catch {
        break;
      }
      if (next === decoded) break;
      decoded = next;
    }
    const path = decoded.replace(/^[a-z][a-z0-9+.-]*:(\/\/[^/]*)?/i, "");
    if (path.split(/[/\\]/).some((seg) => seg === "..") || decoded.includes("\0")) {
      throw new InvalidParameterError(
        `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
      );
    }
  }

  /** A run's MLflow 3 model inputs and outputs, added to its message when it has any. */
  private async withModelIo(run: Run): Promise<Run | (Run & { outputs: { model_outputs: Array<{ model_id: string; step: number }> } })> {
    const io = await this.loggedModels.runModelIo(run.info.run_id);
    if (io.inputs.length === 0 && io.outputs.length === 0) return run;
    return {
      ...run,
      inputs: { ...run.inputs, ...(io.inputs.length > 0 ? { model_inputs: io.inputs } : {}) },
      outputs: { model_outputs: io.outputs },
    };
  }

  /** Links the metrics that name a `model_id` to that logged model (MLflow 3's `_log_model_metrics`). */
  private async linkModelMetrics(
    runId: string,
    wire: ReadonlyArray<{
      key: string;
      value: WireMetricValue;
      timestamp: number;
      step?: number;
      model_id?: string;
      dataset_name?: string;
      dataset_digest?: string;
    }>,
  ): Promise<void> {
    const linked: LoggedModelMetric[] = [];
    for (const m of wire) {
      if (!m.model_id) continue;
      validateLoggedModelId(m.model_id);
      linked.push({ ...toMetric(m), model_id: m.model_id, dataset_name: m.dataset_name || undefined, dataset_digest: m.dataset_digest || undefined });
    }
    if (linked.length === 0) return;
    const run = await this.tracking.getRun(runId);
    await this.loggedModels.logModelMetrics(runId, run.info.experiment_id, linked);
  }

  private async activeRun(runId: string): Promise<Run> {
    const run = await this.tracking.getRun(validateRunId(runId));
    if (run.info.lifecycle_stage !== "active") {
      throw new InvalidParameterError(`The run ${runId} must be in the 'active' state. Current state is ${run.info.lifecycle_stage}.`);
    }
    return run;
  }

  /** A logged model's artifact file (the tracking UI's `logged-models/<id>/artifacts/files`). */
  async openLoggedModelArtifact(modelId: string, path: string) {
    const model = await this.loggedModels.getLoggedModel(validateLoggedModelId(modelId));
    const { store, base } = this.artifactLocation(model.info.artifact_uri);
    const clean = assertSafeArtifactPath(path);
    if (!clean) throw new InvalidParameterError('Request must include the "artifact_file_path" query parameter.');
    return store.openRead(base ? `${base}/${clean}` : clean);
  }

  /** The local directory behind a run's artifact URI, when this server stores it locally. */
  private localArtifactDir(artifactUri: string): string | undefined {
    const proxied = mlflowArtifactsPath(artifactUri);
    if (proxied !== undefined) return isLocalArtifactStore(this.artifacts) ? resolvePath(this.artifacts.root, proxied) : undefined;
    const local = fileUriPath(artifactUri) ?? (artifactUri.startsWith("/") ? artifactUri : undefined);
    return local === undefined ? undefined : resolvePath(local);
  }

  /**
   * The storage URI of a model version's files on this server: its download URI with a
   * `runs:/` answer resolved against the run (the UI's /model-versions/get-artifact reads it).
   */
  async modelVersionStorageUri(source: string): Promise<string> {
    const uri = await this.downloadUri(source);
    if (!uri.startsWith("runs:")) return uri;
    const { runId, path } = parseRunsUri(uri);
    const root = (await this.tracking.getRun(runId)).info.artifact_uri;
    return path ? `${root}/${path}` : root;
  }

  /** Where a model version's files are, as MLflow's get-download-uri answers. */
  async downloadUri(source: string, depth = 0): Promise<string> {
    // MLflow 3 registers `models:/<model_id>` sources: their files are the logged model's artifacts.
    const logged = /^models:\/(m-[A-Za-z0-9]+)\/?(.*)$/.exec(source);
    if (logged) {
      const model = await this.loggedModels.getLoggedModel(logged[1]);
      return logged[2] ? `${model.info.artifact_uri}/${logged[2]}` : model.info.artifact_uri;
    }
    // As MLflow: a `runs:/` source is returned as it is (the client resolves it against the run,
    // which may live on another tracking server), and a `models:/<name>/<version>` source (a
    // copied version) is where that version's files are.
    const registered = /^models:\/([^/@]+)\/(\d+)\/?$/.exec(source);
    if (registered) {
      if (depth >= 8) throw new InvalidParameterError(`Model version source '${source}' refers to other versions more than 8 levels deep`);
      return this.downloadUri((await this.registry.getModelVersion(registered[1], registered[2])).source, depth + 1);
    }
    return source;
  }

  /**
   * A client-supplied experiment artifact location, as stored: local paths and `file:` URIs
   * absolute (MLflow's resolve_uri_if_local) and, on a server (`confineArtifactLocations`),
   * inside the artifact root; `mlflow-artifacts:` paths without traversal. Other schemes
   * (s3:, gs:, …) are the client's to reach and pass unchanged.
   */
  experimentArtifactLocation(location: string | undefined): string | undefined {
    if (!location) return undefined;
    if (location.startsWith("runs:")) return location; // the store refuses it with MLflow's message
    const proxied = mlflowArtifactsPath(location);
    if (proxied !== undefined) {
      assertSafeArtifactPath(proxied);
      return location;
    }
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(location)?.[1];
    if (scheme !== undefined && scheme.length > 1 && scheme.toLowerCase() !== "file") return location;
    const abs = resolvePath(fileUriPath(location) ?? location);
    this.assertInsideArtifactRoot(abs, location);
    return pathToFileURL(abs).href;
  }

  /** On a server, a local artifact path must be the artifact root or below it. */
  private assertInsideArtifactRoot(abs: string, given: string): void {
    if (!this.options.confineArtifactLocations) return;
    // With an S3 destination no local path is inside the artifact root: file: locations are refused.
    const root = isLocalArtifactStore(this.artifacts) ? resolvePath(this.artifacts.root) : undefined;
    const rel = root === undefined ? ".." : relative(root, abs);
    if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new InvalidParameterError(
        `Invalid artifact location '${given}': this server keeps artifacts under its artifacts destination; use an mlflow-artifacts:/ location or leave artifact_location empty`,
      );
    }
  }

  /** The artifact store and base path behind an artifact URI this server can reach. */
  artifactLocation(uri: string): { store: ArtifactStore; base: string } {
    const proxied = mlflowArtifactsPath(uri);
    if (proxied !== undefined) {
      if (!this.artifacts) throw new InvalidParameterError(`Artifact URI '${uri}' needs an artifacts destination, and this server was started without one`);
      return { store: this.artifacts, base: assertSafeArtifactPath(proxied) };
    }
    const local = fileUriPath(uri) ?? (uri.startsWith("/") ? uri : undefined);
    if (local !== undefined) {
      this.assertInsideArtifactRoot(resolvePath(local), uri);
      return { store: new LocalArtifactStore(local), base: "" };
    }
    throw new InvalidParameterError(`Unsupported artifact URI '${uri}': this server reaches mlflow-artifacts:/ and file:/ locations`);
  }

  async listRunArtifacts(artifactUri: string, path: string): Promise<FileInfo[]> {
    const { store, base } = this.artifactLocation(artifactUri);
    const clean = assertSafeArtifactPath(path);
    const dir = clean ? (base ? `${base}/${clean}` : clean) : base;
    const entries = await store.list(dir, clean);
    return entries;
  }
}

/** MLflow's SQL schema: logged_models.model_type is String(500). */
const MAX_MODEL_TYPE_LENGTH = 500;

/** Per-request bound on repeated logged-model fields (MLflow 3's client sends params in batches of 100). */
function boundCount(what: string, n: number): void {
  if (n > LIMITS.MAX_ENTITIES_PER_BATCH) {
    throw new InvalidParameterError(
      `A request can contain at most ${LIMITS.MAX_ENTITIES_PER_BATCH} ${what}. Got ${n} ${what}. Please split them across multiple requests.`,
    );
  }
}

function finalStatus(status: "LOGGED_MODEL_READY" | "LOGGED_MODEL_UPLOAD_FAILED" | 2 | 3): LoggedModelStatus {
  return status === 2 ? "LOGGED_MODEL_READY" : status === 3 ? "LOGGED_MODEL_UPLOAD_FAILED" : status;
}

/** MLflow's append_to_uri_path: `mlflow-artifacts:/1` + models, id, artifacts → `mlflow-artifacts:/1/models/<id>/artifacts`. */
export function appendToUriPath(uri: string, ...parts: string[]): string {
  return [uri.replace(/\/+$/, ""), ...parts].join("/");
}

const NAME_ADJECTIVES = [
  "able",
  "bold",
  "calm",
  "clever",
  "eager",
  "fair",
  "gentle",
  "keen",
  "lucid",
  "merry",
  "nimble",
  "quiet",
  "rare",
  "sharp",
  "swift",
  "wise",
];
const NAME_NOUNS = ["ant", "bass", "crane", "doe", "eel", "finch", "gnu", "hare", "ibis", "jay", "koi", "lark", "mole", "newt", "owl", "perch"];

/** A readable default name (MLflow's `_generate_random_name` shape: adjective-noun-number). */
function randomModelName(): string {
  const pick = (xs: readonly string[]) => xs[Math.floor(Math.random() * xs.length)];
  return `${pick(NAME_ADJECTIVES)}-${pick(NAME_NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}

function runIdOf(r: { run_id?: string; run_uuid?: string }): string {
  const id = r.run_id || r.run_uuid;
  if (!id) throw new InvalidParameterError("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.");
  return id;
}

function tagsOf(r: { tags?: KeyValue[] }): KeyValue[] {
  return r.tags ?? [];
}

function searchArgs(r: { filter?: string; order_by?: string[]; max_results?: number; page_token?: string }) {
  return { filter: r.filter, orderBy: r.order_by, maxResults: r.max_results, pageToken: r.page_token };
}

function withToken<T extends object>(body: T, token: string | undefined): T & { next_page_token?: string } {
  return token ? { ...body, next_page_token: token } : body;
}

type WireMetricValue = number | "NaN" | "Infinity" | "-Infinity";

/** Protobuf JSON sends non-finite doubles as strings. */
export function decodeMetricValue(v: WireMetricValue): number {
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return v;
}

function toMetric(r: { key: string; value: WireMetricValue; timestamp: number; step?: number }): Metric {
  // Only the run's fields: the model link (model_id, dataset_*) is stored by linkModelMetrics.
  return { key: r.key, value: decodeMetricValue(r.value), timestamp: r.timestamp, step: r.step ?? 0 };
}

/** JSON.stringify replacer that writes NaN/±Infinity the protobuf-JSON way. */
export function wireReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return value;
}
