import { DataError, InvalidParameterError, PolarityError } from "../util/errors.js";
import { rejectUnknownOptions, requireInteger } from "../util/validate.js";
import { TokenIdScanner, preprocess, resolvePreprocessConfig, type PreprocessConfig, type TokenIdLookup } from "../text/preprocess.js";
import type { CsrMatrix } from "./csr.js";
import { NgramIndex, ngramIds, sortIds, sortRowPairs, type FrozenNgramTables } from "./ngram-index.js";
import {
  TFIDF_OPTION_KEYS,
  applyTfidfInPlace,
  computeIdf,
  documentFrequencies,
  idfFromDocumentFrequencies,
  normalizeRange,
  scaleColumnsRange,
  sublinearTfRange,
  resolveTfidfOptions,
  type TfidfNorm,
  type TfidfTransformerOptions,
} from "./tfidf.js";
import { DEFAULT_TOKEN_PATTERN, compileTokenPattern, type Tokenizer } from "./token-pattern.js";
import { countInParallel, resolveCountThreads, type SplitCounts } from "./parallel-count.js";

/**
 * A document: raw text, or tokens already produced by `preprocess` (string[]), which are
 * used as they are — no lowercasing, no token pattern — so a pipeline never tokenises twice.
 */
export type VectorizerDocument = string | readonly string[];

/**
 * A document-frequency bound. A plain number follows scikit-learn's int/float rule as far
 * as JavaScript can: an integer >= 1 is a document COUNT, anything in [0, 1) is a
 * PROPORTION of the documents. JavaScript has no int/float distinction, so plain `1` is
 * ambiguous; it means what scikit-learn's default means for each bound: minDf 1 = count 1
 * (sklearn's default int 1), maxDf 1 = proportion 1.0 (sklearn's default float 1.0, i.e. no
 * bound — also what `max_df: 1.0` in a YAML params file parses to). Say `{count: 1}` or
 * `{proportion: 1}` to choose explicitly.
 */
export type DocFrequencyBound = number | { count: number } | { proportion: number };

/** scikit-learn's CountVectorizer options, with its defaults. */
export interface CountVectorizerOptions {
  /** [minN, maxN] word n-grams, joined by one space. Default [1, 1]. */
  ngramRange?: readonly [number, number];
  /** Drop terms in fewer documents than this. Default 1 (count). */
  minDf?: DocFrequencyBound;
  /** Drop terms in more documents than this. Default 1.0 (proportion: keep all). */
  maxDf?: DocFrequencyBound;
  /** Keep only the N terms with the highest corpus frequency (after min/max df; ties → the term that sorts first). Default null. */
  maxFeatures?: number | null;
  /** Counts become 1/0. Default false. */
  binary?: boolean;
  /** Lowercase raw-string documents before the token pattern (ignored for token arrays and with `preprocess`). Default true. */
  lowercase?: boolean;
  /** Python-style regex for raw-string documents. Default "(?u)\\b\\w\\w+\\b" (words of 2+ characters). */
  tokenPattern?: string;
  /** If set, raw-string documents are tokenised by `preprocess(text, this)` instead of lowercase + tokenPattern. Default null. */
  preprocess?: Partial<PreprocessConfig> | null;
  /** A fixed vocabulary: terms in column order, or term → column. min/max df and maxFeatures are then ignored. Default null. */
  vocabulary?: readonly string[] | Readonly<Record<string, number>> | null;
}

/**
 * A fitted vectorizer's state as typed arrays (the binary model file's sections): the n-gram
 * lookup, gram → column and column → gram, and idf (TF-IDF with useIdf only).
 */
export interface FittedVectorizerState {
  index: FrozenNgramTables;
  columnOfGram: Int32Array;
  gramOfColumn: Int32Array;
  idf: Float64Array | null;
}

export interface TfidfVectorizerOptions extends CountVectorizerOptions, TfidfTransformerOptions {}

type ResolvedBound = { count: number } | { proportion: number };

/** The resolved, JSON-serialisable options (what toJSON writes). */
export interface ResolvedCountOptions {
  ngramRange: [number, number];
  minDf: ResolvedBound;
  maxDf: ResolvedBound;
  maxFeatures: number | null;
  binary: boolean;
  lowercase: boolean;
  tokenPattern: string;
  preprocess: PreprocessConfig | null;
}

export interface ResolvedTfidfOptions extends ResolvedCountOptions {
  norm: TfidfNorm;
  useIdf: boolean;
  smoothIdf: boolean;
  sublinearTf: boolean;
}

export interface VectorizerJson {
  format: "polarity.vectorizer";
  version: 1;
  kind: "count" | "tfidf";
  options: ResolvedCountOptions | ResolvedTfidfOptions;
  /** Terms in column order. */
  vocabulary: string[];
  /** tfidf with useIdf only: idf per column. */
  idf?: number[];
  /** The lexicon block appended after the n-gram columns (src/features/lexicon-vectorizer.ts), if any. */
  lexicon?: string;
}

/** Rebuilds an unfitted vectorizer that carries an extension block, from the block's value in the JSON. */
export type VectorizerExtension = (
  kind: "count" | "tfidf",
  options: CountVectorizerOptions | TfidfVectorizerOptions,
  value: unknown,
) => CountVectorizer | TfidfVectorizer;
const EXTENSIONS = new Map<string, VectorizerExtension>();
/** A feature block extending these vectorizers (the lexicon block) registers how vectorizerFromJSON rebuilds it. */
export function registerVectorizerExtension(key: string, build: VectorizerExtension): void {
  EXTENSIONS.set(key, build);
}

const COUNT_OPTION_KEYS = ["ngramRange", "minDf", "maxDf", "maxFeatures", "binary", "lowercase", "tokenPattern", "preprocess", "vocabulary"] as const;

function resolveBound(where: string, name: string, value: DocFrequencyBound | undefined, plainOneIsCount: boolean): ResolvedBound {
  if (value === undefined) return plainOneIsCount ? { count: 1 } : { proportion: 1 };
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new InvalidParameterError(`${where}: ${name} must be a finite number, got ${String(value)}`);
    if (value === 1) return plainOneIsCount ? { count: 1 } : { proportion: 1 };
    if (Number.isInteger(value) && value > 1) return { count: value };
    if (value >= 0 && value < 1) return { proportion: value };
    throw new InvalidParameterError(`${where}: ${name} must be an integer document count >= 1 or a proportion in [0, 1], got ${value}`);
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "count") {
      return { count: requireInteger(`${where}: ${name}.count`, (value as { count: number }).count, 0) };
    }
    if (keys.length === 1 && keys[0] === "proportion") {
      const p = (value as { proportion: number }).proportion;
      if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 1) {
        throw new InvalidParameterError(`${where}: ${name}.proportion must be a number in [0, 1], got ${String(p)}`);
      }
      return { proportion: p };
    }
  }
  throw new InvalidParameterError(`${where}: ${name} must be a number, {count: n} or {proportion: p}, got ${JSON.stringify(value)}`);
}

function boundToCount(b: ResolvedBound, nDocs: number): number {
  return "count" in b ? b.count : b.proportion * nDocs;
}

function resolveCountOptions(where: string, o: CountVectorizerOptions): ResolvedCountOptions {
  const range = o.ngramRange ?? [1, 1];
  if (!Array.isArray(range) || range.length !== 2) throw new InvalidParameterError(`${where}: ngramRange must be [minN, maxN], got ${JSON.stringify(range)}`);
  const minN = requireInteger(`${where}: ngramRange[0]`, range[0], 1, 255);
  const maxN = requireInteger(`${where}: ngramRange[1]`, range[1], 1, 255);
  if (minN > maxN) throw new InvalidParameterError(`${where}: invalid ngramRange [${minN}, ${maxN}]: the lower bound is larger than the upper bound`);
  const bool = (key: "binary" | "lowercase", dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") throw new InvalidParameterError(`${where}: ${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  let maxFeatures: number | null = null;
  if (o.maxFeatures !== undefined && o.maxFeatures !== null) maxFeatures = requireInteger(`${where}: maxFeatures`, o.maxFeatures, 1);
  const tokenPattern = o.tokenPattern ?? DEFAULT_TOKEN_PATTERN;
  if (typeof tokenPattern !== "string") throw new InvalidParameterError(`${where}: tokenPattern must be a string, got ${JSON.stringify(tokenPattern)}`);
  return {
    ngramRange: [minN, maxN],
    minDf: resolveBound(where, "minDf", o.minDf, true),
    maxDf: resolveBound(where, "maxDf", o.maxDf, false),
    maxFeatures,
    binary: bool("binary", false),
    lowercase: bool("lowercase", true),
    tokenPattern,
    preprocess: o.preprocess === undefined || o.preprocess === null ? null : { ...resolvePreprocessConfig(o.preprocess) },
  };
}

/** Validates a fixed vocabulary (scikit-learn's rules) and returns the terms in column order. */
function resolveFixedVocabulary(where: string, v: readonly string[] | Readonly<Record<string, number>>): string[] {
  let terms: string[];
  if (Array.isArray(v)) {
    terms = v.slice();
    const seen = new Set<string>();
    for (const t of terms) {
      if (typeof t !== "string") throw new InvalidParameterError(`${where}: vocabulary terms must be strings, got ${JSON.stringify(t)}`);
      if (seen.has(t)) throw new InvalidParameterError(`${where}: duplicate term in vocabulary: ${JSON.stringify(t)}`);
      seen.add(t);
    }
  } else if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    terms = new Array<string>(entries.length);
    for (const [t, j] of entries) {
      if (!Number.isInteger(j) || j < 0 || j >= entries.length) {
        throw new InvalidParameterError(
          `${where}: vocabulary of size ${entries.length} maps ${JSON.stringify(t)} to ${JSON.stringify(j)}; columns must be 0..${entries.length - 1}`,
        );
      }
      if (terms[j] !== undefined)
        throw new InvalidParameterError(`${where}: vocabulary maps both ${JSON.stringify(terms[j])} and ${JSON.stringify(t)} to column ${j}`);
      terms[j] = t;
    }
  } else {
    throw new InvalidParameterError(`${where}: vocabulary must be an array of terms or an object term → column, got ${JSON.stringify(v)}`);
  }
  if (terms.length === 0) throw new InvalidParameterError(`${where}: empty vocabulary passed to fit`);
  return terms;
}

/**
 * Matrices at least this large are built in SharedArrayBuffer memory, so LogisticRegression's
 * worker thread reads them without a copy (bench/core.ts: a copy cost 130 MB at 10^6 documents).
 */
const SHARED_MIN_NNZ = 1 << 20;

function newInt32(length: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(length * 4)) : new Int32Array(length);
}

function newFloat64(length: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
}

/** Growable CSR under construction: one row at a time, typed arrays doubled as needed. */
export class CsrBuilder {
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
  nnz = 0;
  row = 0;
  private readonly shared: boolean;
  /** `shared`: SharedArrayBuffer memory whatever the size (default: from SHARED_MIN_NNZ). */
  constructor(rows: number, capacity: number, shared = false) {
    this.shared = shared || capacity >= SHARED_MIN_NNZ;
    this.indptr = newInt32(rows + 1, this.shared);
    this.indices = newInt32(Math.max(16, capacity), this.shared);
    this.data = newFloat64(Math.max(16, capacity), this.shared);
  }
  /** Empties the builder for reuse (its arrays are kept: a scratch matrix, see CountVectorizer.transformRange). */
  reset(): void {
    this.nnz = 0;
    this.row = 0;
  }

  /** Rows the builder has room for. */
  get capacityRows(): number {
    return this.indptr.length - 1;
  }

  /** Appends a row from ids[0..n) (unsorted, with repeats): sorted, repeats merged into counts. */
  pushRow(ids: Int32Array, n: number, binary: boolean): void {
    sortIds(ids, n);
    if (this.nnz + n > this.indices.length) this.grow(this.nnz + n);
    let q = this.nnz - 1;
    let prev = -1;
    for (let p = 0; p < n; p++) {
      const id = ids[p];
      if (id === prev) {
        if (!binary) this.data[q] += 1;
      } else {
        q++;
        this.indices[q] = id;
        this.data[q] = 1;
        prev = id;
      }
    }
    this.nnz = q + 1;
    this.indptr[++this.row] = this.nnz;
  }
  /**
   * Appends `rows` rows of another shard's counts (CSR of its gram ids) with every id
   * translated through `map`. Rows are then no longer sorted by id; the column remap that
   * follows sorts each row.
   */
  appendMapped(indptr: Int32Array, indices: Int32Array, data: Float64Array, rows: number, map: Int32Array): void {
    const n = indptr[rows];
    if (this.nnz + n > this.indices.length) this.grow(this.nnz + n);
    const base = this.nnz - indptr[0];
    for (let p = indptr[0]; p < n; p++) {
      this.indices[base + p] = map[indices[p]];
      this.data[base + p] = data[p];
    }
    for (let r = 1; r <= rows; r++) this.indptr[this.row + r] = base + indptr[r];
    this.row += rows;
    this.nnz = base + n;
  }
  /** Makes room for `nnz` entries in all (the arrays may be replaced). */
  reserve(nnz: number): void {
    if (nnz > this.indices.length) this.grow(nnz);
  }
  private grow(atLeast: number): void {
    const cap = Math.max(atLeast, this.indices.length * 2);
    if (cap > 0x7fffffff) throw new DataError("the matrix would have more than 2^31 non-zeros");
    const indices = newInt32(cap, this.shared);
    indices.set(this.indices.subarray(0, this.nnz));
    this.indices = indices;
    const data = newFloat64(cap, this.shared);
    data.set(this.data.subarray(0, this.nnz));
    this.data = data;
  }
  build(cols: number): CsrMatrix {
    // Exact-length arrays: a view when the slack is small (token-array input, where the
    // capacity is exact up to merged repeats), a trimmed copy when it is not.
    // A large (shared) builder's slack was never written, so it is virtual memory only: a view
    // costs no RSS, while a trimmed copy would briefly double the matrix (bench/core.ts, 10^6 docs).
    const small = this.shared || this.indices.length - this.nnz <= this.nnz >> 3;
    const indices = small ? this.indices.subarray(0, this.nnz) : this.indices.slice(0, this.nnz);
    const data = small ? this.data.subarray(0, this.nnz) : this.data.slice(0, this.nnz);
    return { rows: this.row, cols, indptr: this.indptr, indices, data };
  }
}

/**
 * scikit-learn's CountVectorizer: learns a vocabulary of word n-grams and turns documents
 * into a sparse count matrix. Columns are the terms in sorted (code point) order, as
 * sklearn orders them; with a fixed vocabulary, in the order given.
 *
 * Memory while fitting: the count matrix under construction (12 bytes per non-zero, sized
 * exactly for token-array input), the n-gram trie (per distinct n-gram ~9 bytes of arrays
 * + 24–48 bytes of hash slots; per distinct token one Map entry) and df/tf/column arrays
 * (~20 bytes per distinct n-gram). Example (bench/text-features.ts): 10^6 documents of
 * ≈ 12 tokens, 1–2-grams → 22.3 M non-zeros (~270 MB) and 2.5 M n-grams (~150 MB).
 * The fitted vectorizer keeps the trie (the transform lookup; compacted to the kept terms
 * when pruning dropped more than half) and builds term strings only when asked.
 */
export class CountVectorizer {
  readonly options: Readonly<ResolvedCountOptions>;
  protected readonly fixedVocabulary: string[] | null;
  private readonly tokenize: Tokenizer;
  // Lookup trie over the fitted vocabulary: gram id → column (-1 for prefixes and pruned grams).
  private lookup: NgramIndex | null = null;
  private columnOfGram: Int32Array = new Int32Array(0);
  private gramOfColumn: Int32Array = new Int32Array(0);
  private nTerms = 0;
  // Term strings, built on first request (a fit on 10^6 documents need not build millions of strings).
  private terms: string[] | null = null;
  // Scratch buffers reused across documents (no allocation per document).
  private scratchIds = new Int32Array(256);
  private levelA = new Int32Array(64);
  private levelB = new Int32Array(64);
  private atomIds = new Int32Array(64);

  constructor(options: CountVectorizerOptions = {}, where = "CountVectorizer", extraKeys: readonly string[] = []) {
    rejectUnknownOptions(where, options, [...COUNT_OPTION_KEYS, ...extraKeys]);
    this.options = Object.freeze(resolveCountOptions(where, options));
    this.fixedVocabulary = options.vocabulary === undefined || options.vocabulary === null ? null : resolveFixedVocabulary(where, options.vocabulary);
    this.tokenize = compileTokenPattern(this.options.tokenPattern);
  }

  /** Learns the vocabulary. Returns this. */
  fit(docs: readonly VectorizerDocument[]): this {
    this.fitTransform(docs);
    return this;
  }

  /** Learns the vocabulary and returns the count matrix of `docs` (one pass over the corpus). */
  fitTransform(docs: readonly VectorizerDocument[]): CsrMatrix {
    return this.weighFitted(this.fitCounts(docs));
  }

  /**
   * fitTransform with the counting split over threads: the documents' second part is
   * preprocessed, tokenised and counted by a worker thread while this thread counts the
   * first, and the worker's n-grams and rows are merged in. The result equals
   * fitTransform's exactly (same vocabulary, same values, same fitted state): columns are the
   * sorted terms, whichever thread met a term first. `threads`: 1, 2 or "auto" (2 from
   * PARALLEL_MIN_DOCS string documents on a machine with 2+ cores). Token-array input, a
   * fixed vocabulary and subclasses that change the analysis (the lexicon block) count on
   * this thread; so does everything if the worker cannot start.
   */
  async fitTransformAsync(docs: readonly VectorizerDocument[], options: { threads?: number | "auto" } = {}): Promise<CsrMatrix> {
    const threads = resolveCountThreads(options.threads ?? "auto", docs);
    const plain = this.constructor === CountVectorizer || this.constructor === TfidfVectorizer;
    if (threads < 2 || !plain || this.fixedVocabulary !== null) return this.fitTransform(docs);
    // Without maxFeatures (which ranks terms by their total count over the whole matrix) the
    // worker also remaps its own rows (finishSplitFit): the column remap runs on both threads.
    const counted = await countInParallel(
      this.options,
      docs as readonly string[],
      (part, offset, capacityRows) => this.countPart(part, offset, capacityRows, true),
      this.options.maxFeatures === null ? (split) => this.finishSplitFit(split) : null,
    );
    if (counted === null) return this.fitTransform(docs);
    const X = this.weighFitted("finished" in counted ? counted.finished : this.finishFit(counted.builder, counted.index));
    this.fitThreads = 2;
    return X;
  }

  /** Threads that counted the last fit (2 when fitTransformAsync's worker took part). Not part of the fitted state. */
  fitThreads = 1;

  /** What fitTransform does after counting (TfidfVectorizer: idf and norms). */
  protected weighFitted(X: CsrMatrix): CsrMatrix {
    return X;
  }

  /**
   * The weights the fit's column remap applies to each row as it sorts it (TfidfVectorizer:
   * learns idf from the per-column document frequencies `df()` of `rows` documents, built only
   * when asked for), so weighFitted need not pass over the matrix again; null: no weighting.
   */
  protected fitWeights(_rows: number, _df: () => Int32Array): FitRowWeights | null {
    return null;
  }

  /** Set when the last finishFit already weighted the matrix (fitWeights); weighFitted then leaves it. */
  protected weightedInFit = false;

  private fitCounts(docs: readonly VectorizerDocument[]): CsrMatrix {
    checkCorpus(docs);
    this.fitThreads = 1;
    if (this.fixedVocabulary !== null) {
      this.setVocabulary(this.fixedVocabulary);
      // The raw counts: not this.transform, which a subclass (tf-idf) overrides.
      return this.countMatrix(docs);
    }
    const { index, builder } = this.countPart(docs, 0, docs.length);
    return this.finishFit(builder, index);
  }

  /**
   * Counts `docs` (numbered from `offset` in error messages) into a new n-gram index and a
   * CSR builder with room for `capacityRows` rows (more than docs.length when another
   * part's rows will be appended), in shared memory with `shared` (a two-thread count: each
   * thread then writes into the other's rows). Used by fitTransform and by the counting worker.
   * @internal
   */
  countPart(docs: readonly VectorizerDocument[], offset: number, capacityRows: number, shared = false): { index: NgramIndex; builder: CsrBuilder } {
    const minN = this.options.ngramRange[0];
    const maxN = this.options.ngramRange[1];
    const nnzBound = Math.round((estimateNnz(docs, minN, maxN) * capacityRows) / Math.max(1, docs.length));
    const index = new NgramIndex(maxN > 1 ? expectedDistinctGrams(nnzBound) : 0);
    const builder = new CsrBuilder(capacityRows, nnzBound, shared);
    // Raw texts go through the fused scanner (as transform does) with a lookup that interns: no
    // token strings per document, only the first sight of each word runs preprocess's word step.
    const scanner = this.options.preprocess !== null && this.fusedScan ? new TokenIdScanner(this.resolvedPreprocess(), internIn(index)) : null;
    for (let d = 0; d < docs.length; d++) {
      const doc = docs[d];
      let n: number;
      if (scanner !== null && typeof doc === "string") {
        // scan() may replace scanner.ids (a longer text): read it after.
        const len = scanner.scan(doc);
        n = this.gramsFromAtoms(scanner.ids, len, index, true);
      } else n = this.collectGrams(this.analyze(doc, offset + d), index, true);
      builder.pushRow(this.scratchIds, n, this.options.binary);
    }
    return { index, builder };
  }

  private finishFit(builder: CsrBuilder, index: NgramIndex): CsrMatrix {
    this.scanner = null;
    const X = builder.build(index.size);
    if (X.indptr[X.rows] === 0) throw new DataError("empty vocabulary; perhaps the documents only contain stop words");
    const df = documentFrequencies(X);
    const { gramOfColumn, columnOfGram } = this.selectTerms(X.rows, df, index, () => columnSums(X));
    // Remapping keeps each row's distinct grams distinct, so a column's document frequency is its gram's.
    const weights = this.fitWeights(X.rows, () => columnValues(df, gramOfColumn));
    const out = remapColumns(X, columnOfGram, gramOfColumn.length, weights);
    this.weightedInFit = weights !== null;
    this.installFit(index, gramOfColumn, columnOfGram);
    return out;
  }

  /**
   * finishFit for counts split between this thread and the counting worker (parallel-count.ts):
   * this thread's rows are in `s.builder`, the worker's stay in the worker. Document frequencies
   * are this thread's plus the worker's (its grams mapped here); then both threads remap and
   * weigh their own rows at once, the worker writing its rows right after this thread's into
   * the same (shared) arrays. The result equals finishFit's on the merged counts exactly: each
   * row holds the same entries, sorted by column, weighted in the same order.
   */
  private async finishSplitFit(s: SplitCounts): Promise<CsrMatrix> {
    this.scanner = null;
    const { index, builder, map } = s;
    const mainRows = builder.row;
    const mainNnz = builder.nnz;
    const rows = mainRows + s.workerRows;
    const total = mainNnz + s.workerNnz;
    if (total === 0) throw new DataError("empty vocabulary; perhaps the documents only contain stop words");
    const df = new Int32Array(index.size);
    const { indices, data } = builder;
    for (let p = 0; p < mainNnz; p++) if (data[p] !== 0) df[indices[p]]++;
    for (let g = 0; g < map.length; g++) df[map[g]] += s.workerDf[g];
    const { gramOfColumn, columnOfGram } = this.selectTerms(rows, df, index, null);
    const weights = this.fitWeights(rows, () => columnValues(df, gramOfColumn));
    builder.reserve(total);
    const outIndptr = newInt32(rows + 1, true);
    const columnOfWorkerGram = new Int32Array(map.length);
    for (let g = 0; g < map.length; g++) columnOfWorkerGram[g] = columnOfGram[map[g]];
    // The worker writes its rows from entry mainNnz on (where they would be merged) while this thread remaps its own in place.
    const theirs = s.remap({
      columnOfGram: columnOfWorkerGram,
      weights,
      indices: builder.indices,
      data: builder.data,
      indptr: outIndptr,
      at: mainNnz,
      rowAt: mainRows,
    });
    const mine = remapRowsInto(
      builder.indptr,
      builder.indices,
      builder.data,
      0,
      mainRows,
      columnOfGram,
      weights,
      builder.indices,
      builder.data,
      outIndptr,
      0,
      0,
    );
    let end = await theirs;
    if (mine < mainNnz) {
      // Pruned entries left a gap before the worker's rows: close it.
      const gap = mainNnz - mine;
      builder.indices.copyWithin(mine, mainNnz, end);
      builder.data.copyWithin(mine, mainNnz, end);
      for (let i = mainRows + 1; i <= rows; i++) outIndptr[i] -= gap;
      end -= gap;
    }
    this.weightedInFit = weights !== null;
    this.installFit(index, gramOfColumn, columnOfGram);
    return { rows, cols: gramOfColumn.length, indptr: outIndptr, indices: builder.indices.subarray(0, end), data: builder.data.subarray(0, end) };
  }

  /** The fitted lookup after a fit's column selection. */
  private installFit(index: NgramIndex, gramOfColumn: Int32Array, columnOfGram: Int32Array): void {
    if (2 * gramOfColumn.length < index.size) {
      // Heavy pruning: a compact lookup of the kept terms only is smaller and faster to probe.
      const compact = index.compact(gramOfColumn);
      this.lookup = compact.index;
      this.columnOfGram = compact.columnOfGram;
      this.gramOfColumn = compact.gramOfColumn;
    } else {
      // The counting index doubles as the transform lookup: gram → column, -1 if pruned.
      this.lookup = index;
      this.columnOfGram = columnOfGram;
      this.gramOfColumn = gramOfColumn;
    }
    this.terms = null;
    this.nTerms = gramOfColumn.length;
  }

  /** The count matrix of `docs` over the fitted vocabulary; unseen terms are ignored. */
  transform(docs: readonly VectorizerDocument[]): CsrMatrix {
    return this.countMatrix(docs);
  }

  /** Counts over the fitted vocabulary (what transform returns here; TfidfVectorizer weights them). */
  protected countMatrix(docs: readonly VectorizerDocument[]): CsrMatrix {
    const lookup = this.requireFitted();
    checkCorpus(docs, false);
    const builder = new CsrBuilder(docs.length, estimateNnz(docs, this.options.ngramRange[0], this.options.ngramRange[1]));
    const cols = this.columnOfGram;
    for (let d = 0; d < docs.length; d++) {
      const n = this.transformGrams(docs[d], d, lookup);
      // Map gram ids to columns in place, dropping prefixes that are not terms.
      let m = 0;
      for (let p = 0; p < n; p++) {
        const c = cols[this.scratchIds[p]];
        if (c >= 0) this.scratchIds[m++] = c;
      }
      builder.pushRow(this.scratchIds, m, this.options.binary);
    }
    return builder.build(this.nTerms);
  }

  /**
   * transform(docs.slice(start, end)) into scratch arrays this vectorizer reuses: the matrix
   * is valid until the next call (no allocation per call once the scratch is big enough). For
   * scoring in blocks (SentimentModel.predictProba); the values equal transform's exactly.
   */
  transformRange(docs: readonly VectorizerDocument[], start: number, end: number): CsrMatrix {
    const lookup = this.requireFitted();
    checkCorpus(docs, false);
    const rows = end - start;
    const b = this.blockBuilder(rows);
    const cols = this.columnOfGram;
    for (let d = start; d < end; d++) {
      this.pushColumnsRow(b, cols, this.transformGrams(docs[d], d, lookup));
    }
    return this.finishBlock(b, rows);
  }

  /** One row from the first `n` gram ids in scratchIds: each mapped to its column, grams outside the vocabulary dropped. */
  private pushColumnsRow(b: CsrBuilder, cols: Int32Array, n: number): void {
    let m = 0;
    for (let p = 0; p < n; p++) {
      const c = cols[this.scratchIds[p]];
      if (c >= 0) this.scratchIds[m++] = c;
    }
    b.pushRow(this.scratchIds, m, this.options.binary);
  }

  /**
   * transformRange over packed texts: text d is joined.slice(starts[d], starts[d + 1] - 1)
   * (each text followed by one "\n"), scanned in place by the fused scanner. Only when
   * `scansPacked` (raw-text vectorizers with a preprocess config and no lexicon block).
   */
  transformPacked(joined: string, starts: Int32Array, from: number, to: number): CsrMatrix {
    const lookup = this.requireFitted();
    if (!this.scansPacked) throw new PolarityError("BAD_REQUEST", `${this.constructor.name} cannot scan packed texts`);
    const rows = to - from;
    const b = this.blockBuilder(rows);
    const cols = this.columnOfGram;
    this.scanner ??= new TokenIdScanner(this.resolvedPreprocess(), lookup);
    const scanner = this.scanner;
    for (let d = from; d < to; d++) {
      const len = scanner.scanRange(joined, starts[d], starts[d + 1] - 1);
      this.pushColumnsRow(b, cols, this.gramsFromAtoms(scanner.ids, len, lookup, false));
    }
    return this.finishBlock(b, rows);
  }

  /** Whether transformPacked applies (the fused scanner reads raw text for this vectorizer). */
  get scansPacked(): boolean {
    return this.options.preprocess !== null && this.fusedScan;
  }

  private blockBuilder(rows: number): CsrBuilder {
    let b = this.scratchBuilder;
    if (b === null || b.capacityRows < rows)
      b = this.scratchBuilder = new CsrBuilder(rows, rows * 16 * (this.options.ngramRange[1] - this.options.ngramRange[0] + 1));
    b.reset();
    return b;
  }

  private finishBlock(b: CsrBuilder, rows: number): CsrMatrix {
    const X: CsrMatrix = {
      rows,
      cols: this.nTerms,
      indptr: b.indptr.subarray(0, rows + 1),
      indices: b.indices.subarray(0, b.nnz),
      data: b.data.subarray(0, b.nnz),
    };
    this.weighInPlace(X);
    return X;
  }

  private scratchBuilder: CsrBuilder | null = null;

  /** What transform does to the counts (TfidfVectorizer: tf-idf weights and norms, in place). */
  protected weighInPlace(_X: CsrMatrix): void {}

  /** Terms in column order (scikit-learn's get_feature_names_out). */
  getFeatureNames(): string[] {
    return this.termList().slice();
  }

  /** term → column. */
  get vocabulary(): Map<string, number> {
    return new Map(this.termList().map((t, j) => [t, j]));
  }

  get nFeatures(): number {
    this.requireFitted();
    return this.nTerms;
  }

  get isFitted(): boolean {
    return this.lookup !== null;
  }

  toJSON(): VectorizerJson {
    return { ...this.toJSONShell(), vocabulary: this.termList().slice() };
  }

  /** toJSON without the fitted arrays (no term strings are built): the binary model file's header. */
  toJSONShell(): VectorizerShellJson {
    this.requireFitted();
    return { format: "polarity.vectorizer", version: 1, kind: "count", options: { ...this.options } };
  }

  private termList(): string[] {
    const lookup = this.requireFitted();
    if (this.terms === null) this.terms = Array.from(this.gramOfColumn, (g) => lookup.termString(g));
    return this.terms;
  }

  /** Tokens of one document: token arrays as they are; strings via preprocess or lowercase + tokenPattern. */
  protected analyze(doc: VectorizerDocument, d: number): readonly string[] {
    if (typeof doc === "string") {
      if (this.options.preprocess !== null) return preprocess(doc, this.resolvedPreprocess());
      return this.tokenize(this.options.lowercase ? doc.toLowerCase() : doc);
    }
    if (Array.isArray(doc)) return doc;
    throw new DataError(`document ${d} must be a string or an array of tokens, got ${doc === null ? "null" : typeof doc}`);
  }

  private preprocessConfig: Readonly<PreprocessConfig> | null = null;
  private resolvedPreprocess(): Readonly<PreprocessConfig> {
    if (this.preprocessConfig === null) this.preprocessConfig = resolvePreprocessConfig(this.options.preprocess);
    return this.preprocessConfig;
  }

  /**
   * Writes the gram ids of every n-gram of `tokens` with n in ngramRange into scratchIds
   * and returns how many. Level k holds the ids of the k-grams starting at each position;
   * level k+1 extends each by the next token. With `intern` false, unknown grams are -1
   * and are skipped (and so is every longer gram that would extend them).
   */
  private collectGrams(tokens: readonly string[], index: NgramIndex, intern: boolean): number {
    const maxN = this.options.ngramRange[1];
    const len = tokens.length;
    this.ensureLevels(len);
    const atomIds = this.atomIds;
    for (let j = 0; j < len; j++) {
      const t = tokens[j];
      let a = index.atom(t, false);
      if (a < 0 && intern) {
        if (maxN > 1 && typeof t === "string" && t.indexOf(" ") >= 0) {
          throw new DataError(
            `token ${JSON.stringify(t)} contains a space, which separates the words of an n-gram; such tokens are only allowed when ngramRange's upper bound is 1`,
          );
        }
        a = index.atom(t, true);
      }
      atomIds[j] = a;
    }
    return this.gramsFromAtoms(atomIds, len, index, intern);
  }

  private ensureLevels(len: number): void {
    if (len > this.atomIds.length) {
      const cap = Math.max(len, this.atomIds.length * 2);
      this.atomIds = new Int32Array(cap);
      this.levelA = new Int32Array(cap);
      this.levelB = new Int32Array(cap);
    }
  }

  /** The gram ids of the n-grams over atomIds[0..len) (see collectGrams) into scratchIds; returns how many. */
  private gramsFromAtoms(atomIds: Int32Array, len: number, index: NgramIndex, intern: boolean): number {
    const minN = this.options.ngramRange[0];
    const maxN = this.options.ngramRange[1];
    this.ensureLevels(len);
    const maxCount = countGrams(len, minN, maxN);
    if (maxCount > this.scratchIds.length) this.scratchIds = new Int32Array(Math.max(maxCount, this.scratchIds.length * 2));
    return ngramIds(index, atomIds, len, minN, maxN, intern, this.levelA, this.levelB, this.scratchIds);
  }

  /**
   * Gram ids of one document for transform: raw text with a preprocess config goes through
   * the fused scanner (token ids straight from the characters, src/text/preprocess.ts
   * TokenIdScanner) unless a subclass reads the token strings (the lexicon block); everything
   * else through analyze + collectGrams. Both give the same ids.
   */
  private transformGrams(doc: VectorizerDocument, d: number, lookup: NgramIndex): number {
    if (typeof doc === "string" && this.options.preprocess !== null && this.fusedScan) {
      this.scanner ??= new TokenIdScanner(this.resolvedPreprocess(), lookup);
      const len = this.scanner.scan(doc);
      return this.gramsFromAtoms(this.scanner.ids, len, lookup, false);
    }
    return this.collectGrams(this.analyze(doc, d), lookup, false);
  }

  // The fused scanner of the current lookup (its word cache holds this lookup's ids).
  private scanner: TokenIdScanner | null = null;
  /** False in subclasses that read each document's token strings (the lexicon block's analyze). */
  protected fusedScan = true;

  /**
   * Applies maxDf/minDf, then maxFeatures, in scikit-learn's order; returns the kept gram
   * ids in term order (= column order) and the gram → column map.
   */
  private selectTerms(
    rows: number,
    df: Int32Array,
    index: NgramIndex,
    tf: (() => Float64Array) | null,
  ): { gramOfColumn: Int32Array; columnOfGram: Int32Array } {
    const nGrams = index.size;
    const high = boundToCount(this.options.maxDf, rows);
    const low = boundToCount(this.options.minDf, rows);
    if (high < low) throw new InvalidParameterError("maxDf corresponds to fewer documents than minDf");
    const candidates = filterByDocumentFrequency(df, index, this.options.ngramRange[0], low, high);
    if (candidates === null) throw new DataError("empty vocabulary; perhaps the documents only contain stop words");
    if (candidates.length === 0) throw new DataError("after pruning, no terms remain; try a lower minDf or a higher maxDf");
    const sorted = index.sortByTerm(candidates);
    let keep = sorted;
    const limit = this.options.maxFeatures;
    if (limit !== null && sorted.length > limit) {
      if (tf === null) throw new Error("selectTerms: maxFeatures needs the terms' total counts");
      keep = topByCount(sorted, tf(), limit);
    }
    const columnOfGram = new Int32Array(nGrams).fill(-1);
    for (let j = 0; j < keep.length; j++) columnOfGram[keep[j]] = j;
    return { gramOfColumn: keep, columnOfGram };
  }

  /** Restores fitted state: the vocabulary, terms in column order (used by vectorizerFromJSON). */
  restore(terms: readonly string[]): this {
    this.setVocabulary(terms);
    return this;
  }

  /**
   * Installs a vocabulary (terms in column order) and builds the lookup trie used by
   * transform. A term given twice is a DataError (it would map one gram to two columns).
   */
  protected setVocabulary(terms: readonly string[]): void {
    const lookup = new NgramIndex();
    let columnOfGram = new Int32Array(Math.max(16, terms.length * 2)).fill(-1);
    const gramOfColumn = new Int32Array(terms.length);
    const split = this.options.ngramRange[1] > 1;
    for (let j = 0; j < terms.length; j++) {
      const term = terms[j];
      let g: number;
      if (split) {
        let start = 0;
        let space = term.indexOf(" ");
        g = lookup.atom(space < 0 ? term : term.slice(0, space), true);
        while (space >= 0) {
          start = space + 1;
          space = term.indexOf(" ", start);
          g = lookup.chain(g, lookup.atom(space < 0 ? term.slice(start) : term.slice(start, space), true), true);
        }
      } else {
        g = lookup.atom(term, true);
      }
      if (lookup.size > columnOfGram.length) {
        const grown = new Int32Array(Math.max(lookup.size, columnOfGram.length * 2)).fill(-1);
        grown.set(columnOfGram);
        columnOfGram = grown;
      }
      if (columnOfGram[g] >= 0) throw new DataError(`duplicate vocabulary term ${JSON.stringify(term)}`);
      columnOfGram[g] = j;
      gramOfColumn[j] = g;
    }
    this.scanner = null;
    this.lookup = lookup;
    this.columnOfGram = columnOfGram.slice(0, lookup.size);
    this.gramOfColumn = gramOfColumn;
    this.terms = terms.slice();
    this.nTerms = terms.length;
  }

  /**
   * The fitted lookup as it is (no copies; read-only by contract) for the fused scorer
   * (src/features/scorer.ts): the n-gram index, gram → column, and idf (TF-IDF with useIdf).
   */
  scoringTables(): { index: NgramIndex; columnOfGram: Int32Array; idf: Float64Array | null } {
    return { index: this.requireFitted(), columnOfGram: this.columnOfGram, idf: null };
  }

  /** The fitted state as typed arrays (copies), for the binary model file. */
  exportFitted(): FittedVectorizerState {
    const lookup = this.requireFitted();
    return { index: lookup.exportFrozen(), columnOfGram: this.columnOfGram.slice(), gramOfColumn: this.gramOfColumn.slice(), idf: null };
  }

  /**
   * Adopts exported fitted state as it is (the arrays are used, not copied: they may be views
   * of a shared buffer). With `check` (default), every invariant transform relies on is
   * verified first, so a corrupt file is a DataError naming the problem.
   */
  restoreFitted(state: FittedVectorizerState, check = true): this {
    const index = NgramIndex.fromFrozen(state.index, check);
    const { columnOfGram, gramOfColumn } = state;
    const nTerms = gramOfColumn.length;
    if (nTerms < 1) throw new DataError("vectorizer state: the vocabulary is empty");
    if (columnOfGram.length !== index.size) throw new DataError(`vectorizer state: columnOfGram has ${columnOfGram.length} entries for ${index.size} grams`);
    const [minN, maxN] = this.options.ngramRange;
    if (check) {
      let mapped = 0;
      for (let g = 0; g < columnOfGram.length; g++) {
        const c = columnOfGram[g];
        if (c === -1) continue;
        if (!(c >= 0 && c < nTerms) || gramOfColumn[c] !== g)
          throw new DataError(`vectorizer state: gram ${g} maps to column ${c}, which does not map back to it`);
        mapped++;
      }
      if (mapped !== nTerms) throw new DataError(`vectorizer state: ${mapped} grams map to the ${nTerms} columns`);
      for (let j = 0; j < nTerms; j++) {
        const len = index.gramLength(gramOfColumn[j]);
        if (len < minN || len > maxN) throw new DataError(`vectorizer state: column ${j} is a ${len}-gram, outside ngramRange [${minN}, ${maxN}]`);
      }
    }
    this.installFitted(index, columnOfGram, gramOfColumn, state.idf);
    return this;
  }

  /** Sets the fitted state (TfidfVectorizer also takes idf). */
  protected installFitted(index: NgramIndex, columnOfGram: Int32Array, gramOfColumn: Int32Array, idf: Float64Array | null): void {
    if (idf !== null) throw new DataError("vectorizer state: a count vectorizer has no idf");
    this.scanner = null;
    this.lookup = index;
    this.columnOfGram = columnOfGram;
    this.gramOfColumn = gramOfColumn;
    this.terms = null;
    this.nTerms = gramOfColumn.length;
  }

  protected requireFitted(): NgramIndex {
    if (this.lookup === null) throw new PolarityError("BAD_REQUEST", `${this.constructor.name} is not fitted yet; call fit() first`);
    return this.lookup;
  }
}

/**
 * scikit-learn's TfidfVectorizer: CountVectorizer followed by TfidfTransformer (sublinear
 * tf, idf, row norm), with the same options and defaults.
 */
export class TfidfVectorizer extends CountVectorizer {
  readonly tfidfOptions: Readonly<Required<TfidfTransformerOptions>>;
  private idfValues: Float64Array | null = null;

  constructor(options: TfidfVectorizerOptions = {}) {
    super(options, "TfidfVectorizer", TFIDF_OPTION_KEYS);
    const { norm, useIdf, smoothIdf, sublinearTf } = options;
    this.tfidfOptions = Object.freeze(resolveTfidfOptions({ norm, useIdf, smoothIdf, sublinearTf }, "TfidfVectorizer"));
  }

  protected override fitWeights(rows: number, df: () => Int32Array): FitRowWeights {
    this.idfValues = this.tfidfOptions.useIdf ? idfFromDocumentFrequencies(rows, df(), this.tfidfOptions.smoothIdf) : null;
    return { idf: this.idfValues, sublinearTf: this.tfidfOptions.sublinearTf, norm: this.tfidfOptions.norm };
  }

  protected override weighFitted(X: CsrMatrix): CsrMatrix {
    if (this.weightedInFit) {
      // idf was learned and the rows weighted during the fit's column remap (fitWeights).
      this.weightedInFit = false;
      return X;
    }
    // A fixed vocabulary: the raw counts, weighted here.
    this.idfValues = this.tfidfOptions.useIdf ? computeIdf(X, this.tfidfOptions.smoothIdf) : null;
    applyTfidfInPlace(X, this.idfValues, this.tfidfOptions);
    return X;
  }

  override transform(docs: readonly VectorizerDocument[]): CsrMatrix {
    const X = this.countMatrix(docs);
    applyTfidfInPlace(X, this.idfValues, this.tfidfOptions);
    return X;
  }

  protected override weighInPlace(X: CsrMatrix): void {
    applyTfidfInPlace(X, this.idfValues, this.tfidfOptions);
  }

  /** idf per column (a copy), or null when useIdf is false. */
  get idf(): Float64Array | null {
    this.requireFitted();
    return this.idfValues === null ? null : this.idfValues.slice();
  }

  override toJSON(): VectorizerJson {
    const json = super.toJSON();
    if (this.idfValues !== null) json.idf = Array.from(this.idfValues);
    return json;
  }

  override toJSONShell(): VectorizerShellJson {
    return { ...super.toJSONShell(), kind: "tfidf", options: { ...this.options, ...this.tfidfOptions } };
  }

  override exportFitted(): FittedVectorizerState {
    return { ...super.exportFitted(), idf: this.idfValues === null ? null : this.idfValues.slice() };
  }

  override scoringTables(): { index: NgramIndex; columnOfGram: Int32Array; idf: Float64Array | null } {
    return { ...super.scoringTables(), idf: this.idfValues };
  }

  protected override installFitted(index: NgramIndex, columnOfGram: Int32Array, gramOfColumn: Int32Array, idf: Float64Array | null): void {
    if (this.tfidfOptions.useIdf) {
      if (idf === null || idf.length !== gramOfColumn.length)
        throw new DataError(`vectorizer state: idf must have ${gramOfColumn.length} values when useIdf is true`);
      for (let j = 0; j < idf.length; j++) {
        if (!(idf[j] >= 1 && idf[j] < Infinity)) throw new DataError(`vectorizer state: idf[${j}] must be a finite number >= 1, got ${idf[j]}`);
      }
    } else if (idf !== null) {
      throw new DataError("vectorizer state: idf given but useIdf is false");
    }
    super.installFitted(index, columnOfGram, gramOfColumn, null);
    this.idfValues = idf;
  }

  /** Restores fitted state (used by vectorizerFromJSON). */
  override restore(terms: readonly string[], idf: Float64Array | null = null): this {
    if (this.tfidfOptions.useIdf && (idf === null || idf.length !== terms.length))
      throw new DataError(`idf must have ${terms.length} values when useIdf is true`);
    this.setVocabulary(terms);
    this.idfValues = idf;
    return this;
  }
}

/** The vectorizer JSON without its fitted arrays: what the binary model file's header stores. */
export type VectorizerShellJson = Omit<VectorizerJson, "vocabulary" | "idf">;

/**
 * An unfitted vectorizer of the kind, options and extension block (the lexicon) a vectorizer
 * JSON names, validated; vectorizerFromJSON and the binary model file then install its state.
 */
export function vectorizerShellFromJSON(json: unknown, where = "vectorizer JSON"): CountVectorizer | TfidfVectorizer {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new DataError(`${where}: expected an object`);
  const j = json as Record<string, unknown>;
  if (j.format !== "polarity.vectorizer") throw new DataError(`${where}: format must be "polarity.vectorizer", got ${JSON.stringify(j.format)}`);
  if (j.version !== 1) throw new DataError(`${where}: unsupported version ${JSON.stringify(j.version)} (this build reads version 1)`);
  if (j.kind !== "count" && j.kind !== "tfidf") throw new DataError(`${where}: kind must be "count" or "tfidf", got ${JSON.stringify(j.kind)}`);
  if (j.options === null || typeof j.options !== "object" || Array.isArray(j.options)) throw new DataError(`${where}: options must be an object`);
  try {
    const ext = [...EXTENSIONS].find(([key]) => j[key] !== undefined);
    if (ext) return ext[1](j.kind, j.options as CountVectorizerOptions, j[ext[0]]);
    return j.kind === "count" ? new CountVectorizer(j.options as CountVectorizerOptions) : new TfidfVectorizer(j.options as TfidfVectorizerOptions);
  } catch (err) {
    throw new DataError(`${where}: bad options: ${(err as Error).message}`, { cause: err });
  }
}

/** Rebuilds a fitted vectorizer from toJSON() output, validating it; transform after restore equals transform before. */
export function vectorizerFromJSON(json: unknown): CountVectorizer | TfidfVectorizer {
  const where = "vectorizer JSON";
  const v = vectorizerShellFromJSON(json, where);
  const j = json as Record<string, unknown>;
  const vocab = j.vocabulary;
  if (!Array.isArray(vocab) || vocab.length === 0) throw new DataError(`${where}: vocabulary must be a non-empty array of terms`);
  for (const t of vocab) if (typeof t !== "string") throw new DataError(`${where}: vocabulary terms must be strings, got ${JSON.stringify(t)}`);
  // Duplicate terms are found by setVocabulary (two columns for one gram), without a Set of 10^6 strings.
  const terms = vocab as string[];
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof DataError && !err.message.startsWith(where)) throw new DataError(`${where}: ${err.message}`, { cause: err });
      throw err;
    }
  };
  if (v instanceof TfidfVectorizer) {
    let idf: Float64Array | null = null;
    if (v.tfidfOptions.useIdf) {
      if (!Array.isArray(j.idf) || j.idf.length !== terms.length) {
        throw new DataError(
          `${where}: idf must be an array of ${terms.length} numbers (one per vocabulary term), got ${Array.isArray(j.idf) ? j.idf.length + " values" : JSON.stringify(j.idf)}`,
        );
      }
      idf = new Float64Array(terms.length);
      for (let k = 0; k < terms.length; k++) {
        const x = j.idf[k];
        if (typeof x !== "number" || !Number.isFinite(x) || x < 1)
          throw new DataError(`${where}: idf[${k}] must be a finite number >= 1, got ${JSON.stringify(x)}`);
        idf[k] = x;
      }
    } else if (j.idf !== undefined) {
      throw new DataError(`${where}: idf given but useIdf is false`);
    }
    return wrap(() => v.restore(terms, idf));
  }
  if (j.idf !== undefined) throw new DataError(`${where}: a count vectorizer has no idf`);
  return wrap(() => v.restore(terms));
}

/**
 * A TokenIdScanner lookup that interns every token it is asked for in `index` (the scanner asks
 * once per distinct word and emoticon, then remembers the ids), for counting during a fit.
 */
function internIn(index: NgramIndex): TokenIdLookup {
  return { atom: (token: string) => index.atom(token, true) };
}

function checkCorpus(docs: readonly VectorizerDocument[], nonEmpty = true): void {
  if (typeof docs === "string") throw new DataError("expected an array of documents, got a single string");
  if (!Array.isArray(docs)) throw new DataError(`expected an array of documents, got ${docs === null ? "null" : typeof docs}`);
  if (nonEmpty && docs.length === 0) throw new DataError("empty vocabulary; perhaps the documents only contain stop words (the corpus is empty)");
}

function countGrams(len: number, minN: number, maxN: number): number {
  let c = 0;
  for (let k = minN; k <= maxN; k++) c += Math.max(0, len - k + 1);
  return c;
}

/**
 * A guess at the distinct grams among `occurrences` n-gram occurrences, for pre-sizing the
 * n-gram index. Distinct terms grow sublinearly with the text (Heaps' law): 14 · occurrences^0.7
 * fits the synthetic corpora, whose occurrences estimateNnz puts at 3.2 M for 10^5 documents
 * (503 k distinct grams) and 32 M for 10^6 (2.5 M). A flat 1/8 of the occurrences (the guess
 * before) overshot at 10^6 and fell short at 10^5, where the two-thread count's main index then
 * grew (a fresh table, every n-gram rehashed) while absorbing the worker's n-grams, on the
 * critical path.
 */
function expectedDistinctGrams(occurrences: number): number {
  return Math.round(14 * occurrences ** 0.7);
}

/** Upper bound on non-zeros when every document is a token array (exact before merging repeats); a guess otherwise. */
function estimateNnz(docs: readonly VectorizerDocument[], minN: number, maxN: number): number {
  let total = 0;
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d];
    total += Array.isArray(doc) ? countGrams(doc.length, minN, maxN) : 16 * (maxN - minN + 1);
  }
  return Math.min(total, 0x7fffffff);
}

/** Per-column sum of values (total count of each term). */
function columnSums(X: CsrMatrix): Float64Array {
  const out = new Float64Array(X.cols);
  const { indices, data } = X;
  const nnz = X.indptr[X.rows];
  for (let p = 0; p < nnz; p++) out[indices[p]] += data[p];
  return out;
}

/**
 * Grams that are terms (length >= minN, seen in some document) with low <= df <= high;
 * null if there is no term at all (an empty vocabulary before pruning).
 */
function filterByDocumentFrequency(df: Int32Array, index: NgramIndex, minN: number, low: number, high: number): Int32Array | null {
  const out = new Int32Array(df.length);
  let n = 0;
  let anyTerm = false;
  for (let g = 0; g < df.length; g++) {
    if (df[g] === 0 || index.gramLength(g) < minN) continue; // a prefix or an unused token, not a term
    anyTerm = true;
    if (df[g] <= high && df[g] >= low) out[n++] = g;
  }
  return anyTerm ? out.subarray(0, n) : null;
}

/**
 * The `limit` grams with the largest total count, ties broken by term order (their
 * position in `sorted`), returned in term order. scikit-learn ranks with numpy's default
 * (unstable) argsort; a stable order is what it gives on small inputs and is deterministic.
 */
function topByCount(sorted: Int32Array, tf: Float64Array, limit: number): Int32Array {
  const n = sorted.length;
  let maxTf = 0;
  for (let r = 0; r < n; r++) maxTf = Math.max(maxTf, tf[sorted[r]]);
  const chosen = new Uint8Array(n);
  if ((maxTf + 1) * n < 2 ** 53) {
    // One numeric key per term: (maxTf - tf)·n + rank, sorted natively.
    const keys = new Float64Array(n);
    for (let r = 0; r < n; r++) keys[r] = (maxTf - tf[sorted[r]]) * n + r;
    keys.sort();
    for (let k = 0; k < limit; k++) chosen[keys[k] % n] = 1;
  } else {
    const order = Array.from(sorted.keys()).sort((a, b) => tf[sorted[b]] - tf[sorted[a]] || a - b);
    for (let k = 0; k < limit; k++) chosen[order[k]] = 1;
  }
  const keep = new Int32Array(limit);
  let j = 0;
  for (let r = 0; r < n; r++) if (chosen[r] === 1) keep[j++] = sorted[r];
  return keep;
}

/**
 * Row weighting applied during the fit's column remap, with applyTfidfInPlace's arithmetic in
 * its order (per entry: sublinear tf, then idf; then the row norm over the sorted row), so the
 * values are bit-identical to weighting afterwards.
 */
export interface FitRowWeights {
  idf: Float64Array | null;
  sublinearTf: boolean;
  norm: TfidfNorm;
}

/** values[ids[k]] for every k (a column's value from its gram's). */
function columnValues(values: Int32Array, ids: Int32Array): Int32Array {
  const out = new Int32Array(ids.length);
  for (let k = 0; k < ids.length; k++) out[k] = values[ids[k]];
  return out;
}

/** Renumbers columns (gram id → final column, -1 = dropped), keeping each row sorted; with `weights`, weights each row too. */
function remapColumns(X: CsrMatrix, columnOfGram: Int32Array, cols: number, weights: FitRowWeights | null = null): CsrMatrix {
  const { rows, indptr, indices, data } = X;
  const outIndptr = newInt32(rows + 1, indices.buffer instanceof SharedArrayBuffer);
  // In place: each row's entries move to at most where they were.
  const q = remapRowsInto(indptr, indices, data, 0, rows, columnOfGram, weights, indices, data, outIndptr, 0, 0);
  // Nothing pruned: keep the arrays rather than copying them.
  if (q === indices.length) return { rows, cols, indptr: outIndptr, indices, data };
  return { rows, cols, indptr: outIndptr, indices: indices.slice(0, q), data: data.slice(0, q) };
}

/**
 * Rows [r0, r1) of a CSR of gram ids (srcIndptr, srcIndices, srcData) with their columns
 * renumbered (gram → column, -1 = dropped), each row sorted and, with `weights`, weighted,
 * written to dst from entry `at` and row `rowAt` (dstIndptr[rowAt + 1 + i] = the end of row
 * r0 + i); returns the end. The arrays may be the same ones when `at` <= srcIndptr[r0] (in
 * place, as remapColumns does). The per-row work is its own small function so it is optimised
 * early as a whole; as one long loop it ran interpreted after a deopt, boxing every double
 * (bench: 1e6 docs).
 */
export function remapRowsInto(
  srcIndptr: Int32Array,
  srcIndices: Int32Array,
  srcData: Float64Array,
  r0: number,
  r1: number,
  columnOfGram: Int32Array,
  weights: FitRowWeights | null,
  dstIndices: Int32Array,
  dstData: Float64Array,
  dstIndptr: Int32Array,
  at: number,
  rowAt: number,
): number {
  let q = at;
  for (let i = r0; i < r1; i++) {
    const start = q;
    q = remapRowInto(srcIndices, srcData, columnOfGram, srcIndptr[i], srcIndptr[i + 1], dstIndices, dstData, q);
    dstIndptr[rowAt + 1 + i - r0] = q;
    if (weights !== null) {
      if (weights.sublinearTf) sublinearTfRange(dstData, start, q);
      if (weights.idf !== null) scaleColumnsRange(dstIndices, dstData, start, q, weights.idf);
      if (weights.norm !== null) normalizeRange(dstData, start, q, weights.norm === "l2");
    }
  }
  return q;
}

/** Moves row entries [start, end) to [q, ...) of the out arrays (or the same ones, q <= start) with new column ids, drops -1s, sorts; returns the new end. */
function remapRowInto(
  indices: Int32Array,
  data: Float64Array,
  columnOfGram: Int32Array,
  start: number,
  end: number,
  outIndices: Int32Array,
  outData: Float64Array,
  q: number,
): number {
  const rowStart = q;
  for (let p = start; p < end; p++) {
    const c = columnOfGram[indices[p]];
    if (c < 0) continue;
    outIndices[q] = c;
    outData[q] = data[p];
    q++;
  }
  sortRowPairs(outIndices, outData, rowStart, q);
  return q;
}
