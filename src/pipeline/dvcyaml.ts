import fs from "node:fs";
import path from "node:path";
import { DataError, NotFoundError } from "../util/errors.js";
import { type Context, interpolateDeep } from "./interpolate.js";
import { parseYamlPlain, YamlFloat } from "./yaml-values.js";
import { DEFAULT_PARAMS_FILE, getParam, loadParamsFile, type ParamsTree } from "./params-files.js";

export const PIPELINE_FILE = "dvc.yaml";

export type OutKind = "outs" | "metrics" | "plots";

/** Properties of a plot as declared (DVC's plot props). */
export interface PlotProps {
  x?: string;
  y?: string | string[];
  template?: string;
  title?: string;
  x_label?: string;
  y_label?: string;
}

export interface OutDecl {
  /** as written in dvc.yaml, relative to the stage's wdir (this is what dvc.lock records) */
  path: string;
  abs: string;
  kind: OutKind;
  cache: boolean;
  persist: boolean;
  desc?: string;
  plot?: PlotProps;
}

export interface DepDecl {
  path: string;
  abs: string;
}

export interface ParamsDecl {
  /** params file as written (relative to wdir) */
  file: string;
  abs: string;
  /** dotted keys, or null for "every key of the file" */
  keys: string[] | null;
}

export interface StageDecl {
  name: string;
  cmd: string | string[];
  wdir: string;
  deps: DepDecl[];
  params: ParamsDecl[];
  outs: OutDecl[];
  frozen: boolean;
  alwaysChanged: boolean;
  desc?: string;
  meta?: unknown;
}

export interface TopPlot {
  id: string;
  props: PlotProps;
  /** files the plot reads: `y` may name columns per file */
  files: Array<{ path: string; y?: string[] }>;
}

export interface Pipeline {
  root: string;
  file: string;
  stages: StageDecl[];
  byName: Map<string, StageDecl>;
  metrics: string[];
  plots: TopPlot[];
  paramsFiles: string[];
}

const STAGE_FIELDS = ["cmd", "wdir", "deps", "params", "outs", "metrics", "plots", "frozen", "always_changed", "desc", "meta", "vars"];
const TOP_FIELDS = ["vars", "stages", "params", "metrics", "plots", "artifacts", "datasets"];
const OUT_FLAGS = ["cache", "persist", "desc", "remote", "push"];
const PLOT_FLAGS = [...OUT_FLAGS, "x", "y", "template", "title", "x_label", "y_label", "header"];

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof YamlFloat);
}

function rel(root: string, p: string): string {
  return path.relative(root, p).split(path.sep).join("/") || ".";
}

/** Reads `vars` entries: mappings of values, or params files (`file.yaml`, `file.yaml:key1,key2`). */
function loadVars(vars: unknown, baseDir: string, where: string): Context {
  const ctx: Context = {};
  const list = Array.isArray(vars) ? vars : [vars];
  list.forEach((entry, i) => {
    if (typeof entry === "string") {
      const [file, keys] = entry.split(":");
      const data = loadParamsFile(path.join(baseDir, file), file);
      const picked = keys ? Object.fromEntries(keys.split(",").map((k) => [k.trim(), getParam(data, k.trim())])) : data;
      Object.assign(ctx, picked);
    } else if (isMapping(entry)) {
      Object.assign(ctx, entry);
    } else {
      throw new DataError(`${where}[${i}]: expected a mapping of values or a params file name`);
    }
  });
  return ctx;
}

/** Loads and validates `dvc.yaml` in `root`, expanding vars, `${…}` and foreach/do. */
export function loadPipeline(root: string, file = PIPELINE_FILE): Pipeline {
  const abs = path.join(root, file);
  if (!fs.existsSync(abs)) throw new NotFoundError(`${file} not found in ${root}`);
  let raw: unknown;
  try {
    raw = parseYamlPlain(fs.readFileSync(abs, "utf8"), abs);
  } catch (err) {
    throw new DataError(`${file}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  return parsePipeline(root, raw ?? {}, file);
}

export function parsePipeline(root: string, raw: unknown, file = PIPELINE_FILE): Pipeline {
  if (!isMapping(raw)) throw new DataError(`${file}: expected a mapping at the top level`);
  for (const k of Object.keys(raw)) {
    if (!TOP_FIELDS.includes(k)) throw new DataError(`${file}: unknown top-level field '${k}' (allowed: ${TOP_FIELDS.join(", ")})`);
  }
  const baseDir = path.dirname(path.join(root, file));
  const defaultParamsPath = path.join(baseDir, DEFAULT_PARAMS_FILE);
  const defaultParams: ParamsTree = fs.existsSync(defaultParamsPath) ? loadParamsFile(defaultParamsPath, DEFAULT_PARAMS_FILE) : {};
  const vars = raw.vars === undefined ? {} : loadVars(raw.vars, baseDir, `${file}: vars`);
  for (const k of Object.keys(vars)) {
    if (k in defaultParams) throw new DataError(`${file}: vars: '${k}' is already defined in ${DEFAULT_PARAMS_FILE}`);
  }
  const globalCtx: Context = { ...defaultParams, ...vars };

  const stagesRaw = raw.stages ?? {};
  if (!isMapping(stagesRaw)) throw new DataError(`${file}: stages: expected a mapping of stage names to definitions`);
  const stages: StageDecl[] = [];
  for (const [name, def] of Object.entries(stagesRaw)) {
    if (!/^[\w.-]+$/.test(name)) throw new DataError(`${file}: stage '${name}': invalid name (letters, digits, '_', '-', '.')`);
    const where = `${file}: stage '${name}'`;
    if (!isMapping(def)) throw new DataError(`${where}: expected a mapping`);
    if ("foreach" in def || "do" in def) {
      for (const [suffix, ctx] of expandForeach(def, globalCtx, where)) {
        const stageWhere = `${file}: stage '${name}@${suffix}'`;
        if (!isMapping(def.do)) throw new DataError(`${where}: do: expected a stage definition`);
        stages.push(buildStage(`${name}@${suffix}`, def.do, ctx, baseDir, root, stageWhere, defaultParams, vars));
      }
    } else {
      stages.push(buildStage(name, def, globalCtx, baseDir, root, where, defaultParams, vars));
    }
  }
  const byName = new Map<string, StageDecl>();
  for (const s of stages) {
    if (byName.has(s.name)) throw new DataError(`${file}: stage '${s.name}' is defined twice`);
    byName.set(s.name, s);
  }
  return {
    root,
    file,
    stages,
    byName,
    metrics: parsePathList(interpolateDeep(raw.metrics ?? [], globalCtx, `${file}: metrics`), `${file}: metrics`),
    plots: parseTopPlots(interpolateDeep(raw.plots ?? [], globalCtx, `${file}: plots`), `${file}: plots`),
    paramsFiles: parsePathList(interpolateDeep(raw.params ?? [], globalCtx, `${file}: params`), `${file}: params`),
  };
}

function expandForeach(def: Record<string, unknown>, ctx: Context, where: string): Array<[string, Context]> {
  if (!("foreach" in def) || !("do" in def)) throw new DataError(`${where}: 'foreach' and 'do' must be used together`);
  const extra = Object.keys(def).filter((k) => k !== "foreach" && k !== "do");
  if (extra.length) throw new DataError(`${where}: unexpected field${extra.length > 1 ? "s" : ""} ${extra.map((k) => `'${k}'`).join(", ")} beside foreach/do`);
  const items = interpolateDeep(def.foreach, ctx, `${where}: foreach`);
  if (Array.isArray(items)) {
    const scalar = items.every((v) => v === null || typeof v !== "object" || v instanceof YamlFloat);
    return items.map((item, i) => [scalar ? String(item) : String(i), { ...ctx, item }]);
  }
  if (isMapping(items)) return Object.entries(items).map(([key, item]) => [key, { ...ctx, item, key }]);
  throw new DataError(`${where}: foreach: expected a list or a mapping`);
}

function buildStage(
  name: string,
  defIn: Record<string, unknown>,
  ctxIn: Context,
  baseDir: string,
  root: string,
  where: string,
  defaultParams: ParamsTree,
  vars: Context,
): StageDecl {
  for (const k of Object.keys(defIn)) {
    if (!STAGE_FIELDS.includes(k)) throw new DataError(`${where}: unknown field '${k}' (allowed: ${STAGE_FIELDS.join(", ")})`);
  }
  const ctx = defIn.vars === undefined ? ctxIn : { ...ctxIn, ...loadVars(defIn.vars, baseDir, `${where}: vars`) };
  // Keys of params.yaml used through ${…} are tracked as params, as DVC does (vars are not).
  const usedParams = new Set<string>();
  const onUse = (expr: string): void => {
    const key = expr.replace(/\[(\d+)\]/g, ".$1");
    const top = key.split(".")[0];
    if (!(top in vars) && top !== "item" && top !== "key" && getParam(defaultParams, key) !== undefined) usedParams.add(key);
  };
  const { vars: _v, ...rest } = defIn;
  const def = interpolateDeep(rest, ctx, where, onUse) as Record<string, unknown>;

  const cmd = def.cmd;
  if (typeof cmd === "string") {
    if (!cmd.trim()) throw new DataError(`${where}: cmd: must not be empty`);
  } else if (Array.isArray(cmd)) {
    if (cmd.length === 0) throw new DataError(`${where}: cmd: must not be an empty list`);
    cmd.forEach((c, i) => {
      if (typeof c !== "string" || !c.trim()) {
        const hint = c !== null && typeof c === "object" ? " (YAML read it as a mapping: quote a command that contains ': ')" : "";
        throw new DataError(`${where}: cmd[${i}]: expected a non-empty command string${hint}`);
      }
    });
  } else if (cmd === undefined) {
    throw new DataError(`${where}: cmd: missing (every stage needs a command)`);
  } else {
    throw new DataError(`${where}: cmd: expected a string or a list of strings`);
  }

  let wdir = baseDir;
  if (def.wdir !== undefined) {
    if (typeof def.wdir !== "string") throw new DataError(`${where}: wdir: expected a path string`);
    wdir = path.resolve(baseDir, def.wdir);
  }
  const inRoot = (p: string, field: string): string => {
    const abs = path.resolve(wdir, p);
    const r = path.relative(root, abs);
    if (r.startsWith("..") || path.isAbsolute(r)) throw new DataError(`${where}: ${field}: '${p}' is outside the project`);
    return abs;
  };

  const deps: DepDecl[] = [];
  if (def.deps !== undefined) {
    if (!Array.isArray(def.deps)) throw new DataError(`${where}: deps: expected a list of paths`);
    def.deps.forEach((d, i) => {
      if (typeof d !== "string" || !d) throw new DataError(`${where}: deps[${i}]: expected a path string`);
      deps.push({ path: d, abs: inRoot(d, `deps[${i}]`) });
    });
  }

  const params = parseParamsDecl(def.params, wdir, where);
  if (usedParams.size > 0) {
    const defaultAbs = path.join(baseDir, DEFAULT_PARAMS_FILE);
    let decl = params.find((p) => p.abs === defaultAbs);
    if (!decl) params.push((decl = { file: rel(wdir, defaultAbs), abs: defaultAbs, keys: [] }));
    if (decl.keys) for (const k of usedParams) if (!decl.keys.includes(k)) decl.keys.push(k);
  }

  for (const d of pathParamDeps(def.meta, params, defaultParams, wdir, root, where)) if (!deps.some((x) => x.abs === d.abs)) deps.push(d);

  const outs: OutDecl[] = [];
  for (const kind of ["outs", "metrics", "plots"] as const) {
    const list = def[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new DataError(`${where}: ${kind}: expected a list`);
    list.forEach((o, i) => outs.push(parseOut(o, kind, `${where}: ${kind}[${i}]`, (p) => inRoot(p, `${kind}[${i}]`))));
  }

  for (const flag of ["frozen", "always_changed"] as const) {
    if (def[flag] !== undefined && typeof def[flag] !== "boolean") throw new DataError(`${where}: ${flag}: expected true or false`);
  }
  if (def.desc !== undefined && typeof def.desc !== "string") throw new DataError(`${where}: desc: expected a string`);
  return {
    name,
    cmd: cmd as string | string[],
    wdir,
    deps,
    params,
    outs,
    frozen: def.frozen === true,
    alwaysChanged: def.always_changed === true,
    desc: def.desc as string | undefined,
    meta: def.meta,
  };
}

/**
 * Params whose value names a data file or directory (`meta: {polarity: {path_params:
 * [ingest.source]}}`): when the value is a local path that exists, it is a dependency of the
 * stage like any in `deps`, so editing the file reruns the stage with no manual step. Other
 * values (a built-in data set name, a URL, a path that does not exist yet) add nothing: the
 * value itself is a tracked param, and the stage reports a missing file itself. `meta` is
 * free-form for DVC, so DVC reads this dvc.yaml unchanged (and simply ignores the extra deps).
 */
function pathParamDeps(meta: unknown, params: ParamsDecl[], defaultParams: ParamsTree, wdir: string, root: string, where: string): DepDecl[] {
  const polarity = isMapping(meta) ? meta.polarity : undefined;
  const keys = isMapping(polarity) ? polarity.path_params : undefined;
  if (keys === undefined) return [];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string"))
    throw new DataError(`${where}: meta: polarity: path_params: expected a list of param keys`);
  const out: DepDecl[] = [];
  for (const key of keys as string[]) {
    const decl = params.find((p) => p.keys === null || p.keys.some((k) => k === key || key.startsWith(`${k}.`)));
    if (!decl) throw new DataError(`${where}: meta: polarity: path_params: '${key}' is not among the stage's params`);
    const tree =
      decl.file === DEFAULT_PARAMS_FILE && decl.abs === path.join(root, DEFAULT_PARAMS_FILE)
        ? defaultParams
        : fs.existsSync(decl.abs)
          ? loadParamsFile(decl.abs, decl.file)
          : {};
    const value = getParam(tree, key);
    if (typeof value !== "string" || !value || /^[a-z][a-z0-9+.-]*:/i.test(value)) continue; // built-in name with a scheme, URL
    const abs = path.resolve(wdir, value);
    if (fs.existsSync(abs)) out.push({ path: value, abs }); // outside the project too: DVC's external deps
  }
  return out;
}

function parseParamsDecl(raw: unknown, wdir: string, where: string): ParamsDecl[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new DataError(`${where}: params: expected a list of keys or {file: [keys]}`);
  const byFile = new Map<string, ParamsDecl>();
  const get = (file: string): ParamsDecl => {
    let d = byFile.get(file);
    if (!d) byFile.set(file, (d = { file, abs: path.resolve(wdir, file), keys: [] }));
    return d;
  };
  raw.forEach((entry, i) => {
    if (typeof entry === "string") {
      const d = get(DEFAULT_PARAMS_FILE);
      if (d.keys && !d.keys.includes(entry)) d.keys.push(entry);
    } else if (isMapping(entry)) {
      for (const [file, keys] of Object.entries(entry)) {
        const d = get(file);
        if (keys === null) d.keys = null;
        else if (Array.isArray(keys) && keys.every((k) => typeof k === "string")) {
          if (d.keys) for (const k of keys as string[]) if (!d.keys.includes(k)) d.keys.push(k);
        } else throw new DataError(`${where}: params[${i}]: '${file}': expected a list of keys or null (every key)`);
      }
    } else {
      throw new DataError(`${where}: params[${i}]: expected a key string or {file: [keys]}`);
    }
  });
  return [...byFile.values()];
}

function parseOut(o: unknown, kind: OutKind, where: string, resolve: (p: string) => string): OutDecl {
  const defaults = { cache: true, persist: false };
  if (typeof o === "string" && o) return { path: o, abs: resolve(o), kind, ...defaults };
  if (isMapping(o) && Object.keys(o).length === 1) {
    const [p, flagsRaw] = Object.entries(o)[0];
    const flags = flagsRaw ?? {};
    if (!isMapping(flags)) throw new DataError(`${where}: '${p}': expected a mapping of flags`);
    const allowed = kind === "plots" ? PLOT_FLAGS : OUT_FLAGS;
    for (const k of Object.keys(flags)) {
      if (!allowed.includes(k)) throw new DataError(`${where}: '${p}': unknown flag '${k}' (allowed: ${allowed.join(", ")})`);
    }
    for (const b of ["cache", "persist", "push"]) {
      if (flags[b] !== undefined && typeof flags[b] !== "boolean") throw new DataError(`${where}: '${p}': ${b}: expected true or false`);
    }
    const out: OutDecl = { path: p, abs: resolve(p), kind, cache: flags.cache !== false, persist: flags.persist === true };
    if (typeof flags.desc === "string") out.desc = flags.desc;
    if (kind === "plots") {
      const plot: PlotProps = {};
      for (const k of ["x", "template", "title", "x_label", "y_label"] as const) if (typeof flags[k] === "string") plot[k] = flags[k] as string;
      if (typeof flags.y === "string" || Array.isArray(flags.y)) plot.y = flags.y as string | string[];
      out.plot = plot;
    }
    return out;
  }
  throw new DataError(`${where}: expected a path string or {path: {flags}}`);
}

function parsePathList(raw: unknown, where: string): string[] {
  if (!Array.isArray(raw)) throw new DataError(`${where}: expected a list of paths`);
  return raw.map((p, i) => {
    if (typeof p !== "string") throw new DataError(`${where}[${i}]: expected a path string`);
    return p;
  });
}

function parseTopPlots(raw: unknown, where: string): TopPlot[] {
  if (!Array.isArray(raw)) throw new DataError(`${where}: expected a list`);
  return raw.map((entry, i) => {
    if (typeof entry === "string") return { id: entry, props: {}, files: [{ path: entry }] };
    if (isMapping(entry) && Object.keys(entry).length === 1) {
      const [id, propsRaw] = Object.entries(entry)[0];
      const props = (propsRaw ?? {}) as Record<string, unknown>;
      if (!isMapping(props)) throw new DataError(`${where}[${i}]: '${id}': expected a mapping of plot properties`);
      const p: PlotProps = {};
      for (const k of ["template", "title", "x_label", "y_label"] as const) if (typeof props[k] === "string") p[k] = props[k] as string;
      let files: TopPlot["files"] = [{ path: id }];
      if (typeof props.x === "string") p.x = props.x;
      if (isMapping(props.y)) {
        files = Object.entries(props.y).map(([f, cols]) => ({ path: f, y: typeof cols === "string" ? [cols] : (cols as string[]) }));
      } else if (typeof props.y === "string" || Array.isArray(props.y)) {
        p.y = props.y as string | string[];
      }
      if (isMapping(props.x)) {
        const xs = Object.entries(props.x);
        if (xs.length) p.x = String(xs[0][1]);
      }
      return { id, props: p, files };
    }
    throw new DataError(`${where}[${i}]: expected a path or {id: {x, y, ...}}`);
  });
}

/** The project-relative posix path of an absolute path. */
export function projectPath(root: string, abs: string): string {
  return rel(root, abs);
}
