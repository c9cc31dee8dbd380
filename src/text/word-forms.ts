import { createRequire } from "node:module";
import { stemmer } from "stemmer";

/**
 * Stemming and lemmatisation with memo caches: the same few thousand words recur millions
 * of times in a corpus, and stemming them is the hot cost of preprocessing (bench/text-features.ts).
 */

// Bound the caches so a stream of unique garbage tokens cannot grow memory without limit.
const CACHE_LIMIT = 500_000;

const porterCache = new Map<string, string>();

/** Porter stem of a lowercase word (the `stemmer` package, Martin Porter's 1980 algorithm), cached. */
export function porterStem(word: string): string {
  let stem = porterCache.get(word);
  if (stem === undefined) {
    stem = stemmer(word);
    if (porterCache.size >= CACHE_LIMIT) porterCache.clear();
    porterCache.set(word, stem);
  }
  return stem;
}

interface WinkLemmatizer {
  noun(word: string): string;
  verb(word: string): string;
  adjective(word: string): string;
}

let lemmatizer: WinkLemmatizer | null = null;
const lemmaCache = new Map<string, string>();

/**
 * WordNet lemma of a lowercase word via `wink-lemmatizer` (loaded on first use: its lexicon
 * is ~8 MB, so nothing pays for it unless lemmatisation is switched on). Without a
 * part-of-speech tag we try noun, then verb, then adjective, and take the first that
 * changes the word: "movies" → "movie", "was" → "be", "better" → "good".
 */
export function lemmatize(word: string): string {
  let lemma = lemmaCache.get(word);
  if (lemma === undefined) {
    if (lemmatizer === null) lemmatizer = createRequire(import.meta.url)("wink-lemmatizer") as WinkLemmatizer;
    lemma = lemmatizer.noun(word);
    if (lemma === word) lemma = lemmatizer.verb(word);
    if (lemma === word) lemma = lemmatizer.adjective(word);
    if (lemmaCache.size >= CACHE_LIMIT) lemmaCache.clear();
    lemmaCache.set(word, lemma);
  }
  return lemma;
}
