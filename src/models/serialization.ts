import { DataError, InvalidParameterError } from "../util/errors.js";
import type { FitReport } from "./estimator.js";
import { parseClasses } from "./labels.js";
import { LinearClassifierBase, type Contributions, type ModelJson } from "./linear.js";
import { LinearSVC, type LinearSVCOptions } from "./linear-svc.js";
import { LogisticRegression, type LogisticRegressionOptions } from "./logistic-regression.js";
import { MultinomialNB, type MultinomialNBOptions } from "./naive-bayes.js";
import { NBSVM, type NBSVMOptions } from "./nbsvm.js";
import {
  GradientBoostingClassifier,
  RandomForestClassifier,
  TREE_KINDS,
  treeEnsembleFromJSON,
  type GradientBoostingOptions,
  type RandomForestOptions,
  type TreeEnsembleJson,
} from "./trees/index.js";

export type AnyClassifier = LogisticRegression | MultinomialNB | LinearSVC | NBSVM | RandomForestClassifier | GradientBoostingClassifier;
export type ClassifierKind = "logreg" | "nb" | "svm" | "nbsvm" | "rf" | "gbdt";

/** The CLI's factory: 'logreg' → LogisticRegression, 'nb' → MultinomialNB, 'svm' → LinearSVC. */
export function createClassifier(kind: "logreg", options?: LogisticRegressionOptions): LogisticRegression;
export function createClassifier(kind: "nb", options?: MultinomialNBOptions): MultinomialNB;
export function createClassifier(kind: "svm", options?: LinearSVCOptions): LinearSVC;
export function createClassifier(kind: "nbsvm", options?: NBSVMOptions): NBSVM;
export function createClassifier(kind: "rf", options?: RandomForestOptions): RandomForestClassifier;
export function createClassifier(kind: "gbdt", options?: GradientBoostingOptions): GradientBoostingClassifier;
export function createClassifier(kind: ClassifierKind, options?: Record<string, unknown>): AnyClassifier;
export function createClassifier(kind: ClassifierKind, options: object = {}): AnyClassifier {
  switch (kind) {
    case "logreg":
      return new LogisticRegression(options as LogisticRegressionOptions);
    case "nb":
      return new MultinomialNB(options as MultinomialNBOptions);
    case "svm":
      return new LinearSVC(options as LinearSVCOptions);
    case "nbsvm":
      return new NBSVM(options as NBSVMOptions);
    case "rf":
      return new RandomForestClassifier(options as RandomForestOptions);
    case "gbdt":
      return new GradientBoostingClassifier(options as GradientBoostingOptions);
    default:
      throw new InvalidParameterError(`unknown classifier kind ${JSON.stringify(kind)} (known: 'logreg', 'nb', 'svm', 'nbsvm', 'rf', 'gbdt')`);
  }
}

function finiteArray(value: unknown, name: string, length: number): Float64Array {
  if (!Array.isArray(value)) throw new DataError(`model JSON: ${name} must be an array of numbers`);
  if (value.length !== length) throw new DataError(`model JSON: ${name} has ${value.length} entries, expected ${length}`);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v = value[i];
    // Naive Bayes log-probabilities are finite for alpha > 0; anything else is corrupt.
    if (typeof v !== "number" || !Number.isFinite(v)) throw new DataError(`model JSON: ${name}[${i}] is not a finite number`);
    out[i] = v;
  }
  return out;
}

function parseFitReport(value: unknown): FitReport | undefined {
  if (value === undefined || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r !== "object" || typeof r.iterations !== "number" || typeof r.converged !== "boolean") {
    throw new DataError("model JSON: fitReport must be {iterations: number, converged: boolean, objective?: number}");
  }
  const out: FitReport = { iterations: r.iterations, converged: r.converged };
  if (typeof r.objective === "number") out.objective = r.objective;
  if (typeof r.evaluations === "number") out.evaluations = r.evaluations;
  return out;
}

/**
 * Validates a serialised model (format "polarity.model", version 1) and rebuilds the
 * classifier it describes. Fails with a DataError naming the problem.
 */
export function classifierFromJSON(json: unknown): AnyClassifier {
  return classifierFromParts(json, null);
}

/**
 * classifierFromJSON for a linear model whose coefficients come as typed arrays (the binary
 * model file's sections, adopted as they are after a finiteness check) instead of the JSON's
 * `coef`/`intercept` arrays. `arrays` null reads them from the JSON. Tree ensembles always
 * come whole from the JSON.
 */
export function classifierFromParts(json: unknown, arrays: { coef: Float64Array; intercept: Float64Array } | null): AnyClassifier {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new DataError("model JSON must be an object");
  const j = json as Partial<ModelJson> & Record<string, unknown>;
  if (j.format !== "polarity.model") throw new DataError(`model JSON: format must be "polarity.model", got ${JSON.stringify(j.format)}`);
  if (j.version !== 1) throw new DataError(`model JSON: unsupported version ${JSON.stringify(j.version)} (this build reads version 1)`);
  if ((TREE_KINDS as readonly unknown[]).includes(j.kind)) {
    if (arrays !== null) throw new DataError("model JSON: a tree ensemble has no coefficient sections");
    return treeEnsembleFromJSON(json as TreeEnsembleJson);
  }
  const kinds = { logreg: "logreg", multinomial_nb: "nb", linear_svc: "svm", nbsvm: "nbsvm" } as const;
  if (typeof j.kind !== "string" || !(j.kind in kinds))
    throw new DataError(`model JSON: unknown kind ${JSON.stringify(j.kind)} (known: ${[...Object.keys(kinds), ...TREE_KINDS].join(", ")})`);
  if (typeof j.options !== "object" || j.options === null || Array.isArray(j.options)) throw new DataError("model JSON: options must be an object");
  const classes = parseClasses(j.classes, "model JSON");
  const d = j.nFeatures;
  if (typeof d !== "number" || !Number.isInteger(d) || d < 1) throw new DataError(`model JSON: nFeatures must be a positive integer, got ${JSON.stringify(d)}`);
  const k = classes.length;
  let model: AnyClassifier;
  try {
    model = createClassifier(kinds[j.kind as keyof typeof kinds], j.options as Record<string, unknown>);
  } catch (err) {
    throw new DataError(`model JSON: bad options: ${(err as Error).message}`, { cause: err });
  }
  // Binary logreg / SVC store one row; NB and multi-class models one per class.
  const rows = j.kind === "multinomial_nb" || k > 2 ? k : 1;
  let intercept: Float64Array;
  let coef: Float64Array;
  if (arrays === null) {
    intercept = finiteArray(j.intercept, "intercept", rows);
    coef = finiteArray(j.coef, "coef", rows * d);
  } else {
    intercept = finiteTyped(arrays.intercept, "intercept", rows);
    coef = finiteTyped(arrays.coef, "coef", rows * d);
  }
  return (model as LinearClassifierBase).restoreState(classes, coef, intercept, d, parseFitReport(j.fitReport)) as AnyClassifier;
}

function finiteTyped(a: Float64Array, name: string, length: number): Float64Array {
  if (a.length !== length) throw new DataError(`model JSON: ${name} has ${a.length} entries, expected ${length}`);
  for (let i = 0; i < length; i++) if (!Number.isFinite(a[i])) throw new DataError(`model JSON: ${name}[${i}] is not a finite number`);
  return a;
}

/**
 * Per-feature contribution (value × coefficient) of one document's features towards the
 * positive class (binary: classes[1]) or, for multi-class, towards `classIndex` (default: the
 * predicted class). rowIndices/rowValues are one CSR row's indices and data.
 */
export function linearContributions(model: AnyClassifier, rowIndices: ArrayLike<number>, rowValues: ArrayLike<number>, classIndex?: number): Contributions {
  return model.linearContributions(rowIndices, rowValues, classIndex);
}
