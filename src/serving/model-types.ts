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

/** A word of the ORIGINAL text (UTF-16 offsets); weight > 0 pushes towards `towards`. */
export interface TokenContribution {
  token: string;
  start: number;
  end: number;
  weight: number;
}

/** A feature (word or n-gram after preprocessing) and its value × coefficient. */
export interface TermContribution {
  term: string;
  weight: number;
}

export interface Explanation {
  prediction: Prediction;
  /** The class weights refer to: classes[1] for binary models, the predicted class otherwise. */
  towards: Label;
  /** Words of the text, in order, with non-zero weight. */
  words: TokenContribution[];
  /** The strongest terms by |weight|, at most topK. */
  terms: TermContribution[];
}

export interface ServableModel {
  readonly classes: readonly Label[];
  readonly metadata: Record<string, unknown>;
  predict(texts: string[]): Prediction[];
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
