/**
 * Runs a CommonJS bundle with a V8 code cache (the v8-compile-cache approach): Node 20 keeps no
 * compiled code between runs (module.enableCompileCache arrived in 22.1), so every start would
 * otherwise parse and compile the CLI's code again. The first run of a command compiles as usual
 * and, at exit, stores V8's cached data — which then includes every function the command ran —
 * in a cache file; the next runs hand it to `vm.Script`, and V8 deserialises instead of compiling.
 *
 * A cache file is only a speed-up and never breaks a start: it is used only when
 *   - its header matches this bundle (size, mtime in ns and inode — V8's own check covers only
 *     the source's length), this Node version, architecture and execArgv (V8 also checks its
 *     version and flags);
 *   - its payload's checksum matches (release builds of V8 do not verify one), or the cache
 *     file is still the very file whose checksum an earlier run verified: the same inode, size,
 *     mtime and ctime (ns) as recorded then in `<cache>.ok`. Any write to the file moves its
 *     ctime, which only the kernel sets, and this code replaces caches by rename (a new inode);
 *     so only a change below the filesystem (a bad disk) would go unseen, as it would for the
 *     bundle itself. Hashing the ~180 KB payload took a few ms per start (MD5 also needed
 *     node:crypto loaded), the stamp ~20 µs (bench/cli.ts, issue 12);
 *   - it and its folder are owned by this user or root and writable by no one else (a code
 *     cache is code: one planted by another user must not run);
 * and V8 accepts it. Otherwise the bundle is compiled as usual and the cache rewritten (atomically:
 * a temp file renamed over it), so a stale or corrupt cache is replaced by the next run.
 * Imports only node: built-ins that every start loads anyway.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync, type BigIntStats, type Stats } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import vm from "node:vm";

const MAGIC = 0x43564c50; // "PLVC", little-endian
const FORMAT = 3; // 3: checksum() is a word hash (2: MD5)
/** Header: magic, format, key length, payload length, payload checksum (u32 each), then the key (UTF-8, zero-padded to 4 bytes), then the payload. */
const HEAD = 20;

/** Where the payload starts: 4-byte aligned, so checksum() reads it in place. */
const payloadOffset = (keyLength: number) => HEAD + ((keyLength + 3) & ~3);

/** What became of the cache on this run (tests and POLARITY_DEBUG_CODE_CACHE=1 read it). */
export type CacheOutcome = "hit" | "miss" | "stale" | "corrupt" | "rejected" | "untrusted" | "off";

export interface CachedRun {
  outcome: CacheOutcome;
  /** The bundle's module.exports. */
  exports: unknown;
  /** Writes the cache when this run should (no usable cache was found); call it at exit, after the command ran. */
  save(): void;
}

/** Golden-ratio multiplier (odd, so multiplying by it is a bijection on 32-bit words). */
const GOLDEN = 0x9e3779b1;

/**
 * A 32-bit hash of `bytes`, one host-order word per step: h = rotl(imul(h ^ word, GOLDEN), 13).
 * Each step is a bijection of h for a given word and of the word for a given h, so two inputs
 * of one length that differ in a single word (any flipped byte) always hash differently; other
 * corruption goes unnoticed with odds of about 2^-32. Integrity only — trust comes from the
 * file's owner and mode. No node:crypto: loading it was ~10 ms of a start (issue 12's profile).
 */
export function checksum(bytes: Uint8Array): number {
  const words = bytes.length >>> 2;
  // Int32Array needs an aligned offset (and reads the host's byte order: see the key, which holds the arch).
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  const w = new Int32Array(aligned.buffer, aligned.byteOffset, words);
  let h = 0x811c9dc5 ^ bytes.length;
  for (let i = 0; i < words; i++) {
    h = Math.imul(h ^ w[i], GOLDEN);
    h = (h << 13) | (h >>> 19);
  }
  for (let i = words << 2; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i], GOLDEN);
    h = (h << 13) | (h >>> 19);
  }
  return h >>> 0;
}

/** Owned by this user (or root) and not writable by group or others. */
function trusted(st: Stats | BigIntStats): boolean {
  const uid = process.getuid?.();
  const owner = Number(st.uid);
  return (uid === undefined || owner === uid || owner === 0) && (Number(st.mode) & 0o022) === 0;
}

/** What `<cache>.ok` holds once a run has verified the cache file's checksum: the file's identity then. */
function verifiedStamp(st: BigIntStats): string {
  return `${FORMAT} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`;
}

/** The stamp file's content, when it is ours (as the cache file must be). */
function readStamp(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(`${file}.ok`, "r");
  } catch {
    return null;
  }
  try {
    return trusted(fstatSync(fd)) ? readFileSync(fd, "latin1") : null;
  } finally {
    closeSync(fd);
  }
}

function writeStamp(file: string, stamp: string): void {
  try {
    const tmp = `${file}.ok.${process.pid}.tmp`;
    writeFileSync(tmp, stamp, { mode: 0o600 });
    renameSync(tmp, `${file}.ok`);
  } catch {
    // a read-only cache folder: the next run verifies the checksum again
  }
}

/** The identity of the bundle and the runtime a cache was made for. */
export function cacheKey(bundle: string): string {
  const st = statSync(bundle, { bigint: true });
  return [FORMAT, process.version, process.arch, st.size, st.mtimeNs, st.ino, process.execArgv.join(" ")].join("\u0000");
}

/** The payload of a valid cache file for `key`, or why there is none. */
export function readCache(file: string, key: string): Buffer | Exclude<CacheOutcome, "hit" | "rejected" | "off"> {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return "miss";
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!trusted(st) || !trusted(statSync(dirname(file)))) return "untrusted";
    if (st.size < HEAD || st.size > 1 << 30) return "corrupt";
    const data = Buffer.allocUnsafe(Number(st.size));
    let got = 0;
    while (got < data.length) {
      const n = readSync(fd, data, got, data.length - got, got);
      if (n === 0) return "corrupt";
      got += n;
    }
    if (data.readUInt32LE(0) !== MAGIC || data.readUInt32LE(4) !== FORMAT) return "corrupt";
    const keyLength = data.readUInt32LE(8);
    const payloadLength = data.readUInt32LE(12);
    if (keyLength > data.length || payloadOffset(keyLength) + payloadLength !== data.length) return "corrupt";
    if (data.toString("utf8", HEAD, HEAD + keyLength) !== key) return "stale";
    const payload = data.subarray(payloadOffset(keyLength));
    const stamp = verifiedStamp(st);
    if (readStamp(file) !== stamp) {
      if (checksum(payload) !== data.readUInt32LE(16)) return "corrupt";
      writeStamp(file, stamp);
    }
    return payload;
  } finally {
    closeSync(fd);
  }
}

/** Writes a cache file atomically (temp file, then rename), readable and writable by its owner only. */
export function writeCache(file: string, key: string, payload: Uint8Array): void {
  const keyBytes = Buffer.from(key, "utf8");
  const head = Buffer.alloc(payloadOffset(keyBytes.length));
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(FORMAT, 4);
  head.writeUInt32LE(keyBytes.length, 8);
  head.writeUInt32LE(payload.length, 12);
  head.writeUInt32LE(checksum(payload), 16);
  keyBytes.copy(head, HEAD);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([head, payload]), { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * Runs `bundle` (a CommonJS file) as `require` would, with its code cache in `cacheFile` (null:
 * no cache). Errors of the cache itself are swallowed; errors of the bundle's code propagate.
 * `bundleRequire` is the bundle's `require`: by default createRequire(bundle); a caller in the
 * bundle's own folder may pass its own, which resolves the same way.
 */
export function runCached(bundle: string, cacheFile: string | null, bundleRequire?: NodeJS.Require): CachedRun {
  let source = readFileSync(bundle, "utf8");
  // A hashbang line is not valid inside the function wrapper: blank it (same length, same lines).
  if (source.startsWith("#!")) source = "//" + source.slice(2);
  let key = "";
  let cached: Buffer | undefined;
  let outcome: CacheOutcome = "off";
  if (cacheFile !== null) {
    try {
      key = cacheKey(bundle);
      const found = readCache(cacheFile, key);
      if (typeof found === "string") outcome = found;
      else {
        cached = found;
        outcome = "hit";
      }
    } catch {
      outcome = "corrupt";
    }
  }
  const importModuleDynamically = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cached ? { cachedData: cached } : {}),
    ...(importModuleDynamically ? { importModuleDynamically: importModuleDynamically as never } : {}),
  });
  if (outcome === "hit" && script.cachedDataRejected === true) outcome = "rejected";
  const run: CachedRun = {
    outcome,
    exports: undefined,
    save: () => {
      if (cacheFile === null || outcome === "hit" || outcome === "untrusted") return;
      try {
        writeCache(cacheFile, key, script.createCachedData());
      } catch {
        // A read-only install or a full disk: the next start compiles again, nothing else.
      }
    },
  };
  const module = { exports: {} as unknown, filename: bundle, id: bundle, loaded: false };
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: typeof module, f: string, d: string) => void;
  fn.call(module.exports, module.exports, bundleRequire ?? createRequire(bundle), module, bundle, dirname(bundle));
  module.loaded = true;
  run.exports = module.exports;
  return run;
}

/**
 * Where a command's cache lives: `.v8-cache/` beside the bundle when that folder is ours to
 * write (a user's own install), else $XDG_CACHE_HOME/polarity or ~/.cache/polarity; null when
 * POLARITY_CODE_CACHE=off or no folder is usable.
 */
export function cacheFileFor(bundle: string, command: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.POLARITY_CODE_CACHE === "off" || env.POLARITY_CODE_CACHE === "0") return null;
  const name = `${/^[a-z][a-z0-9-]{0,31}$/.test(command) ? command : "other"}.v8cache`;
  const beside = dirname(bundle);
  try {
    const st = statSync(beside);
    if (trusted(st) && st.uid === (process.getuid?.() ?? 0)) return join(beside, ".v8-cache", name);
  } catch {
    // fall through to the user's cache folder
  }
  const home = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : "");
  // One folder per install, so two installs do not keep replacing each other's caches.
  const install = checksum(Buffer.from(beside, "utf8")).toString(16).padStart(8, "0");
  return home ? join(home, "polarity", "v8-cache", install, name) : null;
}
