/**
 * Limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., Alg. 7.4/7.5)
 * with a line search satisfying the strong Wolfe conditions (Alg. 3.5/3.6, cubic
 * interpolation in the zoom). Stopping follows scipy's L-BFGS-B as sklearn calls it:
 * max |g_i| <= gtol ("pgtol"), or relative objective decrease
 * (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol.
 *
 * All buffers are allocated (or, the SIMD arena, borrowed from the thread's last one) once per
 * call; the iteration allocates nothing.
 */

import { borrowLbfgsArena, returnLbfgsArena, type LbfgsArena } from "./lbfgs-simd.js";

/** Writes the gradient at x into grad and returns the objective. */
export type ObjectiveFn = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  maxIter: number;
  /** Stop when max |g_i| <= gtol. */
  gtol: number;
  /** Stop when the relative decrease of f is <= ftol (sklearn passes 64·eps). */
  ftol?: number;
  /** History size. */
  m?: number;
  /** Maximum objective evaluations per line search (scipy/sklearn: 50). */
  maxLineSearch?: number;
  /**
   * Optional diagonal preconditioner M ≈ inverse Hessian diagonal (positive). The two-loop
   * recursion then starts from H0 = γ·M instead of γ·I; for sparse text, where feature
   * frequencies (and so curvatures) differ by orders of magnitude, this cuts iterations a lot.
   * As a function it writes M into the array it is given (zeroed, n entries), which is where
   * the optimiser keeps it: no second copy of M exists (LogisticRegression: 19 MB at 10^6
   * documents).
   */
  preconditioner?: Preconditioner;
  onIteration?: (iteration: number, f: number) => void;
  /**
   * Allocates the two iterate buffers (x and the trial point) in the caller's memory; the
   * solution is then one of them, returned without a copy. Default: both live in the SIMD
   * arena (push and the line search's steps run there) and the solution is copied out of it.
   */
  allocate?: (length: number) => Float64Array;
  /**
   * The SIMD arena to work in (createLbfgsArena(n, m, with a preconditioner or not)), made by
   * the caller beforehand — e.g. so another thread can fault its pages in before the
   * iterations reach them (LogisticRegression). Default: one borrowed from the thread's last
   * (borrowLbfgsArena), given back when the call returns.
   */
  arena?: LbfgsArena;
}

/** A diagonal preconditioner: its values, or a function that writes them into `out`. */
export type Preconditioner = Float64Array | ((out: Float64Array) => void);

export type StopReason = "gtol" | "ftol" | "maxIter" | "lineSearch";

export interface OptimResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: StopReason;
  /** max |g_i| (for OWL-QN: of the pseudo-gradient) at x. */
  gradMaxAbs: number;
}

export const FTOL_SKLEARN = 64 * Number.EPSILON;

export function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > m) m = a;
  }
  return m;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The curvature pairs of the last m steps and the two-loop recursion: d = -H·g.
 * Shared by L-BFGS and OWL-QN.
 *
 * The pairs are stored in single precision (Float32Array): they only shape the search
 * direction — the line search and the stopping test use the exact double-precision objective
 * and gradient — and ρ, yᵀy and yᵀMy are computed from the stored (rounded) values, so each
 * stored pair is a consistent curvature pair. That halves the history's memory (10^6 documents:
 * 20 vectors of 2.5 M parameters, 200 MB instead of 400 MB) and the bytes the recursion streams.
 *
 * The recursion is memory-bound on big problems (10^6 documents: 2.3 M parameters, 20 history
 * vectors of 18.7 MB), so each pass over `out` does two things: the update of one step and the
 * dot product the next step needs, on the values just written. Every sum is still taken over
 * i ascending on the same values, so the result is bit-identical to the textbook two loops.
 *
 * Where WebAssembly SIMD is available (Node 20+) the history lives in a WebAssembly memory and
 * those passes run as SIMD kernels (lbfgs-simd.ts): two lanes per instruction, so each sum is
 * taken as two interleaved partial sums — the same direction up to rounding.
 */
export class LbfgsMemory {
  private readonly s: Float32Array[];
  private readonly y: Float32Array[];
  private readonly rho: Float64Array;
  private readonly alpha: Float64Array;
  /** yᵀ·M·y (yᵀy without a preconditioner) of each stored pair, for the initial scaling. */
  private readonly yMy: Float64Array;
  private count = 0;
  private head = 0;
  private readonly arena: LbfgsArena | null;
  /** Whether the arena was borrowed here (borrowLbfgsArena), to be given back by release(). */
  private readonly borrowed: boolean;

  /** Whether the SIMD kernels are in use. */
  get simd(): boolean {
    return this.arena !== null;
  }

  /** The preconditioner M (in the arena when there is one), or null. */
  private readonly precond: Float64Array | null;

  constructor(
    readonly n: number,
    readonly m: number,
    precond: Preconditioner | null = null,
    /**
     * Use the WebAssembly SIMD kernels when available, in an arena borrowed from the thread's
     * last one (borrowLbfgsArena; release() gives it back), or in this arena (made by
     * createLbfgsArena for the same n, m and preconditioner or not), or not (false: the
     * plain-JS loops; for tests).
     */
    simd: boolean | LbfgsArena = true,
  ) {
    if (typeof simd === "object" && (simd.n !== n || simd.m !== m || (simd.M !== null) !== (precond !== null))) {
      throw new Error(
        `LbfgsMemory: the arena was made for n = ${simd.n}, m = ${simd.m}${simd.M === null ? "" : " with a preconditioner"}, not n = ${n}, m = ${m}`,
      );
    }
    this.borrowed = simd === true;
    this.arena = typeof simd === "object" ? simd : simd ? borrowLbfgsArena(n, m, precond !== null) : null;
    let M = this.arena?.M ?? null;
    if (precond !== null) {
      M ??= typeof precond === "function" ? new Float64Array(n) : precond;
      if (typeof precond === "function") precond(M);
      else if (M !== precond) M.set(precond);
    }
    this.precond = M;
    this.s = this.arena?.s ?? Array.from({ length: m }, () => new Float32Array(n));
    this.y = this.arena?.y ?? Array.from({ length: m }, () => new Float32Array(n));
    this.rho = new Float64Array(m);
    this.alpha = new Float64Array(m);
    this.yMy = new Float64Array(m);
  }

  /** Gives a borrowed arena back for the next optimisation on this thread: nothing may read this memory's vectors afterwards. */
  release(): void {
    if (this.borrowed && this.arena !== null) returnLbfgsArena(this.arena);
  }

  /** Stores s = xNew - xOld, y = gNew - gOld; skips the pair when the curvature sᵀy is not positive enough. */
  push(xNew: Float64Array, xOld: Float64Array, gNew: Float64Array, gOld: Float64Array): boolean {
    const s = this.s[this.head];
    const y = this.y[this.head];
    const A = this.arena;
    if (A !== null && this.inArena(xNew) && this.inArena(xOld) && this.inArena(gNew) && this.inArena(gOld)) {
      A.kernels.pushPair(
        xNew.byteOffset,
        xOld.byteOffset,
        gNew.byteOffset,
        gOld.byteOffset,
        s.byteOffset,
        y.byteOffset,
        A.M === null ? -1 : A.M.byteOffset,
        this.n,
        A.sums.byteOffset,
      );
      return this.accept(A.sums[0], A.sums[1], A.sums[2]);
    }
    const M = this.precond;
    let sy = 0;
    let yy = 0;
    let yMy = 0;
    if (M) {
      for (let i = 0; i < this.n; i++) {
        const si = Math.fround(xNew[i] - xOld[i]);
        const yi = Math.fround(gNew[i] - gOld[i]);
        s[i] = si;
        y[i] = yi;
        sy += si * yi;
        yy += yi * yi;
        yMy += yi * yi * M[i];
      }
    } else {
      for (let i = 0; i < this.n; i++) {
        const si = Math.fround(xNew[i] - xOld[i]);
        const yi = Math.fround(gNew[i] - gOld[i]);
        s[i] = si;
        y[i] = yi;
        sy += si * yi;
        yy += yi * yi;
      }
      yMy = yy;
    }
    return this.accept(sy, yy, yMy);
  }

  /** Keeps the pair just written to the head slot when its curvature sᵀy is positive enough. */
  private accept(sy: number, yy: number, yMy: number): boolean {
    if (!(sy > 1e-12 * yy) || yy === 0) return false;
    this.rho[this.head] = 1 / sy;
    this.yMy[this.head] = yMy;
    this.head = (this.head + 1) % this.m;
    if (this.count < this.m) this.count++;
    return true;
  }

  /** out = -H·g by the two-loop recursion, H0 = (sᵀy / yᵀMy)·M from the newest pair (M = preconditioner or I). */
  direction(g: Float64Array, out: Float64Array): void {
    const n = this.n;
    const M = this.precond;
    if (this.count === 0) {
      if (M) for (let i = 0; i < n; i++) out[i] = -g[i] * M[i];
      else for (let i = 0; i < n; i++) out[i] = -g[i];
      return;
    }
    if (this.arena !== null) {
      this.directionSimd(this.arena, g, out);
      return;
    }
    const m = this.m;
    const newest = (this.head - 1 + m) % m;
    // First loop, newest pair to oldest: α_j = ρ_j·s_jᵀq, q -= α_j·y_j.
    let idx = newest;
    let dotS = negateWithDot(g, this.s[idx], out);
    for (let j = 0; j < this.count; j++) {
      const a = this.rho[idx] * dotS;
      this.alpha[idx] = a;
      const next = (idx - 1 + m) % m;
      // The last update carries no dot product (the next pair would be a stale slot).
      dotS = j + 1 < this.count ? axpyThenDot(-a, this.y[idx], out, this.s[next]) : axpyThenDot(-a, this.y[idx], out, null);
      idx = next;
    }
    // idx is now one before the oldest pair: step forward to it.
    idx = (idx + 1) % m;
    const gamma = 1 / (this.rho[newest] * this.yMy[newest]);
    let dotY = scaleWithDot(out, gamma, M, this.y[idx]);
    // Second loop, oldest pair to newest: β_j = ρ_j·y_jᵀr, r += (α_j − β_j)·s_j.
    for (let j = 0; j < this.count; j++) {
      const b = this.rho[idx] * dotY;
      const coef = this.alpha[idx] - b;
      const next = (idx + 1) % m;
      dotY = j + 1 < this.count ? axpyThenDot(coef, this.s[idx], out, this.y[next]) : axpyThenDot(coef, this.s[idx], out, null);
      idx = next;
    }
  }

  /** direction() with the arena's SIMD kernels: the same two loops, on the arena's copies of g and out. */
  private directionSimd(A: LbfgsArena, g: Float64Array, out: Float64Array): void {
    const n = this.n;
    const m = this.m;
    const K = A.kernels;
    const o = A.out.byteOffset;
    const off = (v: Float32Array | null): number => (v === null ? -1 : v.byteOffset);
    let gIn = g;
    if (g !== A.g[0] && g !== A.g[1]) {
      A.g[0].set(g);
      gIn = A.g[0];
    }
    const newest = (this.head - 1 + m) % m;
    let idx = newest;
    let dotS = K.negateDot(gIn.byteOffset, o, off(this.s[idx]), n);
    for (let j = 0; j < this.count; j++) {
      const a = this.rho[idx] * dotS;
      this.alpha[idx] = a;
      const next = (idx - 1 + m) % m;
      dotS = K.axpyDot(-a, off(this.y[idx]), o, j + 1 < this.count ? off(this.s[next]) : -1, n);
      idx = next;
    }
    idx = (idx + 1) % m;
    const gamma = 1 / (this.rho[newest] * this.yMy[newest]);
    let dotY = K.scaleDot(gamma, A.M === null ? -1 : A.M.byteOffset, o, off(this.y[idx]), n);
    for (let j = 0; j < this.count; j++) {
      const b = this.rho[idx] * dotY;
      const coef = this.alpha[idx] - b;
      const next = (idx + 1) % m;
      dotY = K.axpyDot(coef, off(this.s[idx]), o, j + 1 < this.count ? off(this.y[next]) : -1, n);
      idx = next;
    }
    if (out !== A.out) out.set(A.out);
  }

  /**
   * Buffers for the optimiser's gradient, next gradient and direction: in the SIMD arena when
   * there is one (direction() then reads and writes them in place), else new arrays.
   */
  workVectors(): { x: Float64Array; xNew: Float64Array; g: Float64Array; gNew: Float64Array; d: Float64Array } {
    const A = this.arena;
    if (A !== null) return { x: A.x[0], xNew: A.x[1], g: A.g[0], gNew: A.g[1], d: A.out };
    const n = this.n;
    return { x: new Float64Array(n), xNew: new Float64Array(n), g: new Float64Array(n), gNew: new Float64Array(n), d: new Float64Array(n) };
  }

  private inArena(v: Float64Array): boolean {
    return this.arena !== null && v.buffer === this.arena.out.buffer;
  }

  /** aᵀb, in SIMD when both live in the arena. */
  dot(a: Float64Array, b: Float64Array): number {
    if (this.arena !== null && this.inArena(a) && this.inArena(b)) return this.arena.kernels.dot(a.byteOffset, b.byteOffset, a.length);
    return dot(a, b);
  }

  /** out = x + α·d, in SIMD when all three live in the arena. */
  axpyInto(out: Float64Array, x: Float64Array, alpha: number, d: Float64Array): void {
    if (this.arena !== null && this.inArena(out) && this.inArena(x) && this.inArena(d)) {
      this.arena.kernels.axpyInto(out.byteOffset, x.byteOffset, alpha, d.byteOffset, out.length);
      return;
    }
    for (let i = 0; i < out.length; i++) out[i] = x[i] + alpha * d[i];
  }
}

/** out = -g; returns vᵀout. */
function negateWithDot(g: Float64Array, v: Float32Array, out: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < g.length; i++) {
    const o = -g[i];
    out[i] = o;
    acc += v[i] * o;
  }
  return acc;
}

/** out += a·u; returns vᵀout on the updated values (0 when v is null). */
function axpyThenDot(a: number, u: Float32Array, out: Float64Array, v: Float32Array | null): number {
  const n = out.length;
  if (v === null) {
    for (let i = 0; i < n; i++) out[i] += a * u[i];
    return 0;
  }
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const o = out[i] + a * u[i];
    out[i] = o;
    acc += v[i] * o;
  }
  return acc;
}

/** out *= γ·M (γ without M); returns vᵀout on the scaled values. */
function scaleWithDot(out: Float64Array, gamma: number, M: Float64Array | null, v: Float32Array): number {
  let acc = 0;
  if (M) {
    for (let i = 0; i < out.length; i++) {
      const o = out[i] * (gamma * M[i]);
      out[i] = o;
      acc += v[i] * o;
    }
  } else {
    for (let i = 0; i < out.length; i++) {
      const o = out[i] * gamma;
      out[i] = o;
      acc += v[i] * o;
    }
  }
  return acc;
}

/** Minimiser of the cubic through (a, fa, ga) and (b, fb, gb); NaN when it has none. */
function cubicMinimizer(a: number, fa: number, ga: number, b: number, fb: number, gb: number): number {
  const d1 = ga + gb - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - ga * gb;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - ((b - a) * (gb + d2 - d1)) / (gb - ga + 2 * d2);
}

/**
 * Minimises f from x0 (which is not modified). Returns the solution in a new array.
 */
export function minimizeLbfgs(fg: ObjectiveFn, x0: Float64Array, options: LbfgsOptions): OptimResult {
  const memory = new LbfgsMemory(x0.length, options.m ?? 10, options.preconditioner ?? null, options.arena ?? true);
  try {
    return lbfgsIterations(fg, x0, options, memory);
  } finally {
    // The result no longer refers to the arena (copied out, or in the caller's memory).
    memory.release();
  }
}

function lbfgsIterations(fg: ObjectiveFn, x0: Float64Array, options: LbfgsOptions, memory: LbfgsMemory): OptimResult {
  const n = x0.length;
  const ftol = options.ftol ?? FTOL_SKLEARN;
  const maxLs = options.maxLineSearch ?? 50;
  const c1 = 1e-4;
  const c2 = 0.9;

  const work = memory.workVectors();
  // The iterates in the caller's memory when it asks (e.g. shared with a worker), else in the arena.
  let x = options.allocate ? options.allocate(n) : work.x;
  x.set(x0);
  let xNew = options.allocate ? options.allocate(n) : work.xNew;
  let g = work.g;
  let gNew = work.gNew;
  const d = work.d;
  let evaluations = 0;

  let f = fg(x, g);
  evaluations++;
  let gmax = maxAbs(g);
  // The arena should not outlive the call: a solution there is copied out; one in the caller's memory is not.
  const result = (v: Float64Array): Float64Array => (options.allocate ? v : v.slice());
  if (gmax <= options.gtol) return { x: result(x), f, iterations: 0, evaluations, converged: true, reason: "gtol", gradMaxAbs: gmax };

  // φ(α) = f(x + α·d), evaluated into xNew/gNew.
  let lastAlpha = NaN;
  const phi = (alpha: number): number => {
    memory.axpyInto(xNew, x, alpha, d);
    lastAlpha = alpha;
    evaluations++;
    return fg(xNew, gNew);
  };

  let iterations = 0;
  let reason: StopReason = "maxIter";
  while (iterations < options.maxIter) {
    memory.direction(g, d);
    let dg0 = memory.dot(g, d);
    if (!(dg0 < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      for (let i = 0; i < n; i++) d[i] = -g[i];
      dg0 = memory.dot(g, d);
    }
    // First step: scipy's 1/‖d‖ rule without a preconditioner; with one, the Newton-like step 1.
    const alpha0 = iterations === 0 && !options.preconditioner ? Math.min(1, 1 / Math.sqrt(dot(d, d))) : 1;

    // Strong Wolfe line search: bracketing phase, then zoom.
    let accepted = NaN;
    let fAcc = NaN;
    let aPrev = 0;
    let fPrev = f;
    let dgPrev = dg0;
    let a = alpha0;
    let lo = NaN,
      fLo = NaN,
      dgLo = NaN,
      hi = NaN,
      fHi = NaN,
      dgHi = NaN;
    let evals = 0;
    while (evals < maxLs) {
      const fa = phi(a);
      evals++;
      const dga = memory.dot(gNew, d);
      if (!Number.isFinite(fa) || fa > f + c1 * a * dg0 || (evals > 1 && fa >= fPrev)) {
        lo = aPrev;
        fLo = fPrev;
        dgLo = dgPrev;
        hi = a;
        fHi = fa;
        dgHi = dga;
        break;
      }
      if (Math.abs(dga) <= -c2 * dg0) {
        accepted = a;
        fAcc = fa;
        break;
      }
      if (dga >= 0) {
        lo = a;
        fLo = fa;
        dgLo = dga;
        hi = aPrev;
        fHi = fPrev;
        dgHi = dgPrev;
        break;
      }
      aPrev = a;
      fPrev = fa;
      dgPrev = dga;
      a *= 4;
    }
    if (Number.isNaN(accepted) && !Number.isNaN(lo)) {
      while (evals < maxLs) {
        const width = Math.abs(hi - lo);
        if (width <= 1e-16 * Math.max(1, Math.abs(lo))) break;
        let aj = Number.isFinite(fHi) ? cubicMinimizer(lo, fLo, dgLo, hi, fHi, dgHi) : NaN;
        const left = Math.min(lo, hi);
        const right = Math.max(lo, hi);
        if (!(aj > left + 0.1 * width && aj < right - 0.1 * width)) aj = 0.5 * (lo + hi);
        const fj = phi(aj);
        evals++;
        const dgj = memory.dot(gNew, d);
        if (!Number.isFinite(fj) || fj > f + c1 * aj * dg0 || fj >= fLo) {
          hi = aj;
          fHi = fj;
          dgHi = dgj;
        } else {
          if (Math.abs(dgj) <= -c2 * dg0) {
            accepted = aj;
            fAcc = fj;
            break;
          }
          if (dgj * (hi - lo) >= 0) {
            hi = lo;
            fHi = fLo;
            dgHi = dgLo;
          }
          lo = aj;
          fLo = fj;
          dgLo = dgj;
        }
      }
      // Wolfe not reached within the budget: take the best sufficient-decrease point found, if any.
      if (Number.isNaN(accepted) && lo > 0 && fLo < f) {
        accepted = lo;
        fAcc = lastAlpha === lo ? fLo : phi(lo);
      }
    }
    if (Number.isNaN(accepted)) {
      reason = "lineSearch";
      break;
    }
    if (lastAlpha !== accepted) fAcc = phi(accepted);

    iterations++;
    memory.push(xNew, x, gNew, g);
    const fOld = f;
    // Swap current and new buffers instead of copying.
    const tmpX = x;
    x = xNew;
    xNew = tmpX;
    const tmpG = g;
    g = gNew;
    gNew = tmpG;
    f = fAcc;
    gmax = maxAbs(g);
    options.onIteration?.(iterations, f);
    if (gmax <= options.gtol) {
      reason = "gtol";
      break;
    }
    if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= ftol) {
      reason = "ftol";
      break;
    }
  }
  return { x: result(x), f, iterations, evaluations, converged: reason === "gtol" || reason === "ftol", reason, gradMaxAbs: gmax };
}
