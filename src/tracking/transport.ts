import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { writeStreamAtomic } from "../util/atomic-write.js";
import { PolarityError, errorMessage, type ErrorCode } from "../util/errors.js";
import type { ArtifactStore } from "./artifact-store.js";
import { API_PREFIX, ARTIFACTS_PREFIX, ENDPOINTS, type EndpointName } from "./endpoints.js";
import { basicAuthorization } from "../http/auth.js";
import { TrackingService, wireReplacer } from "./service.js";
import { parseTrackingUri, redactUri } from "./uri.js";
import type { FileInfo } from "./types.js";

/**
 * How a TrackingClient reaches a tracking service: the same REST messages either as direct
 * calls into the service layer (in-process) or over HTTP to a Polarity or MLflow server.
 */
export interface Transport {
  readonly kind: "in-process" | "http";
  call(endpoint: EndpointName, request: object): Promise<unknown>;
  /** The `mlflow-artifacts:` store: list (basenames), upload, download. */
  listProxied(path: string): Promise<FileInfo[]>;
  uploadProxied(path: string, localFile: string): Promise<void>;
  downloadProxied(path: string, dstFile: string): Promise<void>;
  close(): Promise<void>;
}

export class InProcessTransport implements Transport {
  readonly kind = "in-process";
  constructor(
    readonly service: TrackingService,
    private readonly onClose: () => Promise<void> | void = () => {},
  ) {}

  async call(endpoint: EndpointName, request: object): Promise<unknown> {
    return this.service.handle(endpoint, request);
  }

  private artifacts(): ArtifactStore {
    if (!this.service.artifacts) throw new PolarityError("INVALID_PARAMETER_VALUE", "No artifact root configured for mlflow-artifacts:/ URIs");
    return this.service.artifacts;
  }

  async listProxied(path: string): Promise<FileInfo[]> {
    return (await this.artifacts().list(path, "")).map((f) => ({ ...f, path: f.path.split("/").pop()! }));
  }

  async uploadProxied(path: string, localFile: string): Promise<void> {
    await this.artifacts().copyIn(localFile, path);
  }

  async downloadProxied(path: string, dstFile: string): Promise<void> {
    const { stream } = await this.artifacts().openRead(path);
    await writeStreamAtomic(dstFile, stream);
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}

export interface HttpTransportOptions {
  baseUrl: string;
  token?: string;
  username?: string;
  password?: string;
  /** Per-attempt timeout. Default MLFLOW_HTTP_REQUEST_TIMEOUT seconds, else 120 s. */
  timeoutMs?: number;
  /** Retries after the first attempt for network errors, timeouts and 429/502/503/504. Default MLFLOW_HTTP_REQUEST_MAX_RETRIES, else 5. */
  maxRetries?: number;
  /** First backoff delay; doubles each retry. Default 500 ms. */
  backoffMs?: number;
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const KNOWN_CODES = new Set<string>([
  "INVALID_PARAMETER_VALUE",
  "BAD_REQUEST",
  "RESOURCE_ALREADY_EXISTS",
  "RESOURCE_DOES_NOT_EXIST",
  "ENDPOINT_NOT_FOUND",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "RESOURCE_CONFLICT",
  "REQUEST_LIMIT_EXCEEDED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "INTERNAL_ERROR",
]);

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 404) return "RESOURCE_DOES_NOT_EXIST";
  if (status === 409) return "RESOURCE_CONFLICT";
  if (status === 429) return "REQUEST_LIMIT_EXCEEDED";
  if (status >= 400 && status < 500) return "BAD_REQUEST";
  return "INTERNAL_ERROR";
}

export class HttpTransport implements Transport {
  readonly kind = "http";
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly authHeader: string | undefined;

  constructor(opts: HttpTransportOptions) {
    // Credentials written into the URL (http://user:pass@host) become Basic auth: fetch refuses
    // URLs with userinfo, and the URL would carry the password into every message.
    const target = parseTrackingUri(opts.baseUrl);
    if (target.kind !== "http") throw new PolarityError("INVALID_PARAMETER_VALUE", `Not an http(s) tracking URI: '${redactUri(opts.baseUrl)}'`);
    this.base = target.baseUrl;
    const username = opts.username ?? target.username;
    const password = opts.password ?? target.password;
    const envTimeout = Number(process.env.MLFLOW_HTTP_REQUEST_TIMEOUT);
    const envRetries = Number(process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES);
    this.timeoutMs = opts.timeoutMs ?? (envTimeout > 0 ? envTimeout * 1000 : 120_000);
    this.maxRetries = opts.maxRetries ?? (Number.isInteger(envRetries) && envRetries >= 0 ? envRetries : 5);
    this.backoffMs = opts.backoffMs ?? 500;
    if (opts.token) this.authHeader = `Bearer ${opts.token}`;
    else if (username !== undefined) this.authHeader = basicAuthorization(username, password ?? "");
  }

  /** One request with timeout and retries; `makeBody` is called per attempt (streams cannot be replayed). */
  private async request(
    method: string,
    url: string,
    makeBody?: () => { body: string | Readable; contentType?: string },
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
      const headers: Record<string, string> = { ...extraHeaders };
      if (this.authHeader) headers.authorization = this.authHeader;
      const init: RequestInit & { duplex?: "half" } = { method, headers, signal: AbortSignal.timeout(this.timeoutMs) };
      if (makeBody) {
        const { body, contentType } = makeBody();
        if (contentType) headers["content-type"] = contentType;
        init.body = body instanceof Readable ? (Readable.toWeb(body) as unknown as RequestInit["body"]) : body;
        if (body instanceof Readable) init.duplex = "half";
      }
      let res: Response;
      try {
        res = await fetch(url, init);
      } catch (err) {
        // Only a failed connection or a timeout is worth another attempt; anything else
        // (a malformed request, a bad URL) fails the same way every time.
        if (!isRetryableNetworkError(err)) throw new PolarityError("IO_ERROR", `${method} ${url} failed: ${redactSecrets(errorMessage(err))}`);
        lastError = err;
        continue;
      }
      if (RETRY_STATUSES.has(res.status) && attempt < this.maxRetries) {
        await res.body?.cancel();
        lastError = new Error(`HTTP ${res.status}`);
        continue;
      }
      if (!res.ok) throw await this.errorFrom(res, method, url);
      return res;
    }
    throw new PolarityError("IO_ERROR", `${method} ${url} failed after ${this.maxRetries + 1} attempts: ${redactSecrets(errorMessage(lastError))}`);
  }

  private async errorFrom(res: Response, method: string, url: string): Promise<PolarityError> {
    const text = await res.text();
    let code: ErrorCode = codeForStatus(res.status);
    let message = text.slice(0, 500) || `HTTP ${res.status}`;
    try {
      const body = JSON.parse(text) as { error_code?: string; message?: string };
      if (body.error_code && KNOWN_CODES.has(body.error_code)) code = body.error_code as ErrorCode;
      if (body.message) message = body.message;
    } catch {
      message = `${method} ${url.split("?")[0]} returned HTTP ${res.status}: ${message}`;
    }
    return new PolarityError(code, message);
  }

  async call(endpoint: EndpointName, request: object): Promise<unknown> {
    const def = ENDPOINTS[endpoint];
    // Logged-model routes carry ids in the path (`logged-models/:model_id`); the body keeps them too.
    let url = this.base + API_PREFIX + def.path.replace(/:(\w+)/g, (_, k: string) => encodeURIComponent(String((request as Record<string, unknown>)[k] ?? "")));
    let res: Response;
    if (def.method === "GET") {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(request)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const item of v) qs.append(k, String(item));
        else qs.append(k, String(v));
      }
      const q = qs.toString();
      if (q) url += `?${q}`;
      res = await this.request("GET", url);
    } else {
      const body = JSON.stringify(request, wireReplacer);
      // One key per logical create, the same on every retry: the server answers a retry whose
      // first attempt's response was lost with the run that attempt created.
      const headers: Record<string, string> = endpoint === "createRun" ? { "idempotency-key": randomUUID() } : {};
      res = await this.request(def.method, url, () => ({ body, contentType: "application/json" }), headers);
    }
    const text = await res.text();
    return text ? JSON.parse(text) : {};
  }

  private artifactUrl(path: string): string {
    return `${this.base}${ARTIFACTS_PREFIX}/${path.split("/").map(encodeURIComponent).join("/")}`;
  }

  async listProxied(path: string): Promise<FileInfo[]> {
    const res = await this.request("GET", `${this.base}${ARTIFACTS_PREFIX}?${new URLSearchParams({ path })}`);
    const body = (await res.json()) as { files?: FileInfo[] };
    return body.files ?? [];
  }

  async uploadProxied(path: string, localFile: string): Promise<void> {
    const res = await this.request("PUT", this.artifactUrl(path), () => ({ body: createReadStream(localFile), contentType: "application/octet-stream" }));
    await res.body?.cancel();
  }

  async downloadProxied(path: string, dstFile: string): Promise<void> {
    const res = await this.request("GET", this.artifactUrl(path));
    if (!res.body) throw new PolarityError("IO_ERROR", `empty response downloading ${path}`);
    await writeStreamAtomic(dstFile, Readable.fromWeb(res.body as import("node:stream/web").ReadableStream));
  }

  async close(): Promise<void> {}
}

export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/** A timeout or a connection-level failure (fetch wraps those in `TypeError: fetch failed` with a cause). */
export function isRetryableNetworkError(err: unknown): boolean {
  const e = err as { name?: string; message?: string; cause?: { code?: string } } | undefined;
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return true;
  const code = e?.cause?.code;
  if (code !== undefined) return RETRYABLE_CODES.has(code);
  return e?.name === "TypeError" && e.message === "fetch failed";
}

/** Hides `user:password@` in any URL inside a message. */
export function redactSecrets(message: string): string {
  return message.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi, "$1$2:***@");
}
