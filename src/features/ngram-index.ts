import { DataError } from "../util/errors.js";

/**
 * Integer ids for tokens ("atoms") and word n-grams without building n-gram strings while
 * counting. A token is interned once in a Map<string, id>; an n-gram is the pair
 * (id of its (n-1)-gram prefix, id of its last token), interned in a typed-array hash
 * table. Atoms and n-grams share one id space, so an n-gram id is a "node" of a trie whose
 * edges are tokens. Strings are built only when asked for (`termString`), and sorting by
 * term needs none (`sortByTerm`).
 *
 * Memory: per distinct gram, 9 bytes of gram arrays + 16-32 bytes of hash table; per distinct
 * token, one Map entry and its string.
 */
const MAX_GRAMS = 2 ** 30;

/**
 * Open-addressing hash map from an int pair (prefix gram, token) to a gram id, on one
 * typed array of [prefix, token, id] triples (one cache line per probe: the table is far
 * larger than the caches on big corpora, so probes are memory-bound). A JS Map keyed by
 * prefix·2^k + token would box every key above 2^31 as a heap number. Linear probing,
 * load factor <= 3/4: the extra probes of a fuller table mostly stay in the same cache line
 * (5 triples per line), while the fitted model keeps the table (bench/core.ts, 10^6 documents:
 * 2.3 M bigrams in 4 M slots = 48 MB instead of 96 MB at load <= 1/2).
 */
class PairTable {
  private slots: Int32Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1024, slots?: Int32Array, count = 0) {
    this.slots = slots ?? PairTable.emptySlots(capacity);
    this.mask = (slots ? slots.length / 3 : capacity) - 1;
    this.count = count;
  }

  /** The [prefix, token, id] triples as they are (a binary model file stores them: no rehash on load). */
  get rawSlots(): Int32Array {
    return this.slots;
  }

  private static emptySlots(capacity: number): Int32Array {
    const slots = new Int32Array(capacity * 3);
    for (let i = 2; i < slots.length; i += 3) slots[i] = -1;
    return slots;
  }

  private static slot(p: number, a: number, mask: number): number {
    let h = Math.imul(p, 0x9e3779b1) ^ Math.imul(a + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    return h & mask;
  }

  get(p: number, a: number): number {
    const { slots, mask } = this;
    let i = PairTable.slot(p, a, mask);
    for (;;) {
      const k = i * 3;
      const v = slots[k + 2];
      if (v < 0 || (slots[k] === p && slots[k + 1] === a)) return v;
      i = (i + 1) & mask;
    }
  }

  /** Inserts a key known to be absent. */
  insert(p: number, a: number, v: number): void {
    if (4 * (this.count + 1) > 3 * (this.mask + 1)) this.grow();
    const { slots, mask } = this;
    let i = PairTable.slot(p, a, mask);
    while (slots[i * 3 + 2] >= 0) i = (i + 1) & mask;
    const k = i * 3;
    slots[k] = p;
    slots[k + 1] = a;
    slots[k + 2] = v;
    this.count++;
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    this.slots = PairTable.emptySlots(cap);
    this.mask = cap - 1;
    this.count = 0;
    for (let k = 0; k < old.length; k += 3) if (old[k + 2] >= 0) this.insert(old[k], old[k + 1], old[k + 2]);
  }
}

/** An NgramIndex as transferable arrays (NgramIndex.exportTables / absorb). */
export interface NgramTables {
  size: number;
  /** Per gram: its (n-1)-gram prefix id, last token id (-1 for atoms) and length in tokens. */
  prefix: Int32Array;
  last: Int32Array;
  length: Uint8Array;
  /** The atoms' strings concatenated in id order, and each one's length. */
  atomText: string;
  atomLengths: Int32Array;
}

/**
 * A fitted NgramIndex as flat typed arrays, including the n-gram hash table's slots, for the
 * binary model file (src/models/binary-bundle.ts): loading it re-hashes no n-gram, and the
 * arrays may be views of one (shared) buffer.
 */
export interface FrozenNgramTables {
  size: number;
  prefix: Int32Array;
  last: Int32Array;
  length: Uint8Array;
  /** The atoms' UTF-16 code units concatenated in id order, and each atom's length in units. */
  atomCodes: Uint16Array;
  atomLengths: Int32Array;
  /** The PairTable's [prefix, token, id] triples (id -1 = empty), capacity a power of two. */
  pairSlots: Int32Array;
}

/**
 * `s` as a string of its own. V8 makes a substring of 13+ characters a view of its parent
 * ("sliced string") that keeps the whole parent alive: a token cut from a document read out of
 * a CSV file would keep the entire file's string (66 MB at 10^6 documents) alive for as long
 * as the fitted vocabulary lives (a heap snapshot after bench/core.ts's from-file fit showed
 * exactly that). A JSON round trip copies the characters (lone surrogates included).
 */
function ownString(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

export class NgramIndex {
  private readonly atoms = new Map<string, number>();
  private chains: PairTable;
  /** Set on an index adopted from frozen tables (views of a possibly shared buffer): it must never intern. */
  private frozen = false;
  private atomStrings: string[] = [];
  private prefix: Int32Array = new Int32Array(1024);
  private last: Int32Array = new Int32Array(1024);
  private length: Uint8Array = new Uint8Array(1024);
  size = 0;

  /**
   * `expectedNgrams` pre-sizes the n-gram hash table for that many grams within its load limit
   * (3/4), and the per-gram arrays (a guess is fine: both still grow), saving the rehash chain
   * and the garbage of smaller generations on big corpora: each generation's pages are faulted
   * in afresh (~4 ms per MB on the benchmark VM). Pages of the arrays beyond what is used are
   * never touched.
   */
  constructor(expectedNgrams = 0) {
    let capacity = 1024;
    while (3 * capacity < 4 * expectedNgrams && capacity < 1 << 23) capacity *= 2;
    this.chains = new PairTable(capacity);
    if (expectedNgrams > this.prefix.length) {
      const n = Math.min(expectedNgrams, MAX_GRAMS);
      this.prefix = new Int32Array(n);
      this.last = new Int32Array(n);
      this.length = new Uint8Array(n);
    }
  }

  /** Id of a token, interned if `intern`; -1 if unknown and not interning. */
  atom(token: string, intern: boolean): number {
    let id = this.atoms.get(token);
    if (id === undefined) {
      if (!intern) return -1;
      if (this.frozen) throw new DataError("this n-gram index was loaded from a model file and cannot learn new tokens");
      if (typeof token !== "string") throw new DataError(`tokens must be strings, got ${token === null ? "null" : typeof token}`);
      id = this.newGram(-1, -1, 1);
      const own = ownString(token);
      this.atoms.set(own, id);
      this.atomStrings[id] = own;
    }
    return id;
  }

  /** Id of the n-gram (prefix gram, last token); -1 if unknown and not interning. */
  chain(prefixId: number, atomId: number, intern: boolean): number {
    let id = this.chains.get(prefixId, atomId);
    if (id < 0 && intern) {
      if (this.frozen) throw new DataError("this n-gram index was loaded from a model file and cannot learn new n-grams");
      id = this.newGram(prefixId, atomId, this.length[prefixId] + 1);
      this.chains.insert(prefixId, atomId, id);
    }
    return id;
  }

  gramLength(id: number): number {
    return this.length[id];
  }

  /** The space-joined string of one gram, as scikit-learn names n-grams. */
  termString(id: number): string {
    return this.length[id] === 1 ? this.atomStrings[id] : this.termString(this.prefix[id]) + " " + this.atomStrings[this.last[id]];
  }

  /**
   * Sorts gram ids by their term strings in Python's order (code points) without building
   * the strings: distinct tokens are sorted once, then grams are radix-sorted by the ranks
   * of their tokens, last position first. That equals string order because every token
   * character is above the joining space; if some token has a character <= U+0020, the
   * strings are built and compared instead.
   */
  sortByTerm(grams: Int32Array): Int32Array {
    const atomIds: number[] = [];
    const atomText: string[] = [];
    let lowChar = false;
    let surrogate = false;
    for (const [text, id] of this.atoms) {
      atomIds.push(id);
      atomText.push(text);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c <= 0x20) lowChar = true;
        else if (c >= 0xd800) surrogate = true;
      }
    }
    if (lowChar) {
      const strings = Array.from(grams, (g) => this.termString(g));
      const order = Array.from(strings.keys()).sort((a, b) => compareCodePoints(strings[a], strings[b]));
      return Int32Array.from(order, (i) => grams[i]);
    }
    const order = Array.from(atomText.keys());
    if (surrogate) order.sort((a, b) => compareCodePoints(atomText[a], atomText[b]));
    else order.sort((a, b) => (atomText[a] < atomText[b] ? -1 : atomText[a] > atomText[b] ? 1 : 0));
    // digit 0 = "no token here" (shorter grams first), digits 1..V = token rank + 1.
    const rank = new Int32Array(this.size);
    for (let r = 0; r < order.length; r++) rank[atomIds[order[r]]] = r + 1;
    let maxLen = 0;
    for (let c = 0; c < grams.length; c++) maxLen = Math.max(maxLen, this.length[grams[c]]);
    const buckets = atomIds.length + 1;
    const digits = new Int32Array(grams.length);
    const counts = new Int32Array(buckets + 1);
    let cur = grams.slice();
    let next = new Int32Array(grams.length);
    for (let pos = maxLen - 1; pos >= 0; pos--) {
      for (let c = 0; c < cur.length; c++) {
        let g = cur[c];
        const len = this.length[g];
        if (pos >= len) {
          digits[c] = 0;
          continue;
        }
        for (let up = len - 1; up > pos; up--) g = this.prefix[g];
        digits[c] = rank[this.length[g] === 1 ? g : this.last[g]];
      }
      counts.fill(0);
      for (let c = 0; c < cur.length; c++) counts[digits[c] + 1]++;
      for (let b = 1; b <= buckets; b++) counts[b] += counts[b - 1];
      for (let c = 0; c < cur.length; c++) next[counts[digits[c]]++] = cur[c];
      const t = cur;
      cur = next;
      next = t;
    }
    return cur;
  }

  /**
   * A new index holding only `grams` (given in column order) and their prefixes, with the
   * column map for it: what transform needs after min/max df pruning dropped most grams.
   */
  compact(grams: Int32Array): { index: NgramIndex; columnOfGram: Int32Array; gramOfColumn: Int32Array } {
    const out = new NgramIndex();
    const newId = new Int32Array(this.size).fill(-1);
    const copy = (g: number): number => {
      if (newId[g] >= 0) return newId[g];
      const id = this.length[g] === 1 ? out.atom(this.atomStrings[g], true) : out.chain(copy(this.prefix[g]), copy(this.last[g]), true);
      newId[g] = id;
      return id;
    };
    const gramOfColumn = new Int32Array(grams.length);
    for (let j = 0; j < grams.length; j++) gramOfColumn[j] = copy(grams[j]);
    const columnOfGram = new Int32Array(out.size).fill(-1);
    for (let j = 0; j < grams.length; j++) columnOfGram[gramOfColumn[j]] = j;
    return { index: out, columnOfGram, gramOfColumn };
  }

  /**
   * This index as plain typed arrays and one string, for another thread to merge with
   * `absorb` (structured clone copies a few arrays instead of millions of small strings).
   */
  exportTables(): NgramTables {
    const parts: string[] = [];
    const atomLengths = new Int32Array(this.atoms.size);
    let a = 0;
    // Map iteration is insertion order, which is id order: absorb walks ids ascending.
    for (const text of this.atoms.keys()) {
      parts.push(text);
      atomLengths[a++] = text.length;
    }
    return {
      size: this.size,
      prefix: this.prefix.slice(0, this.size),
      last: this.last.slice(0, this.size),
      length: this.length.slice(0, this.size),
      atomText: parts.join(""),
      atomLengths,
    };
  }

  /**
   * Interns every gram of another index's tables here (atoms by their strings, n-grams by
   * (prefix, last token) translated) and returns the map from its gram ids to ids here. Its
   * ids are walked ascending, so a gram's prefix and last token are always mapped before it.
   */
  absorb(t: NgramTables): Int32Array {
    const map = new Int32Array(t.size);
    let a = 0;
    let pos = 0;
    for (let g = 0; g < t.size; g++) {
      if (t.length[g] === 1) {
        const len = t.atomLengths[a++];
        map[g] = this.atom(t.atomText.slice(pos, pos + len), true);
        pos += len;
      } else {
        map[g] = this.chain(map[t.prefix[g]], map[t.last[g]], true);
      }
    }
    return map;
  }

  /** This index as flat typed arrays (copies), for a binary model file: exportTables with the atoms as UTF-16 code units, plus the hash table. */
  exportFrozen(): FrozenNgramTables {
    const { atomText, ...tables } = this.exportTables();
    const atomCodes = new Uint16Array(atomText.length);
    for (let i = 0; i < atomText.length; i++) atomCodes[i] = atomText.charCodeAt(i);
    return { ...tables, atomCodes, pairSlots: this.chains.rawSlots.slice() };
  }

  /**
   * Adopts frozen tables as they are (the arrays are used, not copied; the result never
   * interns). Only the atom strings are rebuilt (one Map entry per distinct token); the n-gram
   * table is probed in place. With `check`, every invariant transform relies on is verified
   * first, so a corrupt or hostile file is a DataError, never a crash or an endless probe:
   * grams refer only to earlier grams, lengths agree, atoms are distinct, every n-gram is in the
   * table once and the table has an empty slot.
   */
  static fromFrozen(t: FrozenNgramTables, check = true): NgramIndex {
    const where = "n-gram tables";
    const n = t.size;
    if (!Number.isInteger(n) || n < 1 || n > MAX_GRAMS) throw new DataError(`${where}: size ${n} out of range`);
    if (t.prefix.length !== n || t.last.length !== n || t.length.length !== n) throw new DataError(`${where}: prefix/last/length must have ${n} entries`);
    const slots = t.pairSlots;
    const capacity = slots.length / 3;
    if (!Number.isInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0)
      throw new DataError(`${where}: the n-gram table's capacity must be a power of two`);
    let nAtoms = 0;
    for (let g = 0; g < n; g++) if (t.length[g] === 1) nAtoms++;
    if (t.atomLengths.length !== nAtoms) throw new DataError(`${where}: ${t.atomLengths.length} atom lengths for ${nAtoms} atoms`);
    if (check) {
      checkGrams(t.prefix, t.last, t.length, n);
      checkPairSlots(slots, t.length, n, capacity);
    }
    let units = 0;
    for (let i = 0; i < nAtoms; i++) {
      const l = t.atomLengths[i];
      if (l < 0 || l > t.atomCodes.length) throw new DataError(`${where}: atom length ${l} out of range`);
      units += l;
    }
    if (units !== t.atomCodes.length) throw new DataError(`${where}: atom lengths add up to ${units} code units, the text has ${t.atomCodes.length}`);
    const index = new NgramIndex();
    index.chains = new PairTable(0, slots, n - nAtoms);
    index.prefix = t.prefix;
    index.last = t.last;
    index.length = t.length;
    index.size = n;
    const strings = new Array<string>(n);
    let a = 0;
    let pos = 0;
    for (let g = 0; g < n; g++) {
      if (t.length[g] !== 1) continue;
      const len = t.atomLengths[a++];
      const text = codesToString(t.atomCodes, pos, pos + len);
      pos += len;
      if (index.atoms.has(text)) throw new DataError(`${where}: duplicate token ${JSON.stringify(text)}`);
      index.atoms.set(text, g);
      strings[g] = text;
    }
    index.atomStrings = strings;
    index.frozen = true;
    return index;
  }

  private newGram(prefixId: number, atomId: number, len: number): number {
    const id = this.size;
    if (id >= MAX_GRAMS) throw new DataError(`more than ${MAX_GRAMS} distinct n-grams; use a smaller ngramRange or prune the corpus`);
    if (len > 255) throw new DataError("n-grams longer than 255 tokens are not supported");
    if (id === this.prefix.length) {
      const cap = id * 2;
      this.prefix = growInt32(this.prefix, cap);
      this.last = growInt32(this.last, cap);
      const l = new Uint8Array(cap);
      l.set(this.length);
      this.length = l;
    }
    this.prefix[id] = prefixId;
    this.last[id] = atomId;
    this.length[id] = len;
    this.size++;
    return id;
  }
}

// The checks are small functions of their own, each optimised as a whole (one long function
// with several loops ran partly interpreted after a deopt: 0.7 s on a 2 M-gram table).

/** Grams refer only to earlier grams (so term strings and sorting terminate), with lengths that agree. */
function checkGrams(prefix: Int32Array, last: Int32Array, length: Uint8Array, n: number): void {
  for (let g = 0; g < n; g++) {
    const len = length[g];
    const p = prefix[g];
    const a = last[g];
    if (len === 1) {
      if (p !== -1 || a !== -1) throw new DataError(`n-gram tables: atom ${g} has a prefix`);
    } else if (len === 0 || !(p >= 0 && p < g && a >= 0 && a < g) || length[a] !== 1 || length[p] + 1 !== len) {
      throw new DataError(`n-gram tables: gram ${g} is inconsistent (prefix ${p}, last ${a}, length ${len})`);
    }
  }
}

/**
 * Termination and bounds of the n-gram hash table: ids in range, every n-gram (and no atom)
 * in it once, and an empty slot to end every probe. Whether each key sits where probing finds
 * it is left to the file's checksums: a lookup that misses cannot crash, and checking it costs
 * random reads of the whole table.
 */
function checkPairSlots(slots: Int32Array, length: Uint8Array, n: number, capacity: number): void {
  let occupied = 0;
  const seen = new Uint8Array(n);
  for (let k = 0; k < slots.length; k += 3) {
    const id = slots[k + 2];
    if (id === -1) continue;
    if (!(id >= 0 && id < n) || seen[id] === 1) throw new DataError(`n-gram tables: n-gram table slot ${k / 3} is corrupt`);
    seen[id] = 1;
    occupied++;
  }
  for (let g = 0; g < n; g++) {
    if ((seen[g] === 1) !== length[g] > 1)
      throw new DataError(`n-gram tables: n-gram ${g} is ${seen[g] === 1 ? "an atom in the n-gram table" : "missing from the n-gram table"}`);
  }
  if (occupied >= capacity) throw new DataError(`n-gram tables: the n-gram table holds ${occupied} n-grams in ${capacity} slots: no empty slot`);
}

/** String of code units [start, end) of `codes`, exactly (lone surrogates kept, unlike a UTF-16 TextDecoder). */
function codesToString(codes: Uint16Array, start: number, end: number): string {
  if (end - start <= 8192) return String.fromCharCode.apply(null, codes.subarray(start, end) as unknown as number[]);
  let s = "";
  for (let i = start; i < end; i += 8192) s += String.fromCharCode.apply(null, codes.subarray(i, Math.min(end, i + 8192)) as unknown as number[]);
  return s;
}

export function growInt32(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

export function growFloat64(a: Float64Array, capacity: number): Float64Array {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}

/** Sorts cols[start..end) ascending, moving vals along (insertion sort: rows are short). */
export function sortRowPairs(cols: Int32Array, vals: Float64Array, start: number, end: number): void {
  if (end - start > 48) {
    sortLongRowPairs(cols, vals, start, end);
    return;
  }
  for (let p = start + 1; p < end; p++) {
    const c = cols[p];
    const v = vals[p];
    let q = p - 1;
    while (q >= start && cols[q] > c) {
      cols[q + 1] = cols[q];
      vals[q + 1] = vals[q];
      q--;
    }
    cols[q + 1] = c;
    vals[q + 1] = v;
  }
}

const SHELL_GAPS = [701, 301, 132, 57, 23, 10, 4, 1]; // Ciura's sequence

/** Long rows: Shell sort in place (no allocation: this runs for every long document). */
function sortLongRowPairs(cols: Int32Array, vals: Float64Array, start: number, end: number): void {
  const n = end - start;
  for (const gap of SHELL_GAPS) {
    if (gap >= n) continue;
    for (let p = start + gap; p < end; p++) {
      const c = cols[p];
      const v = vals[p];
      let q = p;
      while (q - gap >= start && cols[q - gap] > c) {
        cols[q] = cols[q - gap];
        vals[q] = vals[q - gap];
        q -= gap;
      }
      cols[q] = c;
      vals[q] = v;
    }
  }
}

/**
 * Writes the gram ids of every n-gram of atoms[0, len) with n in [minN, maxN] into out and
 * returns how many: the atoms (n = 1), then level k = 2.. holding the ids of the k-grams
 * starting at each position, each extending a (k-1)-gram by the next atom. With `intern`
 * false, unknown grams are -1 and are skipped (and so is every longer gram that would extend
 * them). levelA and levelB: scratch of at least len entries; out: room for every n-gram.
 * The vectorizer's counting and transform and the fused scorer all chain n-grams here.
 */
export function ngramIds(
  index: NgramIndex,
  atoms: Int32Array,
  len: number,
  minN: number,
  maxN: number,
  intern: boolean,
  levelA: Int32Array,
  levelB: Int32Array,
  out: Int32Array,
): number {
  let n = 0;
  if (minN === 1) {
    for (let j = 0; j < len; j++) {
      const a = atoms[j];
      if (a >= 0) out[n++] = a;
    }
  }
  let prev = atoms;
  let cur = levelA;
  for (let k = 2; k <= maxN; k++) {
    const count = len - k + 1;
    if (count <= 0) break;
    for (let j = 0; j < count; j++) {
      const p = prev[j];
      const a = atoms[j + k - 1];
      const g = p < 0 || a < 0 ? -1 : index.chain(p, a, intern);
      cur[j] = g;
      if (k >= minN && g >= 0) out[n++] = g;
    }
    prev = cur;
    cur = cur === levelA ? levelB : levelA;
  }
  return n;
}

/** Sorts ids[0..n) ascending: insertion sort for short rows, the typed-array sort otherwise. */
export function sortIds(ids: Int32Array, n: number): void {
  if (n > 48) {
    ids.subarray(0, n).sort();
    return;
  }
  for (let p = 1; p < n; p++) {
    const c = ids[p];
    let q = p - 1;
    while (q >= 0 && ids[q] > c) {
      ids[q + 1] = ids[q];
      q--;
    }
    ids[q + 1] = c;
  }
}

/** Compares strings by Unicode code point, as Python's sorted() does (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800–DFFF) encode code points above every BMP unit: lift them above E000–FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff ? x + 0x10000 : x;
    const ys = y >= 0xd800 && y <= 0xdfff ? y + 0x10000 : y;
    return xs - ys;
  }
  return a.length - b.length;
}
