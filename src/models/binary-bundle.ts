import { endianness } from "node:os";
import * as zlib from "node:zlib";
import { DataError } from "../util/errors.js";

/**
 * The container of Polarity's binary model file (`model.bin`): a small JSON header and
 * aligned typed-array sections, so a fitted model's big arrays (the n-gram lookup table, the
 * gram/column maps, idf, coefficients) are adopted as views of the file's bytes — no parsing
 * of millions of numbers, no re-hashing of millions of n-grams — and can sit in one
 * SharedArrayBuffer that every worker thread views.
 *
 * Layout (all integers little-endian):
 *   bytes 0–7    magic "PLRTYBIN"
 *   bytes 8–11   container version (uint32, this build writes and reads 1)
 *   bytes 12–15  header length H in bytes (uint32)
 *   bytes 16…    the header: UTF-8 JSON {sections: [{name, type, offset, length}], …}
 *   then         each section at its offset, a multiple of 8; `length` counts elements,
 *                `crc32` is the CRC-32 of its bytes
 *
 * Reading is defensive: every offset and length is checked against the file's size before
 * any view is made, and nothing is allocated from a size the file claims, so a truncated,
 * corrupt or hostile file is a DataError naming the problem — never a crash, a huge
 * allocation or a view past the end. Each section's checksum catches accidental corruption in
 * one sequential pass; the readers of the sections (NgramIndex.fromFrozen, …) check the
 * structure that termination and bounds depend on, which a hostile file could fake a
 * checksum for but not get past.
 */

export const BINARY_MAGIC = "PLRTYBIN";
export const BINARY_CONTAINER_VERSION = 1;
const PREFIX_BYTES = 16;
/** Headers hold options, classes and metadata (a reference profile at most): far below this. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export type SectionType = "u8" | "u16" | "i32" | "f64";
export type SectionArray = Uint8Array | Uint16Array | Int32Array | Float64Array;
const ELEMENT_BYTES: Record<SectionType, number> = { u8: 1, u16: 2, i32: 4, f64: 8 };

interface SectionEntry {
  name: string;
  type: SectionType;
  offset: number;
  length: number;
  crc32: number;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let crcTable: Int32Array | null = null;

/** CRC-32 (zlib's) of bytes [start, start + n): node:zlib's native one (Node >= 20.15), else a table-driven fallback. */
export function sectionChecksum(bytes: Uint8Array, start: number, n: number): number {
  const part = bytes.subarray(start, start + n);
  if (nativeCrc32 !== undefined) return nativeCrc32(part) >>> 0;
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < part.length; i++) c = crcTable[(c ^ part[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function typeOf(a: SectionArray): SectionType {
  if (a instanceof Uint8Array) return "u8";
  if (a instanceof Uint16Array) return "u16";
  if (a instanceof Int32Array) return "i32";
  return "f64";
}

function requireLittleEndian(): void {
  if (endianness() !== "LE") throw new DataError("binary model files are little-endian; this machine is big-endian (use the JSON model)");
}

/** True when `bytes` start with the binary model magic (JSON files start with `{` or whitespace). */
export function isBinaryModel(bytes: Uint8Array): boolean {
  if (bytes.length < BINARY_MAGIC.length) return false;
  for (let i = 0; i < BINARY_MAGIC.length; i++) if (bytes[i] !== BINARY_MAGIC.charCodeAt(i)) return false;
  return true;
}

/**
 * Writes the header and the sections into one buffer (a SharedArrayBuffer when `shared`).
 * The header object gets a `sections` table; its other keys are the caller's.
 */
export function writeBinaryContainer(header: Record<string, unknown>, sections: Record<string, SectionArray>, options: { shared?: boolean } = {}): Uint8Array {
  requireLittleEndian();
  const entries: SectionEntry[] = [];
  // The header's size depends on the offsets it lists and vice versa: lay the sections out
  // after a header of a first guess, and grow the guess until the header fits.
  let reserved = 256;
  for (;;) {
    let offset = align8(PREFIX_BYTES + reserved);
    entries.length = 0;
    for (const [name, a] of Object.entries(sections)) {
      const raw = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      entries.push({ name, type: typeOf(a), offset, length: a.length, crc32: sectionChecksum(raw, 0, raw.length) });
      offset = align8(offset + a.byteLength);
    }
    const headerBytes = Buffer.from(JSON.stringify({ ...header, sections: entries }), "utf8");
    if (headerBytes.length > MAX_HEADER_BYTES) throw new DataError(`binary model header is ${headerBytes.length} bytes, over the limit of ${MAX_HEADER_BYTES}`);
    if (headerBytes.length > reserved) {
      reserved = headerBytes.length + 64;
      continue;
    }
    const total = offset;
    const buffer = options.shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
    const out = new Uint8Array(buffer);
    for (let i = 0; i < BINARY_MAGIC.length; i++) out[i] = BINARY_MAGIC.charCodeAt(i);
    const view = new DataView(buffer);
    view.setUint32(8, BINARY_CONTAINER_VERSION, true);
    view.setUint32(12, headerBytes.length, true);
    out.set(headerBytes, PREFIX_BYTES);
    // The rest of the reserved header space stays zero: readers stop at H bytes.
    for (const e of entries) {
      const a = sections[e.name];
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), e.offset);
    }
    return out;
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** A parsed container: the header's fields and typed views of its sections. */
export class BinaryContainer {
  private constructor(
    readonly header: Record<string, unknown>,
    private readonly bytes: Uint8Array,
    private readonly entries: Map<string, SectionEntry>,
    readonly where: string,
  ) {}

  /**
   * Validates the prefix, the header and the section table of `bytes`, and (unless `verify`
   * is false: bytes another thread has already read) each section's checksum. The sections are
   * views: when `bytes` is not 8-byte aligned in its buffer it is copied once to an aligned one.
   */
  static read(input: Uint8Array, where = "binary model", options: { verify?: boolean } = {}): BinaryContainer {
    requireLittleEndian();
    if (!isBinaryModel(input)) throw new DataError(`${where}: not a Polarity binary model (the file does not start with "${BINARY_MAGIC}")`);
    if (input.length < PREFIX_BYTES) throw new DataError(`${where}: truncated (${input.length} bytes, shorter than the ${PREFIX_BYTES}-byte prefix)`);
    const bytes = input.byteOffset % 8 === 0 ? input : new Uint8Array(input);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(8, true);
    if (version !== BINARY_CONTAINER_VERSION)
      throw new DataError(`${where}: unsupported binary model version ${version} (this build reads version ${BINARY_CONTAINER_VERSION})`);
    const headerLength = view.getUint32(12, true);
    if (headerLength > MAX_HEADER_BYTES) throw new DataError(`${where}: header length ${headerLength} is over the limit of ${MAX_HEADER_BYTES} bytes`);
    if (PREFIX_BYTES + headerLength > bytes.length)
      throw new DataError(`${where}: truncated (the header needs ${headerLength} bytes, the file has ${bytes.length - PREFIX_BYTES} after the prefix)`);
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + PREFIX_BYTES, headerLength).toString("utf8"));
    } catch (err) {
      throw new DataError(`${where}: the header is not valid JSON: ${(err as Error).message}`);
    }
    if (header === null || typeof header !== "object" || Array.isArray(header)) throw new DataError(`${where}: the header must be a JSON object`);
    const h = header as Record<string, unknown>;
    if (!Array.isArray(h.sections)) throw new DataError(`${where}: the header has no section table`);
    const entries = new Map<string, SectionEntry>();
    const dataStart = PREFIX_BYTES + headerLength;
    const spans: Array<[number, number]> = [];
    for (const raw of h.sections as unknown[]) {
      const e = raw as Partial<SectionEntry> | null;
      if (e === null || typeof e !== "object" || typeof e.name !== "string" || typeof e.type !== "string" || !(e.type in ELEMENT_BYTES)) {
        throw new DataError(`${where}: malformed section entry ${JSON.stringify(raw)}`);
      }
      const size = ELEMENT_BYTES[e.type as SectionType];
      const { offset, length, crc32 } = e;
      if (
        !Number.isSafeInteger(offset) ||
        !Number.isSafeInteger(length) ||
        (offset as number) < dataStart ||
        (length as number) < 0 ||
        (offset as number) % 8 !== 0
      ) {
        throw new DataError(`${where}: section ${JSON.stringify(e.name)} has a bad offset or length`);
      }
      const end = (offset as number) + (length as number) * size;
      if (end > bytes.length) throw new DataError(`${where}: truncated (section ${JSON.stringify(e.name)} ends at byte ${end}, the file has ${bytes.length})`);
      if (entries.has(e.name)) throw new DataError(`${where}: section ${JSON.stringify(e.name)} appears twice`);
      if (typeof crc32 !== "number") throw new DataError(`${where}: section ${JSON.stringify(e.name)} has no checksum`);
      entries.set(e.name, e as SectionEntry);
      spans.push([offset as number, end]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) throw new DataError(`${where}: sections overlap`);
    if (options.verify !== false) {
      for (const e of entries.values()) {
        if (sectionChecksum(bytes, e.offset, e.length * ELEMENT_BYTES[e.type]) !== e.crc32) {
          throw new DataError(`${where}: section ${JSON.stringify(e.name)} is corrupt (its checksum does not match)`);
        }
      }
    }
    return new BinaryContainer(h, bytes, entries, where);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** A view of a section, checked for its type and (when given) its length. */
  section(name: string, type: "u8", length?: number): Uint8Array;
  section(name: string, type: "u16", length?: number): Uint16Array;
  section(name: string, type: "i32", length?: number): Int32Array;
  section(name: string, type: "f64", length?: number): Float64Array;
  section(name: string, type: SectionType, length?: number): SectionArray {
    const e = this.entries.get(name);
    if (e === undefined) throw new DataError(`${this.where}: section ${JSON.stringify(name)} is missing`);
    if (e.type !== type) throw new DataError(`${this.where}: section ${JSON.stringify(name)} has type ${e.type}, expected ${type}`);
    if (length !== undefined && e.length !== length)
      throw new DataError(`${this.where}: section ${JSON.stringify(name)} has ${e.length} entries, expected ${length}`);
    const { buffer, byteOffset } = this.bytes;
    const at = byteOffset + e.offset;
    switch (type) {
      case "u8":
        return new Uint8Array(buffer, at, e.length);
      case "u16":
        return new Uint16Array(buffer, at, e.length);
      case "i32":
        return new Int32Array(buffer, at, e.length);
      default:
        return new Float64Array(buffer, at, e.length);
    }
  }
}
