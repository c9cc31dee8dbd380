import { InvalidParameterError } from "../util/errors.js";
import { LocalArtifactStore, fileUriPath, mlflowArtifactsPath } from "./artifact-store.js";
import { ENDPOINTS, validateRequest, type EndpointName } from "./endpoints.js";
import type { ModelRegistryStore } from "./store/registry-store.js";
import type { TrackingStore } from "./store/tracking-store.js";
import { validateRunId } from "./validation.js";
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

  readonly tracking: TrackingStore;
  readonly registry: ModelRegistryStore;

  constructor(
    stores: { tracking: TrackingStore; registry: ModelRegistryStore },
    /** Root of the proxied `mlflow-artifacts:` store; undefined disables it. */
    readonly artifacts: LocalArtifactStore | undefined,
  ) {
    const t = (this.tracking = stores.tracking);
    const g = (this.registry = stores.registry);
    this.handlers = {
      createExperiment: async (r) => ({ experiment_id: await t.createExperiment(r.name as string, (r.artifact_location as string) || undefined, tagsOf(r)) }),
      getExperiment: async (r) => ({ experiment: await t.getExperiment(r.experiment_id as string) }),
      getExperimentByName: async (r) => ({ experiment: await t.getExperimentByName(r.experiment_name as string) }),
      searchExperiments: async (r) => {
        const p = await t.searchExperiments({ ...searchArgs(r), viewType: r.view_type as ViewType | undefined });
        return withToken({ experiments: p.items }, p.next_page_token);
      },
      deleteExperiment: async (r) => (await t.deleteExperiment(r.experiment_id as string), {}),
      restoreExperiment: async (r) => (await t.restoreExperiment(r.experiment_id as string), {}),
      updateExperiment: async (r) => {
        if (r.new_name !== undefined) await t.renameExperiment(r.experiment_id as string, r.new_name as string);
        else await t.getExperiment(r.experiment_id as string);
        return {};
      },
      setExperimentTag: async (r) => (await t.setExperimentTag(r.experiment_id as string, { key: r.key as string, value: r.value as string }), {}),

      createRun: async (r) => ({
        run: await t.createRun({
          experimentId: r.experiment_id as string,
          userId: r.user_id as string | undefined,
          startTime: r.start_time as number | undefined,
          runName: r.run_name as string | undefined,
          tags: tagsOf(r),
        }),
      }),
      getRun: async (r) => ({ run: await t.getRun(runIdOf(r)) }),
      updateRun: async (r) => ({
        run_info: await t.updateRun(runIdOf(r), { status: r.status as RunStatus | undefined, endTime: r.end_time as number | undefined, runName: r.run_name as string | undefined }),
      }),
      deleteRun: async (r) => (await t.deleteRun(r.run_id as string), {}),
      restoreRun: async (r) => (await t.restoreRun(r.run_id as string), {}),
      searchRuns: async (r) => {
        const p = await t.searchRuns({ ...searchArgs(r), experimentIds: (r.experiment_ids as string[] | undefined) ?? [], viewType: r.run_view_type as ViewType | undefined });
        return withToken({ runs: p.items }, p.next_page_token);
      },
      logMetric: async (r) => (await t.logBatch(runIdOf(r), [toMetric(r)], [], []), {}),
      logParam: async (r) => (await t.logBatch(runIdOf(r), [], [{ key: r.key as string, value: r.value as string }], []), {}),
      setTag: async (r) => (await t.setTag(runIdOf(r), { key: r.key as string, value: r.value as string }), {}),
      deleteTag: async (r) => (await t.deleteTag(r.run_id as string, r.key as string), {}),
      logBatch: async (r) => {
        const metrics = ((r.metrics as Req[] | undefined) ?? []).map(toMetric);
        await t.logBatch(r.run_id as string, metrics, (r.params as KeyValue[] | undefined) ?? [], (r.tags as KeyValue[] | undefined) ?? []);
        return {};
      },
      logInputs: async (r) => {
        const datasets = ((r.datasets as DatasetInput[] | undefined) ?? []).map((d) => ({ tags: d.tags ?? [], dataset: d.dataset }));
        await t.logInputs(r.run_id as string, datasets);
        return {};
      },
      getMetricHistory: async (r) => {
        const p = await t.getMetricHistory(runIdOf(r), r.metric_key as string, r.max_results as number | undefined, r.page_token as string | undefined);
        return withToken({ metrics: p.items }, p.next_page_token);
      },
      listArtifacts: async (r) => {
        const run = await t.getRun(runIdOf(r));
        const path = (r.path as string | undefined) ?? "";
        const files = await this.listRunArtifacts(run.info.artifact_uri, path);
        return { root_uri: run.info.artifact_uri, files };
      },

      createRegisteredModel: async (r) => ({ registered_model: await g.createRegisteredModel(r.name as string, (r.description as string | undefined) ?? "", tagsOf(r)) }),
      getRegisteredModel: async (r) => ({ registered_model: await g.getRegisteredModel(r.name as string) }),
      searchRegisteredModels: async (r) => {
        const p = await g.searchRegisteredModels(searchArgs(r));
        return withToken({ registered_models: p.items }, p.next_page_token);
      },
      renameRegisteredModel: async (r) => ({ registered_model: await g.renameRegisteredModel(r.name as string, r.new_name as string) }),
      updateRegisteredModel: async (r) => ({ registered_model: await g.updateRegisteredModel(r.name as string, (r.description as string | undefined) ?? "") }),
      deleteRegisteredModel: async (r) => (await g.deleteRegisteredModel(r.name as string), {}),
      setRegisteredModelTag: async (r) => (await g.setRegisteredModelTag(r.name as string, { key: r.key as string, value: r.value as string }), {}),
      deleteRegisteredModelTag: async (r) => (await g.deleteRegisteredModelTag(r.name as string, r.key as string), {}),
      getLatestVersions: async (r) => ({ model_versions: await g.getLatestVersions(r.name as string, (r.stages as string[] | undefined) ?? []) }),
      setRegisteredModelAlias: async (r) => (await g.setRegisteredModelAlias(r.name as string, r.alias as string, r.version as string), {}),
      deleteRegisteredModelAlias: async (r) => (await g.deleteRegisteredModelAlias(r.name as string, r.alias as string), {}),
      getModelVersionByAlias: async (r) => ({ model_version: await g.getModelVersionByAlias(r.name as string, r.alias as string) }),

      createModelVersion: async (r) => {
        const runId = (r.run_id as string | undefined) || undefined;
        if (runId) {
          validateRunId(runId);
          await g.getRegisteredModel(r.name as string);
          await t.getRun(runId);
        }
        return {
          model_version: await g.createModelVersion({
            name: r.name as string,
            source: r.source as string,
            runId,
            tags: tagsOf(r),
            runLink: r.run_link as string | undefined,
            description: r.description as string | undefined,
          }),
        };
      },
      getModelVersion: async (r) => ({ model_version: await g.getModelVersion(r.name as string, r.version as string) }),
      searchModelVersions: async (r) => {
        const p = await g.searchModelVersions(searchArgs(r));
        return withToken({ model_versions: p.items }, p.next_page_token);
      },
      updateModelVersion: async (r) => ({ model_version: await g.updateModelVersion(r.name as string, r.version as string, (r.description as string | undefined) ?? "") }),
      deleteModelVersion: async (r) => (await g.deleteModelVersion(r.name as string, r.version as string), {}),
      transitionModelVersionStage: async (r) => ({
        model_version: await g.transitionModelVersionStage(r.name as string, r.version as string, r.stage as string, (r.archive_existing_versions as boolean | undefined) ?? false),
      }),
      getModelVersionDownloadUri: async (r) => ({ artifact_uri: await this.downloadUri((await g.getModelVersion(r.name as string, r.version as string)).source) }),
      setModelVersionTag: async (r) => (await g.setModelVersionTag(r.name as string, r.version as string, { key: r.key as string, value: r.value as string }), {}),
      deleteModelVersionTag: async (r) => (await g.deleteModelVersionTag(r.name as string, r.version as string, r.key as string), {}),
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
  async downloadUri(source: string): Promise<string> {
    const m = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (!m) return source;
    const run = await this.tracking.getRun(m[1]);
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
