import { DataError } from "../util/errors.js";

/**
 * Integer ids for tokens ("atoms") and word n-grams without building n-gram strings while
 * counting. A token is interned once in a Map<string, id>; an n-gram is the pair
 * (id of its (n-1)-gram prefix, id of its last token), interned in a Map<number, id> under
 * the numeric key prefixId·2^26 + tokenId. Atoms and n-grams share one id space, so an
 * n-gram id is a "node" of a trie whose edges are tokens. Strings are built only at the end,
 * once per distinct n-gram (`termStrings`).
 *
 * Memory: per distinct gram, 9 bytes in typed arrays + one Map entry (~40-80 bytes in V8).
 */
const KEY_BASE = 2 ** 26; // ids < 2^26 keep prefix·2^26 + token below 2^52 (exact in a double)

export class NgramIndex {
  private readonly atoms = new Map<string, number>();
  private readonly chains = new Map<number, number>();
  private atomStrings: string[] = [];
  private prefix: Int32Array = new Int32Array(1024);
  private last: Int32Array = new Int32Array(1024);
  private length: Uint8Array = new Uint8Array(1024);
  size = 0;

  /** Id of a token, interned if `intern`; -1 if unknown and not interning. */
  atom(token: string, intern: boolean): number {
    let id = this.atoms.get(token);
    if (id === undefined) {
      if (!intern) return -1;
      if (typeof token !== "string") throw new DataError(`tokens must be strings, got ${token === null ? "null" : typeof token}`);
      id = this.newGram(-1, -1, 1);
      this.atoms.set(token, id);
      this.atomStrings[id] = token;
    }
    return id;
  }

  /** Id of the n-gram (prefix gram, last token); -1 if unknown and not interning. */
  chain(prefixId: number, atomId: number, intern: boolean): number {
    const key = prefixId * KEY_BASE + atomId;
    let id = this.chains.get(key);
    if (id === undefined) {
      if (!intern) return -1;
      id = this.newGram(prefixId, atomId, this.length[prefixId] + 1);
      this.chains.set(key, id);
    }
    return id;
  }

  gramLength(id: number): number {
    return this.length[id];
  }

  /** The space-joined string of every gram (index = gram id), as scikit-learn names n-grams. */
  termStrings(): string[] {
    const out = new Array<string>(this.size);
    for (let g = 0; g < this.size; g++) {
      // A prefix is always created before the grams that extend it, so out[prefix] is ready.
      out[g] = this.length[g] === 1 ? this.atomStrings[g] : out[this.prefix[g]] + " " + this.atomStrings[this.last[g]];
    }
    return out;
  }

  private newGram(prefixId: number, atomId: number, len: number): number {
    const id = this.size;
    if (id >= KEY_BASE) throw new DataError(`more than ${KEY_BASE} distinct n-grams; use a smaller ngramRange or prune the corpus`);
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
    // Long rows: sort a permutation instead of quadratic insertion.
    const c = cols.slice(start, end);
    const v = vals.slice(start, end);
    const order = Array.from(c.keys()).sort((a, b) => c[a] - c[b]);
    for (let k = 0; k < order.length; k++) {
      cols[start + k] = c[order[k]];
      vals[start + k] = v[order[k]];
    }
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
