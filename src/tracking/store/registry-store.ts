import type { KeyValue, ModelVersion, Page, RegisteredModel } from "../types.js";
import type { SearchQuery } from "./tracking-store.js";

/**
 * Registered models, versions, stages, tags and aliases (MLflow's
 * `mlflow.store.model_registry.abstract_store.AbstractStore`). Independent of the tracking
 * store: a version's run may live in another tracking server.
 */
export interface ModelRegistryStore {
  createRegisteredModel(name: string, description?: string, tags?: KeyValue[]): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  searchRegisteredModels(q: SearchQuery): Promise<Page<RegisteredModel>>;
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel>;
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel>;
  deleteRegisteredModel(name: string): Promise<void>;
  setRegisteredModelTag(name: string, tag: KeyValue): Promise<void>;
  deleteRegisteredModelTag(name: string, key: string): Promise<void>;
  setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void>;
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]>;
  createModelVersion(v: { name: string; source: string; runId?: string; tags?: KeyValue[]; runLink?: string; description?: string }): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  searchModelVersions(q: SearchQuery): Promise<Page<ModelVersion>>;
  updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion>;
  deleteModelVersion(name: string, version: string): Promise<void>;
  transitionModelVersionStage(name: string, version: string, stage: string, archiveExistingVersions: boolean): Promise<ModelVersion>;
  setModelVersionTag(name: string, version: string, tag: KeyValue): Promise<void>;
  deleteModelVersionTag(name: string, version: string, key: string): Promise<void>;
}
