import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DataError } from "../util/errors.js";

/**
 * The built-in labelled corpus: the UCI "Sentiment Labelled Sentences" data set
 * (Kotzias et al., KDD 2015) — 1,000 sentences each from Amazon product reviews, IMDB
 * movie reviews and Yelp restaurant reviews, half positive, half negative — as shipped in
 * the `sentiment` npm package's test fixtures. It needs no network and is small enough
 * for tests, demos and the default pipeline.
 */

export type UciSource = "amazon" | "imdb" | "yelp";
export const UCI_SOURCES: readonly UciSource[] = ["amazon", "imdb", "yelp"];

/** The built-in data's class ids and what they mean. */
export const UCI_CLASS_NAMES: Readonly<Record<string, string>> = Object.freeze({ "0": "negative", "1": "positive" });

export interface LabelledCorpus {
  texts: string[];
  /** 1 = positive, 0 = negative. */
  labels: number[];
}

export interface UciSentences extends LabelledCorpus {
  sources: UciSource[];
}

const PER_SOURCE = 1000;

let cached: UciSentences | null = null;

/** Directory of the fixtures inside the installed `sentiment` package. */
export function uciFixturesDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve("sentiment/package.json");
  } catch (err) {
    throw new DataError("the built-in data needs the 'sentiment' package (npm install sentiment@5.0.2)", { cause: err });
  }
  return join(dirname(pkg), "test", "fixtures");
}

/** Parses one fixture file's JSON text: `[{text, class}]`, dropping entries with a null class or empty text. */
export function parseUciFixture(file: string, json: string): LabelledCorpus {
  let entries: unknown;
  try {
    entries = JSON.parse(json);
  } catch (err) {
    throw new DataError(`${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!Array.isArray(entries)) throw new DataError(`${file}: expected a JSON array of {text, class} objects`);
  const texts: string[] = [];
  const labels: number[] = [];
  entries.forEach((e: unknown, i: number) => {
    if (e === null || typeof e !== "object") throw new DataError(`${file}: entry ${i} is not an object`);
    const { text, class: cls } = e as { text?: unknown; class?: unknown };
    if (cls === null || cls === undefined || text === "" || text === null || text === undefined) return; // the unlabelled trailer
    if (typeof text !== "string") throw new DataError(`${file}: entry ${i} has a non-string text`);
    if (text.trim() === "") return;
    if (cls !== 0 && cls !== 1) throw new DataError(`${file}: entry ${i} has class ${JSON.stringify(cls)}, expected 0 or 1`);
    texts.push(text);
    labels.push(cls);
  });
  return { texts, labels };
}

/**
 * The 3,000 labelled sentences, in file order amazon, imdb, yelp. Each call returns fresh
 * arrays (the parsed files are cached). Throws DataError naming the file if a file is
 * missing, malformed, or does not hold exactly 500 positive and 500 negative sentences.
 */
export function loadUciSentences(): UciSentences {
  if (cached === null) {
    const dir = uciFixturesDir();
    const out: UciSentences = { texts: [], labels: [], sources: [] };
    for (const source of UCI_SOURCES) {
      const file = join(dir, `${source}.json`);
      let json: string;
      try {
        json = readFileSync(file, "utf8");
      } catch (err) {
        throw new DataError(`${file}: cannot read the built-in data (${(err as Error).message})`, { cause: err });
      }
      const part = parseUciFixture(file, json);
      const positives = part.labels.reduce((s, y) => s + y, 0);
      if (part.texts.length !== PER_SOURCE || positives !== PER_SOURCE / 2) {
        throw new DataError(
          `${file}: expected ${PER_SOURCE} labelled sentences (500 positive, 500 negative), found ${part.texts.length} (${positives} positive)`,
        );
      }
      for (let i = 0; i < part.texts.length; i++) {
        out.texts.push(part.texts[i]);
        out.labels.push(part.labels[i]);
        out.sources.push(source);
      }
    }
    cached = out;
  }
  return { texts: cached.texts.slice(), labels: cached.labels.slice(), sources: cached.sources.slice() };
}
