/** Pipeline engine and data versioning that speak DVC's formats. The CLI (src/cli) is a thin shell over these. */
export {
  reproduce,
  pipelineStatus,
  consoleLogger,
  StageFailedError,
  type ReproOptions,
  type ReproResult,
  type ReproLogger,
  type StageOutcome,
  type StatusReport,
} from "./repro.js";
export { loadPipeline, parsePipeline, PIPELINE_FILE, type Pipeline, type StageDecl, type OutDecl, type ParamsDecl } from "./dvcyaml.js";
export { buildDag, topoOrder, selectStages, renderMermaid, renderDot, renderText, type Dag } from "./dag.js";
export { readLock, parseLock, writeLockStage, LOCK_FILE, type LockFile, type LockStage, type LockEntry } from "./lockfile.js";
export { dumpYaml, parseYamlKeepingFloats, YamlFloat, pyFloatRepr, pyJsonDumps } from "./yaml-values.js";
export { runCacheKey, runCacheValueName } from "./run-cache.js";
export { hashFileMd5, serializeManifest, manifestHash, Hasher, StateDb, type HashInfo, type ManifestEntry } from "./objects/hashing.js";
export { ObjectCache, objectRelPath } from "./objects/cache.js";
export { Repo, withRepo, findRoot, STATE_DB_RELPATH } from "./repo.js";
export { acquireRepoLock, LOCK_RELPATH } from "./repo-lock.js";
export { stageStatus, type StageStatus, type ChangeReason } from "./stage-state.js";
export {
  addData,
  checkoutData,
  pushData,
  pullData,
  fetchData,
  gcCache,
  trackedItems,
  type AddResult,
  type CheckoutResult,
  type TransferResult,
  type GcResult,
} from "./data-versioning.js";
export { LocalRemote, type Remote } from "./objects/remote.js";
export { loadConfig, parseConfig, remoteConfig, openRemote } from "./config.js";
export { showMetrics, diffMetrics, diffParams, metricsFiles, paramsFiles, formatTable, formatValue, type DiffRow } from "./metrics-files.js";
export { renderPlotsHtml, plotSpecs } from "./plots.js";
export { loadParamsFile, getParam, flattenParams, DEFAULT_PARAMS_FILE } from "./params-files.js";
