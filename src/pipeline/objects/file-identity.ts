import fs from "node:fs";

/** A file version as the state keys it: inode and mtime (ns) as decimal strings, size. */
export interface FileIdentity {
  inode: string;
  mtime: string;
  size: number;
}

/** Taken from a stat at once, so the BigIntStats (each ~20 BigInts and 4 Dates) die young. */
export function identityOfStats(st: fs.BigIntStats): FileIdentity {
  return { inode: st.ino.toString(), mtime: st.mtimeNs.toString(), size: Number(st.size) };
}

/**
 * Node's fs binding's stat: fills and returns its shared Float64Array of stat fields. Its last
 * argument is `throwIfNoEntry` since Node 20.10 (a missing file: undefined) and an error context
 * object before (any error: undefined, the error in the object); an empty object suits both,
 * and whatever does not return the array is asked again through fs.statSync, which throws.
 */
type RawStat = (path: string, useBigint: false, req: undefined, ctxOrThrowIfNoEntry: object) => unknown;
const NO_THROW = {};

// Offsets in that array (the order of node's src/node_file.h FillStatsArray): ino, size, mtime sec, mtime nsec.
const INO = 7;
const SIZE = 8;
const MTIME_SEC = 12;
const MTIME_NSEC = 13;

/** undefined: not probed yet; null: not usable in this process (fs.statSync then). */
let rawStat: RawStat | null | undefined;

function pendingDeprecation(): boolean {
  const flag = (s: string | undefined) => s !== undefined && s.includes("--pending-deprecation");
  return process.env.NODE_PENDING_DEPRECATION === "1" || flag(process.env.NODE_OPTIONS) || process.execArgv.some(flag);
}

/**
 * The identity read from the raw stat array, or null when a value does not fit a double
 * exactly (inode or size ≥ 2^53) or the mtime is not after 1970 (fs.statSync then).
 */
function identityOfRaw(values: Float64Array): FileIdentity | null {
  const ino = values[INO];
  const size = values[SIZE];
  const sec = values[MTIME_SEC];
  const nsec = values[MTIME_NSEC];
  if (!(ino <= Number.MAX_SAFE_INTEGER && size <= Number.MAX_SAFE_INTEGER && sec >= 1 && nsec >= 0 && nsec < 1e9)) return null;
  // sec * 10^9 + nsec, exactly: the decimal digits of sec, then nsec over 9 digits.
  return { inode: String(ino), mtime: `${sec}${String(nsec).padStart(9, "0")}`, size };
}

/**
 * Node's binding, once it has given exactly what fs.statSync(…, {bigint: true}) gives for
 * `probe` (so a Node whose binding differs in shape or order is never trusted); null otherwise.
 * Not on Windows (statSync would first make the path a namespaced one), nor when
 * --pending-deprecation would make process.binding print a warning.
 */
function probeRawStat(probe: string, st: fs.BigIntStats): RawStat | null {
  if (process.platform === "win32" || pendingDeprecation()) return null;
  try {
    const binding = (process as unknown as { binding(name: string): { stat?: unknown } }).binding("fs");
    if (typeof binding.stat !== "function") return null;
    const raw = binding.stat as RawStat;
    const values = raw(probe, false, undefined, NO_THROW);
    if (!(values instanceof Float64Array) || values.length < MTIME_NSEC + 1) return null;
    const got = identityOfRaw(values);
    const want = identityOfStats(st);
    return got !== null && got.inode === want.inode && got.mtime === want.mtime && got.size === want.size ? raw : null;
  } catch {
    // process.binding removed, or refused (the permission model): the public API
    return null;
  }
}

/**
 * The identity of each file of `files` (absolute paths; a missing one throws as fs.statSync does).
 *
 * A no-op `status` stats every file of a directory dep (200 in bench/cli.ts). fs.statSync with
 * {bigint: true} builds a BigIntStats per file — 14 BigInts and 4 Dates, ~2 KB of young heap —
 * ~4.3 ms and 400 KB for 200 files in a fresh process here, enough to set off a scavenge of
 * everything the start has allocated; read from the fs binding's shared Float64Array instead,
 * the same 200 identities took ~1.7 ms and 60 KB (issue 12). The values are the same ones
 * (the kernel's stat fields), checked against fs.statSync on the first file of each process.
 */
export function statIdentities(files: readonly string[]): FileIdentity[] {
  const out = new Array<FileIdentity>(files.length);
  let i = 0;
  if (rawStat === undefined && files.length > 0) {
    const st = fs.statSync(files[0], { bigint: true });
    rawStat = probeRawStat(files[0], st);
    out[i++] = identityOfStats(st);
  }
  const raw = rawStat;
  for (; i < files.length; i++) {
    const file = files[i];
    let id: FileIdentity | null = null;
    if (raw) {
      const values = raw(file, false, undefined, NO_THROW);
      if (values instanceof Float64Array) id = identityOfRaw(values);
    }
    out[i] = id ?? identityOfStats(fs.statSync(file, { bigint: true }));
  }
  return out;
}
