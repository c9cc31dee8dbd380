import { loadLabelledTexts } from "./datasets.js";
import type { Command } from "commander";
import type { ClassifierKind } from "../models/serialization.js";
import { formatTable } from "../pipeline/metrics-files.js";
import { createReporter } from "../util/progress.js";
import { InvalidParameterError } from "../util/errors.js";
import { requireFinite, requireInteger, requireOneOf } from "../util/validate.js";
import { action } from "./run-command.js";

interface CvFlags {
  dataset: string;
  features: string;
  ngram: string;
  model: string;
  folds: string;
  seed: string;
  C?: string;
  alpha?: string;
  maxFeatures?: string;
  minDf?: string;
  sublinearTf?: boolean;
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

export function register(program: Command): void {
  program
    .command("cv")
    .description("Stratified k-fold cross-validation of a text model (vectorizer fitted inside each fold)")
    .option("--dataset <name|path|url>", "uci-sentences, or a CSV/TSV/JSON/JSONL file or URL", "uci-sentences")
    .option("--features <kind>", "bow | tfidf", "tfidf")
    .option("--ngram <min,max>", "word n-gram range", "1,2")
    .option("--model <kind>", "logreg | nb | svm", "logreg")
    .option("--folds <k>", "number of folds", "10")
    .option("--seed <n>", "shuffle seed for the folds", "42")
    .option("--C <c>", "inverse regularisation (logreg, svm); default 1")
    .option("--alpha <a>", "additive smoothing (nb); default 1")
    .option("--max-features <n>", "keep the n most frequent terms")
    .option("--min-df <n>", "ignore terms in fewer documents (count >= 1, or a proportion < 1)")
    .option("--sublinear-tf", "use 1 + ln(tf) (tfidf)")
    .option("--text-column <name>", "text column of a file dataset", "text")
    .option("--label-column <name>", "label column of a file dataset", "label")
    .option("--json", "print the result as JSON")
    .action(
      action(async (o: CvFlags) => {
        const features = requireOneOf("--features", o.features, ["bow", "tfidf"] as const);
        const kind = requireOneOf("--model", o.model, ["logreg", "nb", "svm"] as const) as ClassifierKind;
        const folds = requireInteger("--folds", numberFlag("--folds", o.folds), 2, 1000);
        const seed = requireInteger("--seed", numberFlag("--seed", o.seed), 0);
        const ngramRange = parseNgram(o.ngram);
        const model: { kind: ClassifierKind; [k: string]: unknown } = { kind };
        if (o.C !== undefined) {
          if (kind === "nb") throw new InvalidParameterError("--C applies to logreg and svm, not nb (use --alpha)");
          model.C = requireFinite("--C", numberFlag("--C", o.C));
        }
        if (o.alpha !== undefined) {
          if (kind !== "nb") throw new InvalidParameterError("--alpha applies to nb only");
          model.alpha = requireFinite("--alpha", numberFlag("--alpha", o.alpha));
        }
        const featureOptions: Record<string, unknown> = { kind: features, ngramRange };
        if (o.maxFeatures !== undefined) featureOptions.maxFeatures = requireInteger("--max-features", numberFlag("--max-features", o.maxFeatures), 1);
        if (o.minDf !== undefined) featureOptions.minDf = requireFinite("--min-df", numberFlag("--min-df", o.minDf));
        if (o.sublinearTf) featureOptions.sublinearTf = true;

        const reporter = createReporter({ quiet: o.json, stream: process.stderr });
        const data = await loadLabelledTexts(o.dataset, o.textColumn, o.labelColumn);
        reporter.log(
          `cv: ${data.texts.length} texts from ${o.dataset}; ${features} ${ngramRange.join("-")}-grams + ${kind}; ${folds} stratified folds (seed ${seed})`,
        );
        const t0 = performance.now();
        const { crossValidateTexts } = await import("../evaluation/cross-validate-text.js");
        const result = await crossValidateTexts(
          data.texts,
          data.labels,
          { features: featureOptions as never, model },
          {
            folds,
            seed,
            onFold: (f) => reporter.progress("folds", f + 1, folds),
          },
        );
        reporter.close();
        const seconds = (performance.now() - t0) / 1000;
        if (o.json) {
          console.log(
            JSON.stringify(
              { dataset: o.dataset, n: data.texts.length, features: featureOptions, model, folds: result.folds, mean: result.mean, sd: result.sd, seconds },
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
        process.stdout.write(formatTable(["fold", ...METRICS], rows));
        process.stdout.write(`\naccuracy ${cell(result.mean.accuracy)} ± ${cell(result.sd.accuracy)} over ${folds} folds (${seconds.toFixed(1)} s)\n`);
      }),
    );
}
