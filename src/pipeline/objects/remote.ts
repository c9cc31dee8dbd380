import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { NotFoundError } from "../../util/errors.js";
import { objectRelPath, listObjectIds } from "./cache.js";
import { copyFileAtomic } from "../../util/atomic-write.js";

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
  constructor(
    readonly name: string,
    private readonly dir: string,
  ) {
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
