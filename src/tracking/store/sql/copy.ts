import { ConflictError } from "../../../util/errors.js";
import type { SqlDriver, SqlExecutor } from "./driver.js";

/**
 * Copies every row of one tracking database into another of the same schema version — the
 * embedded SQLite store into PostgreSQL (`polarity db migrate-from`), keeping experiment ids,
 * run ids, metric history order, registry versions and aliases exactly as they were. The
 * target must be new: nothing but the seeded 'Default' experiment. One transaction on the
 * target, so a failed copy leaves it as it was.
 */
export interface CopyReport {
  tables: Array<{ table: string; rows: number }>;
}

/** Parents before children (foreign keys); a table added by a later migration goes last. */
const TABLE_ORDER = [
  "experiments",
  "experiment_tags",
  "runs",
  "params",
  "tags",
  "metrics",
  "latest_metrics",
  "datasets",
  "run_inputs",
  "input_tags",
  "registered_models",
  "registered_model_tags",
  "model_versions",
  "model_version_tags",
  "registered_model_aliases",
  "logged_models",
  "logged_model_tags",
  "logged_model_params",
  "logged_model_metrics",
  "run_logged_models",
];

async function tablesOf(driver: SqlDriver): Promise<string[]> {
  const sql =
    driver.dialect.name === "sqlite"
      ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
      : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'";
  const names = (await driver.all<{ name: string }>(sql)).map((r) => r.name).filter((n) => n !== "schema_version");
  const known = TABLE_ORDER.filter((t) => names.includes(t));
  return [...known, ...names.filter((n) => !TABLE_ORDER.includes(n)).sort()];
}

async function columnsOf(driver: SqlDriver, table: string): Promise<string[]> {
  if (driver.dialect.name === "sqlite") return (await driver.all<{ name: string }>(`SELECT name FROM pragma_table_info(?)`, [table])).map((r) => r.name);
  return (
    await driver.all<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
      [table],
    )
  ).map((r) => r.name);
}

async function assertEmptyTarget(tx: SqlExecutor): Promise<void> {
  const exps = await tx.all<{ experiment_id: number; name: string }>("SELECT experiment_id, name FROM experiments");
  const runs = await tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM runs");
  const models = await tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM registered_models");
  const onlyDefault = exps.length === 0 || (exps.length === 1 && Number(exps[0].experiment_id) === 0);
  if (!onlyDefault || Number(runs?.n ?? 0) > 0 || Number(models?.n ?? 0) > 0) {
    throw new ConflictError(
      `The target tracking database is not empty (${exps.length} experiments, ${Number(runs?.n ?? 0)} runs, ${Number(models?.n ?? 0)} registered models): migrate into a new database`,
    );
  }
}

const BATCH_ROWS = 500;

export async function copyTrackingDatabase(from: SqlDriver, to: SqlDriver, onProgress: (table: string, rows: number) => void = () => {}): Promise<CopyReport> {
  const tables = await tablesOf(from);
  const targetTables = new Set(await tablesOf(to));
  const missing = tables.filter((t) => !targetTables.has(t));
  if (missing.length > 0) throw new ConflictError(`The target database lacks tables ${missing.join(", ")}: run 'polarity db upgrade' on both first`);
  const plan: Array<{ table: string; columns: string[]; order: string }> = [];
  for (const table of tables) {
    const target = new Set(await columnsOf(to, table));
    // The metrics insertion-order column differs by dialect (rowid / seq): copy in that order, let the target number.
    const columns = (await columnsOf(from, table)).filter((c) => target.has(c) && c !== to.dialect.metricSeq.column);
    const order = table === "metrics" ? ` ORDER BY ${from.dialect.metricSeq.column}` : "";
    plan.push({ table, columns, order });
  }
  const report: CopyReport = { tables: [] };
  await to.transaction(async (tx) => {
    await assertEmptyTarget(tx);
    await tx.run("DELETE FROM experiments"); // the seeded 'Default'; the source has its own experiment 0
    for (const { table, columns, order } of plan) {
      const rows = await from.all<Record<string, unknown>>(`SELECT ${columns.join(", ")} FROM ${table}${order}`);
      for (let i = 0; i < rows.length; i += BATCH_ROWS) {
        const chunk = rows.slice(i, i + BATCH_ROWS);
        const values = chunk.map(() => `(${columns.map(() => "?").join(", ")})`).join(", ");
        await tx.run(
          `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values}`,
          chunk.flatMap((r) => columns.map((c) => r[c])),
        );
      }
      report.tables.push({ table, rows: rows.length });
      onProgress(table, rows.length);
    }
  });
  return report;
}
