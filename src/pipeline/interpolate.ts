import { DataError } from "../util/errors.js";
import { YamlFloat } from "./yaml-values.js";

/**
 * `${…}` interpolation as dvc.yaml does it: `${a.b}`, `${list[0]}`, `${item}`. A string that is
 * exactly one `${…}` takes the referenced value with its type; inside a longer string the value
 * must be a scalar. `\${` escapes. Every key found is reported to `onUse` (to track params).
 */
export type Context = Record<string, unknown>;

const PATTERN = /(\\)?\$\{\s*([^}]*?)\s*\}/g;

export function resolveReference(ctx: Context, expr: string, where: string): unknown {
  if (!/^[A-Za-z_][\w-]*(\.[\w-]+|\[\d+\])*$/.test(expr)) throw new DataError(`${where}: invalid interpolation '\${${expr}}'`);
  const parts = expr.replace(/\[(\d+)\]/g, ".$1").split(".");
  let cur: unknown = ctx;
  for (const part of parts) {
    if (cur !== null && typeof cur === "object" && Object.prototype.hasOwnProperty.call(cur, part)) {
      cur = (cur as Record<string, unknown>)[part];
    } else {
      throw new DataError(`${where}: could not find '${expr}' in vars or params (\${${expr}})`);
    }
  }
  return cur;
}

export function interpolateString(s: string, ctx: Context, where: string, onUse?: (key: string) => void): unknown {
  const whole = /^\$\{\s*([^}]*?)\s*\}$/.exec(s);
  if (whole) {
    onUse?.(whole[1]);
    return resolveReference(ctx, whole[1], where);
  }
  return s.replace(PATTERN, (m, escaped: string | undefined, expr: string) => {
    if (escaped) return m.slice(1);
    onUse?.(expr);
    const v = resolveReference(ctx, expr, where);
    if (v !== null && typeof v === "object" && !(v instanceof YamlFloat))
      throw new DataError(`${where}: '\${${expr}}' is a ${Array.isArray(v) ? "list" : "mapping"}; only scalars can be embedded in a string`);
    return String(v);
  });
}

/** Interpolates every string inside a YAML value (keys are left as written). */
export function interpolateDeep(value: unknown, ctx: Context, where: string, onUse?: (key: string) => void): unknown {
  if (typeof value === "string") return value.includes("${") ? interpolateString(value, ctx, where, onUse) : value;
  if (value instanceof YamlFloat) return value;
  if (Array.isArray(value)) return value.map((v, i) => interpolateDeep(v, ctx, `${where}[${i}]`, onUse));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = k.includes("${") ? String(interpolateString(k, ctx, where, onUse)) : k;
      out[key] = interpolateDeep(v, ctx, `${where}: ${k}`, onUse);
    }
    return out;
  }
  return value;
}
