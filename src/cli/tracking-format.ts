import type { Command } from "commander";
import type { TrackingClient } from "../tracking/client.js";

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

export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c ?? "").padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
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
