import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename, isAbsolute, resolve } from "node:path";
import { DataError, InvalidParameterError, NotFoundError } from "../util/errors.js";
import { fetchDataFile, formatBytes } from "./fetch.js";
import { decodeText, formatFromContentType, formatFromName, parseTable, sniffFormat, type Table, type TableFormat } from "./table.js";

/**
 * Where raw labelled text comes from: the built-in `uci-sentences`, a local CSV/TSV/JSON/JSONL
 * file, or an http(s) URL. Every source yields the same `Table` plus a description (type,
 * location, format, size, SHA-256) that goes into the validation report and the tracked run.
 */

export const BUILTIN_SOURCES = ["uci-sentences"] as const;

export interface SourceOptions {
  /** "uci-sentences", a path (relative to baseDir), or an http(s):// URL. */
  source: string;
  /** "auto" picks from the extension, then the Content-Type, then the content. */
  format: TableFormat | "auto";
  /** CSV/TSV: whether the first row holds column names. */
  header: boolean;
  encoding: "utf-8" | "latin1";
  /** Download guards; maxBytes and sha256 also apply to local files. */
  http: { timeoutMs: number; maxBytes: number; sha256: string | null };
  baseDir: string;
}

export interface SourceInfo {
  type: "builtin" | "local" | "http";
  name: string;
  uri: string;
  format: TableFormat | "builtin";
  bytes: number;
  sha256: string;
}

export interface LoadedSource {
  table: Table;
  info: SourceInfo;
}

export function sourceKind(source: string): "builtin" | "http" | "local" {
  if ((BUILTIN_SOURCES as readonly string[]).includes(source) || source.startsWith("builtin:")) return "builtin";
  if (/^https?:\/\//i.test(source)) return "http";
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source);
  if (scheme)
    throw new InvalidParameterError(
      `ingest.source: ${scheme[1]}:// sources are not supported (use http(s)://, a local path, or ${BUILTIN_SOURCES.join(", ")})`,
    );
  return "local";
}

export async function loadSource(opts: SourceOptions): Promise<LoadedSource> {
  const kind = sourceKind(opts.source);
  if (kind === "builtin") return await loadBuiltin(opts.source.replace(/^builtin:/, ""));
  if (kind === "http") {
    const fetched = await fetchDataFile(opts.source, opts.http);
    const where = opts.source;
    const text = decodeText(fetched.bytes, opts.encoding, where);
    const format =
      opts.format !== "auto" ? opts.format : (formatFromName(new URL(fetched.url).pathname) ?? formatFromContentType(fetched.contentType) ?? sniffFormat(text));
    const table = parseTable(text, { format, header: opts.header, where });
    const name = basename(new URL(fetched.url).pathname) || new URL(fetched.url).host;
    return { table, info: { type: "http", name, uri: opts.source, format, bytes: fetched.bytes.length, sha256: fetched.sha256 } };
  }
  const path = isAbsolute(opts.source) ? opts.source : resolve(opts.baseDir, opts.source);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new DataError(`ingest.source: ${opts.source} is not a file`);
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NotFoundError(`ingest.source: file ${opts.source} not found (looked at ${path}); built-in sources: ${BUILTIN_SOURCES.join(", ")}`);
    }
    throw err;
  }
  if (size > opts.http.maxBytes) {
    throw new DataError(`ingest.source: ${opts.source} is ${formatBytes(size)}, over the ${formatBytes(opts.http.maxBytes)} cap (raise ingest.http.max_bytes)`);
  }
  const bytes = await readFile(path);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (opts.http.sha256 && opts.http.sha256.toLowerCase() !== sha256) {
    throw new DataError(
      `checksum mismatch for ${opts.source}: expected sha256 ${opts.http.sha256.toLowerCase()}, got ${sha256} (the file changed, or ingest.http.sha256 is wrong)`,
    );
  }
  const text = decodeText(bytes, opts.encoding, opts.source);
  const format = opts.format !== "auto" ? opts.format : (formatFromName(path) ?? sniffFormat(text));
  const table = parseTable(text, { format, header: opts.header, where: opts.source });
  return {
    table,
    info: { type: "local", name: basename(path), uri: opts.source, format, bytes: bytes.length, sha256 },
  };
}

async function loadBuiltin(name: string): Promise<LoadedSource> {
  if (name !== "uci-sentences") {
    throw new InvalidParameterError(`ingest.source: unknown built-in data set ${JSON.stringify(name)} (built-in: ${BUILTIN_SOURCES.join(", ")})`);
  }
  // Loaded on demand: file and URL sources never pay for reading the built-in corpus.
  const { loadUciSentences } = await import("./builtin.js");
  const data = loadUciSentences();
  const rows: Array<Record<string, unknown>> = new Array(data.texts.length);
  for (let i = 0; i < data.texts.length; i++) rows[i] = { text: data.texts[i], label: data.labels[i], source: data.sources[i] };
  // Digest of the canonical content, so the report and the tracked run pin exactly what was read.
  const canonical = JSON.stringify(rows);
  return {
    table: { columns: ["text", "label", "source"], rows },
    info: {
      type: "builtin",
      name: "uci-sentences",
      uri: "builtin:uci-sentences",
      format: "builtin",
      bytes: Buffer.byteLength(canonical),
      sha256: createHash("sha256").update(canonical).digest("hex"),
    },
  };
}
