import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTrackingServer, type RunningServer, type TrackingServerOptions } from "../../src/tracking/server.js";

/**
 * A real `polarity server` (the function the CLI calls) on 127.0.0.1 with a real SQLite file
 * and a real artifact directory inside a temp directory (`dir/outside` is a sibling of the
 * artifact root, for escape attempts).
 */
export interface AttackTarget {
  server: RunningServer;
  url: string;
  dir: string;
  artifactRoot: string;
  api(path: string, body?: unknown, method?: string): Promise<{ status: number; json: { error_code?: string; message?: string; [k: string]: unknown } }>;
  close(): Promise<void>;
}

export async function attackTarget(options: Partial<TrackingServerOptions> = {}): Promise<AttackTarget> {
  const dir = mkdtempSync(join(tmpdir(), "polarity-attack-"));
  const artifactRoot = join(dir, "artifacts");
  const server = await startTrackingServer({
    host: "127.0.0.1",
    port: 0,
    backendStoreUri: `sqlite:///${join(dir, "mlruns.db")}`,
    artifactsDestination: artifactRoot,
    ...options,
  });
  const api: AttackTarget["api"] = async (path, body, method) => {
    const m = method ?? (body === undefined ? "GET" : "POST");
    const res = await fetch(`${server.url}${path}`, {
      method: m,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { raw: text };
    }
    return { status: res.status, json };
  };
  return {
    server,
    url: server.url,
    dir,
    artifactRoot,
    api,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
