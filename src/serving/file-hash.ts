import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { Worker } from "node:worker_threads";

/**
 * Reading a model file and its SHA-256 (the version id of a local model, model-source.ts) so
 * that hashing a large file overlaps with parsing it (issue 12, start → ready): the file is
 * read once into shared memory, a worker thread hashes it while the main thread builds the
 * model from the same bytes. For a 117 MB model.bin the hash alone is ~0.5 s of CPU here.
 */

/** Files at least this big are hashed on a worker thread; smaller ones on the calling thread (a worker costs more to start). */
export const OFF_THREAD_HASH_MIN_BYTES = 8 * 1024 * 1024;

/**
 * The whole file. At least `sharedMinBytes` long, it is read into a SharedArrayBuffer (so a
 * hash worker can read it without a copy). Reads until end of file, whatever size stat
 * reported before (a file that grew since is read again, whole, into an ordinary buffer).
 */
export async function readWholeFile(file: string, sharedMinBytes = OFF_THREAD_HASH_MIN_BYTES): Promise<Buffer> {
  const fh = await open(file, "r");
  try {
    const { size } = await fh.stat();
    if (size < sharedMinBytes) return await fh.readFile();
    const buf = Buffer.from(new SharedArrayBuffer(size));
    let n = 0;
    while (n < size) {
      const { bytesRead } = await fh.read(buf, n, size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n < size) return buf.subarray(0, n);
    const probe = await fh.read(Buffer.alloc(1), 0, 1, size);
    if (probe.bytesRead === 0) return buf;
    // Grown since stat (being rewritten in place): read it whole again, from the start
    // (positioned reads leave the file position at 0).
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

const HASH_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { buffer, byteOffset, byteLength } = workerData;
parentPort.postMessage(createHash("sha256").update(new Uint8Array(buffer, byteOffset, byteLength)).digest("hex"));
`;

/** Lowercase hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * SHA-256 of `bytes`, computed on a worker thread when they live in a SharedArrayBuffer and
 * are at least `offThreadMin` long (the calling thread is free meanwhile), else here. A worker
 * that cannot start or fails falls back to hashing on the calling thread: the digest is the
 * same either way.
 */
export function sha256HexAsync(bytes: Uint8Array, offThreadMin = OFF_THREAD_HASH_MIN_BYTES): Promise<string> {
  if (bytes.byteLength < offThreadMin || !(bytes.buffer instanceof SharedArrayBuffer)) return Promise.resolve(sha256Hex(bytes));
  return new Promise<string>((resolve) => {
    let settled = false;
    const fallback = () => {
      if (settled) return;
      settled = true;
      resolve(sha256Hex(bytes));
    };
    let worker: Worker;
    try {
      worker = new Worker(HASH_WORKER, {
        eval: true,
        workerData: { buffer: bytes.buffer, byteOffset: bytes.byteOffset, byteLength: bytes.byteLength },
        // Plain CommonJS: no loader hooks (tsx) needed or wanted in it.
        execArgv: [],
        env: {},
      });
    } catch {
      fallback();
      return;
    }
    worker.once("message", (hex: unknown) => {
      if (settled) return;
      if (typeof hex === "string" && /^[0-9a-f]{64}$/.test(hex)) {
        settled = true;
        resolve(hex);
      } else fallback();
      void worker.terminate();
    });
    worker.once("error", fallback);
    worker.once("exit", fallback);
  });
}
