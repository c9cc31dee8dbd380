import { join } from "node:path";
import { existsSync } from "node:fs";
import { formatDatasetCsv, readDatasetCsv, readJsonFile } from "../data/files.js";
import { DataError } from "../util/errors.js";
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from "../util/atomic-write.js";
import { createPreprocessor, resolvePreprocessConfig, type PreprocessConfig } from "../text/preprocess.js";
import type { StageContext } from "./context.js";
import { LAYOUT, projectPath } from "./layout.js";

/**
 * Stage 2: data/raw → data/interim/{train,test}.csv (the `text` column holds the tokens of
 * the shared preprocess() joined by single spaces; tokens never contain spaces) and
 * data/interim/preprocess.json, the resolved config, which travels on into the model bundle
 * so serving preprocesses exactly as training did.
 */
export async function runPreprocessStage(ctx: StageContext): Promise<{ config: Readonly<PreprocessConfig>; emptyTrain: number; emptyTest: number }> {
  const config = resolvePreprocessConfig(ctx.params.preprocess);
  const tokenize = createPreprocessor(config);
  const out: Record<"train" | "test", { texts: string[]; labels: (string | number)[]; empty: number }> = {
    train: { texts: [], labels: [], empty: 0 },
    test: { texts: [], labels: [], empty: 0 },
  };
  let tokenCount = 0;
  for (const split of ["train", "test"] as const) {
    const data = await readDatasetCsv(projectPath(ctx.dir, split === "train" ? "rawTrain" : "rawTest"));
    const n = data.texts.length;
    const texts: string[] = new Array(n);
    const step = Math.max(1, Math.ceil(n / 20));
    for (let i = 0; i < n; i++) {
      const tokens = tokenize(data.texts[i]);
      if (tokens.length === 0) out[split].empty++;
      tokenCount += tokens.length;
      texts[i] = tokens.join(" ");
      if ((i + 1) % step === 0 || i + 1 === n) ctx.reporter.progress(`preprocessing ${split}`, i + 1, n);
    }
    out[split].texts = texts;
    out[split].labels = data.labels;
  }
  await writeDirAtomic(projectPath(ctx.dir, "interimDir"), async (tmp) => {
    await writeFileAtomic(join(tmp, "train.csv"), formatDatasetCsv(out.train.texts, out.train.labels));
    await writeFileAtomic(join(tmp, "test.csv"), formatDatasetCsv(out.test.texts, out.test.labels));
    await writeJsonAtomic(join(tmp, "preprocess.json"), { format: "polarity.preprocess-config", version: 1, config });
    // What the class ids mean travels on with the data (ingest → here → featurize → the bundle).
    await writeJsonAtomic(join(tmp, "class_names.json"), {
      format: "polarity.class-names",
      version: 1,
      names: await readClassNames(projectPath(ctx.dir, "rawClassNames")),
    });
  });
  const total = out.train.texts.length + out.test.texts.length;
  ctx.reporter.log(
    `preprocessed ${out.train.texts.length} train + ${out.test.texts.length} test texts → ${tokenCount} tokens (${(tokenCount / Math.max(1, total)).toFixed(1)} per text); ` +
      `empty after preprocessing: ${out.train.empty} train, ${out.test.empty} test; wrote ${LAYOUT.interimDir}/`,
  );
  return { config, emptyTrain: out.train.empty, emptyTest: out.test.empty };
}

/** data/{raw,interim}/class_names.json: class id → name, or null (labels that name themselves, or a tree from before the file existed). */
export async function readClassNames(path: string): Promise<Record<string, string> | null> {
  if (!existsSync(path)) return null;
  const j = await readJsonFile<{ format?: unknown; names?: unknown }>(path);
  if (j.format !== "polarity.class-names") throw new DataError(`${path}: not a polarity class-names file; rerun ingest`);
  const names = j.names;
  if (names === null || names === undefined) return null;
  if (typeof names !== "object" || Array.isArray(names) || !Object.values(names).every((n) => typeof n === "string"))
    throw new DataError(`${path}: names must be an object {class: name}; rerun ingest`);
  return names as Record<string, string>;
}
