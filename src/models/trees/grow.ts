/**
 * Growing one decision tree on binned sparse rows: the kernel shared by the random forest
 * and gradient boosting, on the main thread and in the forest's worker.
 *
 * SELF-CONTAINED: `growTree` and the functions it calls use only their arguments and typed
 * arrays (no imports, no closures over module state), because the forest's worker is started
 * from their source text (`fn.toString()`, see forest-worker.ts) so that it can boot while the
 * main thread is blocked in a synchronous fit.
 *
 * Split finding is sparse-aware and histogram-based (as LightGBM's): each stored value has a
 * bin code; a node's histogram is accumulated row-wise over the node's non-zeros only, for the
 * features that occur in the node, and the zero bin's statistics are the node totals minus the
 * stored entries. Work per tree level is therefore at most nnz, whatever the vocabulary size.
 * Features absent from a node are constant there: drawing one costs nothing, but it counts
 * towards `max_features` as in scikit-learn (see the draw loop).
 */

/** The binned training matrix (CSR with a bin code per stored value). */
export interface BinnedRows {
  n: number;
  d: number;
  indptr: Int32Array;
  indices: Int32Array;
  codes: Uint8Array;
  /** Bins of feature j: nBins[j]; the bin holding the value 0: zeroBin[j]; first histogram slot: binOffset[j]. */
  nBins: Int32Array;
  zeroBin: Int32Array;
  binOffset: Int32Array;
  /** The same entries column-wise (CSC): rows colRows[colptr[j]..colptr[j+1]) hold feature j with bin colCodes. */
  colptr: Int32Array;
  colRows: Int32Array;
  colCodes: Uint8Array;
}

/**
 * What a tree fits. criterion 0 = Gini over `k` classes (random forest; class codes `y`,
 * sample weights `w` = bootstrap counts). criterion 1 = Friedman MSE on residuals `r` with
 * weights `w` (gradient boosting), leaf value Σw·r / Σw·h (one Newton step, sklearn's).
 */
export interface GrowTarget {
  criterion: number;
  k: number;
  y: Int32Array;
  w: Float64Array;
  r: Float64Array;
  h: Float64Array;
}

export interface GrowParams {
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Non-constant features to evaluate per node (0 = all). */
  maxFeatures: number;
  seed: number;
  /**
   * The plain algorithm, for tests to compare with: every feature scanned (no pruneBelow) and
   * the root built row by row (no column-wise root).
   */
  reference?: boolean;
}

/**
 * The shared state of growTree's helper thread (boosting, see boost-worker.ts): the histogram,
 * the present-feature list and counts, a parameter block, the helper's best split and a
 * control block [request sequence, answered sequence, failed flag].
 */
export interface SplitHelper {
  hist: Float64Array;
  featCount: Int32Array;
  touched: Int32Array;
  params: Float64Array;
  best: Float64Array;
  control: Int32Array;
  /** Layout of params: [S, k, gini, weight, count, minSamplesLeaf, from, to, tot × S …, [72] prune count, [73] probed-from count]. */
  /** Nodes with fewer present features are scanned on the calling thread alone. */
  minFeatures: number;
}

/**
 * Buffers growTree reuses from tree to tree (gradient boosting) instead of allocating them:
 * hist ≥ (Σ nBins) × slot stride doubles, the others d entries. All zero between trees
 * (growTree leaves them so).
 */
export interface GrowBuffers {
  hist: Float64Array;
  present: Uint8Array;
  featCount: Int32Array;
  touched: Int32Array;
}

/** Zeroed buffers for growTree over X with slot stride S (MSE: 3; Gini: k + 1). */
export function newGrowBuffers(X: BinnedRows, S: number): GrowBuffers {
  return { hist: new Float64Array(X.binOffset[X.d] * S), present: new Uint8Array(X.d), featCount: new Int32Array(X.d), touched: new Int32Array(X.d) };
}

/**
 * A grown tree, flat. Leaves have feature −1. `value` has `vdim` entries per node (class
 * fractions for Gini, the Newton value for MSE), internal nodes included (explanations walk
 * the path). `improvement` is the weighted impurity decrease of each split (importances).
 */
export interface GrownTree {
  feature: Int32Array;
  bin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  improvement: Float64Array;
  vdim: number;
}

/** mulberry32 step on a 1-element Int32Array state; returns a float in [0, 1). */
export function treeRandom(state: Int32Array): number {
  let t = (state[0] = (state[0] + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/**
 * A growing tree's node arrays, allocated once at their final capacity (a binary tree over
 * `rows` rows whose leaves hold ≥ 1 row has < 2·rows nodes; depth ≤ maxDepth bounds it too):
 * a node is added by taking the next id, and a fresh node is a leaf (feature, left, right −1;
 * bin, improvement, value 0). Plain typed arrays, no closures: a closure made per tree is a new
 * call target for the optimised kernel each time ("wrong call target" deopts, traced).
 * Self-contained (the workers get its source).
 */
export function newNodeStore(vdim: number, rows: number, maxDepth: number): GrownTree {
  const byDepth = maxDepth < 30 ? 2 ** (maxDepth + 1) - 1 : Infinity;
  const capacity = Math.max(1, Math.min(2 * rows - 1, byDepth));
  return {
    feature: new Int32Array(capacity).fill(-1),
    bin: new Int32Array(capacity),
    left: new Int32Array(capacity).fill(-1),
    right: new Int32Array(capacity).fill(-1),
    value: new Float64Array(capacity * vdim),
    improvement: new Float64Array(capacity),
    vdim,
  };
}

/** The first `size` nodes of a store, as a tree of exactly that many nodes. */
export function finishNodes(store: GrownTree, size: number): GrownTree {
  return {
    feature: store.feature.slice(0, size),
    bin: store.bin.slice(0, size),
    left: store.left.slice(0, size),
    right: store.right.slice(0, size),
    value: store.value.slice(0, size * store.vdim),
    improvement: store.improvement.slice(0, size),
    vdim: store.vdim,
  };
}

/** The bin of row i for feature j (binary search in the row's sorted indices). */
export function rowBin(X: BinnedRows, i: number, j: number): number {
  let lo = X.indptr[i];
  let hi = X.indptr[i + 1] - 1;
  const indices = X.indices;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = indices[mid];
    if (c === j) return X.codes[mid];
    if (c < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return X.zeroBin[j];
}

/**
 * Evaluates every split of feature j on the node whose histogram is `hist` (node totals `tot`,
 * weight, row count): updates best = [score, feature, bin] when a split scores strictly higher
 * (so ties go to the feature evaluated first). Returns 1 when j is not constant in the node
 * (it counts as found for the max_features rule), else 0. Self-contained: growTree and the
 * boosting helper thread (boost-worker.ts) run this same code.
 */
export function evalFeature(
  j: number,
  hist: Float64Array,
  featCount: Int32Array,
  nBins: Int32Array,
  zeroBin: Int32Array,
  binOffset: Int32Array,
  S: number,
  k: number,
  gini: boolean,
  tot: Float64Array,
  weight: number,
  count: number,
  minSamplesLeaf: number,
  zeroStats: Float64Array,
  leftStats: Float64Array,
  best: Float64Array,
): number {
  if (featCount[j] === 0) return 0; // absent from this node: constant
  const nb = nBins[j];
  const base = binOffset[j] * S;
  const zb = zeroBin[j];
  if (nb === 2) {
    // Fast path for the commonest text feature (absent / one value): one candidate split.
    const ob = base + (1 - zb) * S;
    const nOther = hist[ob + S - 1];
    if (nOther === 0 || nOther === count) return 0;
    const nL = zb === 0 ? count - nOther : nOther;
    if (nL < minSamplesLeaf || count - nL < minSamplesLeaf) return 1;
    let score: number;
    if (gini) {
      let wO = 0;
      let sO = 0;
      let sZ = 0;
      for (let c = 0; c < k; c++) {
        const oc = hist[ob + c];
        const zc = tot[c] - oc;
        wO += oc;
        sO += oc * oc;
        sZ += zc * zc;
      }
      const wZ = weight - wO;
      if (wO <= 0 || wZ <= 0) return 1;
      score = sO / wO + sZ / wZ;
    } else {
      const otherW = hist[ob + 1];
      const otherR = hist[ob];
      const wL = zb === 0 ? weight - otherW : otherW;
      const rL = zb === 0 ? tot[0] - otherR : otherR;
      const wR = weight - wL;
      if (wL <= 0 || wR <= 0) return 1;
      const diff = rL * wR - (tot[0] - rL) * wL;
      score = (diff * diff) / (wL * wR);
    }
    if (score > best[0]) {
      best[0] = score;
      best[1] = j;
      best[2] = 0;
    }
    return 1;
  }
  if (!gini) {
    // MSE, the slots [Σw·r, Σw, rows] in locals: the same sums in the same order as the
    // general loop below (so the same scores to the last bit), without its inner loops.
    let zR = tot[0];
    let zW = tot[1];
    let zC = tot[2];
    let filled = 0;
    for (let b = 0; b < nb; b++) {
      const o = base + b * 3;
      const c = hist[o + 2];
      if (b === zb || c === 0) continue;
      filled++;
      zR -= hist[o];
      zW -= hist[o + 1];
      zC -= c;
    }
    if (zC > 0) filled++;
    if (filled < 2) return 0; // constant in this node
    const totR = tot[0];
    let lR = 0;
    let lW = 0;
    let lC = 0;
    for (let b = 0; b < nb - 1; b++) {
      if (b === zb) {
        if (zC === 0) continue;
        lR += zR;
        lW += zW;
        lC += zC;
      } else {
        const o = base + b * 3;
        const c = hist[o + 2];
        if (c === 0) continue;
        lR += hist[o];
        lW += hist[o + 1];
        lC += c;
      }
      if (lC < minSamplesLeaf) continue;
      if (count - lC < minSamplesLeaf) break;
      const wR = weight - lW;
      if (lW <= 0 || wR <= 0) continue;
      const diff = lR * wR - (totR - lR) * lW;
      const score = (diff * diff) / (lW * wR);
      if (score > best[0]) {
        best[0] = score;
        best[1] = j;
        best[2] = b;
      }
    }
    return 1;
  }
  // Per-bin statistics read in place; the zero bin's are the node totals minus every other
  // bin (so the rows without a stored value too), into zeroStats.
  let nonEmpty = 0;
  for (let s = 0; s < S; s++) zeroStats[s] = tot[s];
  for (let b = 0; b < nb; b++) {
    const o = base + b * S;
    if (b === zb || hist[o + S - 1] === 0) continue;
    nonEmpty++;
    for (let s = 0; s < S; s++) zeroStats[s] -= hist[o + s];
  }
  if (zeroStats[S - 1] > 0) nonEmpty++;
  if (nonEmpty < 2) return 0; // constant in this node
  for (let s = 0; s < S; s++) leftStats[s] = 0;
  for (let b = 0; b < nb - 1; b++) {
    const src = b === zb ? zeroStats : hist;
    const o = b === zb ? 0 : base + b * S;
    // An empty bin gives the same partition as the previous one.
    if (src[o + S - 1] === 0) continue;
    for (let s = 0; s < S; s++) leftStats[s] += src[o + s];
    const nL = leftStats[S - 1];
    if (nL < minSamplesLeaf) continue;
    if (count - nL < minSamplesLeaf) break;
    let score: number;
    if (gini) {
      let wL = 0;
      let sL = 0;
      let sR = 0;
      for (let c = 0; c < k; c++) {
        const lc = leftStats[c];
        const rc = tot[c] - lc;
        wL += lc;
        sL += lc * lc;
        sR += rc * rc;
      }
      const wR = weight - wL;
      if (wL <= 0 || wR <= 0) continue;
      // −(wL·giniL + wR·giniR) up to a constant: Σ L_c²/wL + Σ R_c²/wR.
      score = sL / wL + sR / wR;
    } else {
      const wL = leftStats[1];
      const wR = weight - wL;
      if (wL <= 0 || wR <= 0) continue;
      // sklearn's friedman_mse proxy: (Σr_L·w_R − Σr_R·w_L)² / (w_L·w_R).
      const diff = leftStats[0] * wR - (tot[0] - leftStats[0]) * wL;
      score = (diff * diff) / (wL * wR);
    }
    if (score > best[0]) {
      best[0] = score;
      best[1] = j;
      best[2] = b;
    }
  }
  return 1;
}

/** Whether a node of `count` rows at `depth` is a leaf whatever its rows (it needs no histogram). */
export function isLeafShaped(minSamplesSplit: number, minSamplesLeaf: number, maxDepth: number, count: number, depth: number): boolean {
  return count < minSamplesSplit || count < 2 * minSamplesLeaf || depth >= maxDepth;
}

/**
 * Adds (sign = 1) or removes (sign = −1) rows idx[from..to) to growTree's histogram (slot
 * stride S; Gini: class weights, MSE: Σw·r, Σw; then the row count), listing newly present
 * features in touched. Returns the new length of touched. growTree's helpers are top-level
 * functions of typed arrays and numbers, not closures: closures made per tree were new call
 * targets to the optimised kernel at every tree ("wrong call target" deopts, traced), and the
 * variables they shared lived in a heap context instead of registers.
 */
export function accumulateRows(
  X: BinnedRows,
  idx: Int32Array,
  from: number,
  to: number,
  sign: number,
  gini: boolean,
  y: Int32Array,
  w: Float64Array,
  r: Float64Array,
  hist: Float64Array,
  present: Uint8Array,
  featCount: Int32Array,
  touched: Int32Array,
  nTouched: number,
  S: number,
): number {
  const { indptr, indices, codes, binOffset } = X;
  for (let q = from; q < to; q++) {
    const i = idx[q];
    const wi = sign * w[i];
    const a = gini ? y[i] : 0;
    const ra = gini ? 0 : wi * r[i];
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const j = indices[p];
      if (present[j] === 0) {
        present[j] = 1;
        touched[nTouched++] = j;
      }
      featCount[j] += sign;
      const slot = (binOffset[j] + codes[p]) * S;
      if (gini) hist[slot + a] += wi;
      else {
        hist[slot] += ra;
        hist[slot + 1] += wi;
      }
      hist[slot + S - 1] += sign;
    }
  }
  return nTouched;
}

/**
 * An MSE root over every row, built column by column (see growTree's columnRoot): every
 * stored feature listed in column order. Returns the new length of touched.
 */
export function accumulateColumns(
  X: BinnedRows,
  w: Float64Array,
  r: Float64Array,
  hist: Float64Array,
  present: Uint8Array,
  featCount: Int32Array,
  touched: Int32Array,
  nTouched: number,
): number {
  const { colptr, colRows, colCodes, binOffset } = X;
  for (let j = 0; j < X.d; j++) {
    const c0 = colptr[j];
    const c1 = colptr[j + 1];
    if (c0 === c1) continue;
    present[j] = 1;
    touched[nTouched++] = j;
    featCount[j] = c1 - c0;
    const base = binOffset[j];
    for (let p = c0; p < c1; p++) {
      const i = colRows[p];
      const wi = w[i];
      const slot = (base + colCodes[p]) * 3;
      hist[slot] += wi * r[i];
      hist[slot + 1] += wi;
      hist[slot + 2] += 1;
    }
  }
  return nTouched;
}

/** Zeroes the histogram slots, presence marks and counts of the touched features; returns 0 (the new list length). */
export function clearHistogram(
  X: BinnedRows,
  hist: Float64Array,
  present: Uint8Array,
  featCount: Int32Array,
  touched: Int32Array,
  nTouched: number,
  S: number,
): number {
  const { binOffset, nBins } = X;
  if (nTouched > X.d >> 2) {
    // Most features touched (after a root): whole-array fills (memset) beat per-feature loops.
    hist.fill(0, 0, binOffset[X.d] * S);
    present.fill(0, 0, X.d);
    featCount.fill(0, 0, X.d);
  } else {
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t];
      present[j] = 0;
      featCount[j] = 0;
      for (let q = binOffset[j] * S, e = (binOffset[j] + nBins[j]) * S; q < e; q++) hist[q] = 0;
    }
  }
  return 0;
}

/**
 * Sets tot (slot stride: k + 1 for Gini, 3 for MSE) and the node's value from the rows
 * idx[start..end), and out = [weight, stored values, pure (1/0)].
 */
export function nodeTotals(
  node: number,
  start: number,
  end: number,
  idx: Int32Array,
  gini: boolean,
  k: number,
  y: Int32Array,
  w: Float64Array,
  r: Float64Array,
  h: Float64Array,
  indptr: Int32Array,
  tot: Float64Array,
  value: Float64Array,
  out: Float64Array,
): void {
  const S = gini ? k + 1 : 3;
  tot.fill(0);
  let hSum = 0;
  let nnz = 0;
  for (let q = start; q < end; q++) {
    const i = idx[q];
    const wi = w[i];
    if (gini) tot[y[i]] += wi;
    else {
      tot[0] += wi * r[i];
      tot[1] += wi;
      hSum += wi * h[i];
    }
    nnz += indptr[i + 1] - indptr[i];
  }
  tot[S - 1] = end - start;
  const weight = gini ? sumTo(tot, k) : tot[1];
  let pure = 0;
  if (gini) {
    for (let c = 0; c < k; c++) {
      value[node * k + c] = weight > 0 ? tot[c] / weight : 0;
      if (tot[c] === weight) pure = 1;
    }
  } else {
    value[node] = hSum > 0 ? tot[0] / hSum : 0;
  }
  out[0] = weight;
  out[1] = nnz;
  out[2] = pure;
}

/**
 * Exact pruning (unit-weight MSE). A split's side without the zero bin is a subset of the s
 * rows that store the feature, and its proxy score (Σ_side r·W − R·s)² / (s(W − s)) equals
 * W²(Σ_side d)² / (s(W − s)) with d = r − R/W, so it is at most B(s) = W²·T(s)² / (s(W − s)),
 * T(s) the sum of the s largest |d| (over-estimated here from 64 buckets of |d|). A probe
 * over the node's common features (stored in ≥ 1/16 of its rows) finds a score τ that the
 * scan will reach; every feature stored in at most m rows with max_{s ≤ m} B(s) < τ then
 * cannot score τ, let alone win or tie: it is skipped. Returns that m (0 = no pruning) for
 * the probe's best score `top`. The tree is the one the full scan grows (tested); only the
 * skipped work differs. (totR: the node's Σw·r; `top` comes from growTree's probe loop.)
 */
export function pruneBelow(
  top: number,
  start: number,
  end: number,
  count: number,
  weight: number,
  totR: number,
  r: Float64Array,
  idx: Int32Array,
  devBuckets: Int32Array,
): number {
  if (!(top > 0)) return 0;
  // A margin far above the rounding of the scores' sums.
  const tau = top * (1 - 1e-6);
  const mean = totR / weight;
  let dMax = 0;
  for (let q = start; q < end; q++) {
    const dv = Math.abs(r[idx[q]] - mean);
    if (dv > dMax) dMax = dv;
  }
  if (!(dMax > 0)) return 0;
  const NB = devBuckets.length;
  devBuckets.fill(0);
  const scale = NB / dMax;
  for (let q = start; q < end; q++) devBuckets[Math.min(NB - 1, Math.floor(Math.abs(r[idx[q]] - mean) * scale))]++;
  // Bucket b holds |d| < (b + 1)·dMax/NB (up to rounding: the edge is widened).
  const edge = (dMax / NB) * (1 + 1e-9);
  const W = count;
  let T = 0;
  let b = NB - 1;
  let inBucket = devBuckets[b];
  for (let s = 1; s < W; s++) {
    while (inBucket === 0) inBucket = devBuckets[--b];
    inBucket--;
    T += (b + 1) * edge;
    if ((W * W * T * T) / (s * (W - s)) >= tau) return s - 1;
  }
  return W - 1;
}

/**
 * best = the better of best (the scan over the unprobed features) and probe; on an exact tie
 * the feature earlier in touched wins, as in one scan over all features in list order.
 */
export function mergeProbe(probedFrom: number, probe: Float64Array, best: Float64Array, touched: Int32Array, nTouched: number): void {
  if (probedFrom === Infinity || probe[1] < 0 || probe[0] < best[0]) return;
  if (probe[0] === best[0]) {
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t];
      if (j === best[1]) return;
      if (j === probe[1]) break;
    }
  }
  best.set(probe);
}

/**
 * Grows one tree depth-first on the rows `rows` (sample ids; with Gini only those of weight
 * > 0). Deterministic for a given seed. With `leafOut`, leafOut[i] is set to the leaf each row
 * of `rows` ends in (other entries untouched): boosting's score update without walking the tree.
 *
 * Histogram subtraction (LightGBM's trick, kept sparse): after a split, only the child with
 * fewer stored values is scanned; the other child's histogram is the parent's minus it,
 * updated in place in the one histogram buffer, and that child is processed next. The
 * smaller child waits on the stack and rebuilds from its rows when popped. Every row is thus
 * scanned O(log n) times instead of once per level — what makes fully grown forests on text
 * (peel-off splits, depth > 100) affordable. The list of features present in the current node
 * keeps features that left with the other child (they then look constant and are skipped);
 * it is compacted when it grows past twice the node's stored values.
 */
export function growTree(
  X: BinnedRows,
  target: GrowTarget,
  rows: Int32Array,
  params: GrowParams,
  helper?: SplitHelper,
  buffers?: GrowBuffers,
  leafOut?: Int32Array,
): GrownTree {
  // The shape parameters as locals: params objects come in several shapes (spread copies, a
  // seed or maxDepth outside the small-integer range), and reading them in the hot loops
  // deoptimised the kernel on "wrong map" again and again.
  const maxDepth = +params.maxDepth;
  const minSamplesSplit = +params.minSamplesSplit;
  const minSamplesLeaf = +params.minSamplesLeaf;
  const maxFeatures = +params.maxFeatures;
  const gini = target.criterion === 0;
  const k = target.k;
  // Histogram slot stride: Gini: k class weights + row count; MSE: Σw·r, Σw, row count.
  const S = gini ? k + 1 : 3;
  const totalBins = X.binOffset[X.d];
  // With a helper thread these live in shared memory, else in the caller's reused buffers
  // (both all zero between trees): a fresh histogram per tree costs its allocation and a page
  // fault per 4 KiB on first touch, more than the root's accumulation itself.
  const reuse = helper ?? buffers;
  if (reuse !== undefined && (reuse.hist.length < totalBins * S || reuse.featCount.length < X.d || reuse.touched.length < X.d))
    throw new RangeError("growTree: buffers too small");
  const hist = reuse ? reuse.hist : new Float64Array(totalBins * S);
  const present = buffers && buffers.present.length >= X.d ? buffers.present : new Uint8Array(X.d);
  const featCount = reuse ? reuse.featCount : new Int32Array(X.d);
  const touched = reuse ? reuse.touched : new Int32Array(X.d);
  const best = new Float64Array(3);
  let nTouched = 0;
  const zeroStats = new Float64Array(S);
  const tot = new Float64Array(S);
  const leftStats = new Float64Array(S);
  const rng = Int32Array.of(params.seed | 0);
  const idx = Int32Array.from(rows);
  const scratch = new Int32Array(idx.length);
  // Row marks of the partition's column pass (markStamp[i] = stamp: row i stores the feature, bin markCode[i]).
  const markStamp = new Int32Array(X.n);
  const markCode = new Uint8Array(X.n);
  let stamp = 0;
  const vdim = gini ? k : 1;
  const { indptr, nBins, zeroBin, binOffset } = X;
  const { y, w, r, h } = target;

  const nodes = newNodeStore(vdim, idx.length, maxDepth);
  const { feature, bin, left, right, value, improvement } = nodes;
  let nNodes = 0;
  // The root of an MSE tree on every row (boosting without subsampling or hold-out) is built
  // column by column instead: the histogram is then written in order (its row-wise build
  // scatters over the whole histogram, one cache miss per stored value) and the residuals
  // read at random stay in cache. The features are then listed in column order.
  const columnRoot = !gini && params.reference !== true && rows.length === X.n && isIdentity(rows);
  // Explicit stack of [node id, start, end, depth] of nodes whose histogram must be rebuilt.
  const stack: number[] = [nNodes++, 0, idx.length, 0];
  let rootWeight = 0;
  // nodeTotals' results: [weight, stored values, pure (1/0)].
  const nodeStats = new Float64Array(3);
  let nodeWeight = 0;
  let nodeNnz = 0;
  let nodePure = false;

  // Exact pruning of the split scan (MSE with unit weights: gradient boosting): see pruneBelow.
  let unitWeights = !gini && params.reference !== true;
  for (let q = 0; q < rows.length && unitWeights; q++) if (w[rows[q]] !== 1) unitWeights = false;
  const probe = new Float64Array(3);
  const devBuckets = new Int32Array(64);

  while (stack.length > 0) {
    let depth = stack.pop() as number;
    let end = stack.pop() as number;
    let start = stack.pop() as number;
    let node = stack.pop() as number;
    if (isLeafShaped(minSamplesSplit, minSamplesLeaf, maxDepth, end - start, depth)) {
      nodeTotals(node, start, end, idx, gini, k, y, w, r, h, indptr, tot, value, nodeStats);
      if (node === 0) rootWeight = nodeStats[0];
      if (leafOut !== undefined) for (let q = start; q < end; q++) leafOut[idx[q]] = node;
      continue;
    }
    nTouched = clearHistogram(X, hist, present, featCount, touched, nTouched, S);
    if (columnRoot && node === 0) nTouched = accumulateColumns(X, w, r, hist, present, featCount, touched, nTouched);
    else nTouched = accumulateRows(X, idx, start, end, 1, gini, y, w, r, hist, present, featCount, touched, nTouched, S);
    // The chain: this node, then always its larger child, reusing the histogram.
    for (;;) {
      nodeTotals(node, start, end, idx, gini, k, y, w, r, h, indptr, tot, value, nodeStats);
      nodeWeight = nodeStats[0];
      nodeNnz = nodeStats[1];
      nodePure = nodeStats[2] === 1;
      const count = end - start;
      const weight = nodeWeight;
      if (node === 0) rootWeight = weight;
      if (nodePure || isLeafShaped(minSamplesSplit, minSamplesLeaf, maxDepth, count, depth)) {
        if (leafOut !== undefined) for (let q = start; q < end; q++) leafOut[idx[q]] = node;
        break;
      }

      if (nTouched > 2 * nodeNnz + 64) {
        // Compact: drop features no row of this node has. Their row counts are zero, but a
        // weighted sum can keep a rounding residue of the rows added and subtracted: zeroed, so
        // that every feature off the list has all-zero slots (a later build starts from zero).
        let m = 0;
        for (let t = 0; t < nTouched; t++) {
          const j = touched[t];
          if (featCount[j] > 0) touched[m++] = j;
          else {
            present[j] = 0;
            for (let q = binOffset[j] * S, e = (binOffset[j] + nBins[j]) * S; q < e; q++) hist[q] = 0;
          }
        }
        nTouched = m;
      }

      let parentScore = 0;
      if (gini) {
        let s2 = 0;
        for (let c = 0; c < k; c++) s2 += tot[c] * tot[c];
        parentScore = s2 / weight;
      }
      best[0] = -Infinity;
      best[1] = -1;
      best[2] = -1;
      const sampling = maxFeatures > 0 && maxFeatures < X.d;
      // Features the scan evaluates: stored in (pruneCount, upTo) rows of the node. The probe's
      // features (stored in ≥ upTo rows) are not evaluated twice: mergeProbe takes the better.
      let pruneCount = 0;
      let upTo = Infinity;
      if (unitWeights && !sampling && count >= 4) {
        probe[0] = -Infinity;
        probe[1] = -1;
        probe[2] = -1;
        const common = Math.max(2, count >> 4);
        for (let t = 0; t < nTouched; t++) {
          const j = touched[t];
          if (featCount[j] >= common)
            evalFeature(j, hist, featCount, nBins, zeroBin, binOffset, S, k, gini, tot, weight, count, minSamplesLeaf, zeroStats, leftStats, probe);
        }
        upTo = common;
        pruneCount = pruneBelow(probe[0], start, end, count, weight, tot[0], r, idx, devBuckets);
      }
      // scikit-learn's feature draw (BestSplitter.node_split): features are drawn without
      // replacement from ALL d features, and every draw counts towards max_features, a feature
      // constant in the node (here: absent from it) included; past max_features the draw goes
      // on only until one non-constant feature has been found. A draw hits a feature present in
      // the node with probability (present left) / (features left); the absent ones need no
      // work, so only the hits are simulated.
      if (!sampling && helper !== undefined && nTouched >= helper.minFeatures && helper.control[2] === 0) {
        // Every feature is evaluated: the helper thread takes the second half of the list.
        const hp = helper.params;
        const half = nTouched >> 1;
        hp[0] = S;
        hp[1] = k;
        hp[2] = gini ? 1 : 0;
        hp[3] = weight;
        hp[4] = count;
        hp[5] = minSamplesLeaf;
        hp[6] = half;
        hp[7] = nTouched;
        hp[72] = pruneCount;
        hp[73] = upTo;
        for (let s = 0; s < S; s++) hp[8 + s] = tot[s];
        const seq = helper.control[0] + 1;
        Atomics.store(helper.control, 0, seq);
        Atomics.notify(helper.control, 0);
        for (let t = 0; t < half; t++) {
          const j = touched[t];
          const fc = featCount[j];
          if (fc > pruneCount && fc < upTo)
            evalFeature(j, hist, featCount, nBins, zeroBin, binOffset, S, k, gini, tot, weight, count, minSamplesLeaf, zeroStats, leftStats, best);
        }
        // A helper that never answers (it failed to boot) is given up after 30 s: same tree, one thread.
        const deadline = performance.now() + 30_000;
        while (Atomics.load(helper.control, 1) !== seq) {
          if (Atomics.wait(helper.control, 1, Atomics.load(helper.control, 1), 50) === "timed-out" && performance.now() > deadline) {
            Atomics.store(helper.control, 2, 1);
            break;
          }
        }
        if (helper.control[2] === 0) {
          // Ties go to the earlier feature in the list, as in the serial scan.
          if (helper.best[0] > best[0]) best.set(helper.best.subarray(0, 3));
        } else {
          for (let t = half; t < nTouched; t++) {
            const j = touched[t];
            const fc = featCount[j];
            if (fc > pruneCount && fc < upTo)
              evalFeature(j, hist, featCount, nBins, zeroBin, binOffset, S, k, gini, tot, weight, count, minSamplesLeaf, zeroStats, leftStats, best);
          }
        }
      } else if (!sampling) {
        for (let t = 0; t < nTouched; t++) {
          const j = touched[t];
          const fc = featCount[j];
          if (fc > pruneCount && fc < upTo)
            evalFeature(j, hist, featCount, nBins, zeroBin, binOffset, S, k, gini, tot, weight, count, minSamplesLeaf, zeroStats, leftStats, best);
        }
      } else {
        const limit = maxFeatures;
        let remainingAll = X.d;
        let remainingPresent = nTouched;
        let visited = 0;
        let found = 0;
        for (let t = 0; remainingPresent > 0 && (visited < limit || found === 0);) {
          visited++;
          if (sampling) {
            if (visited <= limit) {
              const hit = treeRandom(rng) * remainingAll < remainingPresent;
              remainingAll--;
              if (!hit) continue;
            }
            // Partial Fisher–Yates among the present features not drawn yet.
            const pick = t + Math.floor(treeRandom(rng) * remainingPresent);
            const tmp = touched[t];
            touched[t] = touched[pick];
            touched[pick] = tmp;
          }
          remainingPresent--;
          found += evalFeature(
            touched[t++],
            hist,
            featCount,
            nBins,
            zeroBin,
            binOffset,
            S,
            k,
            gini,
            tot,
            weight,
            count,
            minSamplesLeaf,
            zeroStats,
            leftStats,
            best,
          );
        }
      }
      mergeProbe(upTo, probe, best, touched, nTouched);
      const bestScore = best[0];
      const bestFeature = best[1];
      const bestBin = best[2];
      if (bestFeature < 0) {
        if (leafOut !== undefined) for (let q = start; q < end; q++) leafOut[idx[q]] = node;
        break;
      }

      // Partition the node's rows: bin ≤ bestBin to the left, order kept within each side.
      // A row's bin comes from the feature's column (marked first) when the column is short
      // next to the node, else from a binary search in the row.
      let nl = 0;
      let nr = 0;
      let nnzLeft = 0;
      const c0 = X.colptr[bestFeature];
      const c1 = X.colptr[bestFeature + 1];
      if (c1 - c0 <= 2 * count) {
        const { colRows, colCodes } = X;
        stamp++;
        for (let p = c0; p < c1; p++) {
          const i = colRows[p];
          markStamp[i] = stamp;
          markCode[i] = colCodes[p];
        }
        const zb = zeroBin[bestFeature];
        for (let q = start; q < end; q++) {
          const i = idx[q];
          if ((markStamp[i] === stamp ? markCode[i] : zb) <= bestBin) {
            idx[start + nl++] = i;
            nnzLeft += indptr[i + 1] - indptr[i];
          } else scratch[nr++] = i;
        }
      } else {
        for (let q = start; q < end; q++) {
          const i = idx[q];
          if (rowBin(X, i, bestFeature) <= bestBin) {
            idx[start + nl++] = i;
            nnzLeft += indptr[i + 1] - indptr[i];
          } else scratch[nr++] = i;
        }
      }
      for (let q = 0; q < nr; q++) idx[start + nl + q] = scratch[q];
      feature[node] = bestFeature;
      bin[node] = bestBin;
      // Weighted impurity decrease, normalised by the root weight as sklearn's importances.
      improvement[node] = gini ? (bestScore - parentScore) / rootWeight : bestScore / (weight * rootWeight);
      const l = nNodes++;
      const rr = nNodes++;
      left[node] = l;
      right[node] = rr;
      const mid = start + nl;
      depth++;
      const leftSmaller = nnzLeft <= nodeNnz - nnzLeft;
      if (isLeafShaped(minSamplesSplit, minSamplesLeaf, maxDepth, leftSmaller ? end - mid : mid - start, depth)) {
        // The larger child is a leaf: no histogram for it; both children wait (leaves cost one pass over their rows).
        stack.push(rr, mid, end, depth, l, start, mid, depth);
        break;
      }
      if (leftSmaller) {
        // Left is smaller: it waits; continue with the right child (histogram minus the left rows).
        stack.push(l, start, mid, depth);
        nTouched = accumulateRows(X, idx, start, mid, -1, gini, y, w, r, hist, present, featCount, touched, nTouched, S);
        node = rr;
        start = mid;
      } else {
        stack.push(rr, mid, end, depth);
        nTouched = accumulateRows(X, idx, mid, end, -1, gini, y, w, r, hist, present, featCount, touched, nTouched, S);
        node = l;
        end = mid;
      }
    }
  }
  if (reuse) clearHistogram(X, hist, present, featCount, touched, nTouched, S); // the reused buffers go back all zero for the next tree
  return finishNodes(nodes, nNodes);
}

/** Whether rows is 0, 1, …, n − 1. */
export function isIdentity(rows: Int32Array): boolean {
  for (let q = 0; q < rows.length; q++) if (rows[q] !== q) return false;
  return true;
}

export function sumTo(a: Float64Array, k: number): number {
  let s = 0;
  for (let c = 0; c < k; c++) s += a[c];
  return s;
}

/**
 * Gathers feature j's statistics on the sampled tree's current node (its rows idx[start..start
 * + count), row i in it iff (pos[i] − start) >>> 0 < count) into binStats, scans its splits
 * (best = [score, feature, bin] updated when strictly higher, the winner's left statistics into
 * bestLeft) and clears binStats again. Returns 0 when j is constant in the node, else 1.
 * A top-level function taking only typed arrays and numbers (growTreeSampled's closures over
 * its mutable locals were recompiled at every tree), self-contained like growTree.
 */
export function evalSampledFeature(
  j: number,
  X: BinnedRows,
  pos: Int32Array,
  idx: Int32Array,
  start: number,
  count: number,
  y: Int32Array,
  w: Float64Array,
  k: number,
  binStats: Float64Array,
  binList: Int32Array,
  tot: Float64Array,
  weight: number,
  minSamplesLeaf: number,
  leftStats: Float64Array,
  best: Float64Array,
  bestLeft: Float64Array,
): number {
  // binStats is all zero between calls: absent features write and clear nothing.
  const S = k + 1;
  const colptr = X.colptr;
  let inNode = 0;
  let nList = 0;
  const c0 = colptr[j];
  const c1 = colptr[j + 1];
  if (c1 - c0 <= 8 * count) {
    // Scan the column, skipping rows of other nodes.
    const colRows = X.colRows;
    const colCodes = X.colCodes;
    for (let p = c0; p < c1; p++) {
      const i = colRows[p];
      if ((pos[i] - start) >>> 0 >= count) continue;
      const slot = colCodes[p] * S;
      if (binStats[slot + k] === 0) binList[nList++] = colCodes[p];
      binStats[slot + y[i]] += w[i];
      binStats[slot + k] += 1;
      inNode++;
    }
  } else {
    // A common feature in a small node: look it up in each of the node's rows instead.
    const indptr = X.indptr;
    const indices = X.indices;
    const codes = X.codes;
    for (let q = start, qe = start + count; q < qe; q++) {
      const i = idx[q];
      let lo = indptr[i];
      let hi = indptr[i + 1] - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const c = indices[mid];
        if (c === j) {
          const slot = codes[mid] * S;
          if (binStats[slot + k] === 0) binList[nList++] = codes[mid];
          binStats[slot + y[i]] += w[i];
          binStats[slot + k] += 1;
          inNode++;
          break;
        }
        if (c < j) lo = mid + 1;
        else hi = mid - 1;
      }
    }
  }
  if (inNode === 0) return 0; // absent from the node: constant
  const nb = X.nBins[j];
  const zb = X.zeroBin[j];
  const zs = zb * S;
  // Only the bins some row of the node falls in (binList, in first-seen order) are visited:
  // the zero bin is the node totals minus them; then the list is sorted (usually a few bins).
  let m = 0;
  for (let t = 0; t < nList; t++) if (binList[t] !== zb) binList[m++] = binList[t];
  for (let s = 0; s < S; s++) binStats[zs + s] = tot[s];
  for (let t = 0; t < m; t++) for (let s = 0, o = binList[t] * S; s < S; s++) binStats[zs + s] -= binStats[o + s];
  let found = 0;
  if (m + (binStats[zs + k] > 0 ? 1 : 0) >= 2) {
    found = 1;
    binList[m++] = zb;
    for (let t = 1; t < m; t++) {
      const v = binList[t];
      let u = t - 1;
      for (; u >= 0 && binList[u] > v; u--) binList[u + 1] = binList[u];
      binList[u + 1] = v;
    }
    for (let s = 0; s < S; s++) leftStats[s] = 0;
    for (let t = 0; t < m; t++) {
      const o = binList[t] * S;
      if (binList[t] === nb - 1) break; // no split after the last bin
      if (binStats[o + k] === 0) continue; // an empty zero bin: same partition as the previous bin
      for (let s = 0; s < S; s++) leftStats[s] += binStats[o + s];
      const nL = leftStats[k];
      if (nL < minSamplesLeaf) continue;
      if (count - nL < minSamplesLeaf) break;
      let wL = 0;
      let sL = 0;
      let sR = 0;
      for (let c = 0; c < k; c++) {
        const lc = leftStats[c];
        const rc = tot[c] - lc;
        wL += lc;
        sL += lc * lc;
        sR += rc * rc;
      }
      const wR = weight - wL;
      if (wL <= 0 || wR <= 0) continue;
      // −(wL·giniL + wR·giniR) up to a constant: Σ L_c²/wL + Σ R_c²/wR.
      const score = sL / wL + sR / wR;
      if (score > best[0]) {
        best[0] = score;
        best[1] = j;
        best[2] = binList[t];
        for (let s = 0; s < S; s++) bestLeft[s] = leftStats[s];
      }
    }
  }
  for (let t = 0; t < m; t++) for (let q = binList[t] * S, e = q + S; q < e; q++) binStats[q] = 0;
  for (let q = zs, e = q + S; q < e; q++) binStats[q] = 0;
  return found;
}

/** Partial Fisher–Yates step t over list[0..m): a uniform pick among list[t..m), swapped to t. */
export function drawFrom(list: Int32Array, t: number, m: number, rng: Int32Array): number {
  const pick = t + Math.floor(treeRandom(rng) * (m - t));
  const j = list[pick];
  list[pick] = list[t];
  list[t] = j;
  return j;
}

/**
 * growTreeSampled's per-thread buffers, reused from tree to tree (allocating and filling them
 * per tree cost ~15 % of a warm tree). The big nodes' draw permutes triples [feature j, r0, r1]
 * of `draws` in place (a partial Fisher–Yates over all d features), starting each tree from
 * `initial`: for a feature stored in ≤ 2 rows (most draws on text) r0, r1 are those rows (X.n
 * = none), so that a draw tells one absent from the node without touching anything else;
 * r0 = −1: more rows. One random read per draw (the permutation, the rows and a separate
 * "drawn" mark were three: cache misses over d-sized arrays dominated the draw). drawn[j]: the
 * stamp of the node that drew feature j; candidates: a node's present features.
 */
export interface SampledScratch {
  initial: Int32Array;
  draws: Int32Array;
  drawn: Int32Array;
  candidates: Int32Array;
}

/** growTreeSampled's buffers for a forest's trees on X, made once per thread and fit; none when max_features does not subsample. Self-contained. */
export function forestScratch(X: BinnedRows, maxFeatures: number): SampledScratch | undefined {
  return maxFeatures > 0 && maxFeatures < X.d ? newSampledScratch(X) : undefined;
}

/** growTreeSampled's buffers for X (one per thread and fit). Self-contained. */
export function newSampledScratch(X: BinnedRows): SampledScratch {
  const d = X.d;
  const { colptr, colRows } = X;
  const initial = new Int32Array(3 * d);
  for (let j = 0; j < d; j++) {
    const c0 = colptr[j];
    const len = colptr[j + 1] - c0;
    initial[3 * j] = j;
    initial[3 * j + 1] = len > 2 ? -1 : len > 0 ? colRows[c0] : X.n;
    initial[3 * j + 2] = len > 1 ? colRows[c0 + 1] : X.n;
  }
  return { initial, draws: new Int32Array(3 * d), drawn: new Int32Array(d), candidates: new Int32Array(d) };
}

/**
 * Grows one Gini tree the way scikit-learn's BestSplitter draws features, column-wise: per
 * node up to `maxFeatures` features are drawn from all d (without replacement), and each drawn
 * feature's statistics are gathered from its column (rows of other nodes skipped by a stamp),
 * so a node costs O(rows + drawn columns' lengths), not O(node non-zeros × bins): with
 * max_features = √d most draws hit a feature absent from the node (constant, counted but free).
 * If none of the drawn features splits the node, the draw continues (as scikit-learn's) over
 * the node's present features not drawn yet, in random order, until one is not constant.
 * Same tree shape rules and node values as growTree. Self-contained (runs in the forest worker).
 *
 * The shape parameters come as plain numbers and the kernel has no closures: params objects
 * of several shapes (spread copies, a seed outside the small-integer range) and per-tree
 * closures deoptimised it again and again in a process's first fits (traced with --trace-deopt),
 * and each re-optimisation of this function costs V8 0.2–0.5 s of compile time.
 */
export function growTreeSampled(
  X: BinnedRows,
  y: Int32Array,
  w: Float64Array,
  k: number,
  rows: Int32Array,
  maxDepth: number,
  minSamplesSplit: number,
  minSamplesLeaf: number,
  maxFeatures: number,
  seed: number,
  scratch: SampledScratch,
): GrownTree {
  const S = k + 1;
  const d = X.d;
  const { indptr, indices, colptr, colRows, colCodes, zeroBin } = X;
  const limit = Math.min(maxFeatures, d);
  // The draw starts from the same permutation at every tree (a tree depends on its seed only).
  const { draws, drawn, candidates } = scratch;
  draws.set(scratch.initial);
  drawn.fill(0);
  // pos[i]: row i's place in idx (−1 when not sampled); a node's rows are idx[start..end), so
  // row i is in the node iff (pos[i] − start) >>> 0 < count — no per-node marking.
  // (pos[X.n] = −1 too: the sentinel row of `draws`.)
  const pos = new Int32Array(X.n + 1).fill(-1);
  const binStats = new Float64Array(256 * S);
  const binList = new Int32Array(257);
  const tot = new Float64Array(S);
  const leftStats = new Float64Array(S);
  const bestLeft = new Float64Array(S);
  const best = new Float64Array(3);
  const rng = Int32Array.of(seed | 0);
  const idx = Int32Array.from(rows);
  for (let q = 0; q < idx.length; q++) pos[idx[q]] = q;

  const nodes = newNodeStore(k, idx.length, maxDepth);
  const { feature, bin, left, right, value, improvement } = nodes;
  let nNodes = 1;

  // Explicit stack of node records [node id, start, end, depth, stored values, class weights × k]:
  // a child's totals come from its parent's best split, so a node costs no pass over its rows
  // (fully grown text trees peel a few rows per split and are hundreds of levels deep). Depth
  // first, so at most depth + 2 < rows + 2 records wait at once.
  const R = 5 + k;
  const stack = new Float64Array((idx.length + 2) * R);
  let sp = 0;
  let rootNnz = 0;
  for (let q = 0; q < idx.length; q++) {
    const i = idx[q];
    stack[5 + y[i]] += w[i];
    rootNnz += indptr[i + 1] - indptr[i];
  }
  stack[2] = idx.length;
  stack[4] = rootNnz;
  sp = R;
  let rootWeight = 0;
  while (sp > 0) {
    sp -= R;
    const node = stack[sp] | 0;
    const start = stack[sp + 1] | 0;
    const end = stack[sp + 2] | 0;
    const depth = stack[sp + 3] | 0;
    const nodeNnz = stack[sp + 4] | 0;
    for (let c = 0; c < k; c++) tot[c] = stack[sp + 5 + c];
    const nodeStamp = node + 1;
    const count = end - start;
    tot[k] = count;
    let weight = 0;
    for (let c = 0; c < k; c++) weight += tot[c];
    if (node === 0) rootWeight = weight;
    let pure = false;
    let s2 = 0;
    for (let c = 0; c < k; c++) {
      value[node * k + c] = weight > 0 ? tot[c] / weight : 0;
      if (tot[c] === weight) pure = true;
      s2 += tot[c] * tot[c];
    }
    if (pure || count < minSamplesSplit || count < 2 * minSamplesLeaf || depth >= maxDepth) continue;
    const parentScore = s2 / weight;
    best[0] = -Infinity;
    best[1] = -1;
    best[2] = -1;
    let found = 0;
    if (nodeNnz < 4 * limit) {
      // Small node: list its present features first (O(node non-zeros)), then play the draws
      // over all d features: draw v hits a present feature with probability (present left) /
      // (features left), which feature uniformly among the present ones left.
      let m = 0;
      for (let q = start; q < end; q++) {
        const i = idx[q];
        for (let p = indptr[i]; p < indptr[i + 1]; p++) {
          const j = indices[p];
          if (drawn[j] !== nodeStamp) {
            drawn[j] = nodeStamp;
            candidates[m++] = j;
          }
        }
      }
      let t = 0;
      for (let v = 0; v < limit && t < m; v++) {
        if (treeRandom(rng) * (d - v) >= m - t) continue;
        found += evalSampledFeature(
          drawFrom(candidates, t, m, rng),
          X,
          pos,
          idx,
          start,
          count,
          y,
          w,
          k,
          binStats,
          binList,
          tot,
          weight,
          minSamplesLeaf,
          leftStats,
          best,
          bestLeft,
        );
        t++;
      }
      // Past max_features: on until one non-constant feature is found (scikit-learn's rule).
      for (; t < m && found === 0; t++)
        found += evalSampledFeature(
          drawFrom(candidates, t, m, rng),
          X,
          pos,
          idx,
          start,
          count,
          y,
          w,
          k,
          binStats,
          binList,
          tot,
          weight,
          minSamplesLeaf,
          leftStats,
          best,
          bestLeft,
        );
    } else {
      // Big node: draw from all d features, each drawn feature's column scanned (absent ones
      // cost their column's length only).
      for (let t = 0; t < limit; t++) {
        const a = 3 * (t + Math.floor(treeRandom(rng) * (d - t)));
        const b = 3 * t;
        const j = draws[a];
        const r0 = draws[a + 1];
        const r1 = draws[a + 2];
        draws[a] = draws[b];
        draws[a + 1] = draws[b + 1];
        draws[a + 2] = draws[b + 2];
        draws[b] = j;
        draws[b + 1] = r0;
        draws[b + 2] = r1;
        // Most draws are features stored in one or two rows: absent from the node (constant,
        // nothing to evaluate) unless one of those rows is in it, checked here without the call.
        if (r0 >= 0 && (pos[r0] - start) >>> 0 >= count && (pos[r1] - start) >>> 0 >= count) continue;
        found += evalSampledFeature(j, X, pos, idx, start, count, y, w, k, binStats, binList, tot, weight, minSamplesLeaf, leftStats, best, bestLeft);
      }
      if (found === 0) {
        // This node's draws are draws[0..3·limit), every third entry.
        for (let t = 0; t < limit; t++) drawn[draws[3 * t]] = nodeStamp;
        // Keep drawing: only the node's present features not drawn yet can be non-constant.
        let m = 0;
        for (let q = start; q < end; q++) {
          const i = idx[q];
          for (let p = indptr[i]; p < indptr[i + 1]; p++) {
            const j = indices[p];
            if (drawn[j] !== nodeStamp) {
              drawn[j] = nodeStamp;
              candidates[m++] = j;
            }
          }
        }
        for (let t = 0; t < m && found === 0; t++)
          found += evalSampledFeature(
            drawFrom(candidates, t, m, rng),
            X,
            pos,
            idx,
            start,
            count,
            y,
            w,
            k,
            binStats,
            binList,
            tot,
            weight,
            minSamplesLeaf,
            leftStats,
            best,
            bestLeft,
          );
      }
    }
    const bestFeature = best[1];
    if (bestFeature < 0) continue;
    const bestBin = best[2];

    // Partition by moving only the rows that leave the zero bin's side (all of them store the
    // feature, so the column lists them): to the end when the zero side is left, else to the front.
    const zeroLeft = zeroBin[bestFeature] <= bestBin;
    let moverNnz = 0;
    let lo = start;
    let hi = end;
    for (let p = colptr[bestFeature], e = colptr[bestFeature + 1]; p < e; p++) {
      const i = colRows[p];
      const q = pos[i];
      if ((q - start) >>> 0 >= count) continue;
      if (colCodes[p] <= bestBin === zeroLeft) continue; // goes with the zero bin: stays
      const to = zeroLeft ? --hi : lo++;
      const other = idx[to];
      idx[to] = i;
      pos[i] = to;
      idx[q] = other;
      pos[other] = q;
      moverNnz += indptr[i + 1] - indptr[i];
    }
    const mid = zeroLeft ? hi : lo;
    const nnzLeft = zeroLeft ? nodeNnz - moverNnz : moverNnz;
    feature[node] = bestFeature;
    bin[node] = bestBin;
    improvement[node] = (best[0] - parentScore) / rootWeight;
    const l = nNodes++;
    const rr = nNodes++;
    left[node] = l;
    right[node] = rr;
    // Right child below, left on top (popped first).
    stack[sp] = rr;
    stack[sp + 1] = mid;
    stack[sp + 2] = end;
    stack[sp + 3] = depth + 1;
    stack[sp + 4] = nodeNnz - nnzLeft;
    for (let c = 0; c < k; c++) stack[sp + 5 + c] = tot[c] - bestLeft[c];
    sp += R;
    stack[sp] = l;
    stack[sp + 1] = start;
    stack[sp + 2] = mid;
    stack[sp + 3] = depth + 1;
    stack[sp + 4] = nnzLeft;
    for (let c = 0; c < k; c++) stack[sp + 5 + c] = bestLeft[c];
    sp += R;
  }
  return finishNodes(nodes, nNodes);
}

/**
 * One random-forest tree: a bootstrap sample of n rows drawn with replacement (weights =
 * draw counts) from the tree's own seed, then the tree on the rows drawn at least once:
 * growTreeSampled when max_features subsamples (the column-wise draw), growTree otherwise.
 * Shape parameters as plain numbers (see growTreeSampled). Self-contained like growTree (runs
 * in the forest worker).
 */
export function growBootstrapTree(
  X: BinnedRows,
  y: Int32Array,
  k: number,
  bootstrap: boolean,
  maxDepth: number,
  minSamplesSplit: number,
  minSamplesLeaf: number,
  maxFeatures: number,
  seed: number,
  scratch?: SampledScratch,
): GrownTree {
  const n = X.n;
  const w = new Float64Array(n);
  const state = Int32Array.of((seed ^ 0x5bd1e995) | 0);
  if (bootstrap) for (let t = 0; t < n; t++) w[Math.floor(treeRandom(state) * n)] += 1;
  else w.fill(1);
  let m = 0;
  for (let i = 0; i < n; i++) if (w[i] > 0) m++;
  const rows = new Int32Array(m);
  m = 0;
  for (let i = 0; i < n; i++) if (w[i] > 0) rows[m++] = i;
  if (maxFeatures > 0 && maxFeatures < X.d)
    return growTreeSampled(X, y, w, k, rows, maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, seed, scratch ?? newSampledScratch(X));
  const empty = new Float64Array(0);
  return growTree(X, { criterion: 0, k, y, w, r: empty, h: empty }, rows, { maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, seed });
}

/** growBootstrapTree with the shape parameters in one object. */
export function growForestTree(X: BinnedRows, y: Int32Array, k: number, bootstrap: boolean, params: GrowParams): GrownTree {
  return growBootstrapTree(X, y, k, bootstrap, params.maxDepth, params.minSamplesSplit, params.minSamplesLeaf, params.maxFeatures, params.seed);
}
