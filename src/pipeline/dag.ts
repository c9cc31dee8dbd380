import path from "node:path";
import { DataError, NotFoundError } from "../util/errors.js";
import type { Pipeline, StageDecl } from "./dvcyaml.js";

/** Stages and the edges upstream → downstream (an edge means "an out of `from` is a dep of `to`"). */
export interface Dag {
  stages: StageDecl[];
  upstream: Map<string, Set<string>>;
  downstream: Map<string, Set<string>>;
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

/**
 * Builds the DAG from outs → deps (a dep inside an out directory, or a directory dep
 * containing an out, counts too). Rejects two stages writing the same or overlapping
 * outputs, and cycles, naming the stages.
 */
export function buildDag(p: Pipeline): Dag {
  const outs: Array<{ abs: string; stage: string; path: string }> = [];
  for (const s of p.stages) for (const o of s.outs) outs.push({ abs: o.abs, stage: s.name, path: o.path });
  for (let i = 0; i < outs.length; i++) {
    for (let j = i + 1; j < outs.length; j++) {
      const a = outs[i];
      const b = outs[j];
      if (a.abs === b.abs) {
        throw new DataError(`${p.file}: output '${a.path}' is specified in stages '${a.stage}' and '${b.stage}'; an output can belong to one stage only`);
      }
      if (isWithin(a.abs, b.abs) || isWithin(b.abs, a.abs)) {
        throw new DataError(`${p.file}: outputs overlap: '${a.path}' (stage '${a.stage}') and '${b.path}' (stage '${b.stage}')`);
      }
    }
  }
  const upstream = new Map<string, Set<string>>();
  const downstream = new Map<string, Set<string>>();
  for (const s of p.stages) {
    upstream.set(s.name, new Set());
    downstream.set(s.name, new Set());
  }
  for (const s of p.stages) {
    for (const d of s.deps) {
      for (const o of outs) {
        if (isWithin(d.abs, o.abs) || isWithin(o.abs, d.abs)) {
          upstream.get(s.name)!.add(o.stage);
          downstream.get(o.stage)!.add(s.name);
        }
      }
    }
  }
  const dag = { stages: p.stages, upstream, downstream };
  const cycle = findCycle(dag);
  if (cycle) throw new DataError(`${p.file}: the pipeline has a cycle: ${cycle.join(" -> ")}`);
  return dag;
}

function findCycle(dag: Dag): string[] | null {
  const color = new Map<string, 0 | 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    color.set(n, 1);
    stack.push(n);
    for (const m of dag.downstream.get(n) ?? []) {
      const c = color.get(m) ?? 0;
      if (c === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (c === 0) {
        const found = visit(m);
        if (found) return found;
      }
    }
    stack.pop();
    color.set(n, 2);
    return null;
  };
  for (const s of dag.stages) {
    if ((color.get(s.name) ?? 0) === 0) {
      const found = visit(s.name);
      if (found) return found;
    }
  }
  return null;
}

/** Stage names in dependency order; ties keep dvc.yaml order. */
export function topoOrder(dag: Dag, subset?: Set<string>): string[] {
  const names = dag.stages.map((s) => s.name).filter((n) => !subset || subset.has(n));
  const remaining = new Map(names.map((n) => [n, [...dag.upstream.get(n)!].filter((u) => !subset || subset.has(u)).length]));
  const order: string[] = [];
  while (order.length < names.length) {
    const next = names.find((n) => remaining.get(n) === 0);
    if (next === undefined) break; // unreachable: cycles were rejected in buildDag
    remaining.set(next, -1);
    order.push(next);
    for (const d of dag.downstream.get(next)!) if (remaining.has(d)) remaining.set(d, remaining.get(d)! - 1);
  }
  return order;
}

function closure(start: string[], edges: Map<string, Set<string>>): Set<string> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const m of edges.get(n) ?? []) todo.push(m);
  }
  return seen;
}

/** Resolves targets (stage names, `dvc.yaml:name`, or a foreach group `name` for `name@…`). */
export function resolveTargets(dag: Dag, targets: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of targets) {
    const name = t.includes(":") ? t.slice(t.lastIndexOf(":") + 1) : t;
    if (dag.upstream.has(name)) out.push(name);
    else {
      const group = dag.stages.filter((s) => s.name.startsWith(`${name}@`)).map((s) => s.name);
      if (group.length === 0) throw new NotFoundError(`stage '${name}' not found in dvc.yaml (stages: ${dag.stages.map((s) => s.name).join(", ") || "none"})`);
      out.push(...group);
    }
  }
  return out;
}

/** Which stages a repro of `targets` visits: targets plus upstream (default), plus downstream, or targets only. */
export function selectStages(dag: Dag, targets: readonly string[], mode: { single?: boolean; downstream?: boolean }): Set<string> {
  if (targets.length === 0) return new Set(dag.stages.map((s) => s.name));
  const names = resolveTargets(dag, targets);
  if (mode.single) return new Set(names);
  if (mode.downstream) return closure(names, dag.downstream);
  return closure(names, dag.upstream);
}

export function renderMermaid(dag: Dag): string {
  const id = new Map(dag.stages.map((s, i) => [s.name, `node${i + 1}`]));
  const lines = ["flowchart TD"];
  for (const s of dag.stages) lines.push(`\t${id.get(s.name)}["${s.name}"]`);
  for (const s of dag.stages) for (const d of dag.downstream.get(s.name)!) lines.push(`\t${id.get(s.name)}-->${id.get(d)}`);
  return lines.join("\n") + "\n";
}

export function renderDot(dag: Dag): string {
  const lines = ["strict digraph  {"];
  for (const s of dag.stages) lines.push(`"${s.name}";`);
  for (const s of dag.stages) for (const d of dag.downstream.get(s.name)!) lines.push(`"${s.name}" -> "${d}";`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** Plain text: stages in order, each with the stages it feeds. */
export function renderText(dag: Dag): string {
  const lines: string[] = [];
  for (const n of topoOrder(dag)) {
    const down = [...dag.downstream.get(n)!];
    lines.push(down.length ? `${n} -> ${down.join(", ")}` : n);
  }
  return lines.join("\n") + "\n";
}
