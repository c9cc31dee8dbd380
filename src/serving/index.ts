/** Public API of the model server. */
export { buildServer, SERVER_VERSION, type BuildServerOptions } from "./app.js";
export { startServing, type StartServingOptions, type RunningServer } from "./server.js";
export { serve, startCluster } from "./cluster.js";
export { resolveServeConfig, DEFAULT_SERVE_CONFIG, DEFAULT_PORT, DEFAULT_MODEL_URI, type ServeConfig, type ServeConfigInput } from "./config.js";
export { LocalFileModelSource, findModelFile, type ModelSource, type ResolvedModelFile, type ModelParser } from "./model-source.js";
export { createModelSource, isRegistryUri, sentimentModelParser } from "./sources.js";
export { ModelHolder, type ReloadOutcome } from "./model-holder.js";
export { ServingMetrics } from "./metrics.js";
export type { ServableModel, LoadedModel, Prediction, TokenContribution, Label } from "./model-types.js";
