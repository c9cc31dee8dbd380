import { InvalidParameterError } from "./errors.js";

/** Guards for option objects: every estimator validates its hyperparameters with these at construction. */

export function requireFinite(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidParameterError(`${name} must be a finite number, got ${String(value)}`);
  }
  return value;
}

export function requirePositive(name: string, value: number): number {
  requireFinite(name, value);
  if (value <= 0) throw new InvalidParameterError(`${name} must be > 0, got ${value}`);
  return value;
}

export function requireNonNegative(name: string, value: number): number {
  requireFinite(name, value);
  if (value < 0) throw new InvalidParameterError(`${name} must be >= 0, got ${value}`);
  return value;
}

export function requireInteger(name: string, value: number, min = -Infinity, max = Infinity): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new InvalidParameterError(`${name} must be an integer, got ${String(value)}`);
  }
  if (value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new InvalidParameterError(`${name} must be ${range}, got ${value}`);
  }
  return value;
}

export function requireOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidParameterError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Rejects keys of `options` that are not in `known`, naming them: catches typos like `maxIters`. */
export function rejectUnknownOptions(where: string, options: object | undefined, known: readonly string[]): void {
  if (!options) return;
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new InvalidParameterError(
      `${where}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${k}'`).join(", ")} (known: ${known.join(", ")})`,
    );
  }
}
