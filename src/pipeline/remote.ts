import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { DataError, NotFoundError } from "../util/errors.js";
import { objectRelPath, listObjectIds } from "./cache.js";
import { type RemoteConfig, remoteConfig } from "./config.js";
import { copyFileAtomic } from "./fsutil.js";

/** Remote storage with the cache's layout (`files/md5/<2>/<30>`). */
export interface Remote {
  readonly name: string;
  readonly description: string;
  /** the subset of `ids` present on the remote */
  has(ids: readonly string[]): Promise<Set<string>>;
  upload(localFile: string, id: string): Promise<void>;
  /** writes the object to `destFile` (the caller verifies and moves it into place) */
  download(id: string, destFile: string): Promise<void>;
}

export class LocalRemote implements Remote {
  readonly description: string;
  constructor(readonly name: string, private readonly dir: string) {
    this.description = `local directory ${dir}`;
  }

  async has(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length > 256) {
      const all = new Set(await listObjectIds(this.dir));
      return new Set(ids.filter((id) => all.has(id)));
    }
    return new Set(ids.filter((id) => fs.existsSync(path.join(this.dir, objectRelPath(id)))));
  }

  async upload(localFile: string, id: string): Promise<void> {
    await copyFileAtomic(localFile, path.join(this.dir, objectRelPath(id)), 0o444);
  }

  async download(id: string, destFile: string): Promise<void> {
    const src = path.join(this.dir, objectRelPath(id));
    if (!fs.existsSync(src)) throw new NotFoundError(`object ${id} is not on remote '${this.name}'`);
    await fsp.copyFile(src, destFile);
  }
}

/** Builds the remote named in `.dvc/config` (or the default one). Relative local paths are relative to `.dvc/`, as in DVC. */
export async function openRemote(root: string, name?: string): Promise<Remote> {
  const cfg: RemoteConfig = remoteConfig(root, name);
  if (cfg.url.startsWith("s3://")) {
    // Loaded on demand: the AWS SDK is large and most commands never talk to S3.
    const { S3Remote } = await import("./s3-remote.js");
    return new S3Remote(cfg.name, cfg.url, cfg.options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(cfg.url) && !cfg.url.startsWith("file://")) {
    throw new DataError(`remote '${cfg.name}': unsupported url '${cfg.url}' (Polarity supports local directories and s3://)`);
  }
  const p = cfg.url.startsWith("file://") ? cfg.url.slice(7) : cfg.url;
  return new LocalRemote(cfg.name, path.resolve(root, ".dvc", p));
}
