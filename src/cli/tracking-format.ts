import type { Command } from "commander";
import type { TrackingClient } from "../tracking/client.js";
import { formatTable as formatTextTable } from "../util/text-table.js";

/** Shared by `polarity runs` and `polarity models`: the tracking options and table output. */

export interface TrackingCliOptions {
  trackingUri?: string;
  json?: boolean;
}

export function addTrackingOptions(cmd: Command): Command {
  return cmd.option("--tracking-uri <uri>", "tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///mlruns.db)").option("--json", "print as JSON");
}

export async function withClient<T>(o: TrackingCliOptions, fn: (client: TrackingClient) => Promise<T>): Promise<T> {
  // Loaded on use, so that listing the CLI or running another command does not load the store.
  const { TrackingClient } = await import("../tracking/client.js");
  const client = TrackingClient.open({ trackingUri: o.trackingUri });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2) + "\n");
}

/** The tracking commands' tables: the one formatter (src/util/text-table.ts) with a rule under the header. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return formatTextTable(headers, rows, { rule: true });
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined || ms === null) return "-";
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, "");
}
