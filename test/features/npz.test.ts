import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeCsrNpz, decodeNpy, encodeCsrNpz, encodeNpy, readZip } from "../../src/features/npz.js";
import type { CsrMatrix } from "../../src/features/csr.js";
import { DataError } from "../../src/util/errors.js";

const X: CsrMatrix = {
  rows: 3,
  cols: 4,
  indptr: new Int32Array([0, 2, 2, 4]),
  indices: new Int32Array([0, 3, 1, 2]),
  data: new Float64Array([1.5, -2, 3, 4.25]),
};

// A scipy.sparse.save_npz(compressed=False) file of [[0, 1, 0], [2, 0, 3]], made with scipy 1.10.1 (Debian)
// (entries indices, indptr, format, shape, data), kept as base64 so the test needs no Python.
const SCIPY_NPZ_B64 =
  "UEsDBBQAAAAAAAAAIQDzoLL+jAAAAIwAAAALABQAaW5kaWNlcy5ucHkBABAAjAAAAAAAAACMAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgzLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAQAAAAAAAAACAAAAUEsDBBQAAAAAAAAAIQBniwERjAAAAIwAAAAKABQAaW5kcHRyLm5weQEAEACMAAAAAAAAAIwAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAQAAAAMAAABQSwMEFAAAAAAAAAAhAKPDdJeDAAAAgwAAAAoAFABmb3JtYXQubnB5AQAQAIMAAAAAAAAAgwAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICd8UzMnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgCmNzclBLAwQUAAAAAAAAACEAYEh+DJAAAACQAAAACQAUAHNoYXBlLm5weQEAEACQAAAAAAAAAJAAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoCAAAAAAAAAAMAAAAAAAAAUEsDBBQAAAAAAAAAIQAqwR1EmAAAAJgAAAAIABQAZGF0YS5ucHkBABAAmAAAAAAAAACYAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgzLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAAA8D8AAAAAAAAAQAAAAAAAAAhAUEsBAhQDFAAAAAAAAAAhAPOgsv6MAAAAjAAAAAsAAAAAAAAAAAAAAIABAAAAAGluZGljZXMubnB5UEsBAhQDFAAAAAAAAAAhAGeLARGMAAAAjAAAAAoAAAAAAAAAAAAAAIAByQAAAGluZHB0ci5ucHlQSwECFAMUAAAAAAAAACEAo8N0l4MAAACDAAAACgAAAAAAAAAAAAAAgAGRAQAAZm9ybWF0Lm5weVBLAQIUAxQAAAAAAAAAIQBgSH4MkAAAAJAAAAAJAAAAAAAAAAAAAACAAVACAABzaGFwZS5ucHlQSwECFAMUAAAAAAAAACEAKsEdRJgAAACYAAAACAAAAAAAAAAAAAAAgAEbAwAAZGF0YS5ucHlQSwUGAAAAAAUABQAWAQAA7QMAAAAA";

describe("npz (scipy.sparse CSR layout)", () => {
  test("a CSR matrix round-trips through stored and deflated archives", () => {
    for (const compressed of [false, true]) {
      const back = decodeCsrNpz(encodeCsrNpz(X, { compressed }));
      assert.deepEqual(back, X);
    }
  });

  test("the archive holds scipy's five entries with scipy's dtypes and 64-byte aligned data", () => {
    const files = readZip(encodeCsrNpz(X));
    assert.deepEqual([...files.keys()], ["indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"]);
    const descr = Object.fromEntries([...files].map(([k, v]) => [k, decodeNpy(v).descr]));
    assert.deepEqual(descr, { "indices.npy": "<i4", "indptr.npy": "<i4", "format.npy": "|S3", "shape.npy": "<i8", "data.npy": "<f8" });
    for (const buf of files.values()) assert.equal((buf.length - decodeNpy(buf).bytes.length) % 64, 0);
    assert.equal(decodeNpy(files.get("format.npy") as Buffer).bytes.toString(), "csr");
    assert.deepEqual(decodeNpy(files.get("shape.npy") as Buffer).shape, [2]);
  });

  test("the same matrix always gives the same bytes (stable hashes in dvc.lock)", () => {
    assert.deepEqual(encodeCsrNpz(X), encodeCsrNpz({ ...X, data: X.data.slice() }));
  });

  test("a file written by scipy.sparse.save_npz reads back", () => {
    const Y = decodeCsrNpz(Buffer.from(SCIPY_NPZ_B64, "base64"), "scipy.npz");
    assert.equal(Y.rows, 2);
    assert.equal(Y.cols, 3);
    assert.deepEqual([...Y.indptr], [0, 1, 3]);
    assert.deepEqual([...Y.indices], [1, 0, 2]);
    assert.deepEqual([...Y.data], [1, 2, 3]);
  });

  test("the .npy header encodes shapes as Python tuples", () => {
    const npy = encodeNpy({ descr: "<f8", shape: [2, 3], bytes: Buffer.alloc(48) });
    assert.match(npy.toString("latin1", 10, 80), /'shape': \(2, 3\), \}/);
    assert.deepEqual(decodeNpy(npy).shape, [2, 3]);
  });

  test("corrupt or foreign files fail with DataErrors that say what is wrong", () => {
    const good = encodeCsrNpz(X);
    const flipped = Buffer.from(good);
    flipped[30 + "indices.npy".length + 128 + 2] ^= 0xff; // inside indices.npy's array data
    assert.throws(
      () => decodeCsrNpz(flipped, "f.npz"),
      (e: unknown) => e instanceof DataError && /f\.npz: entry indices\.npy failed its CRC check/.test(e.message),
    );
    assert.throws(() => decodeCsrNpz(Buffer.from("text,label\n"), "g.npz"), /g\.npz: not a ZIP\/npz archive/);
    assert.throws(() => decodeNpy(Buffer.from("hello world")), /not a \.npy array/);
  });
});
