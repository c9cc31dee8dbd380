import { readdir, copyFile, mkdir, stat } from "node:fs/promises";
import { basename, join, relative, resolve as resolvePath, sep } from "node:path";
import { userInfo } from "node:os";
import { AlreadyExistsError, InvalidParameterError, NotFoundError, PolarityError } from "../util/errors.js";
import { LocalArtifactStore, fileUriPath, mlflowArtifactsPath } from "./artifact-store.js";
import type { EndpointName } from "./endpoints.js";
import { TrackingService, decodeMetricValue } from "./service.js";
import { openStores } from "./store/open.js";
import { HttpTransport, InProcessTransport, isDirectory, type Transport } from "./transport.js";
import { writeStreamAtomic } from "../util/atomic-write.js";
import type {
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  KeyValue,
  LoggedModel,
  Metric,
  ModelVersion,
  RegisteredModel,
  Run,
  RunInfo,
  RunStatus,
  ViewType,
} from "./types.js";
import { parseModelUri, parseRunsUri, parseTrackingUri, redactUri, resolveTrackingUri } from "./uri.js";
import { LIMITS } from "./validation.js";
import { createReadStream } from "node:fs";

export interface TrackingClientOptions {
  /** Explicit URI; else MLFLOW_TRACKING_URI; else `sqlite:///mlruns.db` in the working directory. */
  trackingUri?: string;
  /** In-process only: where `mlflow-artifacts:/` lives. Default `mlartifacts/` beside the database. */
  artifactsDir?: string;
  /** HTTP only; default MLFLOW_TRACKING_TOKEN. */
  token?: string;
  /** HTTP only; default MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD. */
  username?: string;
  password?: string;
  timeoutMs?: number;
  maxRetries?: number;
  backoffMs?: number;
}

export interface SearchRunsOptions {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}

export interface SearchOptions {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

export interface ResolvedModel {
  modelVersion: ModelVersion;
  /** Where the version's files are (e.g. `mlflow-artifacts:/1/<run>/artifacts/model`). */
  artifactUri: string;
}

type Tags = Record<string, string> | KeyValue[];

function toKeyValues(tags: Tags | undefined): KeyValue[] {
  if (!tags) return [];
  return Array.isArray(tags) ? tags : Object.entries(tags).map(([key, value]) => ({ key, value: String(value) }));
}

/**
 * One client API over two transports: in-process (SQLite file + artifact directory, the
 * embedded default) and HTTP (a Polarity or MLflow server). Every method returns MLflow's wire
 * entities, normalised so a field MLflow omits when empty is present here.
 */
export class TrackingClient {
  private readonly runArtifactUris = new Map<string, string>();

  constructor(
    readonly transport: Transport,
    readonly trackingUri: string,
  ) {}

  /** Opens a client for the resolved tracking URI (see `resolveTrackingUri`). */
  static open(options: TrackingClientOptions = {}): TrackingClient {
    const uri = resolveTrackingUri(options.trackingUri);
    const target = parseTrackingUri(uri, options.artifactsDir);
    if (target.kind === "http") {
      const env = process.env;
      return new TrackingClient(
        new HttpTransport({
          baseUrl: target.baseUrl,
          token: options.token ?? env.MLFLOW_TRACKING_TOKEN,
          username: options.username ?? env.MLFLOW_TRACKING_USERNAME ?? target.username,
          password: options.password ?? env.MLFLOW_TRACKING_PASSWORD ?? target.password,
          timeoutMs: options.timeoutMs,
          maxRetries: options.maxRetries,
          backoffMs: options.backoffMs,
        }),
        redactUri(uri),
      );
    }
    const stores = openStores(target);
    const service = new TrackingService(stores, new LocalArtifactStore(target.artifactsDir));
    return new TrackingClient(new InProcessTransport(service, () => stores.close()), redactUri(uri));
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private call<T>(endpoint: EndpointName, request: object): Promise<T> {
    return this.transport.call(endpoint, request) as Promise<T>;
  }

  // ------------------------------------------------------------------ experiments

  async createExperiment(name: string, opts: { artifactLocation?: string; tags?: Tags } = {}): Promise<string> {
    const r = await this.call<{ experiment_id: string }>("createExperiment", { name, artifact_location: opts.artifactLocation, tags: toKeyValues(opts.tags) });
    return String(r.experiment_id);
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return normExperiment((await this.call<{ experiment: Experiment }>("getExperiment", { experiment_id: experimentId })).experiment);
  }

  /** The experiment with that name, or undefined when there is none. */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      return normExperiment((await this.call<{ experiment: Experiment }>("getExperimentByName", { experiment_name: name })).experiment);
    } catch (err) {
      if (err instanceof PolarityError && err.code === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw err;
    }
  }

  /** Id of the named experiment, creating it if needed (safe against a concurrent creator). */
  async getOrCreateExperiment(name: string): Promise<string> {
    let found = await this.getExperimentByName(name);
    if (!found) {
      try {
        return await this.createExperiment(name);
      } catch (err) {
        if (!(err instanceof AlreadyExistsError || (err instanceof PolarityError && err.code === "RESOURCE_ALREADY_EXISTS"))) throw err;
        found = (await this.getExperimentByName(name))!;
      }
    }
    if (found.lifecycle_stage === "deleted") {
      throw new InvalidParameterError(`Experiment '${name}' (id ${found.experiment_id}) is deleted; restore it or use another name`);
    }
    return found.experiment_id;
  }

  async searchExperiments(opts: SearchOptions & { viewType?: ViewType } = {}): Promise<{ experiments: Experiment[]; nextPageToken?: string }> {
    const r = await this.call<{ experiments?: Experiment[]; next_page_token?: string }>("searchExperiments", {
      filter: opts.filter,
      order_by: opts.orderBy,
      max_results: opts.maxResults,
      page_token: opts.pageToken,
      view_type: opts.viewType,
    });
    return { experiments: (r.experiments ?? []).map(normExperiment), nextPageToken: r.next_page_token || undefined };
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.call("deleteExperiment", { experiment_id: experimentId });
  }
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.call("restoreExperiment", { experiment_id: experimentId });
  }
  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    await this.call("updateExperiment", { experiment_id: experimentId, new_name: newName });
  }
  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.call("setExperimentTag", { experiment_id: experimentId, key, value });
  }

  // ------------------------------------------------------------------ runs

  async createRun(experimentId: string, opts: { runName?: string; startTime?: number; tags?: Tags; parentRunId?: string; userId?: string } = {}): Promise<Run> {
    const tags = toKeyValues(opts.tags);
    const userId = opts.userId ?? safeUserName();
    if (!tags.some((t) => t.key === "mlflow.user")) tags.push({ key: "mlflow.user", value: userId });
    if (opts.parentRunId) tags.push({ key: "mlflow.parentRunId", value: opts.parentRunId });
    const r = await this.call<{ run: Run }>("createRun", {
      experiment_id: experimentId,
      run_name: opts.runName,
      start_time: opts.startTime ?? Date.now(),
      tags,
      user_id: userId,
    });
    const run = normRun(r.run);
    this.runArtifactUris.set(run.info.run_id, run.info.artifact_uri);
    return run;
  }

  async getRun(runId: string): Promise<Run> {
    return normRun((await this.call<{ run: Run }>("getRun", { run_id: runId })).run);
  }

  async updateRun(runId: string, u: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const r = await this.call<{ run_info: RunInfo }>("updateRun", { run_id: runId, status: u.status, end_time: u.endTime, run_name: u.runName });
    return normRunInfo(r.run_info);
  }

  /** Marks a run finished (or failed/killed) now. */
  async endRun(runId: string, status: RunStatus = "FINISHED"): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime: Date.now() });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.call("deleteRun", { run_id: runId });
  }
  async restoreRun(runId: string): Promise<void> {
    await this.call("restoreRun", { run_id: runId });
  }

  async searchRuns(opts: SearchRunsOptions): Promise<{ runs: Run[]; nextPageToken?: string }> {
    const r = await this.call<{ runs?: Run[]; next_page_token?: string }>("searchRuns", {
      experiment_ids: opts.experimentIds,
      filter: opts.filter,
      order_by: opts.orderBy,
      max_results: opts.maxResults,
      page_token: opts.pageToken,
      run_view_type: opts.viewType,
    });
    return { runs: (r.runs ?? []).map(normRun), nextPageToken: r.next_page_token || undefined };
  }

  /** Every run matching, following page tokens. */
  async searchAllRuns(opts: Omit<SearchRunsOptions, "pageToken">): Promise<Run[]> {
    const out: Run[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns({ ...opts, pageToken });
      out.push(...page.runs);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  async logMetric(runId: string, key: string, value: number, opts: { step?: number; timestamp?: number } = {}): Promise<void> {
    await this.call("logMetric", { run_id: runId, key, value, timestamp: opts.timestamp ?? Date.now(), step: opts.step ?? 0 });
  }

  async logParam(runId: string, key: string, value: unknown): Promise<void> {
    await this.call("logParam", { run_id: runId, key, value: String(value) });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.call("setTag", { run_id: runId, key, value });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.call("deleteTag", { run_id: runId, key });
  }

  /** Logs any number of entities, split into requests within MLflow's batch limits. */
  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    const metrics = batch.metrics ?? [];
    const params = batch.params ?? [];
    const tags = batch.tags ?? [];
    let m = 0;
    let p = 0;
    let t = 0;
    do {
      const ps = params.slice(p, p + LIMITS.MAX_PARAMS_TAGS_PER_BATCH);
      const ts = tags.slice(t, t + LIMITS.MAX_PARAMS_TAGS_PER_BATCH);
      const ms = metrics.slice(m, m + Math.min(LIMITS.MAX_METRICS_PER_BATCH, LIMITS.MAX_ENTITIES_PER_BATCH - ps.length - ts.length));
      await this.call("logBatch", { run_id: runId, metrics: ms, params: ps, tags: ts });
      m += ms.length;
      p += ps.length;
      t += ts.length;
    } while (m < metrics.length || p < params.length || t < tags.length);
  }

  async logMetrics(runId: string, metrics: Record<string, number>, opts: { step?: number; timestamp?: number } = {}): Promise<void> {
    const timestamp = opts.timestamp ?? Date.now();
    await this.logBatch(runId, { metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp, step: opts.step ?? 0 })) });
  }

  async logParams(runId: string, params: Record<string, unknown>): Promise<void> {
    await this.logBatch(runId, {
      params: Object.entries(params).map(([key, value]) => ({ key, value: typeof value === "string" ? value : JSON.stringify(value) })),
    });
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    await this.logBatch(runId, { tags: toKeyValues(tags) });
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.call("logInputs", { run_id: runId, datasets });
  }

  /** One dataset as an input of the run, with `mlflow.data.context` (e.g. "training", "eval"). */
  async logDatasetInput(runId: string, dataset: Dataset, context?: string): Promise<void> {
    await this.logInputs(runId, [{ dataset, tags: context ? [{ key: "mlflow.data.context", value: context }] : [] }]);
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call<{ metrics?: Metric[]; next_page_token?: string }>("getMetricHistory", {
        run_id: runId,
        metric_key: key,
        page_token: pageToken,
      });
      out.push(...(r.metrics ?? []).map(normMetric));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /**
   * Runs `fn` inside a run: creates it, ends it FINISHED when `fn` resolves, FAILED when it
   * throws (the error is rethrown).
   */
  async withRun<T>(
    experiment: { experimentId?: string; experimentName?: string },
    fn: (run: ActiveRun) => Promise<T>,
    opts: { runName?: string; tags?: Tags; parentRunId?: string } = {},
  ): Promise<T> {
    const experimentId = experiment.experimentId ?? (experiment.experimentName ? await this.getOrCreateExperiment(experiment.experimentName) : "0");
    const run = await this.createRun(experimentId, opts);
    const active = new ActiveRun(this, run.info);
    let result: T;
    try {
      result = await fn(active);
    } catch (err) {
      // The body's error is the one to report, even if marking the run FAILED fails too.
      await this.endRun(run.info.run_id, "FAILED").catch(() => undefined);
      throw err;
    }
    await this.endRun(run.info.run_id, "FINISHED");
    return result;
  }

  // ------------------------------------------------------------------ artifacts

  private async runArtifactUri(runId: string): Promise<string> {
    let uri = this.runArtifactUris.get(runId);
    if (!uri) {
      uri = (await this.getRun(runId)).info.artifact_uri;
      this.runArtifactUris.set(runId, uri);
    }
    return uri;
  }

  /** Uploads one file to `<run artifacts>/<artifactPath>/<file name>`. */
  async logArtifact(runId: string, localFile: string, artifactPath = ""): Promise<void> {
    const st = await stat(localFile).catch(() => undefined);
    if (!st?.isFile()) throw new InvalidParameterError(`'${localFile}' is not a file`);
    const root = await this.runArtifactUri(runId);
    await this.putFile(joinUri(root, artifactPath, basename(localFile)), localFile);
  }

  /** Uploads a directory's contents (recursively) under `<run artifacts>/<artifactPath>/`. */
  async logArtifacts(runId: string, localDir: string, artifactPath = ""): Promise<void> {
    if (!(await isDirectory(localDir))) throw new InvalidParameterError(`'${localDir}' is not a directory`);
    const root = await this.runArtifactUri(runId);
    for (const file of await walkFiles(localDir)) {
      const rel = relative(localDir, file).split(sep).join("/");
      await this.putFile(joinUri(root, artifactPath, rel), file);
    }
  }

  async listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    const r = await this.call<{ files?: FileInfo[] }>("listArtifacts", { run_id: runId, path });
    return (r.files ?? []).map(normFileInfo);
  }

  private async putFile(uri: string, localFile: string): Promise<void> {
    const proxied = mlflowArtifactsPath(uri);
    if (proxied !== undefined) return this.transport.uploadProxied(proxied, localFile);
    const local = fileUriPath(uri) ?? (uri.startsWith("/") ? uri : undefined);
    if (local !== undefined) {
      await writeStreamAtomic(local, createReadStream(localFile));
      return;
    }
    throw new InvalidParameterError(`Cannot upload to artifact URI '${uri}': supported are mlflow-artifacts:/ (server-proxied) and file:/ locations`);
  }

  /**
   * Downloads what `uri` names into `dstDir` and returns the local path of the file or
   * directory. Accepts `models:/…`, `runs:/id/path`, `mlflow-artifacts:/…` and `file:/…`.
   */
  async downloadArtifacts(uri: string, dstDir: string): Promise<string> {
    const artifactUri = await this.resolveArtifactUri(uri);
    const target = join(resolvePath(dstDir), basename(artifactUri.replace(/\/+$/, "")) || "artifacts");
    await mkdir(resolvePath(dstDir), { recursive: true });
    const proxied = mlflowArtifactsPath(artifactUri);
    if (proxied !== undefined) {
      await this.downloadProxiedTree(proxied, target);
      return target;
    }
    const local = fileUriPath(artifactUri) ?? (artifactUri.startsWith("/") ? artifactUri : undefined);
    if (local !== undefined) {
      await copyTree(local, target);
      return target;
    }
    throw new InvalidParameterError(`Cannot download artifact URI '${artifactUri}': supported are mlflow-artifacts:/ (server-proxied) and file:/ locations`);
  }

  private async downloadProxiedTree(path: string, target: string): Promise<void> {
    const entries = await this.transport.listProxied(path);
    if (entries.length === 0) {
      await this.transport.downloadProxied(path, target);
      return;
    }
    await mkdir(target, { recursive: true });
    for (const e of entries) {
      const name = e.path.split("/").pop()!;
      if (e.is_dir) await this.downloadProxiedTree(`${path}/${name}`, join(target, name));
      else await this.transport.downloadProxied(`${path}/${name}`, join(target, name));
    }
  }

  /** The storage URI behind `models:/…` and `runs:/…` URIs (others are returned unchanged). */
  async resolveArtifactUri(uri: string): Promise<string> {
    // A registry answers `runs:/…` for a version logged from a run (as MLflow does): resolve that too.
    if (uri.startsWith("models:")) {
      const storage = (await this.resolveModelUri(uri)).artifactUri;
      return storage.startsWith("models:") ? storage : this.resolveArtifactUri(storage);
    }
    if (uri.startsWith("runs:")) {
      const { runId, path } = parseRunsUri(uri);
      return joinUri(await this.runArtifactUri(runId), path);
    }
    return uri;
  }

  // ------------------------------------------------------------------ registry

  async createRegisteredModel(name: string, opts: { description?: string; tags?: Tags } = {}): Promise<RegisteredModel> {
    const r = await this.call<{ registered_model: RegisteredModel }>("createRegisteredModel", {
      name,
      description: opts.description,
      tags: toKeyValues(opts.tags),
    });
    return normRegisteredModel(r.registered_model);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return normRegisteredModel((await this.call<{ registered_model: RegisteredModel }>("getRegisteredModel", { name })).registered_model);
  }

  async searchRegisteredModels(opts: SearchOptions = {}): Promise<{ registeredModels: RegisteredModel[]; nextPageToken?: string }> {
    const r = await this.call<{ registered_models?: RegisteredModel[]; next_page_token?: string }>("searchRegisteredModels", {
      filter: opts.filter,
      order_by: opts.orderBy,
      max_results: opts.maxResults,
      page_token: opts.pageToken,
    });
    return { registeredModels: (r.registered_models ?? []).map(normRegisteredModel), nextPageToken: r.next_page_token || undefined };
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return normRegisteredModel((await this.call<{ registered_model: RegisteredModel }>("renameRegisteredModel", { name, new_name: newName })).registered_model);
  }

  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return normRegisteredModel((await this.call<{ registered_model: RegisteredModel }>("updateRegisteredModel", { name, description })).registered_model);
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    await this.call("deleteRegisteredModel", { name });
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.call("setRegisteredModelTag", { name, key, value });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.call("deleteRegisteredModelTag", { name, key });
  }

  async createModelVersion(
    name: string,
    source: string,
    opts: { runId?: string; description?: string; tags?: Tags; runLink?: string } = {},
  ): Promise<ModelVersion> {
    const r = await this.call<{ model_version: ModelVersion }>("createModelVersion", {
      name,
      source,
      run_id: opts.runId,
      description: opts.description,
      tags: toKeyValues(opts.tags),
      run_link: opts.runLink,
    });
    return normModelVersion(r.model_version);
  }

  /**
   * Registers the model at `modelUri` (e.g. `runs:/<id>/model`) as a new version of `name`,
   * creating the registered model first if needed. Like MLflow, a `runs:/` source is stored
   * as the run's underlying artifact URI together with the run id.
   */
  async registerModel(modelUri: string, name: string, opts: { description?: string; tags?: Tags } = {}): Promise<ModelVersion> {
    try {
      await this.createRegisteredModel(name);
    } catch (err) {
      if (!(err instanceof PolarityError && err.code === "RESOURCE_ALREADY_EXISTS")) throw err;
    }
    let source = modelUri;
    let runId: string | undefined;
    if (modelUri.startsWith("runs:")) {
      const parsed = parseRunsUri(modelUri);
      runId = parsed.runId;
      source = joinUri(await this.runArtifactUri(parsed.runId), parsed.path);
    }
    return this.createModelVersion(name, source, { runId, description: opts.description, tags: opts.tags });
  }

  async getModelVersion(name: string, version: string | number): Promise<ModelVersion> {
    return normModelVersion((await this.call<{ model_version: ModelVersion }>("getModelVersion", { name, version: String(version) })).model_version);
  }

  async searchModelVersions(opts: SearchOptions = {}): Promise<{ modelVersions: ModelVersion[]; nextPageToken?: string }> {
    const r = await this.call<{ model_versions?: ModelVersion[]; next_page_token?: string }>("searchModelVersions", {
      filter: opts.filter,
      order_by: opts.orderBy,
      max_results: opts.maxResults,
      page_token: opts.pageToken,
    });
    return { modelVersions: (r.model_versions ?? []).map(normModelVersion), nextPageToken: r.next_page_token || undefined };
  }

  async updateModelVersion(name: string, version: string | number, description: string): Promise<ModelVersion> {
    return normModelVersion(
      (await this.call<{ model_version: ModelVersion }>("updateModelVersion", { name, version: String(version), description })).model_version,
    );
  }

  async deleteModelVersion(name: string, version: string | number): Promise<void> {
    await this.call("deleteModelVersion", { name, version: String(version) });
  }

  async setModelVersionTag(name: string, version: string | number, key: string, value: string): Promise<void> {
    await this.call("setModelVersionTag", { name, version: String(version), key, value });
  }

  async deleteModelVersionTag(name: string, version: string | number, key: string): Promise<void> {
    await this.call("deleteModelVersionTag", { name, version: String(version), key });
  }

  async transitionModelVersionStage(name: string, version: string | number, stage: string, archiveExistingVersions = false): Promise<ModelVersion> {
    const r = await this.call<{ model_version: ModelVersion }>("transitionModelVersionStage", {
      name,
      version: String(version),
      stage,
      archive_existing_versions: archiveExistingVersions,
    });
    return normModelVersion(r.model_version);
  }

  async getLatestVersions(name: string, stages: string[] = []): Promise<ModelVersion[]> {
    const r = await this.call<{ model_versions?: ModelVersion[] }>("getLatestVersions", { name, stages });
    return (r.model_versions ?? []).map(normModelVersion);
  }

  async setRegisteredModelAlias(name: string, alias: string, version: string | number): Promise<void> {
    await this.call("setRegisteredModelAlias", { name, alias, version: String(version) });
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.call("deleteRegisteredModelAlias", { name, alias });
  }

  /** One cheap call: suitable for polling an alias for hot reload. */
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return normModelVersion((await this.call<{ model_version: ModelVersion }>("getModelVersionByAlias", { name, alias })).model_version);
  }

  async getModelVersionDownloadUri(name: string, version: string | number): Promise<string> {
    return (await this.call<{ artifact_uri: string }>("getModelVersionDownloadUri", { name, version: String(version) })).artifact_uri;
  }

  /** `models:/name/3`, `models:/name@alias`, `models:/name/Production`, `models:/name/latest` → version + storage URI. */
  async resolveModelUri(uri: string): Promise<ResolvedModel> {
    const parsed = parseModelUri(uri);
    let mv: ModelVersion;
    switch (parsed.kind) {
      case "version":
        mv = await this.getModelVersion(parsed.name, parsed.version);
        break;
      case "alias":
        mv = await this.getModelVersionByAlias(parsed.name, parsed.alias);
        break;
      case "stage":
      case "latest": {
        const versions = await this.getLatestVersions(parsed.name, parsed.kind === "stage" ? [parsed.stage] : []);
        if (versions.length === 0) {
          throw new NotFoundError(
            parsed.kind === "stage"
              ? `No versions of model '${parsed.name}' are in stage '${parsed.stage}'`
              : `Registered model '${parsed.name}' has no versions`,
          );
        }
        // Versions compare as numbers: "10" is newer than "9".
        mv = versions.reduce((a, b) => (Number(b.version) > Number(a.version) ? b : a));
        break;
      }
    }
    return { modelVersion: mv, artifactUri: await this.getModelVersionDownloadUri(mv.name, mv.version) };
  }

  // ------------------------------------------------------------------ logged models (MLflow 3)

  /** A new logged model (status LOGGED_MODEL_PENDING) with its own id and artifact location. */
  async createLoggedModel(
    experimentId: string,
    opts: { name?: string; modelType?: string; sourceRunId?: string; params?: Tags; tags?: Tags } = {},
  ): Promise<LoggedModel> {
    const r = await this.call<{ model: LoggedModel }>("createLoggedModel", {
      experiment_id: experimentId,
      name: opts.name,
      model_type: opts.modelType,
      source_run_id: opts.sourceRunId,
      params: toKeyValues(opts.params),
      tags: toKeyValues(opts.tags),
    });
    return r.model;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    return (await this.call<{ model: LoggedModel }>("getLoggedModel", { model_id: modelId })).model;
  }

  /** Marks the model's upload as done (READY) or failed (FAILED), as MLflow's log_model does at the end. */
  async finalizeLoggedModel(modelId: string, status: "READY" | "FAILED"): Promise<LoggedModel> {
    const wire = status === "READY" ? "LOGGED_MODEL_READY" : "LOGGED_MODEL_UPLOAD_FAILED";
    return (await this.call<{ model: LoggedModel }>("finalizeLoggedModel", { model_id: modelId, status: wire })).model;
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    await this.call("deleteLoggedModel", { model_id: modelId });
  }

  async setLoggedModelTags(modelId: string, tags: Tags): Promise<void> {
    await this.call("setLoggedModelTags", { model_id: modelId, tags: toKeyValues(tags) });
  }

  async searchLoggedModels(opts: {
    experimentIds: string[];
    filter?: string;
    datasets?: Array<{ dataset_name: string; dataset_digest?: string }>;
    maxResults?: number;
    orderBy?: Array<{ field_name: string; ascending?: boolean; dataset_name?: string; dataset_digest?: string }>;
    pageToken?: string;
  }): Promise<{ models: LoggedModel[]; nextPageToken?: string }> {
    const r = await this.call<{ models?: LoggedModel[]; next_page_token?: string }>("searchLoggedModels", {
      experiment_ids: opts.experimentIds,
      filter: opts.filter,
      datasets: opts.datasets,
      max_results: opts.maxResults,
      order_by: opts.orderBy,
      page_token: opts.pageToken,
    });
    return { models: r.models ?? [], nextPageToken: r.next_page_token || undefined };
  }

  /** Uploads a directory's contents (recursively) to the logged model's artifact location. */
  async logLoggedModelArtifacts(modelId: string, localDir: string): Promise<void> {
    if (!(await isDirectory(localDir))) throw new InvalidParameterError(`'${localDir}' is not a directory`);
    const root = (await this.getLoggedModel(modelId)).info.artifact_uri;
    for (const file of await walkFiles(localDir)) await this.putFile(joinUri(root, relative(localDir, file).split(sep).join("/")), file);
  }
}

/** A run opened by `withRun`: the convenience calls, bound to its id. */
export class ActiveRun {
  constructor(
    readonly client: TrackingClient,
    readonly info: RunInfo,
  ) {}
  get runId(): string {
    return this.info.run_id;
  }
  logMetric(key: string, value: number, step?: number): Promise<void> {
    return this.client.logMetric(this.runId, key, value, { step });
  }
  logMetrics(metrics: Record<string, number>, step?: number): Promise<void> {
    return this.client.logMetrics(this.runId, metrics, { step });
  }
  logParam(key: string, value: unknown): Promise<void> {
    return this.client.logParam(this.runId, key, value);
  }
  logParams(params: Record<string, unknown>): Promise<void> {
    return this.client.logParams(this.runId, params);
  }
  setTag(key: string, value: string): Promise<void> {
    return this.client.setTag(this.runId, key, value);
  }
  setTags(tags: Record<string, string>): Promise<void> {
    return this.client.setTags(this.runId, tags);
  }
  logArtifact(localFile: string, artifactPath?: string): Promise<void> {
    return this.client.logArtifact(this.runId, localFile, artifactPath);
  }
  logArtifacts(localDir: string, artifactPath?: string): Promise<void> {
    return this.client.logArtifacts(this.runId, localDir, artifactPath);
  }
  logDatasetInput(dataset: Dataset, context?: string): Promise<void> {
    return this.client.logDatasetInput(this.runId, dataset, context);
  }
  /** `runs:/<id>/<path>` for registering what this run logged. */
  artifactUri(path = ""): string {
    return `runs:/${this.runId}${path ? `/${path}` : ""}`;
  }
}

// ------------------------------------------------------------------ helpers

function joinUri(root: string, ...parts: string[]): string {
  const tail = parts
    .flatMap((p) => p.split("/"))
    .filter((p) => p !== "" && p !== ".")
    .join("/");
  return tail ? `${root.replace(/\/+$/, "")}/${tail}` : root;
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkFiles(full)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

async function copyTree(src: string, dst: string): Promise<void> {
  const st = await stat(src).catch(() => undefined);
  if (!st) throw new NotFoundError(`Artifact '${src}' not found`);
  if (st.isFile()) {
    await mkdir(join(dst, ".."), { recursive: true });
    await copyFile(src, dst);
    return;
  }
  await mkdir(dst, { recursive: true });
  for (const e of await readdir(src)) await copyTree(join(src, e), join(dst, e));
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

// Real MLflow servers omit empty lists and may send int64 as strings; normalise once here.
const num = (v: unknown): number => (typeof v === "string" ? Number(v) : (v as number));
const kvs = (v: unknown): KeyValue[] => ((v as KeyValue[] | undefined) ?? []).map((t) => ({ key: t.key, value: t.value ?? "" }));

function normExperiment(e: Experiment): Experiment {
  return { ...e, experiment_id: String(e.experiment_id), creation_time: num(e.creation_time), last_update_time: num(e.last_update_time), tags: kvs(e.tags) };
}

function normMetric(m: Metric): Metric {
  return { key: m.key, value: decodeMetricValue(m.value), timestamp: num(m.timestamp), step: num(m.step ?? 0) };
}

function normRunInfo(i: RunInfo): RunInfo {
  const info: RunInfo = { ...i, run_uuid: i.run_uuid ?? i.run_id, run_name: i.run_name ?? "", user_id: i.user_id ?? "", start_time: num(i.start_time) };
  if (i.end_time !== undefined && i.end_time !== null) info.end_time = num(i.end_time);
  return info;
}

function normRun(r: Run): Run {
  return {
    info: normRunInfo(r.info),
    data: { metrics: (r.data?.metrics ?? []).map(normMetric), params: kvs(r.data?.params), tags: kvs(r.data?.tags) },
    inputs: { dataset_inputs: (r.inputs?.dataset_inputs ?? []).map((d) => ({ tags: kvs(d.tags), dataset: d.dataset })) },
  };
}

function normModelVersion(v: ModelVersion): ModelVersion {
  return {
    ...v,
    version: String(v.version),
    creation_timestamp: num(v.creation_timestamp),
    last_updated_timestamp: num(v.last_updated_timestamp),
    user_id: v.user_id ?? "",
    current_stage: v.current_stage ?? "None",
    description: v.description ?? "",
    run_id: v.run_id ?? "",
    run_link: v.run_link ?? "",
    tags: kvs(v.tags),
    aliases: v.aliases ?? [],
  };
}

function normRegisteredModel(m: RegisteredModel): RegisteredModel {
  return {
    ...m,
    creation_timestamp: num(m.creation_timestamp),
    last_updated_timestamp: num(m.last_updated_timestamp),
    description: m.description ?? "",
    latest_versions: (m.latest_versions ?? []).map(normModelVersion),
    tags: kvs(m.tags),
    aliases: (m.aliases ?? []).map((a) => ({ alias: a.alias, version: String(a.version) })),
  };
}

function normFileInfo(f: FileInfo): FileInfo {
  const out: FileInfo = { path: f.path, is_dir: f.is_dir ?? false };
  if (f.file_size !== undefined) out.file_size = num(f.file_size);
  return out;
}
