import { InvalidParameterError } from "./errors.js";

/**
 * A small, fast, seeded PRNG (mulberry32: 32-bit state, period 2^32) for everything in
 * Polarity that must be reproducible: synthetic data, shuffles, splits, SGD order.
 * Not cryptographic. Same seed → same sequence on every platform (pure 32-bit integer math).
 *
 *   const rng = new Random(42);
 *   rng.nextFloat();      // [0, 1)
 *   rng.nextInt(10);      // integer in [0, 10)
 *   rng.shuffle(array);   // in place, Fisher–Yates
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    if (typeof seed !== "number" || !Number.isFinite(seed)) {
      throw new InvalidParameterError(`seed must be a finite number, got ${String(seed)}`);
    }
    // Any finite number is accepted; its low 32 bits (after truncation) are the state.
    this.state = Math.trunc(seed) >>> 0;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1), 32 bits of randomness. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^32 (multiply-shift; bias below 2^-32·n, irrelevant here). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new InvalidParameterError(`nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    return Math.floor(this.nextFloat() * n);
  }

  /** Standard normal draw (Box–Muller; one of the pair is discarded for simplicity). */
  nextGaussian(): number {
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the same array. Works on plain and typed arrays. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A new generator seeded from this one: independent-enough streams for sub-tasks (folds, workers). */
  fork(): Random {
    return new Random(this.nextUint32());
  }
}

/** [0, 1, ..., n-1] shuffled with a generator seeded by `seed`. */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return new Random(seed).shuffle(idx);
}
