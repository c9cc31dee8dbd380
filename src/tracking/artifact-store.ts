import { createReadStream, createWriteStream, existsSync, type ReadStream } from "node:fs";
import { copyFile, lstat, mkdir, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { randomUUID } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { Transform, type Readable } from "node:stream";
import { InvalidParameterError, NotFoundError, PolarityError } from "../util/errors.js";
import type { FileInfo } from "./types.js";

/**
 * Checks an artifact path the way MLflow's validate_path_is_safe does, and stricter: no `..`
 * segment (also after another round of percent-decoding, for doubly-encoded `%252e%252e`), no
 * absolute or drive paths, no backslashes, no NUL, no `#`. Returns the normalised relative
 * path: `.` and empty segments dropped, so `.`, `./.`, `a/./b/` become ``, ``, `a/b` ("" is
 * the root itself).
 */
export function assertSafeArtifactPath(path: string): string {
  // MLflow answers exactly "Invalid path" (its clients and tests compare the whole message) and
  // never echoes the path back.
  const invalid = () => new InvalidParameterError("Invalid path");
  if (typeof path !== "string") throw invalid();
  if (path.includes("\0") || path.includes("\\") || path.includes("#")) throw invalid();
  if (isAbsolute(path) || /^[a-zA-Z]:/.test(path)) throw invalid();
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // not percent-encoded; the raw check below is what matters
  }
  for (const candidate of [path, decoded]) {
    if (candidate.split("/").some((seg) => seg === "..") || candidate.startsWith("/") || candidate.includes("\0") || candidate.includes("\\")) throw invalid();
  }
  return path
    .split("/")
    .filter((seg) => seg !== "" && seg !== ".")
    .join("/");
}

/** An artifact path that names something below the root (never the root itself). */
export function assertArtifactFilePath(path: string, verb: string): string {
  const clean = assertSafeArtifactPath(path);
  if (clean === "") throw new InvalidParameterError(`Invalid path '${path}': cannot ${verb} the artifact root`);
  return clean;
}

/** Thrown by writes that exceed the configured artifact size cap. */
export class ArtifactTooLargeError extends PolarityError {
  constructor(limit: number) {
    super("PAYLOAD_TOO_LARGE", `Artifact exceeds the server's size limit of ${limit} bytes (polarity server --max-artifact-bytes)`);
  }
}

/**
 * A directory-backed artifact store: `relPath`s are POSIX paths under `root`. Every access
 * resolves symlinks and refuses anything that ends up outside the real root.
 */
/**
 * The proxied artifact store behind `mlflow-artifacts:/` (MLflow's artifact repository):
 * a local directory (`LocalArtifactStore`) or S3 (`S3ArtifactStore`). Paths are relative to
 * the root and checked by `assertSafeArtifactPath`; the root itself is never written or deleted.
 */
export interface ArtifactStore {
  /** A local directory, or `s3://bucket/prefix`. */
  readonly root: string;
  /** Largest file one upload may write (undefined: no cap). */
  readonly maxFileBytes?: number;
  list(relDir: string, prefix?: string): Promise<FileInfo[]>;
  write(relPath: string, body: Readable | Buffer): Promise<void>;
  copyIn(localFile: string, relPath: string): Promise<void>;
  openRead(relPath: string): Promise<{ stream: Readable; size: number }>;
  isDirectory(relPath: string): Promise<boolean>;
  delete(relPath: string): Promise<void>;
}

/** True when the store keeps its files on this machine (so `file:` paths can be checked against it). */
export function isLocalArtifactStore(store: ArtifactStore | undefined): store is LocalArtifactStore {
  return store instanceof LocalArtifactStore;
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(
    readonly root: string,
    /** Largest file `write` accepts, in bytes (undefined: no cap). */
    readonly maxFileBytes?: number,
  ) {}

  /** Absolute path for `relPath`, after checking it (and every symlink on the way) stays inside the root. */
  async resolve(relPath: string): Promise<string> {
    const clean = assertSafeArtifactPath(relPath);
    await mkdir(this.root, { recursive: true });
    const realRoot = await realpath(this.root);
    const outside = () => new InvalidParameterError(`Invalid artifact path '${relPath}': it resolves outside the artifact root`);
    let current = realRoot;
    for (const seg of clean.split("/")) {
      if (seg === "" || seg === ".") continue;
      const next = join(current, seg);
      const st = await lstat(next).catch(() => undefined);
      if (st?.isSymbolicLink()) {
        const real = await realpath(next).catch(() => {
          throw outside();
        });
        const rel = relative(realRoot, real);
        if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw outside();
        current = real;
      } else {
        current = next;
      }
    }
    return current;
  }

  /** Entries directly under `relDir`, paths relative to `relDir`'s parent base given by `prefix`. */
  async list(relDir: string, prefix = relDir): Promise<FileInfo[]> {
    const abs = await this.resolve(relDir);
    const st = await stat(abs).catch(() => undefined);
    if (!st || !st.isDirectory()) return [];
    const entries = await readdir(abs, { withFileTypes: true });
    const out: FileInfo[] = [];
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith(".polarity-tmp-")) continue;
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      const full = join(abs, e.name);
      const est = await stat(full).catch(() => undefined);
      if (!est) continue;
      if (est.isDirectory()) out.push({ path, is_dir: true });
      else out.push({ path, is_dir: false, file_size: est.size });
    }
    return out;
  }

  /**
   * Writes a stream atomically: a temp file in the destination directory (always inside the
   * root, never the root's parent), then rename. A stream longer than `maxFileBytes` is cut
   * off and leaves nothing behind.
   */
  async write(relPath: string, body: Readable | Buffer): Promise<void> {
    const clean = assertArtifactFilePath(relPath, "write to");
    const abs = await this.resolve(clean);
    if ((await stat(abs).catch(() => undefined))?.isDirectory()) throw new InvalidParameterError(`Invalid path '${clean}': it is a directory`);
    if (Buffer.isBuffer(body) && this.maxFileBytes !== undefined && body.length > this.maxFileBytes) throw new ArtifactTooLargeError(this.maxFileBytes);
    await mkdir(dirname(abs), { recursive: true });
    // Re-check after mkdir: a directory created through a symlink must still be inside.
    await this.resolve(clean);
    const tmp = join(dirname(abs), `.polarity-tmp-${randomUUID()}`);
    try {
      const out = createWriteStream(tmp);
      if (Buffer.isBuffer(body)) {
        await new Promise<void>((resolve, reject) => {
          out.on("error", reject);
          out.end(body, () => resolve());
        });
      } else if (this.maxFileBytes !== undefined) {
        await pipeline(body, byteCap(this.maxFileBytes), out);
      } else {
        await pipeline(body, out);
      }
      await rename(tmp, abs);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async copyIn(localFile: string, relPath: string): Promise<void> {
    const clean = assertArtifactFilePath(relPath, "write to");
    const abs = await this.resolve(clean);
    await mkdir(dirname(abs), { recursive: true });
    await this.resolve(clean);
    const tmp = join(dirname(abs), `.polarity-tmp-${randomUUID()}`);
    await copyFile(localFile, tmp);
    await rename(tmp, abs);
  }

  async openRead(relPath: string): Promise<{ stream: ReadStream; size: number }> {
    const abs = await this.resolve(relPath);
    const st = await stat(abs).catch(() => undefined);
    if (!st || !st.isFile()) throw new NotFoundError(`Artifact '${assertSafeArtifactPath(relPath)}' not found`);
    return { stream: createReadStream(abs), size: st.size };
  }

  async isDirectory(relPath: string): Promise<boolean> {
    const abs = await this.resolve(relPath);
    return (await stat(abs).catch(() => undefined))?.isDirectory() ?? false;
  }

  async delete(relPath: string): Promise<void> {
    const clean = assertArtifactFilePath(relPath, "delete");
    const abs = await this.resolve(clean);
    if (!existsSync(abs)) throw new NotFoundError(`Artifact '${clean}' not found`);
    await rm(abs, { recursive: true, force: true });
  }
}

/** Relative path inside the artifacts root for `mlflow-artifacts:/x/y` or `mlflow-artifacts://host:port/x/y`. */
export function mlflowArtifactsPath(uri: string): string | undefined {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(uri);
  return m ? m[1].replace(/\/+$/, "") : undefined;
}

/** Local path for `file:///abs` or `file:/abs` URIs. */
export function fileUriPath(uri: string): string | undefined {
  if (!uri.startsWith("file:")) return undefined;
  return decodeURIComponent(uri.replace(/^file:(\/\/)?/, "")).replace(/\/+$/, "") || sep;
}

/** Passes bytes through until more than `limit` have gone by, then fails the pipeline. */
function byteCap(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(new ArtifactTooLargeError(limit));
      else done(null, chunk);
    },
  });
}
