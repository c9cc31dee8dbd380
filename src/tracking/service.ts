import { InvalidParameterError } from "../util/errors.js";
import { LocalArtifactStore, fileUriPath, mlflowArtifactsPath } from "./artifact-store.js";
import { ENDPOINTS, validateRequest, type EndpointName } from "./endpoints.js";
import type { TrackingStore } from "./store.js";
import type { DatasetInput, FileInfo, KeyValue, Metric, RunStatus, ViewType } from "./types.js";

type Req = Record<string, unknown>;
type Handler = (req: Req) => Promise<object> | object;

/**
 * The REST service layer: one handler per MLflow endpoint, taking the request message and
 * returning the response message. The HTTP server and the in-process transport both call
 * `handle`, so both give byte-for-byte the same answers.
 */
export class TrackingService {
  private readonly handlers: Record<EndpointName, Handler>;

  constructor(
    readonly store: TrackingStore,
    /** Root of the proxied `mlflow-artifacts:` store; undefined disables it. */
    readonly artifacts: LocalArtifactStore | undefined,
  ) {
    const s = store;
    this.handlers = {
      createExperiment: (r) => ({ experiment_id: s.createExperiment(r.name as string, (r.artifact_location as string) || undefined, tagsOf(r)) }),
      getExperiment: (r) => ({ experiment: s.getExperiment(r.experiment_id as string) }),
      getExperimentByName: (r) => ({ experiment: s.getExperimentByName(r.experiment_name as string) }),
      searchExperiments: (r) => {
        const p = s.searchExperiments({ ...searchArgs(r), viewType: r.view_type as ViewType | undefined });
        return withToken({ experiments: p.items }, p.next_page_token);
      },
      deleteExperiment: (r) => (s.deleteExperiment(r.experiment_id as string), {}),
      restoreExperiment: (r) => (s.restoreExperiment(r.experiment_id as string), {}),
      updateExperiment: (r) => {
        if (r.new_name !== undefined) s.renameExperiment(r.experiment_id as string, r.new_name as string);
        else s.getExperiment(r.experiment_id as string);
        return {};
      },
      setExperimentTag: (r) => (s.setExperimentTag(r.experiment_id as string, { key: r.key as string, value: r.value as string }), {}),

      createRun: (r) => ({
        run: s.createRun({
          experimentId: r.experiment_id as string,
          userId: r.user_id as string | undefined,
          startTime: r.start_time as number | undefined,
          runName: r.run_name as string | undefined,
          tags: tagsOf(r),
        }),
      }),
      getRun: (r) => ({ run: s.getRun(runIdOf(r)) }),
      updateRun: (r) => ({ run_info: s.updateRun(runIdOf(r), { status: r.status as RunStatus | undefined, endTime: r.end_time as number | undefined, runName: r.run_name as string | undefined }) }),
      deleteRun: (r) => (s.deleteRun(r.run_id as string), {}),
      restoreRun: (r) => (s.restoreRun(r.run_id as string), {}),
      searchRuns: (r) => {
        const p = s.searchRuns({ ...searchArgs(r), experimentIds: (r.experiment_ids as string[] | undefined) ?? [], viewType: r.run_view_type as ViewType | undefined });
        return withToken({ runs: p.items }, p.next_page_token);
      },
      logMetric: (r) => {
        s.logBatch(runIdOf(r), [toMetric(r)], [], []);
        return {};
      },
      logParam: (r) => (s.logBatch(runIdOf(r), [], [{ key: r.key as string, value: r.value as string }], []), {}),
      setTag: (r) => (s.setTag(runIdOf(r), { key: r.key as string, value: r.value as string }), {}),
      deleteTag: (r) => (s.deleteTag(r.run_id as string, r.key as string), {}),
      logBatch: (r) => {
        const metrics = ((r.metrics as Req[] | undefined) ?? []).map(toMetric);
        s.logBatch(r.run_id as string, metrics, (r.params as KeyValue[] | undefined) ?? [], (r.tags as KeyValue[] | undefined) ?? []);
        return {};
      },
      logInputs: (r) => {
        const datasets = ((r.datasets as DatasetInput[] | undefined) ?? []).map((d) => ({ tags: d.tags ?? [], dataset: d.dataset }));
        s.logInputs(r.run_id as string, datasets);
        return {};
      },
      getMetricHistory: (r) => {
        const p = s.getMetricHistory(runIdOf(r), r.metric_key as string, r.max_results as number | undefined, r.page_token as string | undefined);
        return withToken({ metrics: p.items }, p.next_page_token);
      },
      listArtifacts: async (r) => {
        const run = s.getRun(runIdOf(r));
        const path = (r.path as string | undefined) ?? "";
        const files = await this.listRunArtifacts(run.info.artifact_uri, path);
        return { root_uri: run.info.artifact_uri, files };
      },

      createRegisteredModel: (r) => ({ registered_model: s.createRegisteredModel(r.name as string, (r.description as string | undefined) ?? "", tagsOf(r)) }),
      getRegisteredModel: (r) => ({ registered_model: s.getRegisteredModel(r.name as string) }),
      searchRegisteredModels: (r) => {
        const p = s.searchRegisteredModels(searchArgs(r));
        return withToken({ registered_models: p.items }, p.next_page_token);
      },
      renameRegisteredModel: (r) => ({ registered_model: s.renameRegisteredModel(r.name as string, r.new_name as string) }),
      updateRegisteredModel: (r) => ({ registered_model: s.updateRegisteredModel(r.name as string, (r.description as string | undefined) ?? "") }),
      deleteRegisteredModel: (r) => (s.deleteRegisteredModel(r.name as string), {}),
      setRegisteredModelTag: (r) => (s.setRegisteredModelTag(r.name as string, { key: r.key as string, value: r.value as string }), {}),
      deleteRegisteredModelTag: (r) => (s.deleteRegisteredModelTag(r.name as string, r.key as string), {}),
      getLatestVersions: (r) => ({ model_versions: s.getLatestVersions(r.name as string, (r.stages as string[] | undefined) ?? []) }),
      setRegisteredModelAlias: (r) => (s.setRegisteredModelAlias(r.name as string, r.alias as string, r.version as string), {}),
      deleteRegisteredModelAlias: (r) => (s.deleteRegisteredModelAlias(r.name as string, r.alias as string), {}),
      getModelVersionByAlias: (r) => ({ model_version: s.getModelVersionByAlias(r.name as string, r.alias as string) }),

      createModelVersion: (r) => ({
        model_version: s.createModelVersion({
          name: r.name as string,
          source: r.source as string,
          runId: (r.run_id as string | undefined) || undefined,
          tags: tagsOf(r),
          runLink: r.run_link as string | undefined,
          description: r.description as string | undefined,
        }),
      }),
      getModelVersion: (r) => ({ model_version: s.getModelVersion(r.name as string, r.version as string) }),
      searchModelVersions: (r) => {
        const p = s.searchModelVersions(searchArgs(r));
        return withToken({ model_versions: p.items }, p.next_page_token);
      },
      updateModelVersion: (r) => ({ model_version: s.updateModelVersion(r.name as string, r.version as string, (r.description as string | undefined) ?? "") }),
      deleteModelVersion: (r) => (s.deleteModelVersion(r.name as string, r.version as string), {}),
      transitionModelVersionStage: (r) => ({
        model_version: s.transitionModelVersionStage(r.name as string, r.version as string, r.stage as string, (r.archive_existing_versions as boolean | undefined) ?? false),
      }),
      getModelVersionDownloadUri: (r) => ({ artifact_uri: this.downloadUri(s.getModelVersion(r.name as string, r.version as string).source) }),
      setModelVersionTag: (r) => (s.setModelVersionTag(r.name as string, r.version as string, { key: r.key as string, value: r.value as string }), {}),
      deleteModelVersionTag: (r) => (s.deleteModelVersionTag(r.name as string, r.version as string, r.key as string), {}),
    };
  }

  /** Validates `raw` against the endpoint's schema, then runs it. */
  async handle(endpoint: EndpointName, raw: unknown): Promise<object> {
    return this.handleValidated(endpoint, validateRequest(ENDPOINTS[endpoint].schema, raw));
  }

  /** For callers (the fastify routes) whose request already went through `validateRequest`. */
  async handleValidated(endpoint: EndpointName, req: Req): Promise<object> {
    return this.handlers[endpoint](req);
  }

  /** Where a model version's files are: `runs:/id/path` sources become the run's artifact URI + path. */
  downloadUri(source: string): string {
    const m = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (!m) return source;
    const run = this.store.getRun(m[1]);
    return m[2] ? `${run.info.artifact_uri}/${m[2]}` : run.info.artifact_uri;
  }

  /** The artifact store and base path behind an artifact URI this server can reach. */
  artifactLocation(uri: string): { store: LocalArtifactStore; base: string } {
    const proxied = mlflowArtifactsPath(uri);
    if (proxied !== undefined) {
      if (!this.artifacts) throw new InvalidParameterError(`Artifact URI '${uri}' needs an artifacts destination, and this server was started without one`);
      return { store: this.artifacts, base: proxied };
    }
    const local = fileUriPath(uri) ?? (uri.startsWith("/") ? uri : undefined);
    if (local !== undefined) return { store: new LocalArtifactStore(local), base: "" };
    throw new InvalidParameterError(`Unsupported artifact URI '${uri}': this server reaches mlflow-artifacts:/ and file:/ locations`);
  }

  async listRunArtifacts(artifactUri: string, path: string): Promise<FileInfo[]> {
    const { store, base } = this.artifactLocation(artifactUri);
    const clean = path.replace(/^\/+|\/+$/g, "");
    const dir = clean ? (base ? `${base}/${clean}` : clean) : base;
    const entries = await store.list(dir, clean);
    return entries;
  }
}

function runIdOf(r: Req): string {
  const id = (r.run_id as string | undefined) || (r.run_uuid as string | undefined);
  if (!id) throw new InvalidParameterError("Missing value for required parameter 'run_id'.");
  return id;
}

function tagsOf(r: Req): KeyValue[] {
  return (r.tags as KeyValue[] | undefined) ?? [];
}

function searchArgs(r: Req) {
  return {
    filter: r.filter as string | undefined,
    orderBy: r.order_by as string[] | undefined,
    maxResults: r.max_results as number | undefined,
    pageToken: r.page_token as string | undefined,
  };
}

function withToken<T extends object>(body: T, token: string | undefined): T & { next_page_token?: string } {
  return token ? { ...body, next_page_token: token } : body;
}

/** Protobuf JSON sends non-finite doubles as strings. */
export function decodeMetricValue(v: unknown): number {
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return v as number;
}

function toMetric(r: Req): Metric {
  return { key: r.key as string, value: decodeMetricValue(r.value), timestamp: r.timestamp as number, step: (r.step as number | undefined) ?? 0 };
}

/** JSON.stringify replacer that writes NaN/±Infinity the protobuf-JSON way. */
export function wireReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return value;
}
