import { readFile, stat } from "node:fs/promises";
import { Type, type Static, type TLiteral, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parse as parseYaml } from "yaml";
import { LOGISTIC_REGRESSION_DEFAULTS } from "../models/logistic-regression.js";
import { DEFAULT_PREPROCESS_CONFIG, type PreprocessConfig } from "../text/preprocess.js";
import { InvalidParameterError, NotFoundError } from "../util/errors.js";
import { SEARCH_DEFAULTS, SEARCH_METHODS, SEARCH_METRICS } from "./search-defaults.js";

/**
 * params.yaml for the sentiment pipeline: ONE declarative TypeBox schema (PARAMS_SCHEMA)
 * gives the TypeScript types (PipelineParams), the defaults, the errors and the table in
 * docs/pipeline.md (renderParamsTable; a test checks the doc is current). Keys are
 * snake_case as DVC/Python users write them; parsing renames them to camelCase for the code.
 *
 * The whole file is validated before any stage runs (every stage and `polarity start` load
 * it first). Every error names the file and the key path, says what was expected and echoes
 * what was written (`params.yaml: train.logreg.C must be a number > 0, got 0`); unknown keys
 * are refused with the known ones listed. Every key is optional; an empty key (`ingest:`)
 * means "the defaults".
 */

// ---------------------------------------------------------------------------------------
// Schema building blocks. `expect` is the phrase errors use; `description` the docs' text.

interface Doc {
  /** What the key means (docs table). */
  description: string;
}

const Str = (def: string, d: Doc & { expect?: string; pattern?: string }) =>
  Type.String({ minLength: 1, pattern: d.pattern ?? "\\S", default: def, description: d.description, expect: d.expect ?? "a non-empty string" });
const Bool = (def: boolean, d: Doc) => Type.Boolean({ default: def, description: d.description, expect: "true or false" });
const Int = (def: number, min: number, d: Doc) => Type.Integer({ minimum: min, default: def, description: d.description, expect: `an integer >= ${min}` });
const Unit = (def: number, d: Doc) => Type.Number({ minimum: 0, maximum: 1, default: def, description: d.description, expect: "a number in [0, 1]" });
function OneOf<const T extends readonly string[]>(values: T, def: T[number], d: Doc) {
  const members = values.map((v) => Type.Literal(v)) as unknown as TLiteral<T[number]>[];
  return Type.Union(members, { default: def, description: d.description, expect: `one of ${values.join(", ")}` });
}
const StrList = (def: readonly string[], d: Doc) =>
  Type.Array(Type.String({ minLength: 1, pattern: "\\S" }), { default: [...def], description: d.description, expect: "a list of non-empty strings" });
const LabelValue = () => Type.Union([Type.String({ minLength: 1 }), Type.Number()]);
const NullableLabel = (d: Doc) =>
  Type.Union([LabelValue(), Type.Null()], { default: null, description: d.description, expect: "a label (string or number) or null" });
const MlflowStage = (def: "Staging" | "Production" | null, d: Doc) =>
  Type.Union([Type.Literal("Staging"), Type.Literal("Production"), Type.Null()], {
    default: def,
    description: d.description,
    expect: "Staging, Production or null",
  });
const Alias = (def: string, d: Doc) =>
  Str(def, { ...d, pattern: "^(?!latest$)(?!v\\d+$)[\\w-]{1,255}$", expect: "an alias of letters, digits, _ or - (not 'latest' or v<N>)" });
/** A model hyperparameter: validated here, defaulted by the model itself (`modelDefault` is shown in the docs). */
const Hyper = <T extends TSchema>(schema: T, expect: string, description: string, modelDefault?: unknown): T =>
  ({ ...schema, expect, description, ...(modelDefault !== undefined ? { modelDefault } : {}) }) as T;
const Positive = () => Type.Number({ exclusiveMinimum: 0 });
const ClassWeight = () => Type.Union([Type.Null(), Type.Literal("balanced"), Type.Record(Type.String(), Type.Number({ minimum: 0 }))]);
const Section = <T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description });

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

const P = DEFAULT_PREPROCESS_CONFIG;
const LR = LOGISTIC_REGRESSION_DEFAULTS;

// ---------------------------------------------------------------------------------------
// The schema.

const IngestSchema = Section(
  {
    source: Str("uci-sentences", { description: "built-in name, local path (relative to the project), or `http(s)://` URL" }),
    test_source: Type.Union([Type.String({ minLength: 1, pattern: "\\S" }), Type.Null()], {
      default: null,
      description:
        "a separately supplied test split (path, URL or built-in name; same format, columns and label map): `source` is then all training data and `test_size` is not used; `http.sha256` pins `source` only",
      expect: "a path, URL or built-in name, or null",
    }),
    format: OneOf(["auto", "csv", "tsv", "json", "jsonl"] as const, "auto", { description: "auto = extension, then Content-Type, then content" }),
    header: Bool(true, { description: "CSV/TSV first row is a header (else columns `0`, `1`, …)" }),
    encoding: OneOf(["utf-8", "latin1"] as const, "utf-8", { description: "text encoding of the source" }),
    text_column: Str("text", { description: "column holding the texts" }),
    label_column: Str("label", { description: "column holding the labels" }),
    label_map: Type.Union([Type.Record(Type.String(), LabelValue(), { minProperties: 1 }), Type.Null()], {
      default: null,
      description: "raw label → label, e.g. `{positive: 1, negative: 0}`; other labels are dropped and counted. The class names of the model come from here",
      expect: "a mapping of raw label to label (e.g. {positive: 1, negative: 0}) or null",
    }),
    test_size: Type.Union([Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), Type.Integer({ minimum: 1 })], {
      default: 0.25,
      description: "held-out split: a fraction, or a row count (stratified)",
      expect: "a fraction in (0, 1) or a row count >= 1",
    }),
    seed: Int(42, 0, { description: "seed of the stratified split" }),
    min_rows: Int(10, 2, { description: "fewer usable rows is an error" }),
    http: Section(
      {
        timeout_ms: Int(30000, 1, { description: "download timeout" }),
        max_bytes: Int(100 * 1024 * 1024, 1, { description: "size cap (also for local files)" }),
        sha256: Type.Union([Type.String({ pattern: "^[0-9a-fA-F]{64}$" }), Type.Null()], {
          default: null,
          description: "expected SHA-256 of the source (also for local files)",
          expect: "64 hex digits (a SHA-256) or null",
        }),
      },
      "download guards",
    ),
  },
  "where the data come from and how they are split",
);

const PreprocessSchema = Section(
  {
    nfkc: Bool(P.nfkc, { description: "Unicode NFKC normalisation" }),
    lowercase: Bool(P.lowercase, { description: "lowercase the text" }),
    strip_html: Bool(P.stripHtml, { description: "HTML tags become spaces, entities are decoded" }),
    remove_urls: Bool(P.removeUrls, { description: "URLs become spaces" }),
    remove_digits: Bool(P.removeDigits, { description: "digits separate tokens instead of belonging to words" }),
    remove_punctuation: Bool(P.removePunctuation, { description: "punctuation separates tokens (false: each mark is a token)" }),
    expand_negations: Bool(P.expandNegations, { description: '"don\'t" → do not' }),
    remove_stopwords: Bool(P.removeStopwords, { description: "drop English stopwords (negations kept)" }),
    word_form: OneOf(["none", "porter", "lemma"] as const, P.wordForm, { description: "Porter stems, WordNet lemmas, or words as written" }),
    negation_scope: Bool(P.negationScope, { description: "`not_` prefix up to the next clause punctuation" }),
    emoticons: Bool(P.emoticons, { description: "emoticons such as `:)` become tokens" }),
    emoji: Bool(P.emoji, { description: "each emoji is a token (false: dropped)" }),
    min_token_length: Int(P.minTokenLength, 1, { description: "drop shorter words (negations, emoticons, emoji kept)" }),
  },
  "src/text/preprocess.ts options (defaults from there)",
);

const DocFrequency = (def: number, description: string) =>
  Type.Union([Type.Integer({ minimum: 0 }), Type.Number({ minimum: 0, maximum: 1 })], {
    default: def,
    description,
    expect: "a document count (integer >= 0) or a proportion in [0, 1]",
  });

const FeaturizeSchema = Section(
  {
    kind: OneOf(["tfidf", "bow"] as const, "tfidf", { description: "TF-IDF or bag-of-words counts" }),
    ngram_range: Type.Tuple([Type.Integer({ minimum: 1, maximum: 255 }), Type.Integer({ minimum: 1, maximum: 255 })], {
      default: [1, 2],
      description: "word n-grams [min_n, max_n]",
      expect: "[min_n, max_n] with 1 <= min_n <= max_n",
    }),
    min_df: DocFrequency(1, "drop rarer terms (an integer is a document count, a fraction a proportion; scikit-learn semantics)"),
    max_df: DocFrequency(1.0, "drop more frequent terms (same rule)"),
    max_features: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      default: null,
      description: "keep the most frequent terms only",
      expect: "an integer >= 1 or null",
    }),
    sublinear_tf: Bool(true, { description: "1 + ln(tf) (tfidf only)" }),
    binary: Bool(false, { description: "counts become 1/0" }),
    lexicon: OneOf(["none", "afinn", "vader"] as const, "none", {
      description:
        "a lexicon block appended to the n-grams: AFINN-165 + emoji sums, or VADER's lexicon and rules (negation, boosters, `but`, capitals, `!`) on the preprocessed tokens (docs/models.md)",
    }),
  },
  "the vectorizer",
);

/** Hyperparameter blocks, one per model kind; absent keys take the model's own defaults. */
const MODEL_BLOCKS = {
  logreg: Section(
    {
      C: Type.Optional(Hyper(Positive(), "a number > 0", "inverse regularisation strength", LR.C)),
      penalty: Type.Optional(
        Hyper(Type.Union([Type.Literal("l2"), Type.Literal("l1"), Type.Literal("none")]), "one of l2, l1, none", "regulariser", LR.penalty),
      ),
      max_iter: Type.Optional(Hyper(Type.Integer({ minimum: 1 }), "an integer >= 1", "L-BFGS / OWL-QN iterations", LR.maxIter)),
      tol: Type.Optional(Hyper(Positive(), "a number > 0", "stop when the max-abs gradient is below this", LR.tol)),
      fit_intercept: Type.Optional(Hyper(Type.Boolean(), "true or false", "fit an intercept", LR.fitIntercept)),
      class_weight: Type.Optional(Hyper(ClassWeight(), "null, 'balanced' or a mapping {label: weight >= 0}", "per-class weights", LR.classWeight)),
      multi_class: Type.Optional(
        Hyper(
          Type.Union([Type.Literal("auto"), Type.Literal("multinomial"), Type.Literal("ovr")]),
          "one of auto, multinomial, ovr",
          "multi-class scheme",
          LR.multiClass,
        ),
      ),
    },
    "LogisticRegression (scikit-learn's, lbfgs)",
  ),
  nb: Section(
    {
      alpha: Type.Optional(Hyper(Positive(), "a number > 0", "additive smoothing", 1)),
      fit_prior: Type.Optional(Hyper(Type.Boolean(), "true or false", "learn class priors", true)),
      class_prior: Type.Optional(
        Hyper(
          Type.Union([Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 1 }), Type.Null()]),
          "a list of numbers > 0 or null",
          "fixed class priors",
          null,
        ),
      ),
    },
    "MultinomialNB",
  ),
  svm: Section(
    {
      C: Type.Optional(Hyper(Positive(), "a number > 0", "inverse regularisation strength", 1)),
      loss: Type.Optional(Hyper(Type.Union([Type.Literal("squared_hinge"), Type.Literal("hinge")]), "one of squared_hinge, hinge", "loss", "squared_hinge")),
      tol: Type.Optional(Hyper(Positive(), "a number > 0", "stopping tolerance", 1e-4)),
      max_iter: Type.Optional(Hyper(Type.Integer({ minimum: 1 }), "an integer >= 1", "passes of dual coordinate descent", 1000)),
      fit_intercept: Type.Optional(Hyper(Type.Boolean(), "true or false", "fit an intercept", true)),
      class_weight: Type.Optional(Hyper(ClassWeight(), "null, 'balanced' or a mapping {label: weight >= 0}", "per-class weights", null)),
      seed: Type.Optional(Hyper(Type.Integer({ minimum: 0 }), "an integer >= 0", "coordinate order shuffling", 0)),
    },
    "LinearSVC (liblinear's dual coordinate descent)",
  ),
  nbsvm: Section(
    {
      base: Type.Optional(
        Hyper(Type.Union([Type.Literal("svm"), Type.Literal("logreg")]), "one of svm, logreg", "the linear model on the NB-scaled features", "svm"),
      ),
      C: Type.Optional(Hyper(Positive(), "a number > 0", "inverse regularisation strength", 1)),
      alpha: Type.Optional(Hyper(Positive(), "a number > 0", "smoothing of the log-count ratios", 1)),
      beta: Type.Optional(
        Hyper(Type.Number({ minimum: 0, maximum: 1 }), "a number in [0, 1]", "interpolation towards the mean weight (0.25 for svm, 1 for logreg)"),
      ),
      tol: Type.Optional(Hyper(Positive(), "a number > 0", "stopping tolerance", 1e-4)),
      max_iter: Type.Optional(Hyper(Type.Integer({ minimum: 1 }), "an integer >= 1", "iterations (1000 for svm, 100 for logreg)")),
      seed: Type.Optional(Hyper(Type.Integer({ minimum: 0 }), "an integer >= 0", "coordinate order shuffling", 0)),
    },
    "NBSVM (Wang & Manning 2012)",
  ),
  rf: Section(
    {
      n_estimators: Type.Optional(Hyper(Type.Integer({ minimum: 1 }), "an integer >= 1", "trees", 100)),
      max_depth: Type.Optional(
        Hyper(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]), "an integer >= 1 or null", "depth limit (null = grow until pure)", null),
      ),
      min_samples_leaf: Type.Optional(Hyper(Type.Integer({ minimum: 1 }), "an integer >= 1", "rows per leaf at least", 1)),
      max_features: Type.Optional(
        Hyper(
          Type.Union([Type.Literal("sqrt"), Type.Literal("log2"), Type.Number({ exclusiveMinimum: 0 }), Type.Null()]),
          "sqrt, log2, a fraction, a count or null",
          "features drawn per node",
          "sqrt",
        ),
      ),
      max_bins: Type.Optional(Hyper(Type.Integer({ minimum: 2, maximum: 255 }), "an integer in [2, 255]", "value bins per feature", 32)),
      seed: Type.Optional(Hyper(Type.Integer({ minimum: 0 }), "an integer >= 0", "bootstrap and feature sampling", 0)),
    },
    "RandomForestClassifier (src/models/trees)",
  ),
  gbdt: Section(
    {
      n_estimators: Type.Optional(Hyper(Type.Integer({ minimum: 1 }), "an integer >= 1", "boosting rounds", 100)),
      learning_rate: Type.Optional(Hyper(Positive(), "a number > 0", "shrinkage", 0.1)),
      max_depth: Type.Optional(Hyper(Type.Integer({ minimum: 1 }), "an integer >= 1", "tree depth", 3)),
      subsample: Type.Optional(Hyper(Type.Number({ exclusiveMinimum: 0, maximum: 1 }), "a number in (0, 1]", "rows drawn per round", 1)),
      n_iter_no_change: Type.Optional(
        Hyper(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]), "an integer >= 1 or null", "early stopping patience (null = off)", null),
      ),
      max_bins: Type.Optional(Hyper(Type.Integer({ minimum: 2, maximum: 255 }), "an integer in [2, 255]", "value bins per feature", 32)),
      seed: Type.Optional(Hyper(Type.Integer({ minimum: 0 }), "an integer >= 0", "subsampling and validation split", 0)),
    },
    "GradientBoostingClassifier (src/models/trees)",
  ),
};

export type ModelKind = keyof typeof MODEL_BLOCKS;
export const MODEL_KINDS = Object.keys(MODEL_BLOCKS) as ModelKind[];

/** `polarity tune`'s settings (src/tuning): the space is read by src/tuning/space.ts. */
const SpaceEntry = () => Type.Record(Type.String(), Type.Unknown());
const S = SEARCH_DEFAULTS;
const SearchSchema = Section(
  {
    method: OneOf(SEARCH_METHODS, S.method, { description: "search method" }),
    folds: Int(S.folds, 2, { description: "stratified CV folds per configuration" }),
    seed: Int(S.seed, 0, { description: "seed of the folds and of random search" }),
    n_iter: Int(S.nIter, 1, { description: "random search: configurations drawn" }),
    eta: Int(S.eta, 2, { description: "successive halving: keep the best 1/eta at each rung" }),
    metric: OneOf(SEARCH_METRICS, S.metric, {
      description: "metric to maximise (logLoss is minimised)",
    }),
    max_time: Type.Number({
      minimum: 0,
      default: S.maxTime,
      description: "stop starting new fits after this many seconds (0 = no limit)",
      expect: "a number of seconds >= 0",
    }),
    space: Type.Optional(
      Type.Object(
        {
          preprocess: Type.Optional(Type.Array(Type.Union([Type.String({ minLength: 1 }), SpaceEntry()]), { minItems: 1 })),
          features: Type.Optional(Type.Array(SpaceEntry(), { minItems: 1 })),
          model: Type.Optional(Type.Array(SpaceEntry(), { minItems: 1 })),
        },
        {
          additionalProperties: false,
          description: "lists of choices (docs/models.md); absent = the built-in 48-configuration space",
          expect: "a mapping of preprocess, features and model lists",
        },
      ),
    ),
  },
  "`polarity tune`'s search (docs/models.md)",
);

const TrainSchema = Section(
  {
    search: SearchSchema,
    model: OneOf(MODEL_KINDS as ["logreg", "nb", "svm", "nbsvm", "rf", "gbdt"], "logreg", {
      description: "the classifier; its hyperparameters are in the block of the same name",
    }),
    ...MODEL_BLOCKS,
    cv_folds: Type.Union([Type.Literal(0), Type.Integer({ minimum: 2 })], {
      default: 5,
      description: "stratified k-fold CV on the training split before the final fit (0 = off); at most the rows of the smallest class",
      expect: "0 (off) or an integer >= 2",
    }),
    seed: Int(42, 0, { description: "seed of the CV folds" }),
  },
  "the classifier",
);

const TrackingSchema = Section(
  {
    uri: Type.Union([Type.String({ minLength: 1, pattern: "\\S" }), Type.Null()], {
      default: null,
      description: "`null` = `$MLFLOW_TRACKING_URI`, else the embedded `sqlite:///mlruns.db` with artifacts in `./mlartifacts/`",
      expect: "a non-empty string or null",
    }),
    experiment_name: Str("polarity-sentiment", { description: "experiment of the evaluate stage's runs" }),
  },
  "the tracking store",
);

const RegisterSchema = Section(
  {
    model_name: Str("sentiment", { description: "registered model name" }),
    alias: Alias("staging", { description: "alias set on the new version" }),
    stage: MlflowStage("Staging", { description: "also move the new version to this MLflow stage (archiving the previous one); null to skip" }),
  },
  "model registration",
);

const PromoteSchema = Section(
  {
    from: Alias("staging", { description: "alias of the candidate" }),
    to: Alias("production", { description: "alias moved on success" }),
    stage: MlflowStage("Production", { description: "MLflow stage set on promotion; null to skip stages" }),
    min_accuracy: Unit(0.82, { description: "gate: held-out accuracy" }),
    min_f1: Unit(0.82, { description: "gate: held-out F1" }),
    min_roc_auc: Unit(0.9, { description: "gate: held-out ROC AUC" }),
    max_regression: Unit(0.02, { description: "allowed drop of accuracy/F1/AUC vs production on the same test set" }),
    positive_examples: StrList(DEFAULT_POSITIVE_EXAMPLES, { description: "clearly positive sentences (behavioural gate)" }),
    negative_examples: StrList(DEFAULT_NEGATIVE_EXAMPLES, { description: "clearly negative sentences (behavioural gate)" }),
    positive_label: NullableLabel({ description: "label of the positive examples; null = infer (1/0, positive/negative, pos/neg)" }),
    negative_label: NullableLabel({ description: "label of the negative examples; null = infer" }),
    filler: Str("The weather is mild.", { description: "neutral filler appended to each invariance example" }),
    invariance_examples: StrList(DEFAULT_INVARIANCE_EXAMPLES, { description: "sentences whose label must not change with the filler" }),
  },
  "the promotion gates",
);

export const PARAMS_SCHEMA = Type.Object(
  {
    ingest: IngestSchema,
    preprocess: PreprocessSchema,
    featurize: FeaturizeSchema,
    train: TrainSchema,
    tracking: TrackingSchema,
    register: RegisterSchema,
    promote: PromoteSchema,
  },
  { additionalProperties: false },
);

// ---------------------------------------------------------------------------------------
// Types: the schema's, with keys camelCased (label maps and class weights keep their keys).

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type CamelDeep<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? string extends keyof T
      ? T
      : { -readonly [K in keyof T as K extends string ? Camel<K> : K]-?: CamelDeep<Exclude<T[K], undefined>> }
    : T;

type Raw = Static<typeof PARAMS_SCHEMA>;
export type IngestParams = CamelDeep<Raw["ingest"]>;
export type FeaturizeParams = CamelDeep<Raw["featurize"]>;
export type TrackingParams = CamelDeep<Raw["tracking"]>;
export type RegisterParams = CamelDeep<Raw["register"]>;
export type PromoteParams = CamelDeep<Raw["promote"]>;

export interface TrainParams {
  model: ModelKind;
  /** Hyperparameters of the chosen model, camelCased (C, maxIter, tol, alpha, ...), as written (absent = the model's default). */
  hyperparameters: Record<string, unknown>;
  /** The block of every model as written (snake_case), logged for reference. */
  blocks: Record<ModelKind, Record<string, unknown>>;
  cvFolds: number;
  seed: number;
  /** `polarity tune`'s settings (the space keeps the keys as written). */
  search: CamelDeep<Raw["train"]["search"]>;
}

export interface PipelineParams {
  ingest: IngestParams;
  /** The resolved preprocess config (every key; defaults from src/text). */
  preprocess: PreprocessConfig;
  featurize: FeaturizeParams;
  train: TrainParams;
  tracking: TrackingParams;
  register: RegisterParams;
  promote: PromoteParams;
  /** The file as read (snake_case), for logging every param to the tracked run. */
  raw: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// Reading and validating.

/** Larger params files are refused before parsing (a params.yaml is a few KB). */
const MAX_PARAMS_BYTES = 1024 * 1024;

export async function loadParams(path = "params.yaml"): Promise<PipelineParams> {
  let bytes: Buffer;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new InvalidParameterError(`${path} is a directory, not a params file (expected a YAML file such as params.yaml)`);
    if (s.size > MAX_PARAMS_BYTES) throw new InvalidParameterError(`${path} is ${s.size} bytes; a params file is at most ${MAX_PARAMS_BYTES} bytes`);
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`${path} not found (run from the project directory, or pass --params)`);
    if (code === "EACCES" || code === "EPERM") throw new InvalidParameterError(`${path} cannot be read: permission denied`);
    if (code === "EISDIR") throw new InvalidParameterError(`${path} is a directory, not a params file`);
    throw err;
  }
  return parseParams(parseParamsYaml(bytes, path), path);
}

/** YAML text → plain value; binary or malformed content is a one-line error that echoes nothing of the file but a short, printable excerpt. */
export function parseParamsYaml(bytes: Buffer | string, file = "params.yaml"): unknown {
  const text = typeof bytes === "string" ? bytes : bytes.toString("utf8");
  const nul = text.indexOf("\u0000");
  const bad = text.indexOf("\uFFFD");
  if (nul >= 0 || bad >= 0) {
    throw new InvalidParameterError(
      `${file} is not a YAML text file (${nul >= 0 ? "a NUL byte" : "invalid UTF-8"} at character ${Math.max(0, Math.min(...[nul, bad].filter((i) => i >= 0)))})`,
    );
  }
  try {
    return parseYaml(text);
  } catch (err) {
    const first = (err as Error).message.split("\n")[0];
    throw new InvalidParameterError(`${file}: malformed YAML: ${printable(first, 200)}`);
  }
}

/** Validates a parsed params document against PARAMS_SCHEMA, fills defaults and returns typed, camelCased params. */
export function parseParams(raw: unknown, file = "params.yaml"): PipelineParams {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new InvalidParameterError(`${file}: the top level must be a mapping of sections (ingest, preprocess, …), got ${show(raw)}`);
  const doc = dropNulls(structuredClone(raw), root) as Record<string, unknown>;
  const filled = Value.Default(PARAMS_SCHEMA, doc) as Raw;
  reportFirstError(filled, file);
  crossCheck(filled, file);
  const c = camelDeep(filled, root) as Omit<PipelineParams, "train" | "raw"> & { train: Record<string, unknown> };
  const model = filled.train.model;
  const blocks = Object.fromEntries(MODEL_KINDS.map((k) => [k, { ...(filled.train[k] as Record<string, unknown>) }])) as Record<
    ModelKind,
    Record<string, unknown>
  >;
  const train: TrainParams = {
    model,
    hyperparameters: camelDeep(blocks[model], MODEL_BLOCKS[model] as unknown as SchemaNode) as Record<string, unknown>,
    blocks,
    cvFolds: filled.train.cv_folds,
    seed: filled.train.seed,
    search: camelDeep(filled.train.search, SearchSchema as unknown as SchemaNode) as TrainParams["search"],
  };
  return { ...c, train, raw: raw as Record<string, unknown> };
}

/** Rules that span keys, which the schema cannot say. */
function crossCheck(p: Raw, file: string): void {
  const [lo, hi] = p.featurize.ngram_range;
  if (lo > hi) fail(file, "featurize.ngram_range", "[min_n, max_n] with 1 <= min_n <= max_n", p.featurize.ngram_range);
  const map = p.ingest.label_map;
  if (map !== null) {
    const kinds = new Set(Object.values(map).map((t) => typeof t));
    if (kinds.size > 1) fail(file, "ingest.label_map", "all-number or all-string labels (mixing them makes the class order ambiguous)", map);
  }
}

function fail(file: string, path: string, expected: string, got: unknown): never {
  throw new InvalidParameterError(`${file}: ${path} must be ${expected}, got ${show(got)}`);
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode | SchemaNode[];
  anyOf?: SchemaNode[];
  expect?: string;
  description?: string;
  default?: unknown;
  modelDefault?: unknown;
  additionalProperties?: boolean;
  [k: string]: unknown;
}

const root = PARAMS_SCHEMA as unknown as SchemaNode;

/** The schema node at a key path (objects only; null past a leaf). */
function schemaAt(path: readonly string[]): SchemaNode | null {
  let node: SchemaNode | undefined = root;
  for (const seg of path) {
    node = node?.properties?.[seg];
    if (!node) return null;
  }
  return node;
}

function reportFirstError(value: unknown, file: string): void {
  const errors = [...Value.Errors(PARAMS_SCHEMA, value)];
  if (errors.length === 0) return;
  // Unknown keys first: a typo explains the errors it causes elsewhere.
  const unknown = errors.find((e) => e.message === "Unexpected property");
  if (unknown) {
    const segs = unknown.path.split("/").slice(1).map(unescapePointer);
    const parent = schemaAt(segs.slice(0, -1));
    const known = Object.keys(parent?.properties ?? {});
    const where = segs.length > 1 ? segs.slice(0, -1).join(".") : "the top level";
    throw new InvalidParameterError(`${file}: unknown key '${printable(segs.join("."), 80)}' (known in ${where}: ${known.join(", ")})`);
  }
  const e = errors[0];
  const segs = e.path.split("/").slice(1).map(unescapePointer);
  // Report at the deepest key whose schema says what it expects (a union's members do not).
  let node: SchemaNode | undefined = root;
  let at = 0;
  let expect: string | undefined;
  let value2: unknown = value;
  let shown: unknown = value;
  for (let i = 0; i < segs.length && node; i++) {
    const seg: string = segs[i];
    const next: SchemaNode | undefined = node.properties?.[seg] ?? (Array.isArray(node.items) ? node.items[Number(seg)] : node.items);
    value2 = (value2 as Record<string, unknown> | undefined)?.[seg];
    node = next;
    if (node?.expect) {
      expect = node.expect;
      at = i + 1;
      shown = value2;
    }
  }
  if (expect === undefined) {
    shown = value2;
    at = segs.length;
  }
  const path = segs.slice(0, at).join(".") || "the top level";
  throw new InvalidParameterError(`${file}: ${path} must be ${expect ?? e.message.replace(/^Expected /, "").toLowerCase()}, got ${show(shown)}`);
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** An explicit null (an empty YAML key) means "the default" wherever null is not itself a value. */
function dropNulls(value: unknown, schema: SchemaNode): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value) || !schema.properties) return value;
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const sub = schema.properties[k];
    if (!sub) continue;
    if (v === null && !acceptsNull(sub)) delete obj[k];
    else obj[k] = dropNulls(v, sub);
  }
  return obj;
}

function acceptsNull(s: SchemaNode): boolean {
  return s.type === "null" || (s.anyOf ?? []).some(acceptsNull);
}

const toCamel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Renames the keys of the schema's objects to camelCase (records such as label maps keep theirs). */
function camelDeep(value: unknown, schema: SchemaNode | undefined): unknown {
  if (!schema?.properties || value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[toCamel(k)] = camelDeep(v, schema.properties[k]);
  return out;
}

function printable(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\uFFFD]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A value as the user wrote it in YAML: NaN and infinities by name (JSON would print null). */
function show(v: unknown): string {
  if (typeof v === "number") return Number.isNaN(v) ? "NaN (.nan)" : v === Infinity ? "Infinity (.inf)" : v === -Infinity ? "-Infinity (-.inf)" : String(v);
  if (typeof v === "string") return `'${printable(v, 80)}'`;
  if (v === undefined) return "nothing";
  const json = JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x));
  return printable(json ?? String(v), 120);
}

// ---------------------------------------------------------------------------------------
// Docs and logging.

/** The params table of docs/pipeline.md, generated from the schema (test/stages/params.test.ts checks the doc). */
export function renderParamsTable(): string {
  const rows: string[] = ["| key | default | meaning |", "|---|---|---|"];
  const cell = (v: unknown): string => {
    if (v === undefined) return "(the model's)";
    if (Array.isArray(v) && v.length > 0 && typeof v[0] === "string") return `${v.length} sentences`;
    if (typeof v === "number" && v >= 1024 * 1024 && v % (1024 * 1024) === 0) return `\`${v}\` (${v / (1024 * 1024)} MiB)`;
    return `\`${JSON.stringify(v).replace(/,/g, ", ")}\``;
  };
  const walk = (node: SchemaNode, path: string): void => {
    for (const [k, sub] of Object.entries(node.properties ?? {})) {
      const key = path ? `${path}.${k}` : k;
      if (sub.properties) {
        walk(sub, key);
        continue;
      }
      const expect = sub.expect ? ` (${sub.expect})` : "";
      rows.push(
        `| \`${key}\` | ${cell("default" in sub ? sub.default : sub.modelDefault)} | ${String(sub.description ?? "").replace(/\|/g, "\\|")}${expect} |`,
      );
    }
  };
  walk(root, "");
  return rows.join("\n") + "\n";
}

/** Flattens nested params to MLflow param keys: {featurize: {ngram_range: [1, 2]}} → {"featurize.ngram_range": "[1,2]"}. */
export function flattenParams(obj: Record<string, unknown>, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0)
      Object.assign(out, flattenParams(v as Record<string, unknown>, key));
    else out[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return out;
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
