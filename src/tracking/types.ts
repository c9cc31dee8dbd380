/**
 * Tracking and registry entities in MLflow's REST wire shape (snake_case, ids and model
 * versions as strings, timestamps in integer milliseconds). Using the wire shape as the
 * in-memory shape is what lets the in-process and HTTP transports return identical objects.
 */

export interface KeyValue {
  key: string;
  value: string;
}

export type LifecycleStage = "active" | "deleted";
export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
export const VIEW_TYPES: readonly ViewType[] = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"];

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
  tags: KeyValue[];
}

export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
export const RUN_STATUSES: readonly RunStatus[] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

export interface Metric {
  key: string;
  /** May be NaN or ±Infinity; on the wire these travel as the strings "NaN", "Infinity", "-Infinity". */
  value: number;
  timestamp: number;
  step: number;
}

export interface RunInfo {
  run_id: string;
  /** Deprecated alias of run_id that MLflow still sends. */
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface RunData {
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags: KeyValue[];
  dataset: Dataset;
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: { dataset_inputs: DatasetInput[] };
}

export type ModelStage = "None" | "Staging" | "Production" | "Archived";
export const MODEL_STAGES: readonly ModelStage[] = ["None", "Staging", "Production", "Archived"];

export interface ModelVersion {
  name: string;
  /** A positive integer as a string ("1", "2", …); compare with Number(). */
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: ModelStage;
  description: string;
  source: string;
  run_id: string;
  run_link: string;
  status: "READY";
  tags: KeyValue[];
  aliases: string[];
}

export interface RegisteredModelAlias {
  alias: string;
  version: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string;
  latest_versions: ModelVersion[];
  tags: KeyValue[];
  aliases: RegisteredModelAlias[];
}

export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface Page<T> {
  items: T[];
  next_page_token?: string;
}

/** MLflow 3's LoggedModelStatus enum, by its protobuf names (what MLflow's JSON carries). */
export type LoggedModelStatus = "LOGGED_MODEL_PENDING" | "LOGGED_MODEL_READY" | "LOGGED_MODEL_UPLOAD_FAILED";
/** Enum numbers in service.proto order (LOGGED_MODEL_STATUS_UNSPECIFIED = 0). */
export const LOGGED_MODEL_STATUSES: readonly LoggedModelStatus[] = ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"];

/** A metric linked to a logged model (service.proto's Metric with its MLflow 3 fields). */
export interface LoggedModelMetric extends Metric {
  model_id: string;
  run_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface LoggedModelInfo {
  model_id: string;
  experiment_id: string;
  name: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  artifact_uri: string;
  status: LoggedModelStatus;
  model_type?: string;
  source_run_id?: string;
  status_message?: string;
  tags: KeyValue[];
  registrations: Array<{ name: string; version: string }>;
}

/** MLflow 3's LoggedModel: a model logged to an experiment, with its own id, artifacts, params and linked metrics. */
export interface LoggedModel {
  info: LoggedModelInfo;
  data: { params: KeyValue[]; metrics: LoggedModelMetric[] };
}
