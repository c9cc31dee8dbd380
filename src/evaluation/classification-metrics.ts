import { DataError, InvalidParameterError } from "../util/errors.js";
import { compareLabels, describeLabel, type Label } from "../util/labels.js";

/**
 * Classification metrics with scikit-learn's definitions (checked against sklearn 1.2 during
 * development). Labels are strings or numbers; "the labels" of a metric are the sorted union of
 * y_true and y_pred unless given. Undefined ratios (0/0) are 0 (sklearn's zero_division=0),
 * without warnings.
 */

function checkPair(yTrue: readonly Label[], yPred: readonly Label[] | ArrayLike<number>, what: string): void {
  if (yTrue.length !== yPred.length) throw new DataError(`${what}: y_true has ${yTrue.length} entries but the predictions have ${yPred.length}`);
  if (yTrue.length === 0) throw new DataError(`${what}: no samples`);
}

function sortedUnion(a: readonly Label[], b: readonly Label[]): Label[] {
  const s = new Set<Label>(a);
  for (const v of b) s.add(v);
  return Array.from(s).sort(compareLabels);
}

export function accuracy(yTrue: readonly Label[], yPred: readonly Label[]): number {
  checkPair(yTrue, yPred, "accuracy");
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return ok / yTrue.length;
}

export interface ConfusionMatrix {
  labels: Label[];
  /** matrix[i][j] = number of samples with true label labels[i] predicted as labels[j]. */
  matrix: number[][];
}

/** sklearn's confusion_matrix: rows = true, columns = predicted; samples whose labels are not in `labels` are ignored. */
export function confusionMatrix(yTrue: readonly Label[], yPred: readonly Label[], labels?: readonly Label[]): ConfusionMatrix {
  checkPair(yTrue, yPred, "confusionMatrix");
  const labs = labels ? [...labels] : sortedUnion(yTrue, yPred);
  if (labs.length === 0) throw new DataError("confusionMatrix: labels is empty");
  const index = new Map<Label, number>();
  labs.forEach((l, i) => {
    if (index.has(l)) throw new DataError(`confusionMatrix: label ${describeLabel(l)} is listed twice`);
    index.set(l, i);
  });
  const matrix = labs.map(() => new Array<number>(labs.length).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]);
    const p = index.get(yPred[i]);
    if (t !== undefined && p !== undefined) matrix[t][p]++;
  }
  return { labels: labs, matrix };
}

export type Average = "binary" | "macro" | "weighted" | "micro";

export interface PerClassScores {
  labels: Label[];
  precision: number[];
  recall: number[];
  f1: number[];
  /** Number of true samples of each label. */
  support: number[];
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** Precision, recall, F1 and support for each label (sklearn's precision_recall_fscore_support with average=None). */
export function perClassScores(yTrue: readonly Label[], yPred: readonly Label[], labels?: readonly Label[]): PerClassScores {
  const { labels: labs, matrix } = confusionMatrix(yTrue, yPred, labels);
  const k = labs.length;
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  const support: number[] = [];
  for (let c = 0; c < k; c++) {
    const tp = matrix[c][c];
    let predicted = 0;
    let actual = 0;
    for (let o = 0; o < k; o++) {
      predicted += matrix[o][c];
      actual += matrix[c][o];
    }
    const p = ratio(tp, predicted);
    const r = ratio(tp, actual);
    precision.push(p);
    recall.push(r);
    f1.push(ratio(2 * p * r, p + r));
    support.push(actual);
  }
  return { labels: labs, precision, recall, f1, support };
}

export interface PrfOptions {
  average?: Average;
  /** The positive label for average 'binary'. Default 1 (as sklearn), which must then be a label. */
  posLabel?: Label;
  labels?: readonly Label[];
}

export interface PrfScores {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * sklearn's precision_recall_fscore_support with an average:
 * - 'binary': the scores of posLabel only (error if the data has more than 2 labels);
 * - 'macro': unweighted mean over labels; 'weighted': mean weighted by support;
 * - 'micro': from the total true positives, false positives and false negatives.
 */
export function precisionRecallF1(yTrue: readonly Label[], yPred: readonly Label[], options: PrfOptions = {}): PrfScores {
  const average = options.average ?? "binary";
  if (!["binary", "macro", "weighted", "micro"].includes(average)) {
    throw new InvalidParameterError(`average must be one of 'binary', 'macro', 'weighted', 'micro', got ${JSON.stringify(average)}`);
  }
  if (average === "binary") {
    const present = sortedUnion(yTrue, yPred);
    if (present.length > 2)
      throw new DataError(
        `precisionRecallF1: the data has ${present.length} labels (${present.map(describeLabel).join(", ")}) but average is 'binary'; choose 'macro', 'weighted' or 'micro'`,
      );
    const pos = options.posLabel ?? 1;
    if (!present.includes(pos) && present.length === 2)
      throw new DataError(`precisionRecallF1: posLabel ${describeLabel(pos)} is not one of the labels ${present.map(describeLabel).join(", ")}`);
    const s = perClassScores(yTrue, yPred, present.includes(pos) ? present : [...present, pos]);
    const c = s.labels.indexOf(pos);
    return { precision: s.precision[c], recall: s.recall[c], f1: s.f1[c] };
  }
  const s = perClassScores(yTrue, yPred, options.labels);
  const k = s.labels.length;
  if (average === "micro") {
    let tp = 0;
    let predicted = 0;
    let actual = 0;
    const { matrix } = confusionMatrix(yTrue, yPred, s.labels);
    for (let c = 0; c < k; c++) {
      tp += matrix[c][c];
      for (let o = 0; o < k; o++) {
        predicted += matrix[o][c];
        actual += matrix[c][o];
      }
    }
    const p = ratio(tp, predicted);
    const r = ratio(tp, actual);
    return { precision: p, recall: r, f1: ratio(2 * p * r, p + r) };
  }
  let wSum = 0;
  const out = { precision: 0, recall: 0, f1: 0 };
  for (let c = 0; c < k; c++) {
    const w = average === "macro" ? 1 : s.support[c];
    wSum += w;
    out.precision += w * s.precision[c];
    out.recall += w * s.recall[c];
    out.f1 += w * s.f1[c];
  }
  return { precision: ratio(out.precision, wSum), recall: ratio(out.recall, wSum), f1: ratio(out.f1, wSum) };
}

/** Counts of true/false positives at each distinct score threshold, descending (sklearn's _binary_clf_curve). */
function binaryClfCurve(
  yTrue: readonly Label[],
  scores: ArrayLike<number>,
  posLabel: Label,
  what: string,
): { fps: number[]; tps: number[]; thresholds: number[] } {
  checkPair(yTrue, scores, what);
  const n = yTrue.length;
  for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i])) throw new DataError(`${what}: score ${i} is ${scores[i]}; scores must be finite`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r];
    if (yTrue[i] === posLabel) tp++;
    // Emit a point at the last sample of each run of equal scores (ties form one threshold).
    if (r === n - 1 || scores[order[r + 1]] !== scores[i]) {
      tps.push(tp);
      fps.push(r + 1 - tp);
      thresholds.push(scores[i]);
    }
  }
  return { fps, tps, thresholds };
}

function defaultPosLabel(yTrue: readonly Label[], posLabel: Label | undefined, what: string): Label {
  const labels = uniqueLabels(yTrue);
  if (labels.length > 2) throw new DataError(`${what}: y_true has ${labels.length} labels; this metric is binary (use rocAucOvr for multi-class)`);
  if (posLabel !== undefined) return posLabel;
  // sklearn's default: labels {0,1} or {-1,1} → 1; otherwise posLabel must be given.
  if (labels.every((l) => l === 0 || l === 1 || l === -1)) return 1;
  throw new DataError(`${what}: y_true has labels ${labels.map(describeLabel).join(", ")}; pass posLabel`);
}

function uniqueLabels(y: readonly Label[]): Label[] {
  return Array.from(new Set<Label>(y)).sort(compareLabels);
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Decreasing; the first is +Infinity (the point (0, 0), as sklearn >= 1.3). */
  thresholds: number[];
}

/**
 * sklearn's roc_curve. With dropIntermediate (default true, as sklearn) collinear points are
 * dropped: only the corners of the curve remain (where the second difference of fps or tps ≠ 0).
 */
export function rocCurve(yTrue: readonly Label[], scores: ArrayLike<number>, options: { posLabel?: Label; dropIntermediate?: boolean } = {}): RocCurve {
  const pos = defaultPosLabel(yTrue, options.posLabel, "rocCurve");
  let { fps, tps, thresholds } = binaryClfCurve(yTrue, scores, pos, "rocCurve");
  if ((options.dropIntermediate ?? true) && fps.length > 2) {
    const keep: number[] = [0];
    for (let i = 1; i < fps.length - 1; i++) {
      if (fps[i + 1] - 2 * fps[i] + fps[i - 1] !== 0 || tps[i + 1] - 2 * tps[i] + tps[i - 1] !== 0) keep.push(i);
    }
    keep.push(fps.length - 1);
    fps = keep.map((i) => fps[i]);
    tps = keep.map((i) => tps[i]);
    thresholds = keep.map((i) => thresholds[i]);
  }
  const P = tps[tps.length - 1];
  const N = fps[fps.length - 1];
  if (P === 0 || N === 0) throw new DataError(`rocCurve: y_true needs both the positive label ${describeLabel(pos)} and another label`);
  return {
    fpr: [0, ...fps.map((v) => v / N)],
    tpr: [0, ...tps.map((v) => v / P)],
    thresholds: [Infinity, ...thresholds],
  };
}

/**
 * sklearn's roc_auc_score for binary targets: the trapezoidal area under the ROC curve over
 * the distinct thresholds, so tied scores count half (the Mann–Whitney statistic).
 */
export function rocAuc(yTrue: readonly Label[], scores: ArrayLike<number>, options: { posLabel?: Label } = {}): number {
  const pos = defaultPosLabel(yTrue, options.posLabel, "rocAuc");
  const { fps, tps } = binaryClfCurve(yTrue, scores, pos, "rocAuc");
  const P = tps[tps.length - 1];
  const N = fps[fps.length - 1];
  if (P === 0 || N === 0) throw new DataError(`rocAuc: only one class present in y_true; ROC AUC is not defined`);
  let area = 0;
  let prevF = 0;
  let prevT = 0;
  for (let i = 0; i < fps.length; i++) {
    area += (fps[i] - prevF) * (tps[i] + prevT);
    prevF = fps[i];
    prevT = tps[i];
  }
  return area / (2 * P * N);
}

export interface PrecisionRecallCurve {
  /** Ends with 1 (sklearn's convention for the point recall = 0). */
  precision: number[];
  /** Decreasing, ends with 0. */
  recall: number[];
  /** Increasing; one fewer than precision/recall. */
  thresholds: number[];
}

/** sklearn's precision_recall_curve (1.2+, no truncation at full recall). */
export function precisionRecallCurve(yTrue: readonly Label[], scores: ArrayLike<number>, options: { posLabel?: Label } = {}): PrecisionRecallCurve {
  const pos = defaultPosLabel(yTrue, options.posLabel, "precisionRecallCurve");
  const { fps, tps, thresholds } = binaryClfCurve(yTrue, scores, pos, "precisionRecallCurve");
  const P = tps[tps.length - 1];
  const precision = tps.map((t, i) => ratio(t, t + fps[i]));
  // No positive in y_true: sklearn sets recall to 1 everywhere.
  const recall = tps.map((t) => (P === 0 ? 1 : t / P));
  return { precision: [...precision.reverse(), 1], recall: [...recall.reverse(), 0], thresholds: [...thresholds].reverse() };
}

function checkProba(yTrue: readonly Label[], proba: ArrayLike<number>, classes: readonly Label[], what: string): Map<Label, number> {
  const k = classes.length;
  if (k < 2) throw new DataError(`${what}: needs at least 2 classes`);
  if (proba.length !== yTrue.length * k) throw new DataError(`${what}: expected ${yTrue.length} × ${k} = ${yTrue.length * k} scores, got ${proba.length}`);
  if (yTrue.length === 0) throw new DataError(`${what}: no samples`);
  const index = new Map<Label, number>();
  classes.forEach((c, i) => index.set(c, i));
  for (let i = 0; i < yTrue.length; i++) {
    if (!index.has(yTrue[i]))
      throw new DataError(`${what}: y_true[${i}] = ${describeLabel(yTrue[i])} is not one of the classes ${classes.map(describeLabel).join(", ")}`);
  }
  return index;
}

/**
 * Multi-class ROC AUC, one-vs-rest (sklearn's roc_auc_score(multi_class='ovr')): each class's
 * binary AUC of (y == c) against column c, averaged ('macro') or weighted by prevalence
 * ('weighted'). Unlike sklearn, the rows need not sum to 1, so decision scores work too.
 */
export function rocAucOvr(
  yTrue: readonly Label[],
  proba: ArrayLike<number>,
  classes: readonly Label[],
  options: { average?: "macro" | "weighted" } = {},
): number {
  checkProba(yTrue, proba, classes, "rocAucOvr");
  const k = classes.length;
  const n = yTrue.length;
  const average = options.average ?? "macro";
  const column = new Float64Array(n);
  let total = 0;
  let wSum = 0;
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) column[i] = proba[i * k + c];
    let support = 0;
    for (let i = 0; i < n; i++) if (yTrue[i] === classes[c]) support++;
    if (support === 0 || support === n)
      throw new DataError(`rocAucOvr: class ${describeLabel(classes[c])} has ${support === 0 ? "no" : "only"} samples in y_true; ROC AUC is not defined`);
    const w = average === "macro" ? 1 : support;
    const binary = yTrue.map((y) => (y === classes[c] ? 1 : 0));
    total += w * rocAuc(binary, column, { posLabel: 1 });
    wSum += w;
  }
  return total / wSum;
}

/**
 * sklearn's log_loss: probabilities clipped to [eps, 1 − eps] (eps = 2.22e-16, float64's
 * machine epsilon, sklearn's eps='auto'), rows renormalised, then the mean of −ln p(true class).
 */
export function logLoss(yTrue: readonly Label[], proba: ArrayLike<number>, classes: readonly Label[], options: { eps?: number } = {}): number {
  const index = checkProba(yTrue, proba, classes, "logLoss");
  const eps = options.eps ?? Number.EPSILON;
  const k = classes.length;
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.min(Math.max(proba[i * k + c], eps), 1 - eps);
    const p = Math.min(Math.max(proba[i * k + (index.get(yTrue[i]) as number)], eps), 1 - eps) / sum;
    total -= Math.log(p);
  }
  return total / yTrue.length;
}

export interface EvaluationSummary {
  nSamples: number;
  accuracy: number;
  /** 'binary' (scores of posLabel = classes[1]) for 2 classes, 'macro' otherwise. */
  average: "binary" | "macro";
  posLabel: Label | null;
  precision: number;
  recall: number;
  f1: number;
  /** Macro and support-weighted F1, whatever the number of classes. */
  f1Macro: number;
  f1Weighted: number;
  /** Binary: AUC of the classes[1] column; multi-class: macro one-vs-rest. null when undefined (a class absent from y_true) or no scores. */
  rocAuc: number | null;
  /** null when no probabilities were given (or the model is not probabilistic). */
  logLoss: number | null;
  confusion: ConfusionMatrix;
  perClass: PerClassScores;
}

/**
 * The classification report for one evaluation. `scores` (n × k, columns in classes' order)
 * gives ROC AUC and, when `probabilistic` (default true), the log loss; pass null to skip both.
 */
export function evaluateClassifier(
  yTrue: readonly Label[],
  yPred: readonly Label[],
  scores: ArrayLike<number> | null,
  classes: readonly Label[],
  options: { probabilistic?: boolean } = {},
): EvaluationSummary {
  checkPair(yTrue, yPred, "evaluateClassifier");
  const k = classes.length;
  if (k < 2) throw new DataError("evaluateClassifier: needs at least 2 classes");
  const binary = k === 2;
  const posLabel = binary ? classes[1] : null;
  const perClass = perClassScores(yTrue, yPred, classes);
  const macro = precisionRecallF1(yTrue, yPred, { average: "macro", labels: classes });
  const weighted = precisionRecallF1(yTrue, yPred, { average: "weighted", labels: classes });
  let auc: number | null = null;
  let ll: number | null = null;
  if (scores) {
    checkProba(yTrue, scores, classes, "evaluateClassifier");
    const present = new Set<Label>(yTrue);
    if (classes.every((c) => present.has(c))) {
      if (binary) {
        const col = new Float64Array(yTrue.length);
        for (let i = 0; i < yTrue.length; i++) col[i] = scores[2 * i + 1];
        auc = rocAuc(yTrue, col, { posLabel: classes[1] });
      } else {
        auc = rocAucOvr(yTrue, scores, classes);
      }
    }
    if (options.probabilistic ?? true) ll = logLoss(yTrue, scores, classes);
  }
  return {
    nSamples: yTrue.length,
    accuracy: accuracy(yTrue, yPred),
    average: binary ? "binary" : "macro",
    posLabel,
    precision: binary ? perClass.precision[1] : macro.precision,
    recall: binary ? perClass.recall[1] : macro.recall,
    f1: binary ? perClass.f1[1] : macro.f1,
    f1Macro: macro.f1,
    f1Weighted: weighted.f1,
    rocAuc: auc,
    logLoss: ll,
    confusion: confusionMatrix(yTrue, yPred, classes),
    perClass,
  };
}
