import type { Command } from "commander";
import { action } from "./run-command.js";
import { InvalidParameterError } from "../util/errors.js";
import { redactUri as redacted } from "../tracking/uri.js";

/**
 * `polarity db`: the tracking database's schema, as `mlflow db upgrade` does for MLflow, and a
 * one-shot copy of the embedded store into a shared PostgreSQL database.
 */
export function register(program: Command): void {
  const db = program.command("db").description("Tracking database schema and migration (SQLite, PostgreSQL)");

  db.command("upgrade")
    .description("Apply pending schema migrations to a tracking database (a shared PostgreSQL database is never upgraded implicitly)")
    .argument("<store-uri>", "postgresql://user:password@host:port/db, sqlite:///path.db or a directory")
    .option("--json", "print the result as JSON")
    .action(
      action(async (uri: string, o: { json?: boolean }) => {
        const { openStoresForUri } = await loadStores();
        const stores = openStoresForUri(uri, { upgradeExisting: true });
        try {
          await stores.ready;
          const version = await stores.backend.schemaVersion();
          print(o.json, { store: redacted(uri), schema_version: version }, `Tracking database ${redacted(uri)} is at schema version ${version} (current)`);
        } finally {
          await stores.close();
        }
      }),
    );

  db.command("migrate-from")
    .description("Copy an existing tracking database (runs, metrics, registry) into a new one, e.g. the embedded SQLite store into PostgreSQL")
    .argument("<source-uri>", "the store to copy: sqlite:///mlruns.db, a directory, or postgresql://…")
    .requiredOption("--to <store-uri>", "the new, empty database to copy into (postgresql://…)")
    .option("--json", "print the per-table row counts as JSON")
    .action(
      action(async (source: string, o: { to: string; json?: boolean }) => {
        const { openStoresForUri, copyTrackingDatabase } = await loadStores();
        if (source === o.to) throw new InvalidParameterError("The source and --to are the same store");
        const from = openStoresForUri(source, { upgradeExisting: true });
        const to = openStoresForUri(o.to, { upgradeExisting: true });
        try {
          await from.ready;
          await to.ready;
          const report = await copyTrackingDatabase(from.backend.driver, to.backend.driver, (table, rows) => {
            if (!o.json) process.stderr.write(`  ${table}: ${rows} rows\n`);
          });
          const total = report.tables.reduce((s, t) => s + t.rows, 0);
          print(
            o.json,
            { from: redacted(source), to: redacted(o.to), tables: report.tables },
            `Copied ${total} rows from ${redacted(source)} to ${redacted(o.to)}. Artifacts are not moved: start the server with the same --artifacts-destination.`,
          );
        } finally {
          await from.close();
          await to.close();
        }
      }),
    );
}

async function loadStores() {
  const [{ openStores }, { parseTrackingUri }, { copyTrackingDatabase }] = await Promise.all([
    import("../tracking/store/open.js"),
    import("../tracking/uri.js"),
    import("../tracking/store/sql/copy.js"),
  ]);
  const openStoresForUri = (uri: string, options: { upgradeExisting: boolean }) => {
    const target = parseTrackingUri(uri);
    if (target.kind === "http")
      throw new InvalidParameterError(`'${redacted(uri)}' is a server URL: polarity db works on the database itself (postgresql://…, sqlite:///…)`);
    return openStores(target, options);
  };
  return { openStoresForUri, copyTrackingDatabase };
}

function print(json: boolean | undefined, value: unknown, line: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${line}\n`);
}
