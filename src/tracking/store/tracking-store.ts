import type { DatasetInput, Experiment, KeyValue, Metric, Page, Run, RunInfo, RunStatus, ViewType } from "../types.js";

export interface SearchQuery {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}

/**
 * Experiments, runs, metrics, params, tags and dataset inputs (MLflow's
 * `mlflow.store.tracking.abstract_store.AbstractStore`). Implementations validate their
 * inputs and throw Polarity's error classes with MLflow codes.
 */
export interface TrackingStore {
  createExperiment(name: string, artifactLocation?: string, tags?: KeyValue[]): Promise<string>;
  getExperiment(experimentId: string): Promise<Experiment>;
  getExperimentByName(name: string): Promise<Experiment>;
  searchExperiments(q: SearchQuery): Promise<Page<Experiment>>;
  deleteExperiment(experimentId: string): Promise<void>;
  restoreExperiment(experimentId: string): Promise<void>;
  renameExperiment(experimentId: string, newName: string): Promise<void>;
  setExperimentTag(experimentId: string, tag: KeyValue): Promise<void>;

  createRun(r: { experimentId: string; userId?: string; startTime?: number; runName?: string; tags?: KeyValue[] }): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  updateRun(runId: string, u: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  logBatch(runId: string, metrics: Metric[], params: KeyValue[], tags: KeyValue[]): Promise<void>;
  setTag(runId: string, tag: KeyValue): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void>;
  getMetricHistory(runId: string, key: string, maxResults?: number, pageToken?: string): Promise<Page<Metric>>;
  searchRuns(q: SearchQuery & { experimentIds: string[] }): Promise<Page<Run>>;
}
