import { DataError, InvalidParameterError } from "./errors.js";
import { Random } from "./random.js";
import { compareLabels, describeLabel, type Label } from "./labels.js";
import { requireFinite, requireInteger } from "./validate.js";

export interface Split {
  /** Row indices, ascending. */
  train: Int32Array;
  test: Int32Array;
}

function checkLabels(labels: readonly Label[], what: string): void {
  if (!Array.isArray(labels)) throw new DataError(`${what}: labels must be an array`);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (typeof l !== "string" && !(typeof l === "number" && Number.isFinite(l)))
      throw new DataError(`${what}: label at position ${i} must be a string or a finite number, got ${String(l)}`);
  }
}

/** Row indices of each class, classes sorted (numbers then strings). */
function groupByClass(labels: readonly Label[]): { classes: Label[]; members: number[][] } {
  const byLabel = new Map<Label, number[]>();
  labels.forEach((l, i) => {
    const list = byLabel.get(l);
    if (list) list.push(i);
    else byLabel.set(l, [i]);
  });
  const classes = Array.from(byLabel.keys()).sort(compareLabels);
  return { classes, members: classes.map((c) => byLabel.get(c) as number[]) };
}

/**
 * sklearn's _approximate_mode: the most likely per-class draw counts of `draws` items without
 * replacement — floor of the proportional share, remaining items to the largest remainders,
 * ties between equal remainders broken by the seeded generator.
 */
function approximateMode(counts: number[], draws: number, rng: Random): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const continuous = counts.map((c) => (c * draws) / total);
  const floored = continuous.map(Math.floor);
  let need = draws - floored.reduce((a, b) => a + b, 0);
  const remainder = continuous.map((v, i) => v - floored[i]);
  const values = Array.from(new Set(remainder)).sort((a, b) => b - a);
  for (const v of values) {
    if (need <= 0) break;
    const idx = remainder.map((r, i) => (r === v ? i : -1)).filter((i) => i >= 0);
    rng.shuffle(idx);
    const add = Math.min(need, idx.length);
    for (let j = 0; j < add; j++) floored[idx[j]]++;
    need -= add;
  }
  return floored;
}

export interface TrainTestSplitOptions {
  /** A fraction in (0, 1) of the samples (rounded up, as sklearn) or a count >= 1. */
  testSize: number;
  seed: number;
}

/**
 * Stratified train/test split (sklearn's StratifiedShuffleSplit allocation): each class is
 * split in proportion to its size, and every class gets at least one sample on each side.
 * Fails when that is impossible (a class with one sample, or fewer test/train samples than classes).
 */
export function stratifiedTrainTestSplit(labels: readonly Label[], options: TrainTestSplitOptions): Split {
  checkLabels(labels, "stratifiedTrainTestSplit");
  const n = labels.length;
  const testSize = requireFinite("testSize", options.testSize);
  const seed = requireFinite("seed", options.seed);
  let nTest: number;
  if (testSize > 0 && testSize < 1) nTest = Math.ceil(testSize * n);
  else if (Number.isInteger(testSize) && testSize >= 1) nTest = testSize;
  else throw new InvalidParameterError(`testSize must be a fraction in (0, 1) or a whole count >= 1, got ${testSize}`);
  if (nTest >= n) throw new DataError(`stratifiedTrainTestSplit: testSize ${testSize} leaves no training samples out of ${n}`);
  const nTrain = n - nTest;
  const { classes, members } = groupByClass(labels);
  const counts = members.map((m) => m.length);
  const k = classes.length;
  if (k < 2) throw new DataError(`stratifiedTrainTestSplit: needs at least 2 classes, got ${k === 0 ? "none" : `only ${describeLabel(classes[0])}`}`);
  const tooSmall = classes.filter((_, c) => counts[c] < 2);
  if (tooSmall.length > 0) {
    throw new DataError(
      `stratifiedTrainTestSplit: class${tooSmall.length > 1 ? "es" : ""} ${tooSmall.map(describeLabel).join(", ")} ha${tooSmall.length > 1 ? "ve" : "s"} only 1 sample; each class needs at least 2 (one per side)`,
    );
  }
  if (nTest < k) throw new DataError(`stratifiedTrainTestSplit: the test set would have ${nTest} samples, fewer than the ${k} classes`);
  if (nTrain < k) throw new DataError(`stratifiedTrainTestSplit: the training set would have ${nTrain} samples, fewer than the ${k} classes`);

  const rng = new Random(seed);
  const trainCounts = approximateMode(counts, nTrain, rng);
  const testCounts = counts.map((c, i) => c - trainCounts[i]);
  // Every class on both sides: move one sample per empty side from the class that has the most there.
  for (let c = 0; c < k; c++) {
    for (const [side, other] of [
      [testCounts, trainCounts],
      [trainCounts, testCounts],
    ]) {
      if (side[c] > 0) continue;
      let donor = -1;
      for (let o = 0; o < k; o++) if (side[o] > 1 && (donor < 0 || side[o] > side[donor])) donor = o;
      side[c]++;
      other[c]--;
      side[donor]--;
      other[donor]++;
    }
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let c = 0; c < k; c++) {
    const perm = rng.shuffle([...members[c]]);
    for (let j = 0; j < perm.length; j++) (j < trainCounts[c] ? train : test).push(perm[j]);
  }
  return { train: Int32Array.from(train).sort(), test: Int32Array.from(test).sort() };
}

export interface KFoldOptions {
  k: number;
  /** Shuffle each class's fold assignment (seeded). Default false, as sklearn. */
  shuffle?: boolean;
  seed?: number;
}

/**
 * sklearn's StratifiedKFold (>= 0.22): the samples sorted by class are dealt round-robin to
 * the k folds, so each class is spread as evenly as possible and fold sizes differ by at
 * most 1; within a class, samples keep their order unless shuffle is set. Classes are
 * numbered by first appearance, as sklearn does.
 */
export function stratifiedKFold(labels: readonly Label[], options: KFoldOptions): Split[] {
  checkLabels(labels, "stratifiedKFold");
  const n = labels.length;
  const k = requireInteger("k", options.k, 2);
  if (k > n) throw new DataError(`stratifiedKFold: k = ${k} folds but only ${n} samples`);
  const code = new Map<Label, number>();
  const yEnc = new Int32Array(n);
  const counts: number[] = [];
  const names: Label[] = [];
  for (let i = 0; i < n; i++) {
    let c = code.get(labels[i]);
    if (c === undefined) {
      c = code.size;
      code.set(labels[i], c);
      counts.push(0);
      names.push(labels[i]);
    }
    yEnc[i] = c;
    counts[c]++;
  }
  const minCount = Math.min(...counts);
  if (k > minCount) {
    const detail = names.map((l, c) => `${describeLabel(l)}: ${counts[c]}`).join(", ");
    throw new DataError(`stratifiedKFold: k = ${k} is greater than the number of samples in the smallest class (${minCount}); class counts: ${detail}`);
  }
  const nClasses = counts.length;
  // allocation[f][c] = how many of class c go to fold f: deal the class-sorted samples round-robin.
  const allocation = Array.from({ length: k }, () => new Array<number>(nClasses).fill(0));
  let pos = 0;
  for (let c = 0; c < nClasses; c++) {
    for (let j = 0; j < counts[c]; j++, pos++) allocation[pos % k][c]++;
  }
  const rng = options.shuffle ? new Random(requireFinite("seed", options.seed ?? 0)) : null;
  const testFold = new Int32Array(n);
  for (let c = 0; c < nClasses; c++) {
    const foldsForClass: number[] = [];
    for (let f = 0; f < k; f++) for (let j = 0; j < allocation[f][c]; j++) foldsForClass.push(f);
    if (rng) rng.shuffle(foldsForClass);
    let next = 0;
    for (let i = 0; i < n; i++) if (yEnc[i] === c) testFold[i] = foldsForClass[next++];
  }
  const folds: Split[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (testFold[i] === f ? test : train).push(i);
    folds.push({ train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return folds;
}
