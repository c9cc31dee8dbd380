import type { CsrMatrix } from "../features/csr.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { rejectUnknownOptions, requirePositive } from "../util/validate.js";
import type { Label } from "./estimator.js";
import { checkFitInput, encodeLabels, requireBoolean } from "./labels.js";
import { LinearClassifierBase, softmaxRows, type ModelJson } from "./linear.js";

export interface MultinomialNBOptions {
  /** Additive (Laplace/Lidstone) smoothing. Default 1. */
  alpha?: number;
  /** Learn class priors from the data (else uniform). Default true. */
  fitPrior?: boolean;
  /** Fixed class priors, one per class in sorted class order; overrides fitPrior. */
  classPrior?: number[] | null;
}

export interface MultinomialNBParams {
  alpha: number;
  fitPrior: boolean;
  classPrior: number[] | null;
}

/**
 * Multinomial naive Bayes with sklearn's formulas:
 *   feature_log_prob[c][j] = ln((N_cj + α) / (N_c + α·d)),  N_cj = Σ_{i in c} x_ij,  N_c = Σ_j N_cj
 *   class_log_prior[c] = ln(count_c / n) (fitPrior), −ln k (uniform), or ln(classPrior[c]).
 * The joint log-likelihood X·feature_log_probᵀ + class_log_prior is linear in X, so the model
 * is stored like the others: coef = feature_log_prob (k × d), intercept = class_log_prior.
 * decisionFunction: binary → log-odds of classes[1]; multi-class → the joint log-likelihoods.
 */
export class MultinomialNB extends LinearClassifierBase {
  readonly probabilistic = true;
  protected readonly name = "MultinomialNB";
  readonly params: MultinomialNBParams;
  /** N_cj, k × d row-major (kept for inspection; not serialised). */
  featureCount: Float64Array = new Float64Array(0);
  classCount: Float64Array = new Float64Array(0);

  constructor(options: MultinomialNBOptions = {}) {
    super();
    rejectUnknownOptions("MultinomialNB", options, ["alpha", "fitPrior", "classPrior"]);
    const classPrior = options.classPrior ?? null;
    if (classPrior !== null) {
      if (!Array.isArray(classPrior) || classPrior.some((p) => typeof p !== "number" || !Number.isFinite(p) || p <= 0)) {
        throw new InvalidParameterError(`classPrior must be an array of finite numbers > 0, got ${JSON.stringify(classPrior)}`);
      }
    }
    this.params = {
      alpha: requirePositive("alpha", options.alpha ?? 1),
      fitPrior: requireBoolean("fitPrior", options.fitPrior ?? true),
      classPrior: classPrior ? [...classPrior] : null,
    };
  }

  fit(X: CsrMatrix, y: readonly Label[]): this {
    checkFitInput(X, y, "MultinomialNB");
    const { classes, codes, counts } = encodeLabels(y);
    const k = classes.length;
    const d = X.cols;
    const { indptr, indices, data } = X;
    if (this.params.classPrior && this.params.classPrior.length !== k) {
      throw new DataError(`MultinomialNB: classPrior has ${this.params.classPrior.length} entries but the data has ${k} classes`);
    }
    const fc = new Float64Array(k * d);
    for (let i = 0; i < X.rows; i++) {
      const base = codes[i] * d;
      for (let p = indptr[i]; p < indptr[i + 1]; p++) {
        const v = data[p];
        if (!(v >= 0) || !Number.isFinite(v))
          throw new DataError(`MultinomialNB needs non-negative finite feature values (counts or TF-IDF); row ${i}, feature ${indices[p]} is ${v}`);
        fc[base + indices[p]] += v;
      }
    }
    const alpha = this.params.alpha;
    const coef = new Float64Array(k * d);
    for (let c = 0; c < k; c++) {
      let total = 0;
      for (let j = 0; j < d; j++) total += fc[c * d + j];
      const logDenom = Math.log(total + alpha * d);
      for (let j = 0; j < d; j++) coef[c * d + j] = Math.log(fc[c * d + j] + alpha) - logDenom;
    }
    const intercept = new Float64Array(k);
    if (this.params.classPrior) {
      for (let c = 0; c < k; c++) intercept[c] = Math.log((this.params.classPrior as number[])[c]);
    } else if (this.params.fitPrior) {
      for (let c = 0; c < k; c++) intercept[c] = Math.log(counts[c]) - Math.log(X.rows);
    } else {
      intercept.fill(-Math.log(k));
    }
    this.featureCount = fc;
    this.classCount = counts;
    this.warnings = [];
    this.restoreState(classes, coef, intercept, d, { iterations: 1, converged: true });
    return this;
  }

  /** n × k probabilities: exp(jll − logsumexp(jll)). */
  predictProba(X: CsrMatrix): Float64Array {
    return softmaxRows(this.rawScores(X, "predictProba"), this.classes.length);
  }

  toJSON(): ModelJson {
    return this.baseJson("multinomial_nb", { ...this.params, classPrior: this.params.classPrior ? [...this.params.classPrior] : null });
  }
}
