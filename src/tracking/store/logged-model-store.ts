import type { KeyValue, LoggedModel, LoggedModelMetric, LoggedModelStatus, Page } from "../types.js";

/** One `order_by` entry of logged-model search (service.proto's SearchLoggedModels.OrderBy). */
export interface LoggedModelOrderBy {
  field_name: string;
  ascending?: boolean;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface LoggedModelSearch {
  experimentIds: string[];
  filter?: string;
  /** Metrics filters only count metrics logged on one of these datasets (name, and digest when given). */
  datasets?: Array<{ dataset_name: string; dataset_digest?: string }>;
  maxResults?: number;
  orderBy?: LoggedModelOrderBy[];
  pageToken?: string;
}

export interface NewLoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  artifactLocation: string;
  modelType?: string;
  sourceRunId?: string;
  params: KeyValue[];
  tags: KeyValue[];
}

/**
 * MLflow 3's logged models (the LoggedModel part of `AbstractStore`): models with their own
 * id, artifact location, status, params, tags and linked metrics, plus the runs' model
 * inputs and outputs. Experiments and runs themselves stay in the TrackingStore; callers
 * check them (existence, lifecycle) before writing here.
 */
export interface LoggedModelStore {
  createLoggedModel(m: NewLoggedModel): Promise<LoggedModel>;
  /** Deleted models are not found unless `allowDeleted`. */
  getLoggedModel(modelId: string, allowDeleted?: boolean): Promise<LoggedModel>;
  deleteLoggedModel(modelId: string): Promise<void>;
  finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel>;
  setLoggedModelTags(modelId: string, tags: KeyValue[]): Promise<void>;
  deleteLoggedModelTag(modelId: string, key: string): Promise<void>;
  logLoggedModelParams(modelId: string, params: KeyValue[]): Promise<void>;
  searchLoggedModels(q: LoggedModelSearch): Promise<Page<LoggedModel>>;
  /** Metrics of a run's log-batch/log-metric that name a `model_id`, linked to that model. */
  logModelMetrics(runId: string, experimentId: string, metrics: LoggedModelMetric[]): Promise<void>;
  logRunModelInputs(runId: string, modelIds: string[]): Promise<void>;
  logRunModelOutputs(runId: string, outputs: Array<{ model_id: string; step: number }>): Promise<void>;
  runModelIo(runId: string): Promise<{ inputs: Array<{ model_id: string }>; outputs: Array<{ model_id: string; step: number }> }>;
}
