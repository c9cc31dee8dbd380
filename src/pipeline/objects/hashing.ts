import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type Database from "better-sqlite3";
import { type FileIdentity, identityOfStats, statIdentities } from "./file-identity.js";
import { listFilesSync, mapPool } from "./fsutil.js";
import { NotFoundError } from "../../util/errors.js";
import { writeFileAtomicSync } from "../../util/atomic-write.js";

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
  // One join over the pieces (strings that need no escaping go in as they are): a no-op status
  // serialises each directory dep's manifest to look its hash up, and building every entry as
  // its own string was ~140 KB of young heap for 200 files (issue 12).
  const pieces: string[] = ["["];
  for (let i = 0; i < entries.length; i++) {
    const { md5, relpath } = entries[i];
    pieces.push(i === 0 ? '{"md5": ' : ', {"md5": ');
    pushJsonString(pieces, md5);
    pieces.push(', "relpath": ');
    pushJsonString(pieces, relpath);
    pieces.push("}");
  }
  pieces.push("]");
  return pieces.join("");
}

/** What Python's json.dumps(ensure_ascii=True) escapes (its ESCAPE_ASCII): a quote, a backslash, anything but printable ASCII. */
const JSON_ESCAPED = /["\\]|[^ -~]/;

function pushJsonString(pieces: string[], s: string): void {
  if (!JSON_ESCAPED.test(s)) pieces.push('"', s, '"');
  else pieces.push(pythonJsonString(s));
}

function pythonJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The `.dir` hash of a manifest: md5 of its serialisation, suffixed `.dir`. */
export function manifestHash(entries: readonly ManifestEntry[]): string {
  return serializedManifestHash(serializeManifest(entries));
}

function serializedManifestHash(serialized: string): string {
  return createHash("md5").update(serialized, "utf8").digest("hex") + ".dir";
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

type StateRow = { inode: string; mtime: string; size: number; md5: string };

/** Format tag of the hot-set file (StateDb): a file of another format is ignored. */
const HOT_FORMAT = "polarity-state-hot-2";
/** The hot set is rewritten with this run's entries alone when merging would make it larger. */
const HOT_MAX_ROWS = 50_000;
/** The same for its directory hashes, in characters of serialised manifests. */
const HOT_MAX_MANIFEST_CHARS = 16 << 20;

/**
 * Remembers file hashes keyed by path + inode + mtime (ns) + size, so unchanged files are never
 * rehashed (DVC's state database). SQLite in WAL mode: several processes may share it, and each
 * batch of entries is written in one transaction (all or nothing). Hashes of racily clean files
 * (RACY_WINDOW_NS) are not recorded.
 *
 * SQLite is opened on first need only. Beside it, `<file>.hot2.json` (the hot set) holds the
 * entries the last runs that opened SQLite looked up or recorded; lookups try it first, so a
 * no-op `status`/`repro` whose files all match it never loads better-sqlite3 (loading its addon
 * and opening the database were the largest part of `polarity status`'s start; issue 12). An
 * entry is valid for exactly the path + inode + mtime + size it names, wherever it is read from,
 * so a stale hot set only means more misses; a miss goes to SQLite. The hot set is rewritten
 * (atomically) at close() only by a run that opened SQLite: this run's entries merged with the
 * previous ones (this run's win), or this run's alone when the merge would exceed HOT_MAX_ROWS.
 *
 * The hot set also keeps directory hashes: per directory, the `.dir` md5 of the serialised
 * manifest a run last used or computed, with that whole serialisation (used only for exactly
 * that text, so an entry cannot be stale: the md5 is a function of it). A no-op `status` then
 * hashes nothing and never loads node:crypto (its ~35 internal modules were ~10 ms of a start:
 * bench/cli.ts, issue 12). A run that computed a directory hash the hot set lacked rewrites the
 * hot set too. One manifest per directory: keyed by manifest alone, every edit of a directory
 * dep added one (up to 16 MB) that every later start read and parsed again.
 */
export class StateDb {
  private db: Database.Database | null = null;
  private getStmt: Database.Statement<[string], StateRow> | null = null;
  private putStmt: Database.Statement<[string, string, string, number, string]> | null = null;
  private rangeStmt: Database.Statement<[string, string], [string, string, string, number, string]> | null = null;
  private pending: Array<[string, string, string, number, string]> = [];
  private hot: Map<string, StateRow> | null = null;
  /** Entries this run looked up (matching) or recorded: the next hot set. */
  private readonly used = new Map<string, StateRow>();
  /** Directory hashes of the hot set: directory → [`<md5>.dir`, serialised manifest]. */
  private hotManifests = new Map<string, [string, string]>();
  /** Directory hashes this run looked up or computed (the last per directory), and whether any was new to the hot set. */
  private readonly usedManifests = new Map<string, [string, string]>();
  private newManifests = false;
  private readonly hotFile: string;

  constructor(private readonly file: string) {
    // Named by its format: an install still writing format 1 (`.hot.json`) beside this one
    // would otherwise replace this one's hot set on every run, and each would read SQLite.
    this.hotFile = `${file}.hot2.json`;
  }

  /** Whether SQLite was opened (tests: a lookup served by the hot set does not open it). */
  get opened(): boolean {
    return this.db !== null;
  }

  private open(): Database.Database {
    if (this.db) return this.db;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const { Database: Ctor, options } = loadSqlite();
    const db = new Ctor(this.file, options);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 10000");
    db.pragma("synchronous = NORMAL");
    db.exec("CREATE TABLE IF NOT EXISTS state (path TEXT PRIMARY KEY, inode TEXT NOT NULL, mtime TEXT NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL)");
    this.db = db;
    return db;
  }

  private hotSet(): Map<string, StateRow> {
    if (this.hot) return this.hot;
    const hot = new Map<string, StateRow>();
    try {
      const data = JSON.parse(fs.readFileSync(this.hotFile, "utf8")) as { format?: unknown; rows?: unknown; manifests?: unknown };
      // Indexed loops, no destructuring: every row passes through here on every start, in V8's
      // interpreter (array destructuring runs the iterator protocol per row).
      const rows = data.format === HOT_FORMAT && Array.isArray(data.rows) ? (data.rows as unknown[]) : [];
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        if (!Array.isArray(r) || r.length !== 5) continue;
        const p: unknown = r[0];
        const inode: unknown = r[1];
        const mtime: unknown = r[2];
        const size: unknown = r[3];
        const md5: unknown = r[4];
        if (typeof p === "string" && typeof inode === "string" && typeof mtime === "string" && typeof size === "number" && typeof md5 === "string")
          hot.set(p, { inode, mtime, size, md5 });
      }
      if (data.format === HOT_FORMAT && Array.isArray(data.manifests))
        for (const m of data.manifests as unknown[]) {
          if (Array.isArray(m) && m.length === 3 && typeof m[0] === "string" && typeof m[1] === "string" && typeof m[2] === "string")
            this.hotManifests.set(m[0], [m[1], m[2]]);
        }
    } catch {
      // none yet, unreadable or corrupt: every lookup goes to SQLite, and close() writes a new one
    }
    this.hot = hot;
    return hot;
  }

  private sqliteEntriesUnder(dir: string): Map<string, StateRow> {
    const db = this.open();
    this.rangeStmt ??= db
      .prepare<[string, string], [string, string, string, number, string]>("SELECT path, inode, mtime, size, md5 FROM state WHERE path >= ? AND path < ?")
      .raw(true);
    // Paths under `dir` sort between "dir/" and "dir0" ('0' is the character after '/').
    const rows = this.rangeStmt.all(dir + path.sep, dir + String.fromCharCode(path.sep.charCodeAt(0) + 1));
    const out = new Map<string, StateRow>();
    for (const [p, inode, mtime, size, md5] of rows) out.set(p, { inode, mtime, size, md5 });
    return out;
  }

  /**
   * The entries for the files `files` (absolute paths) of directory `dir`: from the hot set when it
   * has a matching entry for every one of them (`ids`, parallel to `files`), else every entry
   * under `dir` from SQLite, in one query (one range scan over the primary key instead of one query
   * per file: the per-file lookups were most of a warm no-op repro in bench/pipeline.ts).
   */
  entriesFor(dir: string, files: readonly string[], ids: readonly FileIdentity[]): Map<string, StateRow> {
    const hot = this.hotSet();
    let all = true;
    for (let i = 0; i < files.length && all; i++) all = matches(hot.get(files[i]), ids[i]);
    const source = all ? hot : this.sqliteEntriesUnder(dir);
    for (let i = 0; i < files.length; i++) {
      const e = source.get(files[i]);
      if (e && matches(e, ids[i])) this.used.set(files[i], e);
    }
    return source;
  }

  lookup(file: string, st: fs.BigIntStats): string | undefined {
    const id = identityOfStats(st);
    let row: StateRow | undefined = this.hotSet().get(file);
    if (!matches(row, id)) {
      const db = this.open();
      this.getStmt ??= db.prepare("SELECT inode, mtime, size, md5 FROM state WHERE path = ?");
      row = this.getStmt.get(file);
      if (!row || !matches(row, id)) return undefined;
    }
    this.used.set(file, row!);
    return row!.md5;
  }

  /** The `.dir` hash of directory `dir`'s serialised manifest, from the hot set when it holds that very manifest, else computed now. */
  manifestHash(dir: string, serialized: string): string {
    this.hotSet();
    const hot = this.hotManifests.get(dir);
    let md5: string;
    if (hot !== undefined && hot[1] === serialized) md5 = hot[0];
    else {
      md5 = serializedManifestHash(serialized);
      this.newManifests = true;
    }
    this.usedManifests.set(dir, [md5, serialized]);
    return md5;
  }

  record(file: string, st: fs.BigIntStats, md5: string): void {
    // Racily clean (or stamped in the future): not trusted, hashed again next time.
    if (BigInt(Date.now()) * 1_000_000n - st.mtimeNs < RACY_WINDOW_NS) return;
    const row: [string, string, string, number, string] = [file, st.ino.toString(), st.mtimeNs.toString(), Number(st.size), md5];
    this.pending.push(row);
    this.used.set(file, { inode: row[1], mtime: row[2], size: row[3], md5 });
    if (this.pending.length >= 2000) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const db = this.open();
    const rows = this.pending;
    this.pending = [];
    this.putStmt ??= db.prepare("INSERT OR REPLACE INTO state (path, inode, mtime, size, md5) VALUES (?, ?, ?, ?, ?)");
    const put = this.putStmt;
    db.transaction(() => {
      for (const r of rows) put.run(...r);
    })();
  }

  close(): void {
    this.flush();
    if (!this.db && !this.newManifests) return;
    this.db?.close();
    this.db = null;
    this.newManifests = false;
    // This run needed SQLite or hashed a manifest: the next one should not, for the same files.
    const merged = new Map(this.hotSet());
    for (const [p, r] of this.used) merged.set(p, r);
    const rows = merged.size <= HOT_MAX_ROWS ? merged : this.used;
    const mergedManifests = new Map([...this.hotManifests, ...this.usedManifests]);
    let chars = 0;
    for (const m of mergedManifests.values()) chars += m[1].length;
    const manifests = chars <= HOT_MAX_MANIFEST_CHARS ? mergedManifests : this.usedManifests;
    try {
      writeFileAtomicSync(
        this.hotFile,
        JSON.stringify({
          format: HOT_FORMAT,
          rows: [...rows].map(([p, r]) => [p, r.inode, r.mtime, r.size, r.md5]),
          manifests: [...manifests].map(([dir, [md5, serialized]]) => [dir, md5, serialized]),
        }),
      );
    } catch {
      // a read-only .dvc/tmp: lookups keep going to SQLite
    }
  }
}

function matches(row: StateRow | undefined, id: FileIdentity): boolean {
  return row !== undefined && row.inode === id.inode && row.mtime === id.mtime && row.size === id.size;
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
    // path.join(dir, r) for listFilesSync's relpaths (plain names joined by "/"), without normalising each.
    const prefix = path.join(dir, path.sep);
    const files = path.sep === "/" ? relpaths.map((r) => prefix + r) : relpaths.map((r) => path.join(dir, r));
    const ids = statIdentities(files);
    const known = this.state?.entriesFor(dir, files, ids) ?? new Map<string, StateRow>();
    for (let i = 0; i < relpaths.length; i++) {
      const e = known.get(files[i]);
      if (matches(e, ids[i])) hashes[i] = { md5: e!.md5, size: ids[i].size };
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
    const serialized = serializeManifest(manifest);
    const md5 = this.state ? this.state.manifestHash(dir, serialized) : serializedManifestHash(serialized);
    return { md5, size: sizes.reduce((a, b) => a + b, 0), nfiles: manifest.length, manifest, sizes };
  }

  /** Hashes a file or directory; throws NotFoundError when it does not exist. */
  async hashPath(p: string, label = p): Promise<HashInfo> {
    const memoised = this.memo?.get(p);
    if (memoised) return memoised;
    // A synchronous stat: an asynchronous one is a thread-pool round trip, for one syscall.
    let st: fs.BigIntStats | undefined;
    try {
      st = fs.statSync(p, { bigint: true });
    } catch {
      // unreadable counts as missing, as before
    }
    if (!st) throw new NotFoundError(`'${label}' does not exist`);
    let h: HashInfo;
    if (st.isDirectory()) h = await this.hashDir(p);
    else {
      h = await this.hashStatted(p, st);
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
