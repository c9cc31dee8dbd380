import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type { Tags } from "yaml";
import { writeFileAtomicSync } from "../util/atomic-write.js";
import { comparePython } from "./objects/fsutil.js";

// The yaml library is 74 modules: loading it is most of `polarity status`'s start-up. It is
// required on first use only, and parses are cached by content (see parseYamlCached), so a
// no-op `status`/`repro` on unchanged files never loads it.
type YamlLib = typeof import("yaml");
let yamlLib: YamlLib | null = null;
function yaml(): YamlLib {
  yamlLib ??= createRequire(import.meta.url)("yaml") as YamlLib;
  return yamlLib;
}

/**
 * YAML values as DVC (Python, ruamel) sees them. JavaScript has one number type, Python two:
 * `C: 10.0` is a float and `C: 10` an int, and DVC writes them back differently to dvc.lock
 * (`10.0` vs `10`), interpolates them differently (`${C}` → "10.0") and hashes them
 * differently in run-cache keys (json.dumps → `10.0`). So params files and dvc.lock are
 * parsed keeping every YAML float as a `YamlFloat`; ints stay numbers.
 */
export class YamlFloat {
  constructor(readonly value: number) {}

  /** Python's str(float): what `${C}` interpolates to. */
  toString(): string {
    return pyFloatRepr(this.value);
  }

  valueOf(): number {
    return this.value;
  }

  toJSON(): number {
    return this.value;
  }
}

/** A param value with YamlFloat unwrapped to a number (deeply). */
export function plainValue(v: unknown): unknown {
  if (v instanceof YamlFloat) return v.value;
  if (Array.isArray(v)) return v.map(plainValue);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  return v;
}

/**
 * Python's repr(float): the shortest round-trip digits (the same digits JavaScript picks),
 * in fixed notation when the decimal exponent is in [-4, 16), else `d.ddde±XX`; always a
 * `.0` or an exponent, so it reads back as a float.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mant, expText] = Math.abs(x).toExponential().split("e");
  const digits = mant.replace(".", "");
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const frac = digits.slice(exp + 1);
    return `${sign}${intPart}.${frac || "0"}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** A float as ruamel's representer writes it (what DVC puts in dvc.lock). */
export function ruamelFloat(x: number): string {
  if (Number.isNaN(x)) return ".nan";
  if (!Number.isFinite(x)) return x > 0 ? ".inf" : "-.inf";
  const v = pyFloatRepr(x).toLowerCase();
  return !v.includes(".") && v.includes("e") ? v.replace("e", ".0e") : v;
}

const FLOAT_TAG = "tag:yaml.org,2002:float";

/** The YAML 1.2 core schema with floats kept as YamlFloat (parse) and written as ruamel does (stringify). */
function floatTags(tags: Tags): Tags {
  const out: Tags = tags.map((t) => {
    if (typeof t !== "object" || t.tag !== FLOAT_TAG || !("test" in t) || !t.test || !("resolve" in t)) return t;
    const resolve = t.resolve as (str: string, onError: (msg: string) => void, opts: unknown) => unknown;
    return {
      ...t,
      resolve: (str: string, onError: (msg: string) => void, opts: unknown) => {
        const r = resolve(str, onError, opts);
        const n = r instanceof yaml().Scalar ? (r.value as number) : (r as number);
        return new YamlFloat(n);
      },
    } as Tags[number];
  });
  out.push({
    identify: (v: unknown) => v instanceof YamlFloat,
    tag: FLOAT_TAG,
    default: true,
    resolve: (str: string) => new YamlFloat(Number(str)),
    stringify: (item: { value: unknown }) => ruamelFloat((item.value as YamlFloat).value),
  } as Tags[number]);
  return out;
}

/**
 * Parses YAML text keeping floats as YamlFloat. Throws the yaml library's errors. `source`: the
 * file the text was read from, when there is one (names its cache entry: see parseYamlCached).
 */
export function parseYamlKeepingFloats(text: string, source?: string): unknown {
  return parseYamlCached(text, true, source);
}

/** Parses YAML text as the yaml library does (floats as plain numbers); `source` as for parseYamlKeepingFloats. */
export function parseYamlPlain(text: string, source?: string): unknown {
  return parseYamlCached(text, false, source);
}

const CACHE_FORMAT = "polarity-yaml-cache-2";
const FLOAT_KEY = "\u0000float";
const NUMBER_KEY = "\u0000number";
const MAX_CACHED_TEXT = 1 << 20;

/**
 * A per-user cache of parse results: JSON holding the text and its value with floats tagged,
 * in `$XDG_CACHE_HOME/polarity/yaml` (mode 0700). An entry is used only when its text equals
 * the text being parsed, so it is never stale, and its name needs no cryptographic hash
 * (loading node:crypto for SHA-256 was ~10 ms of a no-op `status`: bench/cli.ts, issue 12): a
 * collision only means parsing again. Any cache problem just means parsing again.
 * POLARITY_YAML_CACHE=0 turns it off.
 */
function cacheDir(): string | null {
  if (process.env.POLARITY_YAML_CACHE === "0") return null;
  // $HOME is what os.homedir() answers when set, without loading node:os.
  const base = process.env.XDG_CACHE_HOME || path.join(process.env.HOME || os.homedir(), ".cache");
  return path.join(base, "polarity", "yaml");
}

/** FNV-1a over UTF-16 code units: spreads texts over file names, nothing more. */
function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

interface CacheEntry {
  text: string;
  value: unknown;
}

/**
 * The cache file for `text`: named by a 32-bit hash of its source file's absolute path when it
 * came from one (one entry per file, replaced when the file changes), else of the text itself.
 * Hashing every character of dvc.yaml, params.yaml (twice) and dvc.lock in one no-op `status`
 * was enough interpreted looping for V8 to start its optimising compiler for fnv1a32 (a
 * "small function"), and the first such job of a process cost ~2-4 ms and ~110 page faults
 * there, more than all the parsing it was for (bench/cli.ts, issue 12); paths are short.
 */
function cacheFile(dir: string, text: string, keepFloats: boolean, source: string | undefined): string {
  const kind = keepFloats ? "f" : "p";
  const name = source === undefined ? `${kind}-${hex32(fnv1a32(text))}` : `${kind}-path-${hex32(fnv1a32(path.resolve(source)))}`;
  return path.join(dir, `${CACHE_FORMAT}-${name}-${text.length}.json`);
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function parseYamlCached(text: string, keepFloats: boolean, source: string | undefined): unknown {
  const dir = text.length <= MAX_CACHED_TEXT ? cacheDir() : null;
  const file = dir ? cacheFile(dir, text, keepFloats, source) : null;
  if (file) {
    try {
      const entry = JSON.parse(fs.readFileSync(file, "utf8"), (_k, v: unknown) => {
        if (v === null || typeof v !== "object") return v;
        if (FLOAT_KEY in v) return new YamlFloat(Number((v as Record<string, unknown>)[FLOAT_KEY]));
        if (NUMBER_KEY in v) return Number((v as Record<string, unknown>)[NUMBER_KEY]);
        return v;
      }) as CacheEntry;
      if (entry.text === text) return entry.value;
    } catch {
      // not cached yet (or unreadable): parse
    }
  }
  const value: unknown = keepFloats ? yaml().parse(text, { customTags: floatTags }) : yaml().parse(text);
  if (file && dir) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const entry: CacheEntry = { text, value };
      writeFileAtomicSync(
        file,
        JSON.stringify(entry, function (this: unknown, k: string, v: unknown) {
          const raw = (this as Record<string, unknown>)[k];
          if (raw instanceof YamlFloat) return { [FLOAT_KEY]: String(raw.value) };
          return typeof raw === "number" && !Number.isFinite(raw) ? { [NUMBER_KEY]: String(raw) } : v;
        }),
        0o600,
      );
    } catch {
      // a read-only home is fine
    }
  }
  return value;
}

/**
 * YAML as DVC (ruamel) writes it: block style, sequences not indented under their key,
 * single quotes, no folding, floats as Python floats, and None as an empty value
 * (`label_map:`, not `label_map: null`).
 */
export function dumpYaml(data: unknown): string {
  return yaml()
    .stringify(data, { indentSeq: false, lineWidth: 0, singleQuote: true, nullStr: "", customTags: floatTags })
    .replace(/^( *-) $/gm, "$1");
}

function pyJsonString(s: string): string {
  // json.dumps(ensure_ascii=True): every non-ASCII UTF-16 unit (and DEL) as \uXXXX.
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * `json.dumps(value, sort_keys=True)` byte for byte as Python writes it: ", " and ": "
 * separators, ASCII-only strings, floats by repr (NaN, Infinity), ints as integers.
 */
export function pyJsonDumps(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (v instanceof YamlFloat) {
    if (Number.isNaN(v.value)) return "NaN";
    if (!Number.isFinite(v.value)) return v.value > 0 ? "Infinity" : "-Infinity";
    return pyFloatRepr(v.value);
  }
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v).includes("e") ? BigInt(v).toString() : String(v);
    return pyJsonDumps(new YamlFloat(v));
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return pyJsonString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(", ")}]`;
  if (typeof v === "object") {
    // Python sorts str keys by code point.
    const keys = Object.keys(v).sort(comparePython);
    return `{${keys.map((k) => `${pyJsonString(k)}: ${pyJsonDumps((v as Record<string, unknown>)[k])}`).join(", ")}}`;
  }
  return pyJsonString(String(v));
}
