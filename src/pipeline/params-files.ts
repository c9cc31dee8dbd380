import fs from "node:fs";
import path from "node:path";
import { DataError, NotFoundError } from "../util/errors.js";
import { parseYamlKeepingFloats, YamlFloat } from "./yaml-values.js";

export const DEFAULT_PARAMS_FILE = "params.yaml";

export type ParamValue = unknown;
export type ParamsTree = Record<string, unknown>;

/**
 * Parses a params file's text (YAML or JSON by extension), YAML floats kept as YamlFloat. `label`
 * names it in errors; `source` is the file it was read from, if any (see parseYamlKeepingFloats).
 */
export function parseParamsText(text: string, label: string, source?: string): ParamsTree {
  const ext = path.extname(label).toLowerCase();
  let data: unknown;
  try {
    if (ext === ".json") data = JSON.parse(text);
    else if (ext === ".yaml" || ext === ".yml") data = parseYamlKeepingFloats(text, source);
    else throw new DataError(`${label}: unsupported params file type '${ext || "(none)"}' (use .yaml, .yml or .json)`);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${label}: cannot parse: ${(err as Error).message.split("\n")[0]}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) throw new DataError(`${label}: expected a mapping at the top level`);
  return data as ParamsTree;
}

export function loadParamsFile(file: string, label = file): ParamsTree {
  if (!fs.existsSync(file)) throw new NotFoundError(`params file '${label}' does not exist`);
  return parseParamsText(fs.readFileSync(file, "utf8"), label, file);
}

/** Looks up `a.b.c` (and `list.0`) in a params tree; `undefined` when absent. */
export function getParam(tree: unknown, key: string): ParamValue | undefined {
  let cur: unknown = tree;
  for (const part of key.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (Array.isArray(cur)) {
      const i = Number(part);
      if (!Number.isInteger(i)) return undefined;
      cur = cur[i];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  return cur;
}

/** Flattens nested mappings to dotted keys (lists stay values), for diffs and tables. */
export function flattenParams(tree: unknown, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  if (tree !== null && typeof tree === "object" && !Array.isArray(tree) && !(tree instanceof YamlFloat)) {
    for (const [k, v] of Object.entries(tree as Record<string, unknown>)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof YamlFloat) && Object.keys(v).length > 0) flattenParams(v, key, out);
      else out[key] = v;
    }
  } else if (prefix) out[prefix] = tree;
  return out;
}

/** Structural equality for param values (YAML scalars, lists, mappings). */
export function paramsEqual(a: unknown, b: unknown): boolean {
  // Python compares 10.0 == 10 as equal: a float/int change of form alone is not a change.
  if (a instanceof YamlFloat) a = a.value;
  if (b instanceof YamlFloat) b = b.value;
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => paramsEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
