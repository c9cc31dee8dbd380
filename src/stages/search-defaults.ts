/**
 * `train.search`'s choices and defaults (`polarity tune`'s settings), in a module that imports
 * nothing: params.ts's schema declares its keys with these values, and `polarity tune` without a
 * params file uses SEARCH_DEFAULTS as they are instead of loading params.ts, whose TypeBox schema
 * and YAML parser cost the command's main thread ~0.25 s before it can hand the data to its fold
 * workers (bench/tune.ts). test/tuning/search-defaults.test.ts checks that they equal what
 * parseParams gives for an empty file.
 */

export const SEARCH_METHODS = ["grid", "random", "halving"] as const;
export const SEARCH_METRICS = ["accuracy", "f1", "f1Macro", "rocAuc", "logLoss", "precision", "recall"] as const;

/** parseParams({}).train.search, camelCased (no `space`: the built-in space). */
export const SEARCH_DEFAULTS: Readonly<{
  method: (typeof SEARCH_METHODS)[number];
  folds: number;
  seed: number;
  nIter: number;
  eta: number;
  metric: (typeof SEARCH_METRICS)[number];
  maxTime: number;
}> = Object.freeze({ method: "grid", folds: 5, seed: 42, nIter: 10, eta: 3, metric: "accuracy", maxTime: 0 });
