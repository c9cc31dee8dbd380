import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type Database from "better-sqlite3";
import { listFilesSync, mapPool } from "./fsutil.js";
import { NotFoundError } from "../../util/errors.js";

/**
 * 4 MiB reads: large enough that the per-read overhead of the async fs API is negligible
 * next to MD5 itself (bench/pipeline.ts measures the throughput against md5sum).
 */
const READ_BUFFER_BYTES = 4 << 20;

/** Files up to this size are hashed with one synchronous read. */
const SMALL_FILE_BYTES = 256 * 1024;

/** Files hashed concurrently when a directory is hashed (libuv's default thread pool is 4). */
export const HASH_CONCURRENCY = 4;

/** MD5 of a file's bytes, streamed through one reused buffer (constant memory); DVC 3 `hash: md5` semantics (no dos2unix). */
export async function hashFileMd5(file: string, buffer?: Buffer): Promise<{ md5: string; size: number }> {
  const buf = buffer ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const md5 = createHash("md5");
  const fh = await fsp.open(file, "r");
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      md5.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { md5: md5.digest("hex"), size };
}

/** One file of a directory manifest (DVC's `.dir` object). */
export interface ManifestEntry {
  relpath: string;
  md5: string;
}

/**
 * Serialises a manifest exactly as dvc-data's `Tree.as_bytes()`:
 * `json.dumps(sorted(entries, key=relpath), sort_keys=True)` — Python's default separators
 * `", "` and `": "`, and `ensure_ascii=True` (non-ASCII escaped as lowercase `\uXXXX`).
 */
export function serializeManifest(entries: readonly ManifestEntry[]): string {
  const parts = entries.map((e) => `{"md5": ${pythonJsonString(e.md5)}, "relpath": ${pythonJsonString(e.relpath)}}`);
  return `[${parts.join(", ")}]`;
}

function pythonJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The `.dir` hash of a manifest: md5 of its serialisation, suffixed `.dir`. */
export function manifestHash(entries: readonly ManifestEntry[]): string {
  return createHash("md5").update(serializeManifest(entries), "utf8").digest("hex") + ".dir";
}

/** What a path hashes to: a file (`md5`, `size`) or a directory (`<md5>.dir`, total `size`, `nfiles`, and its manifest). */
export interface HashInfo {
  md5: string;
  size: number;
  nfiles?: number;
  manifest?: ManifestEntry[];
  /** sizes of the manifest's files, parallel to `manifest` */
  sizes?: number[];
}

/**
 * A file modified less than this long before it is hashed is "racily clean" (git's term): it
 * could be rewritten with the same size within the same timestamp tick (the kernel stamps
 * mtimes from a coarse clock, ~4 ms; some filesystems keep whole seconds or two), and then
 * inode + mtime + size would not show the change. Such hashes are not recorded: the file is
 * hashed again next time, when its mtime is old enough to be trusted.
 */
export const RACY_WINDOW_NS = 2_000_000_000n;

type SqliteConstructor = typeof Database;
let sqlite: { Database: SqliteConstructor; options: Database.Options } | null = null;

/**
 * better-sqlite3, required on first use (CLI start: commands that never open the state do not
 * load it), with its native addon's path given directly when it is where a normal install puts
 * it: the `bindings` package otherwise finds it by walking a stack trace and probing a dozen
 * paths, a measurable share of `polarity status`'s start.
 */
function loadSqlite(): { Database: SqliteConstructor; options: Database.Options } {
  if (sqlite) return sqlite;
  const require = createRequire(import.meta.url);
  const Ctor = require("better-sqlite3") as SqliteConstructor;
  let nativeBinding: string | undefined;
  try {
    // lib/index.js → ../build/Release/better_sqlite3.node (resolved already by the require above).
    const addon = path.resolve(path.dirname(require.resolve("better-sqlite3")), "..", "build", "Release", "better_sqlite3.node");
    if (fs.existsSync(addon)) nativeBinding = addon;
  } catch {
    // an unusual layout: let better-sqlite3 find its addon itself
  }
  sqlite = { Database: Ctor, options: nativeBinding ? { nativeBinding } : {} };
  return sqlite;
}

/**
 * Remembers file hashes keyed by path + inode + mtime (ns) + size, so unchanged files are never
 * rehashed (DVC's state database). SQLite in WAL mode: several processes may share it, and each
 * batch of entries is written in one transaction (all or nothing). Hashes of racily clean files
 * (RACY_WINDOW_NS) are not recorded.
 */
export class StateDb {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], { inode: string; mtime: string; size: number; md5: string }>;
  private readonly putStmt: Database.Statement<[string, string, string, number, string]>;
  private readonly rangeStmt: Database.Statement<[string, string], [string, string, string, number, string]>;
  private pending: Array<[string, string, string, number, string]> = [];

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { Database: Ctor, options } = loadSqlite();
    this.db = new Ctor(file, options);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 10000");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS state (path TEXT PRIMARY KEY, inode TEXT NOT NULL, mtime TEXT NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL)",
    );
    this.getStmt = this.db.prepare("SELECT inode, mtime, size, md5 FROM state WHERE path = ?");
    this.putStmt = this.db.prepare("INSERT OR REPLACE INTO state (path, inode, mtime, size, md5) VALUES (?, ?, ?, ?, ?)");
    this.rangeStmt = this.db
      .prepare<[string, string], [string, string, string, number, string]>("SELECT path, inode, mtime, size, md5 FROM state WHERE path >= ? AND path < ?")
      .raw(true);
  }

  /**
   * Every entry under directory `dir`, in one query: one range scan over the primary key instead of
   * one query per file (the per-file lookups were most of a warm no-op repro in bench/pipeline.ts).
   */
  entriesUnder(dir: string): Map<string, { inode: string; mtime: string; size: number; md5: string }> {
    // Paths under `dir` sort between "dir/" and "dir0" ('0' is the character after '/').
    const rows = this.rangeStmt.all(dir + path.sep, dir + String.fromCharCode(path.sep.charCodeAt(0) + 1));
    const out = new Map<string, { inode: string; mtime: string; size: number; md5: string }>();
    for (const [p, inode, mtime, size, md5] of rows) out.set(p, { inode, mtime, size, md5 });
    return out;
  }

  lookup(file: string, st: fs.BigIntStats): string | undefined {
    const row = this.getStmt.get(file);
    if (!row) return undefined;
    if (row.inode !== st.ino.toString() || row.mtime !== st.mtimeNs.toString() || BigInt(row.size) !== st.size) return undefined;
    return row.md5;
  }

  record(file: string, st: fs.BigIntStats, md5: string): void {
    // Racily clean (or stamped in the future): not trusted, hashed again next time.
    if (BigInt(Date.now()) * 1_000_000n - st.mtimeNs < RACY_WINDOW_NS) return;
    this.pending.push([file, st.ino.toString(), st.mtimeNs.toString(), Number(st.size), md5]);
    if (this.pending.length >= 2000) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const r of rows) this.putStmt.run(...r);
    })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}

/** Hashes files and directories through the state database. */
export class Hasher {
  /** Within one repro run, each path is hashed once (forget() drops what a stage rewrites). */
  private memo: Map<string, HashInfo> | null = null;

  constructor(private readonly state: StateDb | null) {}

  enableMemo(): void {
    this.memo = new Map();
  }

  /** Drops memoised hashes of `p`, of anything inside it and of any directory containing it. */
  forget(p: string): void {
    if (!this.memo) return;
    for (const key of [...this.memo.keys()]) {
      if (key === p || key.startsWith(p + path.sep) || p.startsWith(key + path.sep)) this.memo.delete(key);
    }
  }

  async hashFile(file: string, buffer?: Buffer): Promise<{ md5: string; size: number }> {
    const st = await fsp.stat(file, { bigint: true });
    return this.hashStatted(file, st, buffer);
  }

  private async hashStatted(file: string, st: fs.BigIntStats, buffer?: Buffer): Promise<{ md5: string; size: number }> {
    const known = this.state?.lookup(file, st);
    if (known) return { md5: known, size: Number(st.size) };
    const h = await hashFileMd5(file, buffer);
    // Recorded against the stat taken before reading: if the file changed meanwhile, its mtime moved on and the entry won't match.
    this.state?.record(file, st, h.md5);
    return h;
  }

  async hashDir(dir: string): Promise<HashInfo> {
    const relpaths = listFilesSync(dir);
    const hashes = new Array<{ md5: string; size: number }>(relpaths.length);
    const misses: number[] = [];
    // Fast path, measured by bench/pipeline.ts: synchronous stat (no thread-pool round trip) checked
    // against the state entries of the whole directory, loaded at once; only unknown files are read.
    const known = this.state?.entriesUnder(dir) ?? new Map();
    for (let i = 0; i < relpaths.length; i++) {
      const file = path.join(dir, relpaths[i]);
      const st = fs.statSync(file, { bigint: true });
      const e = known.get(file);
      if (e && e.inode === st.ino.toString() && e.mtime === st.mtimeNs.toString() && BigInt(e.size) === st.size)
        hashes[i] = { md5: e.md5, size: Number(st.size) };
      else misses.push(i);
    }
    // Small files are read synchronously (one read; the thread-pool round trip costs more than the
    // read itself: a cold rehash of 10k small files went from 2.4 s to 0.6 s in bench/pipeline.ts); big ones stream.
    const large: number[] = [];
    for (const i of misses) {
      const file = path.join(dir, relpaths[i]);
      const st = fs.statSync(file, { bigint: true });
      if (st.size > SMALL_FILE_BYTES) {
        large.push(i);
        continue;
      }
      const bytes = fs.readFileSync(file);
      const md5 = createHash("md5").update(bytes).digest("hex");
      this.state?.record(file, st, md5);
      hashes[i] = { md5, size: bytes.length };
    }
    const buffers: Array<Buffer | undefined> = new Array(HASH_CONCURRENCY);
    await mapPool(large, HASH_CONCURRENCY, async (i, _k, w) => {
      const buf = buffers[w] ?? (buffers[w] = Buffer.allocUnsafe(1 << 20));
      hashes[i] = await this.hashFile(path.join(dir, relpaths[i]), buf);
    });
    const manifest: ManifestEntry[] = relpaths.map((relpath, i) => ({ relpath, md5: hashes[i].md5 }));
    const sizes = hashes.map((h) => h.size);
    this.state?.flush();
    return { md5: manifestHash(manifest), size: sizes.reduce((a, b) => a + b, 0), nfiles: manifest.length, manifest, sizes };
  }

  /** Hashes a file or directory; throws NotFoundError when it does not exist. */
  async hashPath(p: string, label = p): Promise<HashInfo> {
    const memoised = this.memo?.get(p);
    if (memoised) return memoised;
    const st = await fsp.stat(p).catch(() => null);
    if (!st) throw new NotFoundError(`'${label}' does not exist`);
    let h: HashInfo;
    if (st.isDirectory()) h = await this.hashDir(p);
    else {
      h = await this.hashFile(p);
      this.state?.flush();
    }
    this.memo?.set(p, h);
    return h;
  }

  /** Like hashPath but returns null for a missing path. */
  async tryHashPath(p: string): Promise<HashInfo | null> {
    if (!this.memo?.has(p) && !fs.existsSync(p)) return null;
    return this.hashPath(p);
  }
}
