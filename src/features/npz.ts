import { crc32, deflateRawSync, inflateRawSync } from "node:zlib";
import { DataError } from "../util/errors.js";
import { assertValidCsr, type CsrMatrix } from "./csr.js";

/**
 * Sparse matrices on disk in scipy's `save_npz` CSR layout, so Python users can
 * `scipy.sparse.load_npz("data/processed/train.npz")` our features directly.
 *
 * An .npz file is a ZIP archive of .npy arrays. scipy writes, for a CSR matrix:
 *   indices.npy  int32 (nnz)        column of each stored value
 *   indptr.npy   int32 (rows+1)     row i is [indptr[i], indptr[i+1])
 *   format.npy   0-d bytes 'csr'    (dtype |S3)
 *   shape.npy    int64 (2)          (rows, cols)
 *   data.npy     float64 (nnz)      the values
 * Each .npy is: magic "\x93NUMPY", version 1.0, a little-endian uint16 header length, an
 * ASCII Python-dict header padded with spaces and ending in "\n" so that the data start on
 * a 64-byte boundary (numpy's ARRAY_ALIGN), then the raw little-endian array bytes.
 *
 * We write entries uncompressed by default (ZIP method 0, like `np.savez`) or deflated
 * (`compressed: true`, like `save_npz(..., compressed=True)`), and read both. ZIP64
 * (archives over 4 GiB) is not supported and is reported as such.
 */

export interface NpyArray {
  /** numpy dtype descriptor, e.g. '<i4', '<i8', '<f8', '|S3'. */
  descr: string;
  shape: number[];
  /** Raw little-endian element bytes. */
  bytes: Buffer;
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
const NPY_ALIGN = 64;

/** Serialises one array as .npy (format version 1.0). */
export function encodeNpy(array: NpyArray): Buffer {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  let header = `{'descr': '${array.descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic(6) + version(2) + header length(2) + header, padded so data start aligned.
  const prefix = NPY_MAGIC.length + 2 + 2;
  const total = Math.ceil((prefix + header.length + 1) / NPY_ALIGN) * NPY_ALIGN;
  header = header + " ".repeat(total - prefix - header.length - 1) + "\n";
  if (header.length > 0xffff) throw new DataError(`npy header too long (${header.length} bytes)`);
  const head = Buffer.alloc(prefix);
  NPY_MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, "latin1"), array.bytes]);
}

/** Parses a .npy buffer (versions 1.x, 2.x and 3.x headers; C order only). */
export function decodeNpy(buf: Buffer, where = "npy"): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) throw new DataError(`${where}: not a .npy array (bad magic)`);
  const major = buf[6];
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new DataError(`${where}: unsupported .npy format version ${major}`);
  }
  const header = buf.subarray(offset, offset + headerLen).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new DataError(`${where}: malformed .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === "True") throw new DataError(`${where}: Fortran-ordered arrays are not supported`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw new DataError(`${where}: bad shape (${shapeText})`);
  return { descr, shape, bytes: buf.subarray(offset + headerLen) };
}

function elementCount(a: NpyArray): number {
  return a.shape.reduce((p, n) => p * n, 1);
}

/** Copies little-endian bytes into a fresh, aligned typed array of the dtype asked for. */
function toInt32(a: NpyArray, where: string): Int32Array {
  const n = elementCount(a);
  if (a.descr === "<i4" || a.descr === "|i4" || a.descr === "=i4") return copyTyped(a.bytes, n, 4, where, (b, o) => b.readInt32LE(o), Int32Array);
  if (a.descr === "<i8" || a.descr === "=i8") {
    // scipy uses int64 indices for very large matrices; we accept them while they fit int32.
    const out = new Int32Array(n);
    checkLength(a.bytes, n * 8, where);
    for (let i = 0; i < n; i++) {
      const v = a.bytes.readBigInt64LE(i * 8);
      if (v > 2147483647n || v < -2147483648n) throw new DataError(`${where}: index ${v} does not fit in int32`);
      out[i] = Number(v);
    }
    return out;
  }
  throw new DataError(`${where}: expected int32 or int64 data, got dtype '${a.descr}'`);
}

function toFloat64(a: NpyArray, where: string): Float64Array {
  const n = elementCount(a);
  if (a.descr === "<f8" || a.descr === "=f8") return copyTyped(a.bytes, n, 8, where, (b, o) => b.readDoubleLE(o), Float64Array);
  if (a.descr === "<f4" || a.descr === "=f4") return Float64Array.from(copyTyped(a.bytes, n, 4, where, (b, o) => b.readFloatLE(o), Float32Array));
  throw new DataError(`${where}: expected float64 or float32 data, got dtype '${a.descr}'`);
}

function checkLength(bytes: Buffer, need: number, where: string): void {
  if (bytes.length < need) throw new DataError(`${where}: truncated array data (${bytes.length} of ${need} bytes)`);
}

function copyTyped<T extends Int32Array | Float64Array | Float32Array>(
  bytes: Buffer,
  n: number,
  width: number,
  where: string,
  read: (b: Buffer, offset: number) => number,
  Ctor: { new (n: number): T; new (buffer: ArrayBuffer, offset: number, length: number): T },
): T {
  checkLength(bytes, n * width, where);
  // Fast path: copy the bytes into a fresh (aligned) buffer and view it; little-endian hosts only.
  if (LITTLE_ENDIAN) {
    const copy = new ArrayBuffer(n * width);
    new Uint8Array(copy).set(bytes.subarray(0, n * width));
    return new Ctor(copy, 0, n);
  }
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) out[i] = read(bytes, i * width);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function typedBytes(a: Int32Array | Float64Array | BigInt64Array): Buffer {
  if (!LITTLE_ENDIAN) throw new DataError("writing .npy on a big-endian host is not supported");
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

// ---------------------------------------------------------------------------------------
// ZIP (PKWARE APPNOTE 6.3): local headers + data, then a central directory and its end
// record. Enough for numpy's archives: no encryption, no ZIP64, methods 0 and 8.

interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Builds a ZIP archive; entries are stored, or deflated when `compress`. */
export function writeZip(entries: ZipEntry[], compress = false): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  // DOS date/time fixed at 1980-01-01 00:00 so the same matrix gives the same bytes (stable hashes in dvc.lock).
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, "utf8");
    const crc = crc32(entry.data);
    const body = compress ? deflateRawSync(entry.data) : entry.data;
    const method = compress ? 8 : 0;
    if (body.length >= 0xffffffff || entry.data.length >= 0xffffffff || offset >= 0xffffffff) {
      throw new DataError(`npz entry ${entry.name} is too large for a non-ZIP64 archive (4 GiB limit)`);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    parts.push(local, name, body);

    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4); // version made by
    cd.writeUInt16LE(20, 6); // version needed
    cd.writeUInt16LE(0, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(dosTime, 12);
    cd.writeUInt16LE(dosDate, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(entry.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(0, 30); // extra length
    cd.writeUInt16LE(0, 32); // comment length
    cd.writeUInt16LE(0, 34); // disk number
    cd.writeUInt16LE(0, 36); // internal attributes
    cd.writeUInt32LE(0, 38); // external attributes
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    offset += local.length + name.length + body.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...parts, cdBuf, end]);
}

/** Reads every entry of a ZIP archive (stored or deflated), checking CRCs. */
export function readZip(buf: Buffer, where = "zip"): Map<string, Buffer> {
  // The end-of-central-directory record is the last 22 bytes plus an optional comment (≤ 64 KiB).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new DataError(`${where}: not a ZIP/npz archive (no end-of-central-directory record)`);
  const count = buf.readUInt16LE(eocd + 10);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) throw new DataError(`${where}: ZIP64 archives are not supported`);
  const out = new Map<string, Buffer>();
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new DataError(`${where}: corrupt central directory`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new DataError(`${where}: entry ${name} is encrypted`);
    if (compSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff)
      throw new DataError(`${where}: ZIP64 entries are not supported (${name})`);
    if (localOffset + 30 > buf.length || buf.readUInt32LE(localOffset) !== 0x04034b50) throw new DataError(`${where}: corrupt local header for ${name}`);
    const dataStart = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    const body = buf.subarray(dataStart, dataStart + compSize);
    if (body.length !== compSize) throw new DataError(`${where}: entry ${name} is truncated`);
    let data: Buffer;
    if (method === 0) data = body;
    else if (method === 8) data = inflateRawSync(body);
    else throw new DataError(`${where}: entry ${name} uses unsupported compression method ${method}`);
    if (data.length !== size || crc32(data) !== crc) throw new DataError(`${where}: entry ${name} failed its CRC check (corrupt file)`);
    out.set(name, data);
  }
  return out;
}

// ---------------------------------------------------------------------------------------

/** Encodes a CSR matrix as scipy `save_npz` bytes. */
export function encodeCsrNpz(X: CsrMatrix, opts: { compressed?: boolean } = {}): Buffer {
  const nnz = X.indptr[X.rows];
  const shape = new BigInt64Array([BigInt(X.rows), BigInt(X.cols)]);
  // Same entry order as scipy.sparse.save_npz: indices, indptr, format, shape, data.
  const entries: ZipEntry[] = [
    { name: "indices.npy", data: encodeNpy({ descr: "<i4", shape: [nnz], bytes: typedBytes(X.indices.subarray(0, nnz)) }) },
    { name: "indptr.npy", data: encodeNpy({ descr: "<i4", shape: [X.rows + 1], bytes: typedBytes(X.indptr) }) },
    { name: "format.npy", data: encodeNpy({ descr: "|S3", shape: [], bytes: Buffer.from("csr", "ascii") }) },
    { name: "shape.npy", data: encodeNpy({ descr: "<i8", shape: [2], bytes: typedBytes(shape) }) },
    { name: "data.npy", data: encodeNpy({ descr: "<f8", shape: [nnz], bytes: typedBytes(X.data.subarray(0, nnz)) }) },
  ];
  return writeZip(entries, opts.compressed ?? false);
}

/** Decodes scipy `save_npz` bytes of a CSR matrix (int32/int64 indices, float64/float32 data), validating the structure. */
export function decodeCsrNpz(buf: Buffer, where = "npz"): CsrMatrix {
  const files = readZip(buf, where);
  const get = (name: string): NpyArray => {
    const b = files.get(`${name}.npy`);
    if (!b) throw new DataError(`${where}: missing ${name}.npy (found: ${[...files.keys()].join(", ") || "nothing"}); is this a scipy.sparse .npz file?`);
    return decodeNpy(b, `${where}/${name}.npy`);
  };
  const format = get("format");
  const formatName = format.bytes.toString("latin1").replace(/\0+$/, "");
  if (formatName !== "csr") throw new DataError(`${where}: sparse format '${formatName}' is not supported (only 'csr')`);
  const shapeArr = get("shape");
  const shapeInts = toInt32({ ...shapeArr, shape: [2] }, `${where}/shape.npy`);
  const rows = shapeInts[0];
  const cols = shapeInts[1];
  const indptr = toInt32(get("indptr"), `${where}/indptr.npy`);
  const indices = toInt32(get("indices"), `${where}/indices.npy`);
  const data = toFloat64(get("data"), `${where}/data.npy`);
  const X: CsrMatrix = { rows, cols, indptr, indices, data };
  assertValidCsr(X, where);
  return X;
}
