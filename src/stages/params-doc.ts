import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { renderParamsTable } from "./params.js";

/**
 * Regenerates the params table of docs/pipeline.md from the schema in ./params.ts:
 * `node --import tsx src/stages/params-doc.ts` (test/stages/params.test.ts fails while the
 * doc is stale). Only the text between the two markers is replaced.
 */
const BEGIN = /<!-- params-table:begin[^>]*-->\n/;
const END = "<!-- params-table:end -->";

export function replaceParamsTable(doc: string): string {
  const b = BEGIN.exec(doc);
  const e = doc.indexOf(END);
  if (!b || e < b.index) throw new Error("docs/pipeline.md: no <!-- params-table:begin --> … <!-- params-table:end --> block");
  return doc.slice(0, b.index + b[0].length) + renderParamsTable() + doc.slice(e);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const path = resolve(import.meta.dirname, "..", "..", "docs", "pipeline.md");
  await writeFile(path, replaceParamsTable(await readFile(path, "utf8")));
  console.log(`updated the params table in ${path}`);
}
