import Papa from "papaparse";
import { DataError, InvalidParameterError } from "../util/errors.js";

/**
 * Tabular text → records. Formats: CSV, TSV (papaparse, RFC 4180 quoting), JSON (an array
 * of objects, or `{"data": [...]}`), JSONL/NDJSON (one object per line). Every failure is a
 * DataError that says where (file name, row or line) and what was found.
 */

export type TableFormat = "csv" | "tsv" | "json" | "jsonl";
export const TABLE_FORMATS: readonly TableFormat[] = ["csv", "tsv", "json", "jsonl"];

export interface Table {
  /** Column names in file order (CSV header, or the union of object keys in first-seen order). */
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

export interface ParseTableOptions {
  format: TableFormat;
  /** CSV/TSV only: false when the first row is data; columns are then named "0", "1", ... (as pandas does). */
  header?: boolean;
  /** Used in error messages. */
  where: string;
}

/** Picks a format from a file name or URL path; undefined when the extension says nothing. */
export function formatFromName(name: string): TableFormat | undefined {
  const lower = name.toLowerCase().replace(/[?#].*$/, "");
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".tsv") || lower.endsWith(".tab")) return "tsv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  if (lower.endsWith(".json")) return "json";
  return undefined;
}

/** Picks a format from an HTTP Content-Type; undefined for generic types (text/plain, octet-stream). */
export function formatFromContentType(contentType: string | null | undefined): TableFormat | undefined {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type === "text/csv" || type === "application/csv") return "csv";
  if (type === "text/tab-separated-values") return "tsv";
  if (type === "application/x-ndjson" || type === "application/jsonl" || type === "application/x-jsonlines") return "jsonl";
  if (type === "application/json") return "json";
  return undefined;
}

/** Guesses from the content: '[' → JSON, '{' → JSONL (or a single JSON object), a tab in the first line and no comma → TSV, else CSV. */
export function sniffFormat(text: string): TableFormat {
  const start = text.trimStart();
  if (start.startsWith("[")) return "json";
  if (start.startsWith("{")) {
    const firstLine = start.split("\n", 1)[0].trim();
    try {
      JSON.parse(firstLine);
      return "jsonl";
    } catch {
      return "json";
    }
  }
  const firstLine = start.split("\n", 1)[0];
  if (firstLine.includes("\t") && !firstLine.includes(",")) return "tsv";
  return "csv";
}

/** True when the text looks like an HTML page (a login wall, an error page, a "download" page). */
export function looksLikeHtml(text: string): boolean {
  const head = text.trimStart().slice(0, 512).toLowerCase();
  return head.startsWith("<!doctype html") || head.startsWith("<html") || (head.startsWith("<") && /<(head|body|title)[\s>]/.test(head));
}

/** Decodes bytes as UTF-8 (strict) or Latin-1, dropping a UTF-8 byte-order mark. */
export function decodeText(bytes: Buffer, encoding: "utf-8" | "latin1", where: string): string {
  if (encoding === "latin1") return bytes.toString("latin1");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`${where}: not valid UTF-8 text (if the file is Latin-1, set ingest.encoding: latin1)`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseTable(text: string, opts: ParseTableOptions): Table {
  if (looksLikeHtml(text)) {
    throw new DataError(`${opts.where}: got an HTML page, not ${opts.format.toUpperCase()} data (is the address a direct download link?)`);
  }
  switch (opts.format) {
    case "csv":
      return parseDelimited(text, ",", opts);
    case "tsv":
      return parseDelimited(text, "\t", opts);
    case "json":
      return parseJsonArray(text, opts.where);
    case "jsonl":
      return parseJsonLines(text, opts.where);
    default:
      throw new InvalidParameterError(`unknown table format ${JSON.stringify(opts.format)} (known: ${TABLE_FORMATS.join(", ")})`);
  }
}

function parseDelimited(text: string, delimiter: string, opts: ParseTableOptions): Table {
  const kind = delimiter === "," ? "CSV" : "TSV";
  if (text.trim().length === 0) throw new DataError(`${opts.where}: the file is empty`);
  const header = opts.header ?? true;
  // Parse as arrays and build records ourselves: papaparse's header mode silently renames
  // duplicate headers and pads short rows, and we want both reported.
  // Files edited on several systems mix CRLF and LF (and old Mac CR) line ends; papaparse
  // guesses ONE line end from the first line, so normalise them all to LF first.
  if (text.includes("\r")) text = text.replace(/\r\n?/g, "\n");
  const result = Papa.parse<string[]>(text, { delimiter, newline: "\n", header: false, skipEmptyLines: "greedy", dynamicTyping: false });
  const quoteError = result.errors.find((e) => e.type === "Quotes");
  if (quoteError) {
    throw new DataError(`${opts.where}: malformed ${kind}: ${quoteError.message.toLowerCase()} (row ${rowNumber(quoteError.row, header)})`);
  }
  const rowsRaw = result.data;
  if (rowsRaw.length === 0) throw new DataError(`${opts.where}: the file has no rows`);
  let columns: string[];
  let body: string[][];
  if (header) {
    columns = rowsRaw[0].map((c) => c.trim());
    body = rowsRaw.slice(1);
    const seen = new Set<string>();
    for (const c of columns) {
      if (seen.has(c)) throw new DataError(`${opts.where}: malformed ${kind}: column ${JSON.stringify(c)} appears twice in the header (${columns.join(", ")})`);
      seen.add(c);
    }
  } else {
    columns = rowsRaw[0].map((_, i) => String(i));
    body = rowsRaw;
  }
  const rows: Array<Record<string, unknown>> = new Array(body.length);
  for (let r = 0; r < body.length; r++) {
    const fields = body[r];
    if (fields.length !== columns.length) {
      const line = r + (header ? 2 : 1);
      throw new DataError(
        `${opts.where}: malformed ${kind}: row ${line} has ${fields.length} field${fields.length === 1 ? "" : "s"}, expected ${columns.length} (${columns.join(", ")})` +
          (fields.length > columns.length ? "; is a text with the delimiter missing its quotes?" : ""),
      );
    }
    const rec: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++) rec[columns[c]] = fields[c];
    rows[r] = rec;
  }
  return { columns, rows };
}

function rowNumber(row: number | undefined, header: boolean): string {
  return row === undefined ? "?" : String(row + (header ? 1 : 0) + 1);
}

function parseJsonArray(text: string, where: string): Table {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${where}: malformed JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) && value !== null && typeof value === "object") {
    const data = (value as Record<string, unknown>).data;
    if (Array.isArray(data)) value = data;
  }
  if (!Array.isArray(value)) throw new DataError(`${where}: JSON data must be an array of objects (or {"data": [...]}), got ${describe(value)}`);
  return recordsToTable(value, (i) => `${where}: element ${i}`);
}

function parseJsonLines(text: string, where: string): Table {
  const values: unknown[] = [];
  const lineNumbers: number[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length === 0) continue;
    try {
      values.push(JSON.parse(line));
    } catch (err) {
      throw new DataError(`${where}: malformed JSONL at line ${i + 1}: ${(err as Error).message}`);
    }
    lineNumbers.push(i + 1);
  }
  if (values.length === 0) throw new DataError(`${where}: the file has no rows`);
  return recordsToTable(values, (i) => `${where}: line ${lineNumbers[i]}`);
}

function recordsToTable(values: unknown[], whereOf: (i: number) => string): Table {
  const columns: string[] = [];
  const seen = new Set<string>();
  const rows: Array<Record<string, unknown>> = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new DataError(`${whereOf(i)}: expected an object, got ${describe(v)}`);
    for (const k of Object.keys(v)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
    rows[i] = v as Record<string, unknown>;
  }
  return { columns, rows };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}
