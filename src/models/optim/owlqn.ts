import { FTOL_SKLEARN, LbfgsMemory, dot, maxAbs, type LbfgsOptions, type ObjectiveFn, type OptimResult, type StopReason } from "./lbfgs.js";

/**
 * OWL-QN (Andrew & Gao 2007, "Scalable training of L1-regularized log-linear models"):
 * minimises f(x) + λ·Σ_{j < nPenalized} |x_j| for a smooth f. Coordinates from nPenalized
 * on (intercepts) are not penalised. Uses the pseudo-gradient, an L-BFGS direction
 * constrained to its orthant, and a backtracking line search projected onto the orthant.
 * Stops when max |pseudo-gradient| <= gtol or on relative decrease <= ftol.
 */
/** The options of L-BFGS (gtol applies to the pseudo-gradient; the preconditioner is used as there). */
export type OwlqnOptions = Omit<LbfgsOptions, "allocate">;

function l1Norm(x: Float64Array, nPen: number): number {
  let s = 0;
  for (let j = 0; j < nPen; j++) s += Math.abs(x[j]);
  return s;
}

/** The minimum-norm subgradient of f + λ‖x_pen‖₁ (the pseudo-gradient of Andrew & Gao). */
export function pseudoGradient(x: Float64Array, g: Float64Array, lambda: number, nPen: number, out: Float64Array): void {
  for (let j = 0; j < x.length; j++) {
    const gj = g[j];
    if (j >= nPen) out[j] = gj;
    else if (x[j] > 0) out[j] = gj + lambda;
    else if (x[j] < 0) out[j] = gj - lambda;
    else if (gj + lambda < 0) out[j] = gj + lambda;
    else if (gj - lambda > 0) out[j] = gj - lambda;
    else out[j] = 0;
  }
}

export function minimizeOwlqn(fg: ObjectiveFn, x0: Float64Array, lambda: number, nPenalized: number, options: OwlqnOptions): OptimResult {
  const memory = new LbfgsMemory(x0.length, options.m ?? 10, options.preconditioner ?? null);
  try {
    return owlqnIterations(fg, x0, lambda, nPenalized, options, memory);
  } finally {
    // Its arena (borrowed from the thread's last one) goes back: x, g and the result live outside it.
    memory.release();
  }
}

function owlqnIterations(fg: ObjectiveFn, x0: Float64Array, lambda: number, nPenalized: number, options: OwlqnOptions, memory: LbfgsMemory): OptimResult {
  const n = x0.length;
  const ftol = options.ftol ?? FTOL_SKLEARN;
  const maxLs = options.maxLineSearch ?? 50;
  const c1 = 1e-4;

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const pg = new Float64Array(n);
  const d = new Float64Array(n);
  let evaluations = 1;

  let F = fg(x, g) + lambda * l1Norm(x, nPenalized);
  pseudoGradient(x, g, lambda, nPenalized, pg);
  let pgmax = maxAbs(pg);
  if (pgmax <= options.gtol) return { x, f: F, iterations: 0, evaluations, converged: true, reason: "gtol", gradMaxAbs: pgmax };

  let iterations = 0;
  let reason: StopReason = "maxIter";
  while (iterations < options.maxIter) {
    memory.direction(pg, d);
    // Keep only the components that agree in sign with -pg (stay a descent direction in the orthant).
    for (let j = 0; j < n; j++) if (d[j] * pg[j] >= 0) d[j] = 0;
    if (dot(d, pg) >= 0) {
      for (let j = 0; j < n; j++) d[j] = -pg[j];
    }
    let alpha = iterations === 0 && !options.preconditioner ? Math.min(1, 1 / Math.sqrt(dot(pg, pg))) : 1;
    let FNew = NaN;
    let ok = false;
    for (let ls = 0; ls < maxLs; ls++) {
      for (let j = 0; j < n; j++) {
        let v = x[j] + alpha * d[j];
        if (j < nPenalized) {
          // Orthant of the current point; a zero coordinate takes the sign of -pg.
          const orth = x[j] !== 0 ? Math.sign(x[j]) : -Math.sign(pg[j]);
          if (v * orth <= 0) v = 0;
        }
        xNew[j] = v;
      }
      evaluations++;
      FNew = fg(xNew, gNew) + lambda * l1Norm(xNew, nPenalized);
      let decrease = 0;
      for (let j = 0; j < n; j++) decrease += pg[j] * (xNew[j] - x[j]);
      if (Number.isFinite(FNew) && FNew <= F + c1 * decrease) {
        ok = true;
        break;
      }
      alpha *= 0.5;
    }
    if (!ok) {
      reason = "lineSearch";
      break;
    }
    iterations++;
    memory.push(xNew, x, gNew, g);
    const FOld = F;
    let tmp = x;
    x = xNew;
    xNew = tmp;
    tmp = g;
    g = gNew;
    gNew = tmp;
    F = FNew;
    pseudoGradient(x, g, lambda, nPenalized, pg);
    pgmax = maxAbs(pg);
    options.onIteration?.(iterations, F);
    if (pgmax <= options.gtol) {
      reason = "gtol";
      break;
    }
    if ((FOld - F) / Math.max(Math.abs(FOld), Math.abs(F), 1) <= ftol) {
      reason = "ftol";
      break;
    }
  }
  return { x, f: F, iterations, evaluations, converged: reason === "gtol" || reason === "ftol", reason, gradMaxAbs: pgmax };
}
