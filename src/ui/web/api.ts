/**
 * The MLflow REST API, called as any client would (same endpoints, same auth). Credentials the
 * user signs in with stay in this tab's sessionStorage and go out as the Authorization header.
 */

import type { DatasetInput, Experiment, FileInfo, KeyValue, Metric as StoredMetric, ModelVersion, RegisteredModel, RunInfo } from "../../tracking/types.js";

const AUTH_KEY = "polarity.authorization";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function authorization(): string | null {
  return sessionStorage.getItem(AUTH_KEY);
}

export function signIn(opts: { token?: string; username?: string; password?: string }): void {
  if (opts.token) sessionStorage.setItem(AUTH_KEY, `Bearer ${opts.token}`);
  else if (opts.username)
    sessionStorage.setItem(AUTH_KEY, `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${opts.username}:${opts.password ?? ""}`)))}`);
}

export function signOut(): void {
  sessionStorage.removeItem(AUTH_KEY);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const auth = authorization();
  return auth ? { ...extra, authorization: auth } : extra;
}

async function fail(res: Response): Promise<never> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error_code?: string; message?: string };
    if (body.error_code) code = body.error_code;
    if (body.message) message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) message = `${message} Sign in (top right) with the server's credentials.`;
  throw new ApiError(res.status, code, message);
}

/** Listeners told about a 401 (the header shows the sign-in button prominently). */
export const unauthorizedListeners = new Set<() => void>();

async function request(path: string, init: RequestInit): Promise<Response> {
  const res = await fetch(path, { ...init, headers: headers(init.headers as Record<string, string> | undefined), credentials: "same-origin" });
  if (res.status === 401) for (const l of unauthorizedListeners) l();
  if (!res.ok) await fail(res);
  return res;
}

/** GET `/api/2.0/mlflow/<path>` with query parameters (arrays repeat the key). */
export async function apiGet<T>(path: string, query: Record<string, string | number | string[] | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return (await request(`/api/2.0/mlflow/${path}${s ? `?${s}` : ""}`, { method: "GET" })).json() as Promise<T>;
}

/** POST/PATCH/DELETE `/api/2.0/mlflow/<path>` with a JSON body. */
export async function apiSend<T>(method: "POST" | "PATCH" | "DELETE", path: string, body: object): Promise<T> {
  return (
    await request(`/api/2.0/mlflow/${path}`, { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } })
  ).json() as Promise<T>;
}

/** A UI-only endpoint of this server (`/ui-api/…`, `/get-artifact`). */
export async function uiGet(path: string): Promise<Response> {
  return request(path, { method: "GET" });
}

// MLflow's messages as src/tracking declares them; on the wire a non-finite metric value is a
// string ("NaN", "Infinity") and empty lists may be left out.
export type { DatasetInput, Experiment, FileInfo, KeyValue, ModelVersion, RegisteredModel, RunInfo };
export type Metric = Omit<StoredMetric, "value"> & { value: number | string };
export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[] };
}

export function tagOf(run: Run, key: string): string | undefined {
  return run.data.tags?.find((t) => t.key === key)?.value;
}

export function metricValue(v: number | string): number {
  return typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : Number(v);
}

/** Every point of a metric's history (the server pages at 25 M points; follow tokens anyway). */
export async function metricHistory(runId: string, key: string): Promise<Metric[]> {
  const out: Metric[] = [];
  let token: string | undefined;
  do {
    const page = await apiGet<{ metrics?: Metric[]; next_page_token?: string }>("metrics/get-history", {
      run_id: runId,
      metric_key: key,
      max_results: 1_000_000,
      page_token: token,
    });
    if (page.metrics) for (const m of page.metrics) out.push(m);
    token = page.next_page_token;
  } while (token);
  return out;
}

/** A point of MLflow's sampled history: the metric plus the run it belongs to. */
export type SampledMetric = Metric & { run_id: string };

/** Most points one run's chart asks for: about one per pixel of a wide chart. */
export const SAMPLED_POINTS = 1000;

/**
 * The sampled histories of up to 100 runs in one request — MLflow's own endpoint for its
 * charts (`/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval`): evenly spaced steps over
 * all the runs' steps plus each run's first and last, so a 10^5-point history arrives as about
 * SAMPLED_POINTS points. Grouped by run id.
 */
export async function sampledHistories(runIds: string[], key: string, maxResults = SAMPLED_POINTS): Promise<Map<string, Metric[]>> {
  const out = new Map<string, Metric[]>(runIds.map((id) => [id, []]));
  for (let i = 0; i < runIds.length; i += 100) {
    const q = new URLSearchParams({ metric_key: key, max_results: String(maxResults) });
    for (const id of runIds.slice(i, i + 100)) q.append("run_ids", id);
    const res = await request(`/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?${q.toString()}`, { method: "GET" });
    const body = (await res.json()) as { metrics?: SampledMetric[] };
    for (const m of body.metrics ?? []) out.get(m.run_id)?.push(m);
  }
  return out;
}

/** The full history as CSV (step, timestamp, value), for the "Download" button. */
export function historyCsv(points: Metric[]): string {
  let csv = "step,timestamp,value\n";
  for (const p of points) csv += `${p.step},${p.timestamp},${p.value}\n`;
  return csv;
}
