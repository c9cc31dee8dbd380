import type {
  DatasetInput,
  Experiment,
  KeyValue,
  Metric,
  ModelVersion,
  Page,
  RegisteredModel,
  Run,
  RunInfo,
  RunStatus,
  ViewType,
} from "./types.js";

/**
 * The storage contract behind the REST service (MLflow's AbstractStore + registry store, in one).
 * Implementations validate their inputs and throw Polarity's error classes with MLflow codes.
 */
export interface TrackingStore {
  // experiments
  createExperiment(name: string, artifactLocation?: string, tags?: KeyValue[]): string;
  getExperiment(experimentId: string): Experiment;
  getExperimentByName(name: string): Experiment;
  searchExperiments(q: SearchQuery): Page<Experiment>;
  deleteExperiment(experimentId: string): void;
  restoreExperiment(experimentId: string): void;
  renameExperiment(experimentId: string, newName: string): void;
  setExperimentTag(experimentId: string, tag: KeyValue): void;

  // runs
  createRun(r: { experimentId: string; userId?: string; startTime?: number; runName?: string; tags?: KeyValue[] }): Run;
  getRun(runId: string): Run;
  updateRun(runId: string, u: { status?: RunStatus; endTime?: number; runName?: string }): RunInfo;
  deleteRun(runId: string): void;
  restoreRun(runId: string): void;
  logBatch(runId: string, metrics: Metric[], params: KeyValue[], tags: KeyValue[]): void;
  setTag(runId: string, tag: KeyValue): void;
  deleteTag(runId: string, key: string): void;
  logInputs(runId: string, datasets: DatasetInput[]): void;
  getMetricHistory(runId: string, key: string, maxResults?: number, pageToken?: string): Page<Metric>;
  searchRuns(q: SearchQuery & { experimentIds: string[] }): Page<Run>;

  // registry
  createRegisteredModel(name: string, description?: string, tags?: KeyValue[]): RegisteredModel;
  getRegisteredModel(name: string): RegisteredModel;
  searchRegisteredModels(q: SearchQuery): Page<RegisteredModel>;
  renameRegisteredModel(name: string, newName: string): RegisteredModel;
  updateRegisteredModel(name: string, description: string): RegisteredModel;
  deleteRegisteredModel(name: string): void;
  setRegisteredModelTag(name: string, tag: KeyValue): void;
  deleteRegisteredModelTag(name: string, key: string): void;
  setRegisteredModelAlias(name: string, alias: string, version: string): void;
  deleteRegisteredModelAlias(name: string, alias: string): void;
  getModelVersionByAlias(name: string, alias: string): ModelVersion;
  getLatestVersions(name: string, stages?: string[]): ModelVersion[];
  createModelVersion(v: { name: string; source: string; runId?: string; tags?: KeyValue[]; runLink?: string; description?: string }): ModelVersion;
  getModelVersion(name: string, version: string): ModelVersion;
  searchModelVersions(q: SearchQuery): Page<ModelVersion>;
  updateModelVersion(name: string, version: string, description: string): ModelVersion;
  deleteModelVersion(name: string, version: string): void;
  transitionModelVersionStage(name: string, version: string, stage: string, archiveExistingVersions: boolean): ModelVersion;
  setModelVersionTag(name: string, version: string, tag: KeyValue): void;
  deleteModelVersionTag(name: string, version: string, key: string): void;

  close(): void;
}

export interface SearchQuery {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}

