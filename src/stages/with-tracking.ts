import { execFile } from "node:child_process";
import { TrackingClient } from "../tracking/client.js";
import type { TrackingParams } from "./params.js";

/**
 * The pipeline's tracking store: `tracking.uri` from params.yaml, else MLFLOW_TRACKING_URI,
 * else the embedded `sqlite:///mlruns.db` with artifacts in `./mlartifacts/` (relative to the
 * project directory, where stages run).
 */
export function openTracking(p: TrackingParams): TrackingClient {
  return TrackingClient.open({ trackingUri: p.uri ?? undefined });
}

export async function withTracking<T>(p: TrackingParams, fn: (client: TrackingClient) => Promise<T>): Promise<T> {
  const client = openTracking(p);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** HEAD's commit when `dir` is in a git work tree (and whether the tree has changes), else null. */
export function gitCommit(dir: string): Promise<{ commit: string; dirty: boolean } | null> {
  const git = (args: string[]): Promise<string | null> =>
    new Promise((resolve) => {
      execFile("git", args, { cwd: dir, timeout: 5000 }, (err, stdout) => resolve(err ? null : stdout.trim()));
    });
  return git(["rev-parse", "HEAD"]).then(async (commit) => {
    if (!commit || !/^[0-9a-f]{40}$/.test(commit)) return null;
    const status = await git(["status", "--porcelain", "--untracked-files=no"]);
    return { commit, dirty: status !== null && status.length > 0 };
  });
}
