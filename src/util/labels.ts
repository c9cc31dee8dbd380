import { DataError } from "./errors.js";

/**
 * Class labels, shared by every layer (data reads them, models learn them, evaluation scores
 * them): the ONE `Label` type and its order. Classes are sorted stably — numbers ascending,
 * then strings ascending by UTF-16 code units; the number 1 and the string "1" are different
 * classes.
 */
export type Label = string | number;

export function compareLabels(a: Label, b: Label): number {
  const an = typeof a === "number";
  const bn = typeof b === "number";
  if (an && bn) return (a as number) - (b as number);
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function describeLabel(label: Label): string {
  return typeof label === "number" ? String(label) : `'${label}'`;
}

/** A label read from data or a file: a string or a finite number, else a DataError naming its position. */
export function checkLabel(label: unknown, i: number): Label {
  if (typeof label === "string") return label;
  if (typeof label === "number" && Number.isFinite(label)) return label;
  throw new DataError(`label at position ${i} must be a string or a finite number, got ${String(label)}`);
}

/** The sorted distinct labels of y. */
export function uniqueSortedLabels(y: readonly Label[]): Label[] {
  const seen = new Set<Label>();
  for (let i = 0; i < y.length; i++) seen.add(checkLabel(y[i], i));
  return Array.from(seen).sort(compareLabels);
}
