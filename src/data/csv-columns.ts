import { DataError } from "../util/errors.js";

/**
 * One pass over RFC 4180 delimited text that keeps only the wanted columns, as one string
 * array per column: no row objects, no arrays per row (papaparse's row arrays and the
 * records built from them cost ~1.7 s of a 10^6-document training run, issue 12). Quoted
 * fields may hold delimiters, doubled quotes and line breaks; CRLF, LF and lone CR line ends
 * may be mixed; blank lines are skipped. Every row must have the header's field count.
 */
export interface CsvColumns {
  header: string[];
  /** values[c][r]: row r of the c-th wanted column. */
  values: string[][];
}

// A quote inside an unquoted field is kept as text (as papaparse does).
const QUOTE = 34;
const LF = 10;
const CR = 13;

export function parseCsvColumns(text: string, wanted: readonly string[], opts: { delimiter?: string; where: string }): CsvColumns {
  const delim = (opts.delimiter ?? ",").charCodeAt(0);
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;

  // Reads one field starting at i; leaves i on the delimiter, line end or n.
  const field = (): string => {
    if (text.charCodeAt(i) !== QUOTE) {
      const start = i;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === delim || c === LF || c === CR) break;
        i++;
      }
      return text.slice(start, i);
    }
    const startLine = line;
    i++;
    let out = "";
    let start = i;
    for (;;) {
      const q = text.indexOf('"', i);
      if (q < 0) throw new DataError(`${opts.where}: malformed CSV: a quoted field opened on line ${startLine} is never closed`);
      for (let k = i; k < q; k++) if (text.charCodeAt(k) === LF) line++;
      if (text.charCodeAt(q + 1) === QUOTE) {
        out += text.slice(start, q + 1);
        i = q + 2;
        start = i;
        continue;
      }
      out += text.slice(start, q);
      i = q + 1;
      const c = i < n ? text.charCodeAt(i) : LF;
      if (c !== delim && c !== LF && c !== CR) throw new DataError(`${opts.where}: malformed CSV: text after a closing quote (line ${line})`);
      return out;
    }
  };
  const endOfLine = (): void => {
    if (text.charCodeAt(i) === CR) i++;
    if (text.charCodeAt(i) === LF) i++;
    line++;
  };
  const skipBlank = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) return;
      endOfLine();
    }
  };

  skipBlank();
  if (i >= n) throw new DataError(`${opts.where}: the file is empty`);
  const header: string[] = [];
  for (;;) {
    header.push(field().trim());
    if (i < n && text.charCodeAt(i) === delim) {
      i++;
      continue;
    }
    endOfLine();
    break;
  }
  const slot = new Int32Array(header.length).fill(-1);
  wanted.forEach((name, w) => {
    const c = header.indexOf(name);
    if (c < 0)
      throw new DataError(`${opts.where}: column ${JSON.stringify(name)} not found; columns found: ${header.map((h) => JSON.stringify(h)).join(", ")}`);
    slot[c] = w;
  });
  const values: string[][] = wanted.map(() => []);
  skipBlank();
  while (i < n) {
    const rowLine = line;
    let col = 0;
    for (;;) {
      const v = field();
      if (col < slot.length && slot[col] >= 0) values[slot[col]].push(v);
      col++;
      if (i < n && text.charCodeAt(i) === delim) {
        i++;
        continue;
      }
      break;
    }
    if (col !== header.length) throw new DataError(`${opts.where}: line ${rowLine} has ${col} fields, the header ${header.length}`);
    endOfLine();
    skipBlank();
  }
  return { header, values };
}
