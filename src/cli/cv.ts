import { existsSync } from "node:fs";
import type { Command } from "commander";
import { parse as parseYamlScalar } from "yaml";
import type { HeldOutMetrics } from "../evaluation/held-out.js";
import type { FeatureOptions } from "../features/factory.js";
import { DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG, resolvePreprocessConfig, type PreprocessConfig } from "../text/preprocess.js";
import { loadLabelledTexts, scoreOnTestSet } from "./datasets.js";
import type { ClassifierKind } from "../models/serialization.js";
import { formatTable } from "../pipeline/metrics-files.js";
import { createReporter } from "../util/progress.js";
import { InvalidParameterError } from "../util/errors.js";
import { requireFinite, requireInteger, requireOneOf } from "../util/validate.js";
import { action } from "./run-command.js";

interface CvFlags {
  dataset: string;
  features?: string;
  ngram?: string;
  model?: string;
  folds: string;
  seed: string;
  C?: string;
  alpha?: string;
  maxFeatures?: string;
  minDf?: string;
  sublinearTf?: boolean;
  preprocess?: string;
  prep: string[];
  lexicon?: string;
  params: string;
  test?: string;
  textColumn: string;
  labelColumn: string;
  json?: boolean;
}

const METRICS = ["accuracy", "precision", "recall", "f1", "rocAuc", "logLoss", "fitSeconds"] as const;

export function parseNgram(value: string): [number, number] {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.length < 1 || parts.length > 2 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidParameterError(`--ngram must be 'min,max' or 'n' (e.g. 1,2), got '${value}'`);
  }
  const lo = Number(parts[0]);
  const hi = Number(parts[1] ?? parts[0]);
  if (lo < 1 || hi < lo) throw new InvalidParameterError(`--ngram: need 1 <= min <= max, got '${value}'`);
  return [lo, hi];
}

/** A numeric flag as typed: a clear error that echoes the text ('ten', '') instead of NaN. */
function numberFlag(flag: string, raw: string): number {
  const v = raw.trim() === "" ? Number.NaN : Number(raw);
  if (!Number.isFinite(v)) throw new InvalidParameterError(`${flag} must be a number, got '${raw}'`);
  return v;
}

const MODELS = ["logreg", "nb", "svm", "nbsvm", "rf", "gbdt"] as const;
const C_MODELS: readonly string[] = ["logreg", "svm", "nbsvm"];
const ALPHA_MODELS: readonly string[] = ["nb", "nbsvm"];

/** What cv starts from: params.yaml's preprocess, featurize and train sections, or the built-in defaults. */
interface CvDefaults {
  from: string;
  preprocess: Readonly<PreprocessConfig>;
  features: FeatureOptions;
  model: ClassifierKind;
  hyperparameters: Record<string, unknown>;
}

async function cvDefaults(paramsPath: string): Promise<CvDefaults> {
  const builtin: CvDefaults = {
    from: "built-in defaults",
    preprocess: DEFAULT_PREPROCESS_CONFIG,
    features: { kind: "tfidf" },
    model: "logreg",
    hyperparameters: {},
  };
  if (paramsPath === "none") return builtin;
  const explicit = paramsPath !== "params.yaml";
  if (!explicit && !existsSync(paramsPath)) return builtin;
  const [{ loadParams }, { featureOptionsFromParams }] = await Promise.all([import("../stages/params.js"), import("../stages/featurize.js")]);
  const p = await loadParams(paramsPath);
  return {
    from: paramsPath,
    preprocess: p.preprocess,
    features: featureOptionsFromParams(p.featurize),
    model: p.train.model,
    hyperparameters: p.train.hyperparameters,
  };
}

/** `--prep key=value` (snake_case keys of params.yaml's preprocess section; values as YAML scalars) over a base config. */
export function applyPrepOverrides(base: Readonly<PreprocessConfig>, overrides: readonly string[]): Readonly<PreprocessConfig> {
  const out: Record<string, unknown> = { ...base };
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new InvalidParameterError(`--prep must be key=value (e.g. remove_stopwords=false), got '${o}'`);
    const key = o.slice(0, eq).trim();
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(camel in DEFAULT_PREPROCESS_CONFIG)) {
      const known = Object.keys(DEFAULT_PREPROCESS_CONFIG).map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
      throw new InvalidParameterError(`--prep: unknown preprocess option '${key}' (known: ${known.join(", ")})`);
    }
    out[camel] = parseYamlScalar(o.slice(eq + 1).trim());
  }
  try {
    return resolvePreprocessConfig(out as Partial<PreprocessConfig>);
  } catch (err) {
    throw new InvalidParameterError(`--prep: ${(err as Error).message.replace(/^preprocess config: /, "")}`);
  }
}

function describePreprocessing(c: Readonly<PreprocessConfig>): string {
  const same = (ref: Readonly<PreprocessConfig>) => Object.keys(ref).every((k) => ref[k as keyof PreprocessConfig] === c[k as keyof PreprocessConfig]);
  if (same(DEFAULT_PREPROCESS_CONFIG)) return "default preprocessing";
  if (same(LIGHT_PREPROCESS_CONFIG)) return "light preprocessing";
  return `preprocessing ${c.removeStopwords ? "-stopwords " : ""}${c.wordForm}${c.negationScope ? " +negation-scope" : ""}`;
}

export function register(program: Command): void {
  program
    .command("cv")
    .description(
      "Stratified k-fold cross-validation of a text model (vectorizer fitted inside each fold); starts from params.yaml's preprocess, featurize and train sections when the file exists",
    )
    .option("--dataset <name|path|url>", "uci-sentences, or a CSV/TSV/JSON/JSONL file or URL", "uci-sentences")
    .option("--params <path|none>", "take the defaults below from this params file ('none': built-in defaults)", "params.yaml")
    .option(
      "--preprocess <light|default|params>",
      "preprocessing: words as written, stop words + Porter stems + negation scope, or params.yaml's (default: params)",
    )
    .option(
      "--prep <key=value>",
      "override one preprocess option (snake_case as in params.yaml, e.g. word_form=none); repeatable",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option("--features <kind>", "bow | tfidf (default: featurize.kind, else tfidf)")
    .option("--ngram <min,max>", "word n-gram range (default: featurize.ngram_range, else 1,2)")
    .option("--lexicon <kind>", "none | afinn | vader: the lexicon block (default: featurize.lexicon, else none)")
    .option("--model <kind>", `${MODELS.join(" | ")} (default: train.model, else logreg)`)
    .option("--folds <k>", "number of folds", "10")
    .option("--seed <n>", "shuffle seed for the folds", "42")
    .option("--C <c>", "inverse regularisation (logreg, svm, nbsvm)")
    .option("--alpha <a>", "additive smoothing (nb, nbsvm)")
    .option("--max-features <n>", "keep the n most frequent terms")
    .option("--min-df <n>", "ignore terms in fewer documents (count >= 1, or a proportion < 1)")
    .option("--sublinear-tf", "use 1 + ln(tf) (tfidf)")
    .option("--test <path|url>", "also fit on the whole dataset and score that fit on this separately supplied test set (same columns)")
    .option("--text-column <name>", "text column of a file dataset", "text")
    .option("--label-column <name>", "label column of a file dataset", "label")
    .option("--json", "print the result as JSON")
    .action(
      action(async (o: CvFlags) => {
        const folds = requireInteger("--folds", numberFlag("--folds", o.folds), 2, 1000);
        const seed = requireInteger("--seed", numberFlag("--seed", o.seed), 0);
        const defaults = await cvDefaults(o.params);
        const namedPrep = o.preprocess === undefined ? "params" : requireOneOf("--preprocess", o.preprocess, ["light", "default", "params"] as const);
        const basePrep = namedPrep === "light" ? LIGHT_PREPROCESS_CONFIG : namedPrep === "default" ? DEFAULT_PREPROCESS_CONFIG : defaults.preprocess;
        const preprocess = applyPrepOverrides(basePrep, o.prep);

        const features = o.features === undefined ? defaults.features.kind : requireOneOf("--features", o.features, ["bow", "tfidf"] as const);
        const kind = (o.model === undefined ? defaults.model : requireOneOf("--model", o.model, MODELS)) as ClassifierKind;
        const ngramRange = o.ngram === undefined ? (defaults.features.ngramRange ?? [1, 2]) : parseNgram(o.ngram);
        // params.yaml's hyperparameters belong to its model: another --model starts from that model's own defaults.
        const model: { kind: ClassifierKind; [k: string]: unknown } = { kind, ...(kind === defaults.model ? defaults.hyperparameters : {}) };
        if (o.C !== undefined) {
          if (!C_MODELS.includes(kind))
            throw new InvalidParameterError(`--C applies to logreg and svm (and nbsvm), not ${kind}${kind === "nb" ? " (use --alpha)" : ""}`);
          model.C = requireFinite("--C", numberFlag("--C", o.C));
        }
        if (o.alpha !== undefined) {
          if (!ALPHA_MODELS.includes(kind)) throw new InvalidParameterError("--alpha applies to nb (and nbsvm) only");
          model.alpha = requireFinite("--alpha", numberFlag("--alpha", o.alpha));
        }
        const { kind: _k, sublinearTf: paramsSublinear, ngramRange: _n, ...restFeatures } = defaults.features;
        const featureOptions: Record<string, unknown> = { ...restFeatures, kind: features, ngramRange };
        if (features === "tfidf" && paramsSublinear !== undefined) featureOptions.sublinearTf = paramsSublinear;
        if (o.maxFeatures !== undefined) featureOptions.maxFeatures = requireInteger("--max-features", numberFlag("--max-features", o.maxFeatures), 1);
        if (o.minDf !== undefined) featureOptions.minDf = requireFinite("--min-df", numberFlag("--min-df", o.minDf));
        if (o.sublinearTf) {
          if (features !== "tfidf") throw new InvalidParameterError("--sublinear-tf applies to --features tfidf only");
          featureOptions.sublinearTf = true;
        }
        if (o.lexicon !== undefined) {
          const lexicon = requireOneOf("--lexicon", o.lexicon, ["none", "afinn", "vader"] as const);
          if (lexicon === "none") delete featureOptions.lexicon;
          else featureOptions.lexicon = lexicon;
        }

        const reporter = createReporter({ quiet: o.json, stream: process.stderr });
        const data = await loadLabelledTexts(o.dataset, o.textColumn, o.labelColumn);
        const testData = o.test === undefined ? null : await loadLabelledTexts(o.test, o.textColumn, o.labelColumn, "--test");
        const lexiconNote = featureOptions.lexicon ? ` + ${String(featureOptions.lexicon)} lexicon` : "";
        reporter.log(
          `cv: ${data.texts.length} texts from ${o.dataset}; ${describePreprocessing(preprocess)}, ${features} ${ngramRange.join("-")}-grams${lexiconNote} + ${kind}; ` +
            `${folds} stratified folds (seed ${seed}); defaults from ${defaults.from}`,
        );
        const t0 = performance.now();
        const { crossValidateTexts } = await import("../evaluation/cross-validate-text.js");
        const train = { preprocess, features: featureOptions as unknown as FeatureOptions, model };
        const result = await crossValidateTexts(data.texts, data.labels, train, {
          folds,
          seed,
          onFold: (f) => reporter.progress("folds", f + 1, folds),
        });
        let test: HeldOutMetrics | null = null;
        if (testData !== null) {
          reporter.log(`test: fitting on all ${data.texts.length} texts, scoring ${testData.texts.length} texts from ${o.test}`);
          test = await scoreOnTestSet(data, testData, train, { dataset: o.dataset, test: o.test as string });
        }
        reporter.close();
        const seconds = (performance.now() - t0) / 1000;
        if (o.json) {
          console.log(
            JSON.stringify(
              {
                dataset: o.dataset,
                n: data.texts.length,
                paramsFrom: defaults.from,
                preprocess,
                features: featureOptions,
                model,
                folds: result.folds,
                mean: result.mean,
                sd: result.sd,
                ...(test !== null ? { test: { source: o.test, ...test } } : {}),
                seconds,
              },
              null,
              2,
            ),
          );
          return;
        }
        const cell = (v: number | null | undefined): string => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(4) : "-");
        const rows = result.folds.map((f, i) => [String(i + 1), ...METRICS.map((m) => cell(f[m]))]);
        rows.push(["mean", ...METRICS.map((m) => cell(result.mean[m]))]);
        rows.push(["sd", ...METRICS.map((m) => cell(result.sd[m]))]);
        if (test !== null)
          rows.push(["test", cell(test.accuracy), cell(test.precision), cell(test.recall), cell(test.f1), cell(test.roc_auc), cell(test.log_loss), "-"]);
        process.stdout.write(formatTable(["fold", ...METRICS], rows));
        process.stdout.write(`\naccuracy ${cell(result.mean.accuracy)} ± ${cell(result.sd.accuracy)} over ${folds} folds (${seconds.toFixed(1)} s)\n`);
        if (test !== null)
          process.stdout.write(`test accuracy ${cell(test.accuracy)} on ${test.n_test} texts from ${o.test} (fit on all ${data.texts.length})\n`);
      }),
    );
}
