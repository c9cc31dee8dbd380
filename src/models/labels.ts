import type { CsrMatrix } from "../features/csr.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { checkLabel, compareLabels, describeLabel, uniqueSortedLabels, type Label } from "../util/labels.js";

export { compareLabels, describeLabel, uniqueSortedLabels } from "../util/labels.js";

/**
 * Label handling shared by every classifier: classes sorted stably (numbers ascending,
 * then strings ascending by UTF-16 code units), labels encoded as indices into that order.
 * The number 1 and the string "1" are different classes.
 */
export interface EncodedLabels {
  classes: Label[];
  /** y[i]'s index in classes. */
  codes: Int32Array;
  /** How many samples each class has. */
  counts: Float64Array;
}

/** Sorts the classes and encodes y; fails with a DataError when fewer than 2 classes. */
export function encodeLabels(y: readonly Label[], minClasses = 2): EncodedLabels {
  const classes = uniqueSortedLabels(y);
  if (classes.length < minClasses) {
    const got = classes.length === 0 ? "none" : `only ${classes.map(describeLabel).join(", ")}`;
    throw new DataError(`needs at least ${minClasses} classes, got ${got}`);
  }
  const index = new Map<Label, number>();
  classes.forEach((c, k) => index.set(c, k));
  const codes = new Int32Array(y.length);
  const counts = new Float64Array(classes.length);
  for (let i = 0; i < y.length; i++) {
    const k = index.get(y[i]) as number;
    codes[i] = k;
    counts[k]++;
  }
  return { classes, codes, counts };
}

/** Checks that X and y describe the same samples. */
export function checkFitInput(X: CsrMatrix, y: readonly Label[], where: string): void {
  if (!X || !(X.indptr instanceof Int32Array)) throw new DataError(`${where}.fit: X must be a CsrMatrix`);
  if (!Array.isArray(y)) throw new DataError(`${where}.fit: y must be an array of labels`);
  if (X.rows !== y.length) throw new DataError(`${where}.fit: X has ${X.rows} rows but y has ${y.length} labels`);
  if (X.rows === 0) throw new DataError(`${where}.fit: no samples`);
  if (X.cols === 0) throw new DataError(`${where}.fit: X has no features`);
  const nnz = X.indptr[X.rows];
  for (let p = 0; p < nnz; p++) {
    if (!Number.isFinite(X.data[p])) throw new DataError(`${where}.fit: X has a non-finite value (${X.data[p]}) at stored entry ${p}`);
  }
}

/** Fails when X's feature count differs from what the model was fitted on. */
export function checkPredictInput(X: CsrMatrix, nFeatures: number, where: string): void {
  if (nFeatures < 0) throw new DataError(`${where}: the model is not fitted yet; call fit() first`);
  if (!X || !(X.indptr instanceof Int32Array)) throw new DataError(`${where}: X must be a CsrMatrix`);
  if (X.cols !== nFeatures) throw new DataError(`${where}: X has ${X.cols} features but the model was fitted with ${nFeatures}`);
}

/** How each class weighs in the objective: null (all 1), 'balanced' (n / (k·count_c), as sklearn) or a map label → weight. */
export type ClassWeight = null | "balanced" | Record<string, number>;

export function validateClassWeight(where: string, value: unknown): ClassWeight {
  if (value === null || value === undefined) return null;
  if (value === "balanced") return "balanced";
  if (typeof value === "object" && !Array.isArray(value)) {
    const out: Record<string, number> = {};
    for (const [k, w] of Object.entries(value as Record<string, unknown>)) {
      if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
        throw new InvalidParameterError(`${where}: classWeight for '${k}' must be a finite number >= 0, got ${String(w)}`);
      }
      out[k] = w;
    }
    return out;
  }
  throw new InvalidParameterError(`${where}: classWeight must be null, 'balanced' or an object {label: weight}, got ${JSON.stringify(value)}`);
}

/**
 * Per-class weights for the given classes. Map keys are matched against String(label);
 * classes missing from the map weigh 1 (as sklearn); keys naming no class are an error.
 */
export function resolveClassWeights(cw: ClassWeight, classes: readonly Label[], counts: Float64Array): Float64Array {
  const k = classes.length;
  const out = new Float64Array(k).fill(1);
  if (cw === null) return out;
  if (cw === "balanced") {
    let n = 0;
    for (let c = 0; c < k; c++) n += counts[c];
    for (let c = 0; c < k; c++) out[c] = n / (k * counts[c]);
    return out;
  }
  const byKey = new Map<string, number>();
  classes.forEach((c, i) => {
    const key = String(c);
    if (byKey.has(key))
      throw new DataError(
        `classWeight is ambiguous: classes ${describeLabel(classes[byKey.get(key) as number])} and ${describeLabel(c)} have the same key '${key}'`,
      );
    byKey.set(key, i);
  });
  const unknown = Object.keys(cw).filter((key) => !byKey.has(key));
  if (unknown.length > 0)
    throw new DataError(
      `classWeight names labels not in the data: ${unknown.map((u) => `'${u}'`).join(", ")} (classes: ${classes.map(describeLabel).join(", ")})`,
    );
  for (const [key, w] of Object.entries(cw)) out[byKey.get(key) as number] = w;
  return out;
}

/** Validates a JSON classes array (for deserialisation). */
export function parseClasses(value: unknown, where: string): Label[] {
  if (!Array.isArray(value) || value.length < 2) throw new DataError(`${where}: classes must be an array of at least 2 labels`);
  const classes = value.map((c, i) => checkLabel(c, i));
  for (let i = 1; i < classes.length; i++) {
    if (compareLabels(classes[i - 1], classes[i]) >= 0) throw new DataError(`${where}: classes must be sorted and distinct`);
  }
  return classes;
}

export function requireBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new InvalidParameterError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}
