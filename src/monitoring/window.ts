/**
 * Rolling windows of recent traffic in preallocated typed arrays: pushing is a few stores
 * (no allocation), so the server can call it on every prediction. The windows hold the last
 * `capacity` observations; statistics are computed from them elsewhere, off the request path.
 */

/** Score, text length and predicted class of the last `capacity` predictions. */
export class PredictionWindow {
  readonly scores: Float64Array;
  readonly lengths: Float64Array;
  readonly classes: Uint16Array;
  private next = 0;
  /** Observations currently held (≤ capacity). */
  size = 0;
  /** Observations ever pushed. */
  total = 0;

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.lengths = new Float64Array(capacity);
    this.classes = new Uint16Array(capacity);
  }

  push(score: number, length: number, cls: number): void {
    const i = this.next;
    this.scores[i] = score;
    this.lengths[i] = length;
    this.classes[i] = cls;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.size < this.capacity) this.size++;
    this.total++;
  }

  clear(): void {
    this.next = 0;
    this.size = 0;
  }
}

/** Per-document token statistics (tokens, OOV tokens, which top terms occur) of the last `capacity` profiled texts. */
export class TextWindow {
  readonly tokens: Float64Array;
  readonly oov: Float64Array;
  /** capacity × terms presence flags, row-major. */
  readonly termPresence: Uint8Array;
  /**
   * Running sums over the rows held (updated by push, O(terms) each), so totals() does not
   * rescan capacity × terms flags on every drift tick. All are integer counts: exact.
   */
  private readonly termSums: Float64Array;
  private tokenSum = 0;
  private oovSum = 0;
  private next = 0;
  size = 0;
  total = 0;

  constructor(
    readonly capacity: number,
    readonly terms: number,
  ) {
    this.tokens = new Float64Array(capacity);
    this.oov = new Float64Array(capacity);
    this.termPresence = new Uint8Array(capacity * terms);
    this.termSums = new Float64Array(terms);
  }

  /** `termDocCounts` holds 0/1 per top term for this one document. */
  push(tokens: number, oov: number, termDocCounts: Float64Array): void {
    const i = this.next;
    const row = i * this.terms;
    const presence = this.termPresence;
    const sums = this.termSums;
    if (this.size === this.capacity) {
      // The oldest row leaves the window.
      this.tokenSum -= this.tokens[i];
      this.oovSum -= this.oov[i];
      for (let j = 0; j < this.terms; j++) sums[j] -= presence[row + j];
    }
    this.tokens[i] = tokens;
    this.oov[i] = oov;
    this.tokenSum += tokens;
    this.oovSum += oov;
    for (let j = 0; j < this.terms; j++) {
      const present = termDocCounts[j] > 0 ? 1 : 0;
      presence[row + j] = present;
      sums[j] += present;
    }
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.size < this.capacity) this.size++;
    this.total++;
  }

  /** Σ tokens, Σ OOV tokens and per-term document counts over the window. */
  totals(termDocCounts: Float64Array): { tokens: number; oov: number; docs: number } {
    termDocCounts.set(this.termSums);
    return { tokens: this.tokenSum, oov: this.oovSum, docs: this.size };
  }

  clear(): void {
    this.next = 0;
    this.size = 0;
    this.tokenSum = 0;
    this.oovSum = 0;
    this.termSums.fill(0);
  }
}

/** Predicted and true class of the last `capacity` labelled predictions (feedback). */
export class LabelledWindow {
  readonly predicted: Uint16Array;
  readonly actual: Uint16Array;
  private next = 0;
  size = 0;
  total = 0;

  constructor(readonly capacity: number) {
    this.predicted = new Uint16Array(capacity);
    this.actual = new Uint16Array(capacity);
  }

  push(predicted: number, actual: number): void {
    const i = this.next;
    this.predicted[i] = predicted;
    this.actual[i] = actual;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.size < this.capacity) this.size++;
    this.total++;
  }

  clear(): void {
    this.next = 0;
    this.size = 0;
  }
}
