import { createHash } from "node:crypto";
import { DataError, InvalidParameterError, NotFoundError, PolarityError } from "../util/errors.js";

/**
 * Downloads a data file over http(s) with the guards the seed lacked: a timeout (connect +
 * whole body), a size cap enforced while streaming (not after buffering everything), an
 * optional expected SHA-256, and one clear message per failure (404, other HTTP status,
 * timeout, connection refused, too large, checksum mismatch). Redirects are followed by fetch.
 */

export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Lower-case hex SHA-256 the body must have; checked after download. */
  sha256?: string | null;
}

export interface Fetched {
  bytes: Buffer;
  contentType: string | null;
  /** The final URL after redirects. */
  url: string;
  sha256: string;
}

export async function fetchDataFile(url: string, opts: FetchOptions): Promise<Fetched> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidParameterError(`ingest.source: ${JSON.stringify(url)} is not a valid URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new InvalidParameterError(`ingest.source: only http:// and https:// URLs are supported, got ${parsed.protocol}`);
  }
  const shown = redact(parsed);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(parsed, {
        signal: controller.signal,
        redirect: "follow",
        headers: { accept: "text/csv, text/tab-separated-values, application/json, application/x-ndjson, text/plain;q=0.5, */*;q=0.1" },
      });
    } catch (err) {
      throw networkError(err, shown, opts.timeoutMs, controller.signal.aborted);
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      throw new NotFoundError(`download failed: ${shown} returned HTTP ${res.status} ${res.statusText || "Not Found"} (check the URL in ingest.source)`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new DataError(`download failed: ${shown} returned HTTP ${res.status} ${res.statusText}`.trim());
    }
    const declared = Number(res.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      await res.body?.cancel();
      throw new DataError(`download refused: ${shown} is ${formatBytes(declared)}, over the ${formatBytes(opts.maxBytes)} cap (raise ingest.http.max_bytes)`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const hash = createHash("sha256");
    try {
      if (res.body) {
        for await (const chunk of res.body) {
          const buf = Buffer.from(chunk as Uint8Array);
          total += buf.length;
          if (total > opts.maxBytes) {
            controller.abort();
            throw new DataError(`download stopped: ${shown} exceeded the ${formatBytes(opts.maxBytes)} cap (raise ingest.http.max_bytes)`);
          }
          hash.update(buf);
          chunks.push(buf);
        }
      }
    } catch (err) {
      if (err instanceof PolarityError) throw err;
      throw networkError(err, shown, opts.timeoutMs, controller.signal.aborted);
    }
    const sha256 = hash.digest("hex");
    if (opts.sha256 && opts.sha256.toLowerCase() !== sha256) {
      throw new DataError(
        `checksum mismatch for ${shown}: expected sha256 ${opts.sha256.toLowerCase()}, got ${sha256} (the file changed upstream, or ingest.http.sha256 is wrong)`,
      );
    }
    return { bytes: Buffer.concat(chunks, total), contentType: res.headers.get("content-type"), url: res.url || parsed.href, sha256 };
  } finally {
    clearTimeout(timer);
  }
}

function networkError(err: unknown, shown: string, timeoutMs: number, aborted: boolean): PolarityError {
  if (aborted) return new DataError(`download timed out: no complete response from ${shown} within ${timeoutMs} ms (raise ingest.http.timeout_ms)`);
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return new DataError(`download failed: cannot reach ${shown} (${detail})`);
}

/** Drops credentials from a URL before printing it. */
function redact(u: URL): string {
  if (!u.username && !u.password) return u.href;
  const copy = new URL(u.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
