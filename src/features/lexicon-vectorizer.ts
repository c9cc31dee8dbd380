import { DataError, InvalidParameterError } from "../util/errors.js";
import { resolvePreprocessConfig } from "../text/preprocess.js";
import type { CsrMatrix } from "./csr.js";
import { LEXICON_FEATURE_NAMES, LEXICON_KINDS, LexiconFeaturizer, type LexiconKind } from "./lexicon.js";
import {
  CountVectorizer,
  TfidfVectorizer,
  registerVectorizerExtension,
  type CountVectorizerOptions,
  type TfidfVectorizerOptions,
  type VectorizerDocument,
  type VectorizerJson,
  type VectorizerShellJson,
} from "./vectorizer.js";

/**
 * BoW / TF-IDF with the lexicon block (src/features/lexicon.ts) appended as the last columns:
 * after the n-gram columns (TF-IDF's row norm covers the n-grams only), the block's few dense
 * values per document. The block reads the same tokens the n-gram counting reads (one
 * preprocessing pass), so the features are identical whether the vectorizer is given raw
 * text (serving) or token arrays (the pipeline, cross-validation, tune).
 *
 * The block is stateless (fixed lexicons), so the bundle only records which one:
 * `lexicon: "afinn" | "vader"` next to the vectorizer's options in its JSON, read back by
 * vectorizerFromJSON through the extension registered below. A reader without this module
 * would count one column fewer per block feature and the bundle's classifier check refuses it.
 */

export type LexiconBlockKind = Exclude<LexiconKind, "none">;

export function parseLexiconKind(value: unknown, where: string): LexiconKind {
  if (typeof value === "string" && (LEXICON_KINDS as readonly string[]).includes(value)) return value as LexiconKind;
  throw new InvalidParameterError(`${where} must be one of ${LEXICON_KINDS.join(", ")}, got ${JSON.stringify(value)}`);
}

/** The block of one vectorizer: values of the documents of the current call, row-major. */
class Block {
  readonly featurizer: LexiconFeaturizer;
  values = new Float64Array(0);

  constructor(
    readonly kind: LexiconBlockKind,
    preprocess: CountVectorizerOptions["preprocess"],
  ) {
    if (preprocess === null || preprocess === undefined) throw new InvalidParameterError("the lexicon block needs the vectorizer's preprocess config");
    this.featurizer = new LexiconFeaturizer(kind, resolvePreprocessConfig(preprocess));
  }

  start(n: number): void {
    this.values = new Float64Array(n * this.featurizer.width);
  }

  record(tokens: readonly string[], d: number): void {
    this.featurizer.featuresInto(tokens, this.values, d * this.featurizer.width);
  }

  /** X with the block's columns appended (zeros left out, so rows stay sorted and unique). */
  append(X: CsrMatrix): CsrMatrix {
    const k = this.featurizer.width;
    if (this.values.length !== X.rows * k) throw new DataError(`lexicon block: ${this.values.length / k} rows recorded for a ${X.rows}-row matrix`);
    let extra = 0;
    for (const v of this.values) if (v !== 0) extra++;
    const nnz = X.indptr[X.rows] + extra;
    const indptr = new Int32Array(X.rows + 1);
    const indices = new Int32Array(nnz);
    const data = new Float64Array(nnz);
    let p = 0;
    for (let i = 0; i < X.rows; i++) {
      const a = X.indptr[i];
      const b = X.indptr[i + 1];
      indices.set(X.indices.subarray(a, b), p);
      data.set(X.data.subarray(a, b), p);
      p += b - a;
      for (let c = 0; c < k; c++) {
        const v = this.values[i * k + c];
        if (v === 0) continue;
        indices[p] = X.cols + c;
        data[p++] = v;
      }
      indptr[i + 1] = p;
    }
    this.values = new Float64Array(0);
    return { rows: X.rows, cols: X.cols + k, indptr, indices, data };
  }

  get names(): readonly string[] {
    return LEXICON_FEATURE_NAMES[this.kind];
  }
}

/** CountVectorizer + the lexicon block. */
export class LexiconCountVectorizer extends CountVectorizer {
  private readonly block: Block;

  constructor(options: CountVectorizerOptions, lexicon: LexiconBlockKind) {
    super(options);
    this.block = new Block(lexicon, this.options.preprocess);
    this.fusedScan = false; // the block reads each document's token strings in analyze
  }

  get lexicon(): LexiconBlockKind {
    return this.block.kind;
  }

  override fitTransform(docs: readonly VectorizerDocument[]): CsrMatrix {
    this.block.start(Array.isArray(docs) ? docs.length : 0);
    return this.block.append(super.fitTransform(docs));
  }

  override transform(docs: readonly VectorizerDocument[]): CsrMatrix {
    this.block.start(Array.isArray(docs) ? docs.length : 0);
    return this.block.append(super.transform(docs));
  }

  /** The block's columns are appended to a fresh matrix: a plain transform of the range. */
  override transformRange(docs: readonly VectorizerDocument[], start: number, end: number): CsrMatrix {
    return this.transform(docs.slice(start, end));
  }

  protected override analyze(doc: VectorizerDocument, d: number): readonly string[] {
    const tokens = super.analyze(doc, d);
    this.block.record(tokens, d);
    return tokens;
  }

  override get nFeatures(): number {
    return super.nFeatures + this.block.featurizer.width;
  }

  override getFeatureNames(): string[] {
    return [...super.getFeatureNames(), ...this.block.names];
  }

  override toJSON(): VectorizerJson {
    return { ...super.toJSON(), lexicon: this.block.kind };
  }

  override toJSONShell(): VectorizerShellJson {
    return { ...super.toJSONShell(), lexicon: this.block.kind };
  }
}

/** TfidfVectorizer + the lexicon block (appended after TF-IDF weighting and the row norm). */
export class LexiconTfidfVectorizer extends TfidfVectorizer {
  private readonly block: Block;

  constructor(options: TfidfVectorizerOptions, lexicon: LexiconBlockKind) {
    super(options);
    this.block = new Block(lexicon, this.options.preprocess);
    this.fusedScan = false; // the block reads each document's token strings in analyze
  }

  get lexicon(): LexiconBlockKind {
    return this.block.kind;
  }

  override fitTransform(docs: readonly VectorizerDocument[]): CsrMatrix {
    this.block.start(Array.isArray(docs) ? docs.length : 0);
    return this.block.append(super.fitTransform(docs));
  }

  override transform(docs: readonly VectorizerDocument[]): CsrMatrix {
    this.block.start(Array.isArray(docs) ? docs.length : 0);
    return this.block.append(super.transform(docs));
  }

  /** The block's columns are appended to a fresh matrix: a plain transform of the range. */
  override transformRange(docs: readonly VectorizerDocument[], start: number, end: number): CsrMatrix {
    return this.transform(docs.slice(start, end));
  }

  protected override analyze(doc: VectorizerDocument, d: number): readonly string[] {
    const tokens = super.analyze(doc, d);
    this.block.record(tokens, d);
    return tokens;
  }

  override get nFeatures(): number {
    return super.nFeatures + this.block.featurizer.width;
  }

  override getFeatureNames(): string[] {
    return [...super.getFeatureNames(), ...this.block.names];
  }

  override toJSON(): VectorizerJson {
    return { ...super.toJSON(), lexicon: this.block.kind };
  }

  override toJSONShell(): VectorizerShellJson {
    return { ...super.toJSONShell(), lexicon: this.block.kind };
  }
}

/** The lexicon block a vectorizer carries ("none" for a plain one). */
export function lexiconOf(v: CountVectorizer): LexiconKind {
  return v instanceof LexiconCountVectorizer || v instanceof LexiconTfidfVectorizer ? v.lexicon : "none";
}

/** Wraps createVectorizer's choice: the same options, plus the block (or the plain vectorizer for "none"). */
export function withLexicon(
  kind: "count" | "tfidf",
  options: CountVectorizerOptions | TfidfVectorizerOptions,
  lexicon: LexiconKind,
): CountVectorizer | TfidfVectorizer {
  if (lexicon === "none") return kind === "tfidf" ? new TfidfVectorizer(options) : new CountVectorizer(options);
  return kind === "tfidf" ? new LexiconTfidfVectorizer(options, lexicon) : new LexiconCountVectorizer(options, lexicon);
}

registerVectorizerExtension("lexicon", (kind, options, value) => {
  const lexicon = parseLexiconKind(value, "vectorizer JSON: lexicon");
  if (lexicon === "none") throw new DataError('vectorizer JSON: lexicon "none" is written as no lexicon key');
  return withLexicon(kind, options, lexicon);
});
