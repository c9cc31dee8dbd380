/**
 * What the server needs from a model: the prediction half of `SentimentModel`
 * (src/models/sentiment-model.ts). Typed structurally so that serving depends on the
 * behaviour, not on how the bundle is built.
 */
export type Label = string | number;

export interface Prediction {
  label: Label;
  /** Keys are String(class), in the model's class order. */
  probabilities: Record<string, number>;
}

/** Offsets into the ORIGINAL text; weight > 0 pushes towards classes[1] (binary) / the predicted class (multi-class). */
export interface TokenContribution {
  token: string;
  start: number;
  end: number;
  weight: number;
}

export interface ServableModel {
  readonly classes: readonly Label[];
  readonly metadata: Record<string, unknown>;
  predict(texts: string[]): Prediction[];
  explain(text: string, topK?: number): { prediction: Prediction; contributions: TokenContribution[] };
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
