import type { ServeConfig } from "./config.js";
import { LocalFileModelSource, type ModelLoadGuard, type ModelParser, type ModelSource } from "./model-source.js";
import { validateModelBytesOffThread } from "./validate.js";

/** `SentimentModel.fromJSON`, loaded lazily so that importing the server does not load the ML core twice. */
export async function sentimentModelParser(): Promise<ModelParser> {
  const { SentimentModel } = await import("../models/sentiment-model.js");
  return (json: unknown) => SentimentModel.fromJSON(json);
}

/** True for registry/run URIs (`models:/name@alias`, `models:/name/3`, `runs:/id/path`); anything else is a local path. */
export function isRegistryUri(uri: string): boolean {
  return uri.startsWith("models:/") || uri.startsWith("runs:/");
}

/** The model source named by the configuration: a registry URI or a local file/directory. */
export async function createModelSource(
  config: Pick<ServeConfig, "modelUri" | "trackingUri"> & Partial<Pick<ServeConfig, "maxModelBytes">>,
  parse?: ModelParser,
): Promise<ModelSource> {
  const parser = parse ?? (await sentimentModelParser());
  // The off-thread check runs SentimentModel.fromJSON, so only with the default parser.
  const guard: ModelLoadGuard = {
    ...(config.maxModelBytes !== undefined ? { maxBytes: config.maxModelBytes } : {}),
    ...(parse ? {} : { validate: validateModelBytesOffThread }),
  };
  if (isRegistryUri(config.modelUri)) {
    const { RegistryModelSource } = await import("./registry-source.js");
    return RegistryModelSource.create(config.modelUri, parser, config.trackingUri, guard);
  }
  const path = config.modelUri.startsWith("file://") ? new URL(config.modelUri).pathname : config.modelUri;
  return new LocalFileModelSource(path, parser, guard);
}
