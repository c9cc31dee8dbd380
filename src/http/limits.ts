import { isUtf8 } from "node:buffer";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { PolarityError } from "../util/errors.js";

/**
 * Resource limits shared by Polarity's two fastify apps (the model server and the tracking
 * server): socket/request timeouts and a JSON parser that refuses deep nesting before
 * JSON.parse recurses into it (issue 9 items 4 and 11).
 */

// ---- timeouts -----------------------------------------------------------------------------

export interface HttpTimeouts {
  /** Whole request (headers and body) must arrive within this (Node's server.requestTimeout). */
  requestTimeoutMs: number;
  /** Headers must arrive within this (Node's server.headersTimeout); at most requestTimeoutMs. */
  headersTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed (fastify's connectionTimeout). */
  idleTimeoutMs: number;
  /** An idle kept-alive connection is closed after this (Node's server.keepAliveTimeout). */
  keepAliveTimeoutMs: number;
}

/**
 * Defaults for both servers. Node's own are 300 s per request and no idle limit; fastify sets
 * requestTimeout and connectionTimeout to 0 (off): a client that sends headers and one body
 * byte would hold a socket for ever.
 */
export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = Object.freeze({
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // Longer than a load balancer's idle timeout (60 s on AWS ALB, GCP's 600 s is the
  // exception): the LB must close a kept-alive upstream connection first, or it may reuse one
  // the server is closing and answer 502. fastify's default is 72 s for this reason.
  idleTimeoutMs: 120_000,
  keepAliveTimeoutMs: 72_000,
});

/**
 * The fastify constructor options that apply `t`. Node checks request/headers timeouts on a
 * timer (`connectionsCheckingInterval`, default 30 s); it is tightened so a 2 s timeout is
 * enforced within ~0.5 s instead of up to 30 s late.
 */
export function fastifyTimeoutOptions(t: HttpTimeouts): Pick<FastifyServerOptions, "requestTimeout" | "connectionTimeout" | "keepAliveTimeout"> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number; keepAliveTimeout: number };
} {
  const headersTimeout = Math.min(t.headersTimeoutMs, t.requestTimeoutMs || t.headersTimeoutMs);
  const smallest = Math.min(...[t.requestTimeoutMs, headersTimeout].filter((v) => v > 0));
  const connectionsCheckingInterval = Number.isFinite(smallest) ? Math.max(100, Math.min(30_000, Math.floor(smallest / 4))) : 30_000;
  return {
    requestTimeout: t.requestTimeoutMs,
    connectionTimeout: t.idleTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    http: { headersTimeout, requestTimeout: t.requestTimeoutMs, connectionsCheckingInterval, keepAliveTimeout: t.keepAliveTimeoutMs },
  };
}

// ---- JSON nesting ---------------------------------------------------------------------------

/** No Polarity or MLflow request nests deeper than a few levels; 64 leaves ample room. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/**
 * Byte offset where `bytes` (JSON text) first nests deeper than `maxDepth` arrays/objects, or
 * -1. One linear pass that tracks strings and escapes, no allocation: run before JSON.parse,
 * so a 60 MB `[[[[…` body is refused in milliseconds instead of recursing into a stack
 * overflow after seconds and gigabytes.
 */
export function jsonNestingExceeds(bytes: Uint8Array, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

export interface JsonParserOptions {
  maxDepth?: number;
}

/**
 * Replaces fastify's JSON parser (and drops its text/plain one) with one that checks, in
 * order: valid UTF-8 (Node would otherwise substitute U+FFFD silently), nesting depth, then
 * parses with fastify's prototype-poisoning protection. Errors are 400 BAD_REQUEST with a
 * specific message.
 */
export function installJsonParser(app: FastifyInstance, options: JsonParserOptions = {}): void {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) return done(new PolarityError("BAD_REQUEST", "request body is not valid UTF-8"), undefined);
    const at = jsonNestingExceeds(bytes, maxDepth);
    if (at >= 0) return done(new PolarityError("BAD_REQUEST", `request body nests JSON deeper than ${maxDepth} levels (at byte ${at})`), undefined);
    parseJson(request, bytes.toString("utf8"), done);
  });
}

/** Decodes a body as UTF-8 or refuses it (form and CSV parsers). */
export function decodeUtf8Body(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw new PolarityError("BAD_REQUEST", "request body is not valid UTF-8");
  return bytes.toString("utf8");
}
