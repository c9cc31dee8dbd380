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
  const [{ loadUciSentences }, { loadSource }, { cleanLabelledData }] = await Promise.all([
    import("../data/builtin.js"),
    import("../data/sources.js"),
    import("../data/clean.js"),
  ]);
  if (dataset === "uci-sentences") return loadUciSentences();
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
