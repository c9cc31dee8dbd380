/**
 * Rows as an aligned plain-text table, columns two spaces apart, trailing blanks trimmed: the
 * one table formatter of the CLI. `rule` draws a dashed line under the header (the tracking
 * commands' style); without it the layout is DVC's (`metrics show`, `params diff`).
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], options: { rule?: boolean } = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (c ?? "").padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const lines = [line(header)];
  if (options.rule) lines.push(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) lines.push(line(r));
  return lines.join("\n") + "\n";
}
