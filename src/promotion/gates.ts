import type { Label } from "../util/labels.js";
import type { Prediction } from "../models/sentiment-model.js";
import type { HeldOutMetrics } from "../evaluation/held-out.js";
import type { PromoteParams } from "../stages/params.js";

/**
 * The quality gates a model version must pass before it is promoted. Pure: the caller
 * supplies the candidate (something that predicts), its held-out metrics and, when there is
 * one, the current production version's metrics on the SAME test set.
 *
 * Gates (each reported, passed or not, so a refusal names every failure):
 * - min_accuracy / min_f1 / min_roc_auc: held-out metrics against params thresholds;
 * - no_regression: accuracy, F1 and ROC AUC may not drop more than max_regression below
 *   the current production version's (skipped when nothing is in production yet);
 * - signature: a batch of strings (including empty, HTML, emoji and very long texts) gives
 *   exactly one prediction per input, each with a known label and a probability per class
 *   that are finite, in [0, 1] and sum to 1;
 * - behaviour_positive / behaviour_negative: clear positive / negative sentences get the
 *   positive / negative label (skipped, with the reason, when the classes have no obvious
 *   positive/negative pair and none is configured — e.g. emotion labels);
 * - invariance_filler: appending neutral filler ("The weather is mild.") never flips a label.
 */

export interface GateResult {
  name: string;
  passed: boolean;
  /** Not applicable here (counts as passed), with the reason in `detail`. */
  skipped: boolean;
  detail: string;
}

export interface Predictor {
  readonly classes: readonly Label[];
  predict(texts: string[]): Prediction[];
}

export interface GateInput {
  candidate: Predictor;
  candidateMetrics: HeldOutMetrics;
  /** The current production version's metrics on the same test set; null when none. */
  production: { version: string; metrics: HeldOutMetrics } | null;
  /** Why `production` is null although a production version exists (shown in the skipped no_regression gate). */
  productionNote?: string;
  params: PromoteParams;
}

const fmt = (x: number | null): string => (x === null ? "n/a" : x.toFixed(4));

/** The positive and negative class of a binary sentiment model, or null when there is no obvious pair. */
export function sentimentPolarity(
  classes: readonly Label[],
  params: Pick<PromoteParams, "positiveLabel" | "negativeLabel">,
): { positive: Label; negative: Label } | null {
  if (params.positiveLabel !== null && params.negativeLabel !== null) return { positive: params.positiveLabel, negative: params.negativeLabel };
  const find = (candidates: Label[]): Label | undefined =>
    classes.find((c) => candidates.some((k) => (typeof k === "string" && typeof c === "string" ? k === c.toLowerCase() : k === c)));
  const positive = params.positiveLabel ?? find([1, "1", "positive", "pos"]);
  const negative = params.negativeLabel ?? find([0, "0", "negative", "neg", -1, "-1"]);
  return positive !== undefined && negative !== undefined && positive !== negative ? { positive, negative } : null;
}

function threshold(name: string, value: number | null, min: number, label: string): GateResult {
  if (value === null) return { name, passed: false, skipped: false, detail: `${label} is not defined for this model/test set (need ≥ ${fmt(min)})` };
  const passed = value >= min;
  return { name, passed, skipped: false, detail: `${label} ${fmt(value)} ${passed ? "≥" : "<"} ${fmt(min)}` };
}

/** Inputs that probe the serving signature: ordinary, empty, markup, emoji, non-Latin and very long texts. */
export const SIGNATURE_PROBES: readonly string[] = [
  "I love this!",
  "",
  "   ",
  "<b>Great</b> value &amp; fast<br />shipping",
  "😀😀 👍",
  "Не очень хорошо",
  "bad ".repeat(2000),
];

export function checkSignature(model: Predictor, texts: readonly string[]): GateResult {
  const name = "signature";
  let preds: Prediction[];
  try {
    preds = model.predict([...texts]);
  } catch (err) {
    return { name, passed: false, skipped: false, detail: `predicting a batch of ${texts.length} strings threw: ${(err as Error).message}` };
  }
  if (!Array.isArray(preds) || preds.length !== texts.length)
    return { name, passed: false, skipped: false, detail: `a batch of ${texts.length} strings gave ${Array.isArray(preds) ? preds.length : "no"} predictions` };
  const keys = model.classes.map(String);
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i];
    if (!model.classes.includes(p.label))
      return {
        name,
        passed: false,
        skipped: false,
        detail: `prediction ${i} has label ${JSON.stringify(p.label)}, not one of the classes ${JSON.stringify(model.classes)}`,
      };
    const probs = keys.map((k) => p.probabilities[k]);
    if (probs.some((v) => typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1))
      return { name, passed: false, skipped: false, detail: `prediction ${i} lacks a probability in [0, 1] for every class ${JSON.stringify(keys)}` };
    const sum = probs.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-6) return { name, passed: false, skipped: false, detail: `prediction ${i}'s probabilities sum to ${sum}, not 1` };
  }
  return {
    name,
    passed: true,
    skipped: false,
    detail: `${texts.length} strings in, ${preds.length} predictions out, each with ${keys.length} class probabilities summing to 1`,
  };
}

function behaviour(name: string, model: Predictor, texts: readonly string[], expected: Label, what: string): GateResult {
  if (texts.length === 0) return { name, passed: true, skipped: true, detail: `no ${what} examples configured` };
  const preds = model.predict([...texts]);
  const wrong = texts.flatMap((t, i) => (preds[i].label !== expected ? [`${JSON.stringify(t)} → ${JSON.stringify(preds[i].label)}`] : []));
  return wrong.length === 0
    ? { name, passed: true, skipped: false, detail: `${texts.length}/${texts.length} ${what} examples classified ${JSON.stringify(expected)}` }
    : { name, passed: false, skipped: false, detail: `${wrong.length}/${texts.length} ${what} examples misclassified: ${wrong.join("; ")}` };
}

export function checkInvariance(model: Predictor, texts: readonly string[], filler: string): GateResult {
  const name = "invariance_filler";
  if (texts.length === 0) return { name, passed: true, skipped: true, detail: "no invariance examples" };
  const base = model.predict([...texts]);
  const padded = model.predict(texts.map((t) => `${t} ${filler}`));
  const flips = texts.flatMap((t, i) =>
    base[i].label !== padded[i].label ? [`${JSON.stringify(t)}: ${JSON.stringify(base[i].label)} → ${JSON.stringify(padded[i].label)}`] : [],
  );
  return flips.length === 0
    ? { name, passed: true, skipped: false, detail: `appending ${JSON.stringify(filler)} kept the label of all ${texts.length} examples` }
    : { name, passed: false, skipped: false, detail: `appending ${JSON.stringify(filler)} flipped ${flips.length}/${texts.length}: ${flips.join("; ")}` };
}

export function runGates(input: GateInput): GateResult[] {
  const { candidate, candidateMetrics: m, production, params: p } = input;
  const results: GateResult[] = [
    threshold("min_accuracy", m.accuracy, p.minAccuracy, "accuracy"),
    threshold("min_f1", m.f1, p.minF1, `F1 (${m.average})`),
    threshold("min_roc_auc", m.roc_auc, p.minRocAuc, "ROC AUC"),
  ];
  if (production) {
    const drops: string[] = [];
    const compared: string[] = [];
    for (const key of ["accuracy", "f1", "roc_auc"] as const) {
      const now = m[key];
      const before = production.metrics[key];
      if (now === null || before === null) continue;
      compared.push(`${key} ${fmt(now)} vs ${fmt(before)}`);
      if (now < before - p.maxRegression) drops.push(`${key} ${fmt(now)} < ${fmt(before)} − ${p.maxRegression}`);
    }
    results.push(
      drops.length === 0
        ? {
            name: "no_regression",
            passed: true,
            skipped: false,
            detail: `vs production v${production.version} on the same test set: ${compared.join(", ")} (tolerance ${p.maxRegression})`,
          }
        : { name: "no_regression", passed: false, skipped: false, detail: `worse than production v${production.version}: ${drops.join(", ")}` },
    );
  } else {
    results.push({ name: "no_regression", passed: true, skipped: true, detail: input.productionNote ?? "no version in production yet" });
  }
  const probes = [...SIGNATURE_PROBES, ...p.positiveExamples, ...p.negativeExamples];
  results.push(checkSignature(candidate, probes));
  const polarity = sentimentPolarity(candidate.classes, p);
  if (polarity) {
    results.push(behaviour("behaviour_positive", candidate, p.positiveExamples, polarity.positive, "positive"));
    results.push(behaviour("behaviour_negative", candidate, p.negativeExamples, polarity.negative, "negative"));
  } else {
    const why = `classes ${JSON.stringify(candidate.classes)} have no obvious positive/negative pair (set promote.positive_label and promote.negative_label to enable)`;
    results.push({ name: "behaviour_positive", passed: true, skipped: true, detail: why });
    results.push({ name: "behaviour_negative", passed: true, skipped: true, detail: why });
  }
  results.push(checkInvariance(candidate, [...p.invarianceExamples, ...p.positiveExamples, ...p.negativeExamples], p.filler));
  return results;
}
