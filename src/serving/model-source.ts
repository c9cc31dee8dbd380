import { readdir, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { DataError, NotFoundError, errorMessage } from "../util/errors.js";
import type { ServableModel } from "./model-types.js";
import { checkModelSize } from "./validate.js";
import { isBinaryModel } from "../models/binary-bundle.js";
import { readWholeFile, sha256HexAsync } from "./file-hash.js";

/**
 * Where the server's model comes from. `resolve()` is cheap and is called on every poll:
 * it says which version is current without loading it; `load()` does the expensive part
 * and is only called when the version differs from the one being served.
 */
export interface ModelSource {
  describe(): string;
  resolve(): Promise<ResolvedModelFile>;
  /**
   * Starts the first resolve() early (at start-up, while the server is being built); the next
   * resolve() call returns it. Optional: sources without it resolve when asked.
   */
  prefetch?(): void;
  /** Releases connections (registry clients); called when the server closes. */
  close?(): Promise<void>;
}

export interface ResolvedModelFile {
  name: string;
  version: string;
  alias?: string;
  /** Extra words for logs, e.g. "alias production not set; fell back to staging". */
  note?: string;
  /** `whileServing`: another version is being served, so guard its event loop (validation off-thread). */
  load(options?: { whileServing?: boolean }): Promise<ServableModel>;
}

/** Turns a parsed model JSON document into a servable model (SentimentModel.fromJSON in production). */
export type ModelParser = (json: unknown) => ServableModel;

/** How a source guards the event loop while loading a version (issue 9 item 9). */
export interface ModelLoadGuard {
  /** Versions bigger than this are refused before they are read (default: no cap). */
  maxBytes?: number;
  /**
   * Checks the bytes before the event loop touches them, e.g. in a worker thread. It may
   * return the model's binary form (SentimentModel.toBinary), already validated: the load then
   * adopts those typed arrays instead of parsing the file on the event loop.
   */
  validate?(bytes: Buffer, where: string): Promise<Uint8Array | void>;
}

/**
 * Size cap, then validation (off the loop), then the parse that builds the served model. A
 * binary model file (SentimentModel.toBinary, recognised by its magic bytes) is read by
 * SentimentModel.fromBinary, whatever `parse` is: parsers take JSON documents.
 */
export async function loadModelBytes(bytes: Buffer, where: string, parse: ModelParser, guard: ModelLoadGuard, whileServing = false): Promise<ServableModel> {
  if (guard.maxBytes !== undefined) checkModelSize(bytes.length, guard.maxBytes, where);
  // At start-up nothing is being served yet: parsing once on the main thread is faster.
  if (whileServing && guard.validate) {
    const binary = await guard.validate(bytes, where);
    if (binary instanceof Uint8Array) {
      const { SentimentModel } = await import("../models/sentiment-model.js");
      return wrapModelError(where, () => SentimentModel.fromBinary(binary, { trusted: true, where: `model file ${where}` }));
    }
  }
  if (isBinaryModel(bytes)) {
    const { SentimentModel } = await import("../models/sentiment-model.js");
    return wrapModelError(where, () => SentimentModel.fromBinary(bytes, { where: `model file ${where}` }));
  }
  return parseModelBytes(bytes, where, parse);
}

function wrapModelError(where: string, build: () => ServableModel): ServableModel {
  try {
    return build();
  } catch (err) {
    throw new DataError(`model file ${where} is not a valid model: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * File names tried, in order, when a model path is a directory (an MLflow-style artifact
 * folder): the binary form first (it loads without parsing or re-hashing; written next to
 * model.json by whoever writes both), then the JSON bundle.
 */
export const MODEL_FILE_NAMES = ["model.bin", "model.json", "sentiment-model.json"];

/**
 * Finds the model document under `path`: the path itself if it is a file, else one of
 * MODEL_FILE_NAMES inside it, else the only `*.json` file inside it. JSON or binary is told
 * by the file's first bytes, not its name.
 */
export async function findModelFile(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new NotFoundError(`model path ${path} does not exist`);
  }
  if (info.isFile()) return path;
  if (!info.isDirectory()) throw new DataError(`model path ${path} is neither a file nor a directory`);
  const entries = await readdir(path);
  for (const name of MODEL_FILE_NAMES) if (entries.includes(name)) return join(path, name);
  const jsons = entries.filter((e) => e.endsWith(".json"));
  if (jsons.length === 1) return join(path, jsons[0]);
  throw new NotFoundError(
    `no model file in directory ${path}: expected ${MODEL_FILE_NAMES.join(" or ")}${jsons.length > 1 ? ` (found several .json files: ${jsons.join(", ")})` : ""}`,
  );
}

/** Parses model bytes with a clear error naming the file when they are not valid JSON or not a model. */
export function parseModelBytes(bytes: Buffer, where: string, parse: ModelParser): ServableModel {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new DataError(`model file ${where} is not valid JSON: ${errorMessage(err)}`);
  }
  try {
    return parse(json);
  } catch (err) {
    throw new DataError(`model file ${where} is not a valid model: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * A model file (or artifact directory) on local disk. The version is the first 12 hex
 * digits of the file's SHA-256, so replacing the file (atomically: write a temp file, then
 * rename over it) is seen by the next poll; an unchanged file is not re-read (stat check).
 */
export class LocalFileModelSource implements ModelSource {
  private lastStat: { key: string; resolved: ResolvedModelFile } | null = null;
  private prefetched: Promise<ResolvedModelFile> | null = null;

  constructor(
    private readonly path: string,
    private readonly parse: ModelParser,
    private readonly guard: ModelLoadGuard = {},
  ) {}

  describe(): string {
    return `file ${this.path}`;
  }

  prefetch(): void {
    if (this.prefetched !== null || this.lastStat !== null) return;
    const early = this.resolveNow();
    // Its outcome (and any error) is reported by the resolve() that takes it.
    early.catch(() => undefined);
    this.prefetched = early;
  }

  resolve(): Promise<ResolvedModelFile> {
    const early = this.prefetched;
    this.prefetched = null;
    return early ?? this.resolveNow();
  }

  private async resolveNow(): Promise<ResolvedModelFile> {
    const file = await findModelFile(this.path);
    const info = await stat(file);
    const key = `${file}:${info.ino}:${info.size}:${info.mtimeMs}`;
    if (this.lastStat?.key === key) return this.lastStat.resolved;
    const name = (basename(file, extname(file)) === "model" ? basename(this.path, extname(this.path)) : basename(file, extname(file))) || "model";
    if (this.guard.maxBytes !== undefined && info.size > this.guard.maxBytes) {
      // Refused without reading it; named by size and time since its hash is not computed.
      const maxBytes = this.guard.maxBytes;
      const resolved: ResolvedModelFile = {
        name,
        version: `unread-${info.size}-${Math.floor(info.mtimeMs)}`,
        load: async () => checkModelSize(info.size, maxBytes, file) as never,
      };
      this.lastStat = { key, resolved };
      return resolved;
    }
    // One read; a large file is hashed on a worker thread (file-hash.ts).
    const bytes = await readWholeFile(file);
    const hashing = sha256HexAsync(bytes);
    // The first version of this source: nothing is served yet and it will be loaded, so it is
    // built now, on this thread, while the hash is computed on another (start → ready, issue
    // 12). Later versions are loaded only once their id shows they are new (ModelHolder).
    let early: Promise<ServableModel> | undefined;
    if (this.lastStat === null) {
      early = loadModelBytes(bytes, file, this.parse, this.guard, false);
      early.catch(() => undefined);
    }
    const version = (await hashing).slice(0, 12);
    const resolved: ResolvedModelFile = {
      name,
      version,
      // The bytes hashed are the bytes parsed: a file replaced between resolve and load cannot mix versions.
      load: (options) => {
        const built = early;
        early = undefined;
        return built !== undefined && options?.whileServing !== true ? built : loadModelBytes(bytes, file, this.parse, this.guard, options?.whileServing);
      },
    };
    this.lastStat = { key, resolved };
    return resolved;
  }
}
