import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_PREPROCESS_CONFIG,
  LIGHT_PREPROCESS_CONFIG,
  ENGLISH_STOP_WORDS,
  NEGATION_WORDS,
  createPreprocessor,
  preprocess,
  preprocessMany,
  preprocessToString,
  resolvePreprocessConfig,
} from "../../src/text/index.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";
import type { PreprocessConfig } from "../../src/text/index.js";

/** Most tests look at one step at a time: start from the light config (no stopwords, stemming or scope). */
const pp = (text: string, config: Partial<PreprocessConfig> = {}): string[] => preprocess(text, { ...LIGHT_PREPROCESS_CONFIG, ...config });

describe("preprocess: normalisation steps on by default", () => {
  it("default config: stopwords removed (negations kept), Porter stems, negation scope", () => {
    assert.deepEqual(preprocess("This movie wasn't good at all. Loved the acting :)"), ["movi", "not", "not_good", "love", "act", ":)"]);
    assert.deepEqual(
      {
        removeStopwords: DEFAULT_PREPROCESS_CONFIG.removeStopwords,
        wordForm: DEFAULT_PREPROCESS_CONFIG.wordForm,
        negationScope: DEFAULT_PREPROCESS_CONFIG.negationScope,
      },
      { removeStopwords: true, wordForm: "porter", negationScope: true },
    );
  });
  it("lowercases, strips IMDB-style <br /> tags, decodes entities and removes punctuation", () => {
    assert.deepEqual(pp("I LOVED it<br /><br />Fish &amp; Chips &#39;ok&#39; &lt;3"), ["i", "loved", "it", "fish", "chips", "ok", "<3"]);
  });
  it("keeps stopwords, digits and one-letter words, and expands n't into a separate 'not'", () => {
    assert.deepEqual(pp("I didn't buy 2 of them."), ["i", "did", "not", "buy", "2", "of", "them"]);
  });
  it("removes URLs", () => {
    assert.deepEqual(pp("see http://example.com/a?b=1 or WWW.Example.org now"), ["see", "or", "now"]);
  });
  it("applies NFKC before anything else (full-width letters, ligatures, circled digits)", () => {
    assert.deepEqual(pp("Ｆｕｌｌ ﬁne ①"), ["full", "fine", "1"]);
  });
  it("is deterministic and the same through every entry point (training and serving agree)", () => {
    const text = "Not bad :) but the ending wasn't great 😀";
    const once = preprocess(text);
    assert.deepEqual(preprocess(text), once);
    assert.deepEqual(preprocessMany([text, text]), [once, once]);
    assert.deepEqual(createPreprocessor()(text), once);
    assert.equal(preprocessToString(text), once.join(" "));
  });
  it("returns no tokens for empty or punctuation-only text", () => {
    assert.deepEqual(pp(""), []);
    assert.deepEqual(pp("  ... !!! ---  "), []);
  });
});

describe("each preprocessing switch", () => {
  it("nfkc: off leaves compatibility characters alone", () => {
    assert.deepEqual(pp("Ｆｕｌｌ", { nfkc: false }), ["ｆｕｌｌ"]);
  });
  it("lowercase: off keeps case", () => {
    assert.deepEqual(pp("Good MOVIE", { lowercase: false }), ["Good", "MOVIE"]);
  });
  it("stripHtml: off leaves tag names and entity names as words", () => {
    assert.deepEqual(pp("a<br />b &amp; c", { stripHtml: false }), ["a", "br", "b", "amp", "c"]);
  });
  it("removeUrls: off tokenises the URL", () => {
    assert.deepEqual(pp("go http://x.com", { removeUrls: false }), ["go", "http", "x", "com"]);
  });
  it("removeDigits: digits separate words instead of belonging to them", () => {
    assert.deepEqual(pp("mp3 player 10 stars", { removeDigits: true }), ["mp", "player", "stars"]);
    assert.deepEqual(pp("mp3 player 10 stars"), ["mp3", "player", "10", "stars"]);
  });
  it("removePunctuation: off keeps each punctuation character as a token", () => {
    assert.deepEqual(pp("wow!! great, really?", { removePunctuation: false }), ["wow", "!", "!", "great", ",", "really", "?"]);
  });
  it("expandNegations: every n't form becomes stem + not, including curly apostrophes and apostrophe-less spellings", () => {
    assert.deepEqual(pp("don't isn't wasn't couldn't can't won't ain't"), [
      "do",
      "not",
      "is",
      "not",
      "was",
      "not",
      "could",
      "not",
      "can",
      "not",
      "will",
      "not",
      "is",
      "not",
    ]);
    assert.deepEqual(pp("don’t"), ["do", "not"]);
    assert.deepEqual(pp("dont didnt cant wont"), ["do", "not", "did", "not", "can", "not", "will", "not"]);
  });
  it("expandNegations: off joins the contraction into one word", () => {
    assert.deepEqual(pp("don't isn't dont", { expandNegations: false }), ["dont", "isnt", "dont"]);
  });
  it("other apostrophes join the word", () => {
    assert.deepEqual(pp("it's I'm rock'n'roll 'quoted'"), ["its", "im", "rocknroll", "quoted"]);
  });
  it("removeStopwords: removes English stopwords but keeps every negation", () => {
    assert.deepEqual(pp("This is not a good movie and I have never seen nothing like it", { removeStopwords: true }), [
      "not",
      "good",
      "movie",
      "never",
      "seen",
      "nothing",
      "like",
    ]);
    for (const w of NEGATION_WORDS) assert.equal(ENGLISH_STOP_WORDS.has(w), false, w);
    assert.deepEqual(pp("it doesn't work", { removeStopwords: true }), ["does", "not", "work"]);
  });
  it("wordForm porter: Porter stems, negation words untouched", () => {
    assert.deepEqual(pp("running movies were disappointing nothing", { wordForm: "porter" }), ["run", "movi", "were", "disappoint", "nothing"]);
  });
  it("wordForm lemma: WordNet lemmas, noun then verb then adjective", () => {
    assert.deepEqual(pp("movies was better", { wordForm: "lemma" }), ["movie", "be", "good"]);
  });
  it("minTokenLength: drops short words but never negations, emoticons or emoji", () => {
    assert.deepEqual(pp("i am a fan no :) 😀", { minTokenLength: 3 }), ["fan", "no", ":)", "😀"]);
  });
});

describe("negation scope", () => {
  const scoped = { negationScope: true } as const;
  it("prefixes the words after a negation up to the next punctuation mark", () => {
    assert.deepEqual(pp("not good at all. great", scoped), ["not", "not_good", "not_at", "not_all", "great"]);
  });
  it("uses the raw punctuation even though punctuation is removed from the tokens", () => {
    assert.deepEqual(pp("I didn't like it, but loved the end", scoped), ["i", "did", "not", "not_like", "not_it", "but", "loved", "the", "end"]);
    assert.deepEqual(pp("never again! fine; no way? ok: yes", scoped), ["never", "not_again", "fine", "no", "not_way", "ok", "yes"]);
  });
  it("opens a scope after every negation word", () => {
    for (const w of NEGATION_WORDS) assert.deepEqual(pp(`${w} good`, { negationScope: true }), [w, "not_good"], w);
  });
  it("ends at an emoticon and restarts at a new negation word", () => {
    assert.deepEqual(pp("not bad :) good", scoped), ["not", "not_bad", ":)", "good"]);
    assert.deepEqual(pp("no plot no acting", scoped), ["no", "not_plot", "no", "not_acting"]);
  });
  it("applies after stopword removal and stemming", () => {
    assert.deepEqual(pp("it was not the acting, loved", { negationScope: true, removeStopwords: true, wordForm: "porter" }), ["not", "not_act", "love"]);
  });
  it("is off in the light config", () => {
    assert.deepEqual(pp("not good"), ["not", "good"]);
  });
});

describe("emoticons and emoji", () => {
  it("normalises emoticons to canonical tokens", () => {
    assert.deepEqual(pp(":) :-) =) :] :( :-( :[ =( :D :-D ;) ;-) :P :p :/ :| :O :'( <3 </3"), [
      ":)",
      ":)",
      ":)",
      ":)",
      ":(",
      ":(",
      ":(",
      ":(",
      ":D",
      ":D",
      ";)",
      ";)",
      ":P",
      ":P",
      ":/",
      ":|",
      ":O",
      ":'(",
      "<3",
      "</3",
    ]);
  });
  it("finds emoticons glued to words but not letter mouths inside words", () => {
    assert.deepEqual(pp("great:) re:Design"), ["great", ":)", "re", "design"]);
  });
  it("does not read the :/ of an unremoved URL as an emoticon", () => {
    assert.deepEqual(pp("http://x", { removeUrls: false }), ["http", "x"]);
  });
  it("emoticons off: their characters are punctuation", () => {
    assert.deepEqual(pp("good :) <3", { emoticons: false }), ["good", "3"]);
  });
  it("keeps each emoji as its own token, dropping skin tones, joiners and variation selectors", () => {
    assert.deepEqual(pp("love it😀👍🏽 ❤️ 👨‍👩‍👧"), ["love", "it", "😀", "👍", "❤", "👨", "👩", "👧"]);
  });
  it("emoji off drops them", () => {
    assert.deepEqual(pp("love 😀 it", { emoji: false }), ["love", "it"]);
  });
  it("keeps non-Latin letters and accents as words", () => {
    assert.deepEqual(pp("Café naïve 日本 Привет"), ["café", "naïve", "日本", "привет"]);
  });
});

describe("resolvePreprocessConfig", () => {
  it("fills defaults and returns a frozen config", () => {
    const cfg = resolvePreprocessConfig({ removeStopwords: true });
    assert.equal(cfg.removeStopwords, true);
    assert.equal(cfg.lowercase, DEFAULT_PREPROCESS_CONFIG.lowercase);
    assert.ok(Object.isFrozen(cfg));
    assert.deepEqual(resolvePreprocessConfig(undefined), DEFAULT_PREPROCESS_CONFIG);
  });
  it("rejects unknown keys, naming them", () => {
    assert.throws(
      () => resolvePreprocessConfig({ lowerCase: true } as never),
      (e: unknown) => e instanceof InvalidParameterError && /'lowerCase'/.test(e.message),
    );
    assert.throws(() => preprocess("x", { stemming: "porter" } as never), /unknown option 'stemming'/);
  });
  it("rejects wrong types and values", () => {
    assert.throws(() => resolvePreprocessConfig({ lowercase: "yes" as never }), InvalidParameterError);
    assert.throws(() => resolvePreprocessConfig({ wordForm: "snowball" as never }), /wordForm must be one of/);
    assert.throws(() => resolvePreprocessConfig({ minTokenLength: 0 }), InvalidParameterError);
    assert.throws(() => resolvePreprocessConfig({ minTokenLength: Number.NaN }), InvalidParameterError);
  });
  it("rejects a non-string document with a DataError", () => {
    assert.throws(() => preprocess(null as never), DataError);
    assert.throws(() => preprocessMany(["ok", 5 as never]), /document 1 must be a string/);
  });
});
