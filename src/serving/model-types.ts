/**
 * What the server needs from a model: the prediction half of `SentimentModel`
 * (src/models/sentiment-model.ts). Typed structurally so that serving depends on the
 * behaviour, not on how the bundle is built.
 */
import type { Label } from "../models/estimator.js";
import type { Explanation, Prediction } from "../models/sentiment-model.js";

export type { Label } from "../models/estimator.js";
export type { Explanation, Prediction, TermContribution, TokenContribution } from "../models/sentiment-model.js";

export interface ServableModel {
  readonly classes: readonly Label[];
  /** What each class means, in `classes` order ("negative", "positive"); String(class) when the bundle has none. */
  readonly classNames?: readonly string[];
  readonly metadata: Record<string, unknown>;
  predict(texts: string[]): Prediction[];
  /** n × k probabilities, row-major, columns in `classes` order (what predict() is built from); optional, predict() is used without it. */
  predictProba?(texts: readonly string[]): Float64Array;
  explain(text: string, topK?: number): Explanation;
}

/** A model plus where it came from: what the server holds and reports. */
export interface LoadedModel {
  readonly model: ServableModel;
  readonly name: string;
  readonly version: string;
  readonly alias?: string;
  /** Human-readable origin, e.g. `models:/sentiment@production (version 3)` or a file path. */
  readonly source: string;
  readonly loadedAt: Date;
}
