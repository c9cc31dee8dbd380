import type { CsrMatrix } from "../features/csr.js";
import type { Label } from "../util/labels.js";

/** A class label: any string or number (src/util/labels.ts). Classes are kept sorted (numbers before strings, each ascending) and recorded in the model. */
export type { Label };

/**
 * The one estimator shape (CONTRIBUTING.md §2): hyperparameters at construction, `fit` learns
 * state, the rest use it. Every classifier in src/models implements this.
 */
export interface Classifier<Json = unknown> {
  /** Learns from X (n × d) and labels y (length n). Returns this. */
  fit(X: CsrMatrix, y: readonly Label[]): this;
  /** Class labels in the order of predictProba's columns. */
  readonly classes: readonly Label[];
  predict(X: CsrMatrix): Label[];
  /** n × k probabilities, row-major (k = classes.length). */
  predictProba(X: CsrMatrix): Float64Array;
  /** Binary: n scores for classes[1]. Multi-class: n × k row-major. */
  decisionFunction(X: CsrMatrix): Float64Array;
  toJSON(): Json;
  /**
   * False for models whose predictProba is not a calibrated probability (LinearSVC): evaluation
   * then ranks by decisionFunction and skips the log loss. Absent means true.
   */
  readonly probabilistic?: boolean;
}

/** What a fit reports, for logs and tracking. */
export interface FitReport {
  iterations: number;
  converged: boolean;
  objective?: number;
  /** Objective/gradient evaluations (iterations plus extra line-search steps), for profiling. */
  evaluations?: number;
}
