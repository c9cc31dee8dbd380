/**
 * The pieces of `polarity predict` that both its paths share: parsing a chunk of input into the
 * text column's values, and formatting scored rows. The streamed path (stdin) reads records with
 * DelimitedRecordReader below; the file path (predict-file.ts) has worker threads parse
 * byte ranges of the file with parseCsvBytes / parseJsonlChunk below, which reproduce that
 * reader's records exactly (same fast path for lines without a quote, same quoted-field rules,
 * same skipped empty records) while building only the one column that is scored.
 */
import { isAscii } from "node:buffer";
import type { Writable } from "node:stream";
import { round6 } from "../evaluation/held-out.js";
import type { Label } from "../models/estimator.js";
import { growInt32 } from "../features/ngram-index.js";
import { DataError } from "../util/errors.js";

export type InputFormat = "csv" | "tsv" | "jsonl";
export type OutputFormat = "csv" | "jsonl";

export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * String(round6(p)) (6 decimal places: enough for ranking, a third of the bytes of a full double) without the double-to-shortest-string conversion for the common case
 * (it was the CSV output's main cost): for r = round(p·10^6) in 1..999999 the shortest decimal
 * that reads back as r / 10^6 is "0." + r's six digits without trailing zeros (no other decimal
 * of at most six places is that close). Anything else (0, 1, NaN) goes through String.
 */
export function formatProb(p: number): string {
  const r = Math.round(p * 1e6);
  if (r > 0 && r < 1e6) {
    const digits = String(r + 1e6);
    let end = 7;
    while (digits.charCodeAt(end - 1) === 48) end--;
    return "0." + digits.slice(1, end);
  }
  return String(r / 1e6);
}

/** What formatting a scored row needs besides its probabilities. */
export interface RowFormat {
  outputFormat: OutputFormat;
  classes: readonly Label[];
  names: readonly string[];
  /** 0: no top_words column/field. */
  topWords: number;
}

/** The output's first line (CSV only; JSONL has none). */
export function outputHeader(f: RowFormat): string {
  if (f.outputFormat !== "csv") return "";
  return ["row", "label", "class_name", ...f.classes.map((c) => csvField(`p_${String(c)}`)), ...(f.topWords ? ["top_words"] : [])].join(",") + "\n";
}

/** Index of the largest probability of row i (the first on ties). */
function bestClass(P: Float64Array, i: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (P[i * k + c] > P[i * k + best]) best = c;
  return best;
}

/**
 * Rows [0, texts.length) as output text, numbered from `firstRow`. `explain` gives a text's top
 * words (SentimentModel.explain's words sorted by |weight|), needed only when f.topWords > 0.
 */
export function formatRows(
  texts: readonly string[],
  P: Float64Array,
  firstRow: number,
  f: RowFormat,
  explain: ((text: string, k: number) => readonly { token: string; weight: number }[]) | null,
): string {
  const k = f.classes.length;
  const labelText = f.classes.map((c) => csvField(String(c)));
  const nameText = f.names.map(csvField);
  const topWords = f.topWords;
  let chunk = "";
  for (let i = 0; i < texts.length; i++) {
    const best = bestClass(P, i, k);
    const row = firstRow + i;
    const words =
      topWords && explain
        ? explain(texts[i], topWords)
            .slice()
            .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
            .slice(0, topWords)
            .map((w) => w.token)
        : null;
    if (f.outputFormat === "csv") {
      chunk += `${row},${labelText[best]},${nameText[best]}`;
      for (let c = 0; c < k; c++) chunk += `,${formatProb(P[i * k + c])}`;
      if (words) chunk += `,${csvField(words.join(" "))}`;
      chunk += "\n";
    } else {
      const rec: Record<string, unknown> = {
        row,
        label: f.classes[best],
        class_name: f.names[best],
        probabilities: Object.fromEntries(f.classes.map((c, j) => [String(c), round6(P[i * k + j])])),
      };
      if (words) rec.top_words = words;
      chunk += JSON.stringify(rec) + "\n";
    }
  }
  return chunk;
}

const encoder = new TextEncoder();

/** "00", "01", … "99" as ASCII bytes. */
const PAIRS = new Uint8Array(200);
for (let v = 0; v < 100; v++) {
  PAIRS[2 * v] = 48 + ((v / 10) | 0);
  PAIRS[2 * v + 1] = 48 + (v % 10);
}

/**
 * formatRows for CSV output without top words, written straight into bytes (no string per
 * row or per number): the same characters, which test/cli/predict-file.test.ts checks on
 * seeded probabilities. Returns a view of a fresh ArrayBuffer (transferable), or of `scratch`
 * (whatever it holds) when that is big enough to start with (it grows into a fresh one if not).
 */
export function formatCsvRowsBytes(P: Float64Array, n: number, firstRow: number, f: RowFormat, scratch?: ArrayBuffer): Uint8Array {
  const k = f.classes.length;
  // ",label,name" of each class, one byte string.
  const middles = f.classes.map((c, j) => encoder.encode(`,${csvField(String(c))},${csvField(f.names[j])}`));
  let maxMiddle = 0;
  for (let c = 0; c < k; c++) maxMiddle = Math.max(maxMiddle, middles[c].length);
  // Row number (≤ 16 digits), ",label,name", k probabilities (a fallback String() is ≤ 24 chars), separators.
  const perRow = 16 + maxMiddle + k * 25 + 2;
  const initial = Math.max(64, n * Math.min(perRow, 20 + maxMiddle + k * 9));
  // `initial` is ~1.5 times a typical row's bytes: a scratch from a chunk with somewhat fewer rows still fits.
  let buf = scratch !== undefined && 4 * scratch.byteLength >= 3 * initial ? new Uint8Array(scratch) : new Uint8Array(initial);
  let pos = 0;
  // Row numbers: a decimal counter (no division per digit), for the integers String writes in plain digits.
  const counting = Number.isSafeInteger(firstRow) && firstRow >= 0 && firstRow + n <= Number.MAX_SAFE_INTEGER;
  const rowDigits = new Uint8Array(24);
  let rowLen = 0;
  if (counting) for (const ch of String(firstRow)) rowDigits[rowLen++] = ch.charCodeAt(0);
  for (let i = 0; i < n; i++) {
    if (pos + perRow > buf.length) {
      const grown = new Uint8Array(Math.max(buf.length * 2, pos + perRow));
      grown.set(buf.subarray(0, pos));
      buf = grown;
    }
    const best = bestClass(P, i, k);
    if (counting) {
      // The row number's digits, then the number + 1 in place (a carry past the first digit adds one).
      for (let j = 0; j < rowLen; j++) buf[pos++] = rowDigits[j];
      let j = rowLen - 1;
      while (j >= 0 && rowDigits[j] === 57) rowDigits[j--] = 48;
      if (j >= 0) rowDigits[j]++;
      else {
        rowDigits.copyWithin(1, 0, rowLen);
        rowDigits[0] = 49;
        rowLen++;
      }
    } else {
      const s = String(firstRow + i);
      for (let j = 0; j < s.length; j++) buf[pos++] = s.charCodeAt(j);
    }
    const mid = middles[best];
    for (let j = 0; j < mid.length; j++) buf[pos++] = mid[j];
    for (let c = 0; c < k; c++) {
      buf[pos++] = 44;
      const r = Math.round(P[i * k + c] * 1e6);
      if (r > 0 && r < 1e6) {
        // "0." + r's six digits without trailing zeros (formatProb), two digits per division.
        const hi = (r / 10000) | 0;
        const rest = r - hi * 10000;
        const mid = (rest / 100) | 0;
        const lo = rest - mid * 100;
        buf[pos] = 48;
        buf[pos + 1] = 46;
        buf[pos + 2] = PAIRS[2 * hi];
        buf[pos + 3] = PAIRS[2 * hi + 1];
        buf[pos + 4] = PAIRS[2 * mid];
        buf[pos + 5] = PAIRS[2 * mid + 1];
        buf[pos + 6] = PAIRS[2 * lo];
        buf[pos + 7] = PAIRS[2 * lo + 1];
        pos += 8;
        while (buf[pos - 1] === 48) pos--;
      } else {
        const s = String(r / 1e6);
        for (let j = 0; j < s.length; j++) buf[pos++] = s.charCodeAt(j);
      }
    }
    buf[pos++] = 10;
  }
  return buf.subarray(0, pos);
}

/** A record's problem found while parsing a chunk; `at` is 1-based within the chunk (rows for CSV, lines for JSONL). */
export interface ChunkProblem {
  at: number;
  /** The message with "\u0000" where the global row/line number goes. */
  message: string;
}

export const NUMBER_SLOT = "\u0000";

/** The problem's message with its global number (the rows/lines of the chunks before it + its own). */
export function problemMessage(p: ChunkProblem, before: number): string {
  return p.message.replace(NUMBER_SLOT, String(before + p.at));
}

export interface CsvChunkResult {
  /** Where parsing stopped: after the last whole record (or at the problem's record). */
  next: number;
  /** A record that starts before `limit` runs past the text's end (and the text is not final). */
  needMore: boolean;
  /** The first record with fewer fields than the text column needs, or an unclosed quote. */
  problem: ChunkProblem | null;
}

/** Texts in SentimentModel.packTexts's layout: each followed by "\n" in `joined`, and their starts (one more entry, joined.length). */
export interface PackedSegment {
  joined: string;
  starts: Int32Array;
}

const PACKED_SEGMENT_BYTES = 1 << 15;

/**
 * SentimentModel.packTexts's layout (each text followed by "\n", and each text's start) built
 * straight from a chunk's bytes (parseCsvBytes), without a string per text: the texts go into
 * one byte buffer, decoded once as latin1 (`finish`). A text is appended piece by piece, then
 * committed (or rolled back). A text with a byte ≥ 0x80 is UTF-8, not latin1: it is decoded on
 * its own, piece by piece (a quoted part, the rest of the field), kept aside (`side`), and
 * packed as an empty text, for the caller to score apart. Each piece lies between ASCII bytes
 * (quote, delimiter, CR, LF) or the input's ends, which no UTF-8 sequence spans and which end
 * any broken one, so its decoding equals that stretch of the whole input's decoding,
 * replacement characters included.
 */
export class PackedTexts {
  private bytes: Buffer = Buffer.allocUnsafe(1 << 16);
  private pos = 0;
  private committed = 0;
  private starts: Int32Array = new Int32Array(1024);
  // Where each piece of the current text starts in `bytes`, and whether one has a byte ≥ 0x80.
  private cuts: Int32Array = new Int32Array(16);
  private nCuts = 0;
  private high = 0;
  /** Committed texts. */
  length = 0;
  /** The texts with a byte ≥ 0x80: their indexes and their decoded strings. */
  readonly side: { rows: number[]; texts: string[] } = { rows: [], texts: [] };

  /** Empties it for the next chunk (the buffers are kept). */
  reset(): void {
    this.pos = 0;
    this.committed = 0;
    this.length = 0;
    this.nCuts = 0;
    this.high = 0;
    this.side.rows.length = 0;
    this.side.texts.length = 0;
  }

  private room(extra: number): void {
    if (this.pos + extra <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.pos + extra, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.pos);
    this.bytes = grown;
  }

  private cut(): void {
    if (this.nCuts === this.cuts.length) this.cuts = growInt32(this.cuts, this.cuts.length * 2);
    this.cuts[this.nCuts++] = this.pos;
  }

  /** Appends src[a, b) (bytes) to the current text as a piece of its own. */
  appendBytes(src: Uint8Array, a: number, b: number): void {
    this.room(b - a + 1);
    this.cut();
    const bytes = this.bytes;
    let p = this.pos;
    let or = 0;
    for (let q = a; q < b; q++) {
      const c = src[q];
      bytes[p++] = c;
      or |= c;
    }
    this.pos = p;
    this.high |= or & 0x80;
  }

  /**
   * Appends src[from, q) to the current text as a piece of its own, where q is the first
   * index ≥ from holding a quote (34), or n; returns q. One pass for the search and the copy.
   */
  appendUntilQuote(src: Uint8Array, from: number, n: number): number {
    this.room(n - from + 1);
    this.cut();
    const bytes = this.bytes;
    let p = this.pos;
    let or = 0;
    let q = from;
    while (q < n) {
      const c = src[q];
      if (c === 34) break;
      bytes[p++] = c;
      or |= c;
      q++;
    }
    this.pos = p;
    this.high |= or & 0x80;
    return q;
  }

  /** Appends one ASCII character code to the current text. */
  appendCode(code: number): void {
    this.room(2);
    this.cut();
    this.bytes[this.pos++] = code;
  }

  /** Ends the current text. */
  commit(): void {
    if (this.high !== 0) {
      let t = "";
      for (let c = 0; c < this.nCuts; c++) t += this.bytes.toString("utf8", this.cuts[c], c + 1 < this.nCuts ? this.cuts[c + 1] : this.pos);
      this.side.rows.push(this.length);
      this.side.texts.push(t);
      this.pos = this.committed;
    }
    this.nCuts = 0;
    this.high = 0;
    this.room(1);
    this.bytes[this.pos++] = 10;
    if (this.length + 2 > this.starts.length) this.starts = growInt32(this.starts, this.starts.length * 2);
    this.starts[++this.length] = this.pos;
    this.committed = this.pos;
  }

  /** Drops the current text's uncommitted pieces. */
  rollback(): void {
    this.pos = this.committed;
    this.nCuts = 0;
    this.high = 0;
  }

  /**
   * The committed texts as SentimentModel.packTexts gives them (a joined string and its starts),
   * in consecutive segments of at most `segmentBytes` (or one text, if longer), each text of
   * `side` packed as an empty text. Segments, not one string: a string of 128 KiB or more is a
   * large object of V8's old generation, whose allocation costs page faults each time (decoding
   * a 900 KB chunk at once took ~25 times as long as in 32 KiB pieces), while small ones are
   * bump-allocated in the young generation and die there.
   */
  finish(segmentBytes = PACKED_SEGMENT_BYTES): PackedSegment[] {
    const segments: PackedSegment[] = [];
    const starts = this.starts;
    starts[0] = 0;
    for (let first = 0; first < this.length;) {
      let last = first + 1;
      while (last < this.length && starts[last + 1] - starts[first] <= segmentBytes) last++;
      const base = starts[first];
      const own = new Int32Array(last - first + 1);
      for (let i = first; i <= last; i++) own[i - first] = starts[i] - base;
      segments.push({ joined: this.bytes.toString("latin1", base, starts[last]), starts: own });
      first = last;
    }
    return segments;
  }

  /** The committed texts as strings (the side texts in their places), appended to `out`. */
  toStrings(out: string[]): void {
    const from = out.length;
    for (const { joined, starts } of this.finish()) for (let i = 0; i + 1 < starts.length; i++) out.push(joined.slice(starts[i], starts[i + 1] - 1));
    for (let j = 0; j < this.side.rows.length; j++) out[from + this.side.rows[j]] = this.side.texts[j];
  }
}

/**
 * Records of delimited bytes src[pos, n) from `pos` on, while they start before `limit`: the
 * text column's value of each goes to `packed` (records exactly as DelimitedRecordReader.push
 * of the decoded text, final) splits them: the same fast path for lines without a quote, the
 * same quoted-field rules, empty records skipped; test/cli/predict-file.test.ts checks it
 * against the reader on random bytes). `final`: src[n] is the input's end; otherwise a record
 * that runs to `n` is not parsed (`needMore`). `next` (≤ n): where parsing stopped, after the
 * last whole record or at the problem's. `src` may hold anything past `n`. `delimiter` is a
 * char code.
 */
export function parseCsvBytes(
  src: Uint8Array,
  pos: number,
  limit: number,
  n: number,
  delimiter: number,
  column: number,
  textColumn: string,
  where: string,
  final: boolean,
  packed: PackedTexts,
): CsvChunkResult {
  const r = parseCsvBytesRecords(src, pos, limit, n, delimiter, column, textColumn, where, final, packed);
  packed.rollback(); // a record left unfinished (needs more, or a problem) adds nothing
  return r;
}

function parseCsvBytesRecords(
  src: Uint8Array,
  pos: number,
  limit: number,
  n: number,
  d: number,
  column: number,
  textColumn: string,
  where: string,
  final: boolean,
  packed: PackedTexts,
): CsvChunkResult {
  const tooFew = (fields: number): ChunkProblem => ({
    at: packed.length + 1,
    message: `${where}: row ${NUMBER_SLOT} has ${fields} fields, fewer than the header's column '${textColumn}'`,
  });
  while (pos < limit && pos < n) {
    // The line's end, unless a quote comes first (then the record is parsed as quoted).
    let nl = pos;
    let quote = false;
    while (nl < n) {
      const c = src[nl];
      if (c === 10) break;
      if (c === 34) {
        quote = true;
        break;
      }
      nl++;
    }
    if (!quote) {
      if (nl >= n && !final) return { next: pos, needMore: true, problem: null };
      // DelimitedRecordReader's fast path: line.split(delimiter) after one trailing \r is dropped.
      let lineEnd = nl;
      if (lineEnd > pos && src[lineEnd - 1] === 13) lineEnd--;
      if (lineEnd > pos) {
        let fieldStart = pos;
        for (let f = 0; f < column; f++) {
          let q = fieldStart;
          while (q < lineEnd && src[q] !== d) q++;
          if (q >= lineEnd) return { next: pos, needMore: false, problem: tooFew(f + 1) };
          fieldStart = q + 1;
        }
        let fieldEnd = fieldStart;
        while (fieldEnd < lineEnd && src[fieldEnd] !== d) fieldEnd++;
        packed.appendBytes(src, fieldStart, fieldEnd);
        packed.commit();
      }
      pos = nl < n ? nl + 1 : n;
      continue;
    }
    // DelimitedRecordReader.parseQuoted, building only the text column's value.
    let i = pos;
    let field = 0;
    let firstEmpty = true;
    let next = -1;
    packed.rollback();
    for (;;) {
      let accLen = 0;
      const want = field === column;
      if (i < n && src[i] === 34) {
        i++;
        for (;;) {
          let q = i;
          if (want) q = packed.appendUntilQuote(src, i, n);
          else while (q < n && src[q] !== 34) q++;
          if (q >= n) {
            if (!final) return { next: pos, needMore: true, problem: null };
            return { next: pos, needMore: false, problem: { at: 0, message: "input: a quoted field is not closed before the end of the file" } };
          }
          accLen += q - i;
          if (q + 1 < n && src[q + 1] === 34) {
            if (want) packed.appendCode(34);
            accLen++;
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        if (i >= n && !final) return { next: pos, needMore: true, problem: null };
      }
      let j = i;
      while (j < n) {
        const c = src[j];
        if (c === d || c === 10) break;
        j++;
      }
      if (j >= n && !final) return { next: pos, needMore: true, problem: null };
      const end = j > i && src[j - 1] === 13 ? j - 1 : j;
      if (want && end > i) packed.appendBytes(src, i, end);
      if (field === 0) firstEmpty = accLen === 0 && end <= i;
      if (j >= n) next = n;
      else if (src[j] === 10) next = j + 1;
      if (next >= 0) break;
      i = j + 1;
      field++;
    }
    const fields = field + 1;
    if (fields > 1 || !firstEmpty) {
      if (fields <= column) return { next: pos, needMore: false, problem: tooFew(fields) };
      packed.commit();
    } else packed.rollback();
    pos = next;
  }
  return { next: pos, needMore: false, problem: null };
}

/** piece(a, b): text[a, b) decoded as UTF-8 from `utf8` when it holds a byte ≥ 0x80, else the latin1 slice itself. */
function latin1Pieces(text: string, utf8: Buffer): (a: number, b: number) => string {
  if (isAscii(utf8.subarray(0, text.length))) return (a, b) => text.slice(a, b);
  const high = /[\x80-\xff]/g;
  let highAt = -1; // next position ≥ the last query's start holding a byte ≥ 0x80 (n: none)
  return (a, b) => {
    if (highAt < a) {
      high.lastIndex = a;
      const m = high.exec(text);
      highAt = m === null ? text.length : m.index;
    }
    return highAt < b ? utf8.toString("utf8", a, b) : text.slice(a, b);
  };
}

/**
 * JSONL lines of `text` (whole lines: it ends with "\n" unless `final`): the field's value of
 * each object goes to `out`; `lines` counts every line, blank ones included (error numbers).
 * With `utf8`, `text` is utf8.toString("latin1") of those bytes (one char per byte: decoding is a
 * copy, and string positions are byte positions); a line's string with a byte ≥ 0x80 is decoded
 * from `utf8` (a line ends at LF, which no UTF-8 sequence spans, so its decoding equals that
 * stretch of the whole text's).
 */
export function parseJsonlChunk(
  text: string,
  textColumn: string,
  where: string,
  final: boolean,
  out: string[],
  utf8: Buffer | null = null,
): { lines: number; problem: ChunkProblem | null } {
  const piece = utf8 === null ? (a: number, b: number): string => text.slice(a, b) : latin1Pieces(text, utf8);
  let pos = 0;
  let lineNo = 0;
  for (;;) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) {
      if (!final || pos >= text.length) break;
      nl = text.length;
    }
    const line = piece(pos, nl).trim();
    pos = nl + 1;
    lineNo++;
    if (line === "") continue;
    const problem = (message: string): { lines: number; problem: ChunkProblem } => ({ lines: lineNo, problem: { at: lineNo, message } });
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      return problem(`${where}: line ${NUMBER_SLOT} is not valid JSON`);
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return problem(`${where}: line ${NUMBER_SLOT} is not a JSON object`);
    const v = (obj as Record<string, unknown>)[textColumn];
    if (typeof v !== "string") {
      const keys = Object.keys(obj);
      return problem(
        v === undefined
          ? `${where}: line ${NUMBER_SLOT} has no field '${textColumn}' (fields: ${keys.map((c) => `'${c}'`).join(", ")}); pick one with --text-column`
          : `${where}: line ${NUMBER_SLOT}: field '${textColumn}' is not a string`,
      );
    }
    out.push(v);
  }
  return { lines: lineNo, problem: null };
}

/**
 * End of the delimited record starting at byte `pos` of `buf[0, n)`: the index after its
 * newline, `n` at the end of a final input, or -1 when the record runs past `n`. The same
 * record boundaries as DelimitedRecordReader (a quote opens a quoted field only at a field's
 * start; inside one, doubled quotes and newlines are data), computed on bytes: the delimiter,
 * quote and newline are ASCII, which no UTF-8 multi-byte sequence contains.
 */
export function delimitedRecordEnd(buf: Uint8Array, pos: number, n: number, delimiter: number, final: boolean): number {
  let i = pos;
  for (;;) {
    if (i < n && buf[i] === 34) {
      i++;
      for (;;) {
        const q = buf.indexOf(34, i);
        if (q < 0 || q >= n) return final ? n : -1;
        if (q + 1 < n && buf[q + 1] === 34) {
          i = q + 2;
          continue;
        }
        if (q + 1 >= n && !final) return -1;
        i = q + 1;
        break;
      }
    }
    while (i < n && buf[i] !== delimiter && buf[i] !== 10) i++;
    if (i >= n) return final ? n : -1;
    if (buf[i] === 10) return i + 1;
    i++;
  }
}

/**
 * Splits delimited text into records incrementally (RFC 4180: quoted fields may hold the
 * delimiter, doubled quotes and newlines). Lines without a quote take the fast path (split).
 */
export class DelimitedRecordReader {
  private rest = "";
  constructor(private readonly delimiter: string) {}

  /** Complete records in `chunk` (plus what was left over); an incomplete tail waits for the next chunk. */
  push(chunk: string, final = false): string[][] {
    const text = this.rest + chunk;
    const records: string[][] = [];
    let pos = 0;
    const n = text.length;
    while (pos < n) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) {
        if (!final) break;
        nl = n;
      }
      let line = text.slice(pos, nl);
      if (line.indexOf('"') < 0) {
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line.length > 0) records.push(line.split(this.delimiter));
        pos = nl + 1;
        continue;
      }
      const parsed = this.parseQuoted(text, pos, final);
      if (parsed === null) break; // the record continues in the next chunk
      if (parsed.fields.length > 1 || parsed.fields[0] !== "") records.push(parsed.fields);
      pos = parsed.next;
    }
    this.rest = pos < n ? text.slice(pos) : "";
    return records;
  }

  // Char codes, not one-character strings, and no regex per field: this runs once per input row.
  private parseQuoted(text: string, start: number, final: boolean): { fields: string[]; next: number } | null {
    const fields: string[] = [];
    let field = "";
    let i = start;
    const n = text.length;
    const d = this.delimiter.charCodeAt(0);
    for (;;) {
      if (i < n && text.charCodeAt(i) === 34 /* " */) {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            if (!final) return null;
            throw new DataError("input: a quoted field is not closed before the end of the file");
          }
          field += text.slice(i, q);
          if (text.charCodeAt(q + 1) === 34) {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        if (i >= n && !final) return null;
      }
      // Up to the next delimiter or end of line.
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === d || c === 10) break;
        j++;
      }
      if (j >= n && !final) return null;
      const end = j > i && text.charCodeAt(j - 1) === 13 ? j - 1 : j;
      fields.push(end > i ? field + text.slice(i, end) : field);
      field = "";
      if (j >= n) return { fields, next: n };
      if (text.charCodeAt(j) === 10) return { fields, next: j + 1 };
      i = j + 1;
    }
  }
}

/**
 * Writes one chunk of output and waits for "drain" when the stream's buffer is full, so
 * memory stays flat however fast rows are produced. Both listeners go when either fires: one
 * pair per awaited drain, not one more per chunk.
 */
export function writeChunk(out: Writable, chunk: string | Uint8Array, onWritten?: () => void): Promise<void> {
  const written = onWritten === undefined ? undefined : (err?: Error | null): void => (err ? undefined : onWritten());
  if (out.write(chunk, written)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      out.off("error", onError);
      resolve();
    };
    const onError = (err: Error): void => {
      out.off("drain", onDrain);
      reject(err);
    };
    out.once("drain", onDrain);
    out.once("error", onError);
  });
}
