import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { Label } from "../data/clean.js";
import type { IngestOptions } from "../data/ingest.js";
import { TABLE_FORMATS } from "../data/table.js";
import { InvalidParameterError, NotFoundError } from "../util/errors.js";

/**
 * params.yaml for the sentiment pipeline: one schema, parsed once at the edge into typed
 * objects with defaults filled in (STYLE.md §3). Every error names the file and the key
 * (e.g. "params.yaml: featurize.max_features must be an integer >= 1 or null, got 'many'"),
 * and unknown keys are rejected with the known ones listed, so typos cannot pass silently.
 * Keys are snake_case as DVC/Python users write them; sections the ML core validates itself
 * (preprocess, model hyperparameters) are converted to camelCase and handed over.
 */

export type ModelKind = "logreg" | "nb" | "svm";
export const MODEL_KINDS: readonly ModelKind[] = ["logreg", "nb", "svm"];

/** The ingest section is the ingestion options, less `baseDir` (the project directory, known at run time). */
export type IngestParams = Omit<IngestOptions, "baseDir">;

export interface FeaturizeParams {
  kind: "bow" | "tfidf";
  ngramRange: [number, number];
  minDf: number;
  maxDf: number;
  maxFeatures: number | null;
  sublinearTf: boolean;
  binary: boolean;
}

export interface TrainParams {
  model: ModelKind;
  /** Hyperparameters of the chosen model, camelCased (C, maxIter, tol, alpha, ...); validated by the model. */
  hyperparameters: Record<string, unknown>;
  /** The blocks for every model as written (snake_case), logged for reference. */
  blocks: Record<ModelKind, Record<string, unknown>>;
  /** Stratified k-fold cross-validation on the training split before the final fit (0 = off). */
  cvFolds: number;
  seed: number;
}

export interface TrackingParams {
  /** null: MLFLOW_TRACKING_URI, else the embedded store sqlite:///./mlruns.db with ./mlartifacts. */
  uri: string | null;
  experimentName: string;
}

export interface RegisterParams {
  modelName: string;
  alias: string;
  /** Also move the new version to this MLflow stage (archiving the previous one there); null to skip. */
  stage: "Staging" | "Production" | null;
}

export interface PromoteParams {
  from: string;
  to: string;
  /** MLflow stage set on promotion (archiving the previous one there); null to skip stages. */
  stage: "Staging" | "Production" | null;
  minAccuracy: number;
  minF1: number;
  minRocAuc: number;
  /** Allowed drop of accuracy/F1/AUC vs the current production version on the same test set. */
  maxRegression: number;
  positiveExamples: string[];
  negativeExamples: string[];
  /** The labels the behavioural checks expect for clearly positive / negative texts; null = infer (1/0, positive/negative, pos/neg). */
  positiveLabel: Label | null;
  negativeLabel: Label | null;
  /** Neutral filler appended to each invariance example; predictions must keep their label. */
  filler: string;
  invarianceExamples: string[];
}

export interface PipelineParams {
  ingest: IngestParams;
  /** camelCased preprocess options, validated by resolvePreprocessConfig. */
  preprocess: Record<string, unknown>;
  featurize: FeaturizeParams;
  train: TrainParams;
  tracking: TrackingParams;
  register: RegisterParams;
  promote: PromoteParams;
  /** The file as read (snake_case), for logging every param to the tracked run. */
  raw: Record<string, unknown>;
}

const SECTIONS = ["ingest", "preprocess", "featurize", "train", "tracking", "register", "promote"] as const;

export const DEFAULT_POSITIVE_EXAMPLES = [
  "I love this product, it works great.",
  "Excellent service and very friendly staff.",
  "This is the best movie I have seen in years.",
  "Highly recommended, a wonderful experience.",
  "The food was delicious and the price was fair.",
];

export const DEFAULT_NEGATIVE_EXAMPLES = [
  "This is terrible, it broke after one day.",
  "Worst customer service ever, very disappointed.",
  "The movie was boring and a complete waste of time.",
  "I hate it, do not buy this.",
  "The food was cold and the staff were rude.",
];

export const DEFAULT_INVARIANCE_EXAMPLES = [
  "I love this phone.",
  "Great product, works perfectly.",
  "Awful experience, I want my money back.",
  "The acting was terrible.",
  "Very good value for the money.",
  "It stopped working after a week.",
];

export async function loadParams(path = "params.yaml"): Promise<PipelineParams> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`${path} not found (run from the project directory, or pass --params)`);
    throw err;
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new InvalidParameterError(`${path}: malformed YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  return parseParams(raw ?? {}, path);
}

export function parseParams(raw: unknown, file = "params.yaml"): PipelineParams {
  const top = asObject(raw, file, "");
  rejectUnknown(top, SECTIONS, file, "");
  const r = new Reader(file);
  const ingestRaw = r.section(top, "ingest");
  const httpRaw = r.section(ingestRaw, "http", "ingest.");
  const ingest: IngestParams = {
    source: r.str(ingestRaw, "ingest.source", "uci-sentences"),
    format: r.oneOf(ingestRaw, "ingest.format", ["auto", ...TABLE_FORMATS], "auto"),
    header: r.bool(ingestRaw, "ingest.header", true),
    encoding: r.oneOf(ingestRaw, "ingest.encoding", ["utf-8", "latin1"], "utf-8"),
    textColumn: r.str(ingestRaw, "ingest.text_column", "text"),
    labelColumn: r.str(ingestRaw, "ingest.label_column", "label"),
    labelMap: r.labelMap(ingestRaw, "ingest.label_map"),
    testSize: r.testSize(ingestRaw, "ingest.test_size", 0.25),
    seed: r.int(ingestRaw, "ingest.seed", 42, 0),
    minRows: r.int(ingestRaw, "ingest.min_rows", 10, 2),
    http: {
      timeoutMs: r.int(httpRaw, "ingest.http.timeout_ms", 30000, 1),
      maxBytes: r.int(httpRaw, "ingest.http.max_bytes", 100 * 1024 * 1024, 1),
      sha256: r.sha256(httpRaw, "ingest.http.sha256"),
    },
  };
  r.done(ingestRaw, "ingest", ["source", "format", "header", "encoding", "text_column", "label_column", "label_map", "test_size", "seed", "min_rows", "http"]);
  r.done(httpRaw, "ingest.http", ["timeout_ms", "max_bytes", "sha256"]);

  const preprocessRaw = r.section(top, "preprocess");
  const preprocess = camelKeys(preprocessRaw);

  const featRaw = r.section(top, "featurize");
  const featurize: FeaturizeParams = {
    kind: r.oneOf(featRaw, "featurize.kind", ["bow", "tfidf"], "tfidf"),
    ngramRange: r.ngramRange(featRaw, "featurize.ngram_range", [1, 2]),
    minDf: r.df(featRaw, "featurize.min_df", 1),
    maxDf: r.df(featRaw, "featurize.max_df", 1.0),
    maxFeatures: r.intOrNull(featRaw, "featurize.max_features", null, 1),
    sublinearTf: r.bool(featRaw, "featurize.sublinear_tf", true),
    binary: r.bool(featRaw, "featurize.binary", false),
  };
  r.done(featRaw, "featurize", ["kind", "ngram_range", "min_df", "max_df", "max_features", "sublinear_tf", "binary"]);

  const trainRaw = r.section(top, "train");
  const model = r.oneOf(trainRaw, "train.model", MODEL_KINDS, "logreg");
  const blocks = {} as Record<ModelKind, Record<string, unknown>>;
  for (const kind of MODEL_KINDS) blocks[kind] = r.hyperBlock(trainRaw, kind);
  const cvFolds = r.int(trainRaw, "train.cv_folds", 5, 0);
  if (cvFolds === 1) throw new InvalidParameterError(`${file}: train.cv_folds must be 0 (off) or at least 2, got 1`);
  const seed = r.int(trainRaw, "train.seed", 42, 0);
  r.done(trainRaw, "train", ["model", ...MODEL_KINDS, "cv_folds", "seed"]);
  const train: TrainParams = { model, hyperparameters: camelKeys(blocks[model]), blocks, cvFolds, seed };

  const trackRaw = r.section(top, "tracking");
  const tracking: TrackingParams = {
    uri: r.strOrNull(trackRaw, "tracking.uri", null),
    experimentName: r.str(trackRaw, "tracking.experiment_name", "polarity-sentiment"),
  };
  r.done(trackRaw, "tracking", ["uri", "experiment_name"]);

  const regRaw = r.section(top, "register");
  const register: RegisterParams = {
    modelName: r.str(regRaw, "register.model_name", "sentiment"),
    alias: r.alias(regRaw, "register.alias", "staging"),
    stage: r.stage(regRaw, "register.stage", "Staging"),
  };
  r.done(regRaw, "register", ["model_name", "alias", "stage"]);

  const proRaw = r.section(top, "promote");
  const promote: PromoteParams = {
    from: r.alias(proRaw, "promote.from", "staging"),
    to: r.alias(proRaw, "promote.to", "production"),
    stage: r.stage(proRaw, "promote.stage", "Production"),
    minAccuracy: r.unit(proRaw, "promote.min_accuracy", 0.82),
    minF1: r.unit(proRaw, "promote.min_f1", 0.82),
    minRocAuc: r.unit(proRaw, "promote.min_roc_auc", 0.90),
    maxRegression: r.unit(proRaw, "promote.max_regression", 0.02),
    positiveExamples: r.strList(proRaw, "promote.positive_examples", DEFAULT_POSITIVE_EXAMPLES),
    negativeExamples: r.strList(proRaw, "promote.negative_examples", DEFAULT_NEGATIVE_EXAMPLES),
    positiveLabel: r.labelOrNull(proRaw, "promote.positive_label"),
    negativeLabel: r.labelOrNull(proRaw, "promote.negative_label"),
    filler: r.str(proRaw, "promote.filler", "The weather is mild."),
    invarianceExamples: r.strList(proRaw, "promote.invariance_examples", DEFAULT_INVARIANCE_EXAMPLES),
  };
  r.done(proRaw, "promote", [
    "from",
    "to",
    "stage",
    "min_accuracy",
    "min_f1",
    "min_roc_auc",
    "max_regression",
    "positive_examples",
    "negative_examples",
    "positive_label",
    "negative_label",
    "filler",
    "invariance_examples",
  ]);

  return { ingest, preprocess, featurize, train, tracking, register, promote, raw: top };
}

/** `max_iter` → `maxIter`; `C` stays `C`. */
export function camelKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/** Flattens nested params to MLflow param keys: {featurize: {ngram_range: [1, 2]}} → {"featurize.ngram_range": "[1,2]"}. */
export function flattenParams(obj: Record<string, unknown>, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) Object.assign(out, flattenParams(v as Record<string, unknown>, key));
    else out[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return out;
}

function asObject(v: unknown, file: string, path: string): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new InvalidParameterError(`${file}: ${path || "the top level"} must be a mapping of keys, got ${show(v)}`);
  }
  return v as Record<string, unknown>;
}

function rejectUnknown(obj: Record<string, unknown>, known: readonly string[], file: string, path: string): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const names = unknown.map((k) => `'${path}${k}'`).join(", ");
    throw new InvalidParameterError(`${file}: unknown key${unknown.length > 1 ? "s" : ""} ${names} (known in ${path ? path.slice(0, -1) : "the top level"}: ${known.join(", ")})`);
  }
}

function show(v: unknown): string {
  if (typeof v === "string") return `'${v}'`;
  return JSON.stringify(v) ?? String(v);
}

const ALIAS_RE = /^[\w-]{1,255}$/;

/** Reads typed values at dotted paths, with defaults for absent keys and errors naming the key. */
class Reader {
  constructor(private readonly file: string) {}

  private fail(path: string, expected: string, got: unknown): never {
    throw new InvalidParameterError(`${this.file}: ${path} must be ${expected}, got ${show(got)}`);
  }

  private get(obj: Record<string, unknown>, path: string): unknown {
    return obj[path.slice(path.lastIndexOf(".") + 1)];
  }

  section(obj: Record<string, unknown>, key: string, prefix = ""): Record<string, unknown> {
    return asObject(obj[key], this.file, prefix + key);
  }

  done(obj: Record<string, unknown>, path: string, known: readonly string[]): void {
    rejectUnknown(obj, known, this.file, `${path}.`);
  }

  str(obj: Record<string, unknown>, path: string, def: string): string {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (typeof v !== "string" || v.trim().length === 0) this.fail(path, "a non-empty string", v);
    return v;
  }

  strOrNull(obj: Record<string, unknown>, path: string, def: string | null): string | null {
    const v = this.get(obj, path);
    if (v === undefined) return def;
    if (v === null) return null;
    if (typeof v !== "string" || v.trim().length === 0) this.fail(path, "a non-empty string or null", v);
    return v;
  }

  bool(obj: Record<string, unknown>, path: string, def: boolean): boolean {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (typeof v !== "boolean") this.fail(path, "true or false", v);
    return v;
  }

  oneOf<T extends string>(obj: Record<string, unknown>, path: string, allowed: readonly T[], def: T): T {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) this.fail(path, `one of ${allowed.join(", ")}`, v);
    return v as T;
  }

  int(obj: Record<string, unknown>, path: string, def: number, min: number): number {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) this.fail(path, `an integer >= ${min}`, v);
    return v;
  }

  intOrNull(obj: Record<string, unknown>, path: string, def: number | null, min: number): number | null {
    const v = this.get(obj, path);
    if (v === undefined) return def;
    if (v === null) return null;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) this.fail(path, `an integer >= ${min} or null`, v);
    return v;
  }

  unit(obj: Record<string, unknown>, path: string, def: number): number {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1) this.fail(path, "a number in [0, 1]", v);
    return v;
  }

  testSize(obj: Record<string, unknown>, path: string, def: number): number {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    const ok = typeof v === "number" && Number.isFinite(v) && ((v > 0 && v < 1) || (Number.isInteger(v) && v >= 1));
    if (!ok) this.fail(path, "a fraction in (0, 1) or a row count >= 1", v);
    return v as number;
  }

  /** sklearn's min_df/max_df: an int is a document count, a float in [0, 1] a proportion. */
  df(obj: Record<string, unknown>, path: string, def: number): number {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) this.fail(path, "a document count (integer >= 0) or a proportion in [0, 1]", v);
    return v;
  }

  ngramRange(obj: Record<string, unknown>, path: string, def: [number, number]): [number, number] {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x) && x >= 1) || v[0] > v[1]) {
      this.fail(path, "[min_n, max_n] with 1 <= min_n <= max_n", v);
    }
    return [v[0], v[1]];
  }

  sha256(obj: Record<string, unknown>, path: string): string | null {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return null;
    if (typeof v !== "string" || !/^[0-9a-fA-F]{64}$/.test(v)) this.fail(path, "64 hex digits (a SHA-256) or null", v);
    return v.toLowerCase();
  }

  alias(obj: Record<string, unknown>, path: string, def: string): string {
    const v = this.str(obj, path, def);
    if (!ALIAS_RE.test(v) || v === "latest" || /^v\d+$/.test(v)) this.fail(path, "an alias of letters, digits, _ or - (not 'latest' or v<N>)", v);
    return v;
  }

  stage(obj: Record<string, unknown>, path: string, def: "Staging" | "Production"): "Staging" | "Production" | null {
    const v = this.get(obj, path);
    if (v === undefined) return def;
    if (v === null) return null;
    if (v !== "Staging" && v !== "Production") this.fail(path, "Staging, Production or null", v);
    return v;
  }

  strList(obj: Record<string, unknown>, path: string, def: string[]): string[] {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return def;
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string" && s.trim().length > 0)) this.fail(path, "a list of non-empty strings", v);
    return v as string[];
  }

  labelOrNull(obj: Record<string, unknown>, path: string): Label | null {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return null;
    if (!(typeof v === "string" && v.length > 0) && !(typeof v === "number" && Number.isFinite(v))) this.fail(path, "a label (string or number) or null", v);
    return v as Label;
  }

  labelMap(obj: Record<string, unknown>, path: string): Record<string, Label> | null {
    const v = this.get(obj, path);
    if (v === undefined || v === null) return null;
    if (typeof v !== "object" || Array.isArray(v) || Object.keys(v).length === 0) this.fail(path, "a mapping of raw label to label (e.g. {positive: 1, negative: 0}) or null", v);
    const out: Record<string, Label> = {};
    for (const [k, target] of Object.entries(v as Record<string, unknown>)) {
      if (!(typeof target === "string" && target.length > 0) && !(typeof target === "number" && Number.isFinite(target))) {
        this.fail(`${path}.${k}`, "a label (string or number)", target);
      }
      out[k.trim()] = target as Label;
    }
    const targets = new Set(Object.values(out).map((t) => typeof t));
    if (targets.size > 1) this.fail(path, "all-number or all-string labels (mixing them makes the class order ambiguous)", v);
    return out;
  }

  hyperBlock(obj: Record<string, unknown>, kind: ModelKind): Record<string, unknown> {
    const path = `train.${kind}`;
    const v = obj[kind];
    if (v === undefined || v === null) return {};
    const block = asObject(v, this.file, path);
    for (const [k, x] of Object.entries(block)) {
      const ok = x === null || typeof x === "number" || typeof x === "string" || typeof x === "boolean";
      if (!ok || (typeof x === "number" && !Number.isFinite(x))) this.fail(`${path}.${k}`, "a number, string, boolean or null", x);
    }
    return block;
  }
}

const toSnake = (k: string): string => k.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));

/** Nested snake_case copy of a typed params object (keys like `C` stay as they are). */
export function snakeKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.length > 1 ? toSnake(k) : k] = snakeKeys(v);
  return out;
}

/**
 * The params that shape a trained model, resolved (defaults filled) and in params.yaml's
 * snake_case — what the train stage records in the bundle and evaluate logs to the run.
 */
export function modelParamsSnapshot(p: PipelineParams, preprocess: object): Record<string, unknown> {
  return {
    ingest: snakeKeys(p.ingest),
    preprocess: snakeKeys(preprocess),
    featurize: snakeKeys(p.featurize),
    train: { model: p.train.model, [p.train.model]: p.train.blocks[p.train.model], cv_folds: p.train.cvFolds, seed: p.train.seed },
  };
}
