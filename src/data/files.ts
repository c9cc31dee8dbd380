import { readFile } from "node:fs/promises";
import Papa from "papaparse";
import { DataError, NotFoundError } from "../util/errors.js";
import type { Label } from "../util/labels.js";
import { numericIfAll } from "./clean.js";
import { parseCsvColumns } from "./csv-columns.js";

/**
 * Files the pipeline stages exchange, written atomically (src/util/atomic-write.ts) so a crash
 * or a failing stage never leaves a half-written output behind.
 *
 * Labelled-text CSV (data/raw/*.csv, data/interim/*.csv): UTF-8, header `text,label`,
 * RFC 4180 quoting, "\n" line ends. Labels that are all integer literals read back as numbers.
 */

export function formatDatasetCsv(texts: readonly string[], labels: readonly Label[]): string {
  const rows: Array<[string, Label]> = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) rows[i] = [texts[i], labels[i]];
  return Papa.unparse({ fields: ["text", "label"], data: rows }, { newline: "\n", quotes: false }) + "\n";
}

export interface LabelledTexts {
  texts: string[];
  labels: Label[];
}

export async function readDatasetCsv(path: string): Promise<LabelledTexts> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`${path} not found; run the earlier pipeline stages first (polarity repro)`);
    throw err;
  }
  const { header, values } = parseCsvColumns(text, ["text", "label"], { where: path });
  if (header.length !== 2 || header[0] !== "text" || header[1] !== "label") throw new DataError(`${path}: expected header text,label, got ${header.join(",")}`);
  const [texts, labels] = values as [string[], Label[]];
  return { texts, labels: numericIfAll(labels) };
}

export async function readJsonFile<T = unknown>(path: string, hint = "run the earlier pipeline stages first (polarity repro)"): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`${path} not found; ${hint}`);
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new DataError(`${path}: malformed JSON: ${(err as Error).message}`);
  }
}
