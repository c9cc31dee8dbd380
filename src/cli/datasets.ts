import type { HeldOutMetrics } from "../evaluation/held-out.js";
import type { TrainOptions } from "../models/sentiment-model.js";
import type { Label } from "../util/labels.js";

/**
 * A labelled data set named on the command line (`cv`, `tune`, `compare`): `uci-sentences`, or
 * a file or URL read with the same source defaults (format sniffing, size cap, timeout) as the
 * pipeline's ingest stage; a missing column names the flag that picks it, and errors name
 * `flag` (the option the path came from) when it is not --dataset.
 */
export async function loadLabelledTexts(
  dataset: string,
  textColumn: string,
  labelColumn: string,
  flag = "--dataset",
): Promise<{ texts: string[]; labels: Label[] }> {
  // The built-in set without the file readers' modules (`tune` hands the texts to its workers as soon as it has them).
  if (dataset === "uci-sentences") return (await import("../data/builtin.js")).loadUciSentences();
  const [{ loadSource }, { cleanLabelledData }] = await Promise.all([import("../data/sources.js"), import("../data/clean.js")]);
  // The same source defaults (format sniffing, size cap, timeout) as the pipeline's ingest stage.
  const { parseParams } = await import("../stages/params.js");
  const loaded = await loadSource({ ...parseParams({}).ingest, source: dataset, baseDir: process.cwd() });
  const clean = cleanLabelledData(loaded.table, {
    textColumn,
    labelColumn,
    labelMap: null,
    where: flag === "--dataset" ? dataset : `${flag} ${dataset}`,
    columnFlags: { text: "--text-column", label: "--label-column" },
  });
  return { texts: clean.texts, labels: clean.labels };
}

/**
 * `--test <path|url>` of `cv`, `tune` and `compare`: fits `train` on the whole data set and
 * scores that fit on a separately supplied test set. A test label the data set lacks is an
 * error naming both.
 */
export async function scoreOnTestSet(
  data: { texts: readonly string[]; labels: readonly Label[] },
  test: { texts: readonly string[]; labels: readonly Label[] },
  train: TrainOptions,
  names: { dataset: string; test: string },
): Promise<HeldOutMetrics> {
  const [{ SentimentModel }, { evaluateModelOn }, { InvalidParameterError }] = await Promise.all([
    import("../models/sentiment-model.js"),
    import("../evaluation/held-out.js"),
    import("../util/errors.js"),
  ]);
  const final = await SentimentModel.trainAsync(data.texts, data.labels, train);
  const known = new Set(final.classes.map(String));
  const unseen = [...new Set(test.labels.map(String))].filter((l) => !known.has(l));
  if (unseen.length > 0)
    throw new InvalidParameterError(
      `--test ${names.test}: labels ${unseen.map((l) => JSON.stringify(l)).join(", ")} are not in ${names.dataset} (classes ${[...known].join(", ")})`,
    );
  return evaluateModelOn(final, test.texts, test.labels).metrics;
}
