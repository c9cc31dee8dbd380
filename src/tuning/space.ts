import type { FeatureOptions } from "../features/factory.js";
import type { ClassifierKind } from "../models/serialization.js";
import { DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG, resolvePreprocessConfig, type PreprocessConfig } from "../text/preprocess.js";
import { InvalidParameterError } from "../util/errors.js";

/**
 * A search space over preprocessing × features × model × hyperparameters, as written in
 * params.yaml's `train.search.space` (snake_case or camelCase keys):
 *
 *   space:
 *     preprocess: [light, default, {remove_stopwords: false, word_form: porter}]
 *     features:
 *       - {kind: tfidf, ngram_range: [1, 2], sublinear_tf: [false, true]}
 *       - {kind: bow, ngram_range: [[1, 1], [1, 2]]}
 *     model:
 *       - {kind: logreg, C: [0.1, 1, 10, 100]}
 *       - {kind: nbsvm, C: [0.1, 1], beta: [0.25, 1]}
 *
 * Every list-valued option is a set of choices (n-gram ranges: a list of pairs); each entry
 * expands to the cartesian product of its choices, and the space is the product of the three
 * sections' expansions.
 */
export interface SearchSpace {
  preprocess: (string | Record<string, unknown>)[];
  features: Record<string, unknown>[];
  model: Record<string, unknown>[];
}

/** One point of the space: what SentimentModel.train takes, plus readable names. */
export interface TrialConfig {
  preprocessName: string;
  preprocess: Readonly<PreprocessConfig>;
  features: FeatureOptions;
  model: { kind: ClassifierKind; [hyperparameter: string]: unknown };
}

const MODEL_KINDS: readonly ClassifierKind[] = ["logreg", "nb", "svm", "nbsvm", "rf", "gbdt"];

export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The cartesian product of an entry's list-valued options (`pairKeys` hold pairs: a list of pairs is the choice). */
export function expandEntry(entry: Record<string, unknown>, pairKeys: readonly string[] = [], where = "space"): Record<string, unknown>[] {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry))
    throw new InvalidParameterError(`${where}: each entry must be a mapping, got ${JSON.stringify(entry)}`);
  let out: Record<string, unknown>[] = [{}];
  for (const [rawKey, value] of Object.entries(entry)) {
    const key = camelCase(rawKey);
    let choices: unknown[];
    if (pairKeys.includes(key)) choices = Array.isArray(value) && value.length > 0 && Array.isArray(value[0]) ? value : [value];
    else choices = Array.isArray(value) ? value : [value];
    if (choices.length === 0) throw new InvalidParameterError(`${where}.${rawKey}: an empty list of choices`);
    out = out.flatMap((o) => choices.map((c) => ({ ...o, [key]: c })));
  }
  return out;
}

export function describePreprocess(p: string | Record<string, unknown>): string {
  if (typeof p === "string") return p;
  return Object.entries(p)
    .map(([k, v]) => `${snakeCase(camelCase(k))}=${String(v)}`)
    .join(",");
}

export function resolveNamedPreprocess(p: string | Record<string, unknown>, where: string): Readonly<PreprocessConfig> {
  if (p === "light") return LIGHT_PREPROCESS_CONFIG;
  if (p === "default") return DEFAULT_PREPROCESS_CONFIG;
  if (typeof p === "string") throw new InvalidParameterError(`${where}: unknown preprocessing '${p}' (known: light, default, or a mapping of options)`);
  const base = typeof p.base === "string" ? p.base : "default";
  const overrides: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (k !== "base") overrides[camelCase(k)] = v;
  try {
    return resolvePreprocessConfig({ ...resolveNamedPreprocess(base, where), ...overrides } as Partial<PreprocessConfig>);
  } catch (err) {
    throw new InvalidParameterError(`${where}: ${(err as Error).message}`);
  }
}

/** Every configuration of the space, in a fixed order (preprocess, then features, then model). */
export function expandSpace(space: SearchSpace): TrialConfig[] {
  if (typeof space !== "object" || space === null) throw new InvalidParameterError("search space must be a mapping with preprocess, features and model lists");
  const pre = Array.isArray(space.preprocess) ? space.preprocess : [space.preprocess ?? "default"];
  const feats = (Array.isArray(space.features) ? space.features : [space.features ?? { kind: "tfidf" }]).flatMap((f, i) =>
    expandEntry(f as Record<string, unknown>, ["ngramRange"], `search.space.features[${i}]`),
  );
  const models = (Array.isArray(space.model) ? space.model : [space.model ?? { kind: "logreg" }]).flatMap((m, i) =>
    expandEntry(m as Record<string, unknown>, [], `search.space.model[${i}]`),
  );
  for (const [i, m] of models.entries()) {
    if (!MODEL_KINDS.includes(m.kind as ClassifierKind))
      throw new InvalidParameterError(`search.space.model[${i}].kind must be one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(m.kind)}`);
  }
  for (const [i, f] of feats.entries()) {
    if (f.kind !== "bow" && f.kind !== "tfidf")
      throw new InvalidParameterError(`search.space.features[${i}].kind must be bow or tfidf, got ${JSON.stringify(f.kind)}`);
  }
  const out: TrialConfig[] = [];
  pre.forEach((p, i) => {
    const preprocess = resolveNamedPreprocess(p as string | Record<string, unknown>, `search.space.preprocess[${i}]`);
    for (const f of feats)
      for (const m of models)
        out.push({
          preprocessName: describePreprocess(p as string | Record<string, unknown>),
          preprocess,
          features: f as unknown as FeatureOptions,
          model: m as TrialConfig["model"],
        });
  });
  if (out.length === 0) throw new InvalidParameterError("search space is empty");
  return out;
}

/** A stable key of a features config (trials sharing it share the fold matrices). */
export function featuresKey(f: FeatureOptions): string {
  return JSON.stringify(
    Object.keys(f)
      .sort()
      .map((k) => [k, (f as unknown as Record<string, unknown>)[k]]),
  );
}

/** Options that change a features config's values but not which n-grams it stores (BoW vs TF-IDF of the same vocabulary). */
const VALUE_ONLY_FEATURE_KEYS: readonly string[] = ["kind", "sublinearTf", "norm", "useIdf", "smoothIdf", "binary"];

/**
 * featuresKey without the options that only change the stored values: configs with the same
 * vocabulary key store the same entries (BoW and TF-IDF of the same n-grams), so they look the
 * same to a model that binarises its input (NBSVM; see FoldScorer).
 */
export function vocabularyKey(f: FeatureOptions): string {
  const rest = Object.fromEntries(Object.entries(f).filter(([k]) => !VALUE_ONLY_FEATURE_KEYS.includes(k)));
  return featuresKey(rest as unknown as FeatureOptions);
}

export function preprocessKey(p: Readonly<PreprocessConfig>): string {
  return JSON.stringify(
    Object.keys(p)
      .sort()
      .map((k) => [k, (p as unknown as Record<string, unknown>)[k]]),
  );
}

/** One-line description of a configuration, for tables. */
export function describeTrial(c: TrialConfig): { preprocess: string; features: string; model: string } {
  const { kind: fk, ...fo } = c.features;
  const { kind: mk, ...mo } = c.model;
  const fmt = (o: Record<string, unknown>): string =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("-") : String(v)}`)
      .join(" ");
  return {
    preprocess: c.preprocessName,
    features: `${fk}${Object.keys(fo).length ? ` ${fmt(fo)}` : ""}`,
    model: `${mk}${Object.keys(mo).length ? ` ${fmt(mo)}` : ""}`,
  };
}

/** The default space of `polarity tune`: 3 preprocessings × 2 feature kinds × 8 model settings = 48 configurations. */
export const DEFAULT_SEARCH_SPACE: SearchSpace = {
  preprocess: ["light", "default", { base: "light", negation_scope: true }],
  features: [
    { kind: "tfidf", ngram_range: [1, 2], sublinear_tf: true },
    { kind: "bow", ngram_range: [1, 2] },
  ],
  model: [
    { kind: "logreg", C: [1, 10, 100] },
    { kind: "nbsvm", C: [0.1, 1] },
    { kind: "svm", C: [0.1, 1] },
    { kind: "nb", alpha: 0.5 },
  ],
};
