import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { mapPool } from "./fsutil.js";
import { copyFileAtomic, tempSibling, writeFileAtomicSync } from "../../util/atomic-write.js";
import { Hasher, HASH_CONCURRENCY, type HashInfo, type ManifestEntry, manifestHash, serializeManifest } from "./hashing.js";
import { DataError, NotFoundError } from "../../util/errors.js";

/** A cache object whose content does not match its id. Callers treat it as missing (DVC does). */
export class CorruptedObjectError extends DataError {
  constructor(
    readonly objectId: string,
    file: string,
    detail: string,
  ) {
    super(`corrupted cache object ${objectId}: ${detail} (${file})`);
    this.name = "CorruptedObjectError";
  }
}

const HEX32 = /^[0-9a-f]{32}(\.dir)?$/;

/** Where an object lives under a content-addressed root: `files/md5/<2 hex>/<30 hex>[.dir]` (DVC 3 layout). */
export function objectRelPath(md5: string): string {
  if (!HEX32.test(md5)) throw new DataError(`invalid md5 hash '${md5}'`);
  return `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;
}

/** Lists the object ids stored under a `files/md5` root. */
export async function listObjectIds(root: string): Promise<string[]> {
  const base = path.join(root, "files", "md5");
  const ids: string[] = [];
  const prefixes = await fsp.readdir(base).catch(() => [] as string[]);
  for (const p of prefixes) {
    if (!/^[0-9a-f]{2}$/.test(p)) continue;
    for (const rest of await fsp.readdir(path.join(base, p))) {
      const id = p + rest;
      if (HEX32.test(id)) ids.push(id);
    }
  }
  return ids;
}

/**
 * The local content-addressed cache (`.dvc/cache`). Objects are read-only files; every write
 * goes through a temp file and a rename, and every checkout re-verifies the object's hash.
 */
export class ObjectCache {
  constructor(
    readonly root: string,
    private readonly hasher: Hasher,
  ) {}

  pathOf(md5: string): string {
    return path.join(this.root, objectRelPath(md5));
  }

  has(md5: string): boolean {
    return fs.existsSync(this.pathOf(md5));
  }

  /** Stores a workspace file under its (already computed) hash. */
  async addFile(src: string, md5: string): Promise<void> {
    const dest = this.pathOf(md5);
    if (fs.existsSync(dest)) return;
    await copyFileAtomic(src, dest, 0o444);
  }

  /** Removes an object (a corrupted one, so that it counts as missing and is stored again). */
  remove(md5: string): void {
    fs.rmSync(this.pathOf(md5), { force: true });
  }

  /** Writes a directory manifest object (replacing a corrupted copy) and returns its `.dir` id. */
  writeManifest(manifest: readonly ManifestEntry[]): string {
    const id = manifestHash(manifest);
    const dest = this.pathOf(id);
    const text = serializeManifest(manifest);
    let current: string | null = null;
    try {
      current = fs.readFileSync(dest, "utf8");
    } catch {
      current = null;
    }
    if (current !== text) {
      if (current !== null) fs.rmSync(dest, { force: true });
      writeFileAtomicSync(dest, text, 0o444);
    }
    return id;
  }

  /** Stores a hashed file or directory (all its files and its manifest). */
  async addPath(absPath: string, info: HashInfo): Promise<void> {
    if (!info.manifest) {
      await this.addFile(absPath, info.md5);
      return;
    }
    await mapPool(info.manifest, HASH_CONCURRENCY, (e) => this.addFile(path.join(absPath, e.relpath), e.md5));
    this.writeManifest(info.manifest);
  }

  /** Reads a `.dir` object; the manifest's own hash is checked too. */
  readManifest(id: string): ManifestEntry[] {
    const file = this.pathOf(id);
    if (!fs.existsSync(file)) throw new NotFoundError(`missing cache object ${id} (directory manifest); run 'polarity pull' or 'polarity fetch'`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      throw new CorruptedObjectError(id, file, "not a JSON manifest");
    }
    if (!Array.isArray(parsed) || !parsed.every((e) => e && typeof e.md5 === "string" && typeof e.relpath === "string")) {
      throw new CorruptedObjectError(id, file, "not a list of {md5, relpath}");
    }
    const manifest = parsed.map((e: { md5: string; relpath: string }) => ({ md5: e.md5, relpath: e.relpath }));
    if (manifestHash(manifest) !== id) throw new CorruptedObjectError(id, file, "manifest content does not match its hash");
    return manifest;
  }

  /** Hash check of a stored object (through the state db, so unchanged objects are not reread). */
  async verify(md5: string): Promise<void> {
    const file = this.pathOf(md5);
    if (!fs.existsSync(file)) throw new NotFoundError(`missing cache object ${md5}; run 'polarity pull' or 'polarity fetch'`);
    const actual = await this.hasher.hashFile(file);
    if (actual.md5 !== md5) {
      throw new CorruptedObjectError(md5, file, `its content hashes to ${actual.md5}`);
    }
  }

  /** Are the object and (for a directory) its manifest and every file in the cache? A corrupted manifest counts as missing. */
  hasAll(md5: string): boolean {
    if (!this.has(md5)) return false;
    try {
      return this.objectsOf(md5).every((id) => this.has(id));
    } catch {
      return false;
    }
  }

  /** Every object a file or directory hash refers to (the `.dir` object and its files). */
  objectsOf(md5: string): string[] {
    if (!md5.endsWith(".dir")) return [md5];
    return [md5, ...this.readManifest(md5).map((e) => e.md5)];
  }

  /**
   * Restores `dest` from the cache: a file is verified and copied into place atomically; a
   * directory is assembled beside `dest` then swapped in. A hash mismatch throws and leaves `dest` alone.
   */
  async checkout(md5: string, dest: string): Promise<void> {
    if (!md5.endsWith(".dir")) {
      await this.verify(md5);
      await fsp.rm(dest, { recursive: true, force: true });
      await copyFileAtomic(this.pathOf(md5), dest, 0o644);
      return;
    }
    const manifest = this.readManifest(md5);
    await mapPool(manifest, HASH_CONCURRENCY, (e) => this.verify(e.md5));
    const staging = tempSibling(dest);
    await fsp.mkdir(staging, { recursive: true });
    try {
      await mapPool(manifest, HASH_CONCURRENCY, (e) => copyFileAtomic(this.pathOf(e.md5), path.join(staging, e.relpath), 0o644));
      await fsp.rm(dest, { recursive: true, force: true });
      await fsp.rename(staging, dest);
    } catch (err) {
      await fsp.rm(staging, { recursive: true, force: true });
      throw err;
    }
  }
}
