import { isUtf8 } from "node:buffer";
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { FastifyServerOptions } from "fastify";
import { jsonNestingExceeds, DEFAULT_MAX_JSON_DEPTH } from "../http/limits.js";
import { isAuthorized } from "./auth.js";
import type { ServingContext } from "./context.js";
import type { RequestSeries } from "./metrics.js";
import type { Label, LoadedModel } from "./model-types.js";
import type { PredictionView } from "./predictor.js";

/**
 * The hot route's own path (issue 12): `POST /predict {"text": "..."}` answered straight from
 * node:http, without fastify's routing, hooks, content-type parser, Ajv validation and
 * reply pipeline, which cost more per request than scoring one short text.
 *
 * It takes a request only when the headers already show the common case (exact URL, JSON
 * content type, a Content-Length within FAST_MAX_BODY_BYTES, credentials accepted, a model
 * loaded, not draining, no access log); everything else goes to fastify untouched. Once the
 * body is read it answers only a body that is exactly `{"text": <string>}` with a valid,
 * non-blank text within --max-text-length; any other body (a batch, explain, bad JSON, a
 * blank or too long text, an extra key) is handed to fastify with the bytes already read
 * (the route's preParsing hook replays them, see stashedBody), so every error and every other
 * shape keeps the one code path and its exact answers.
 *
 * What the full path does per request is done here too: the same request id series and
 * headers (x-request-id, x-content-type-options), the same prediction (Predictor.predict:
 * metrics, monitoring ids), the same body bytes as fastify's serialiser from the response
 * schema (required `model` first, then the optional fields in schema order), and the request
 * counted in app_request_count_total / app_request_latency_seconds. test/serving/fast-path.test.ts
 * compares both paths byte for byte.
 *
 * A hook added to the app later (app.addHook) does not run here: add its effect to this path
 * too, or make `take` refuse the requests it concerns.
 */

/** Bodies above this go to fastify (a single text of --max-text-length UTF-16 units may be larger; it still works, on the full path). */
export const FAST_MAX_BODY_BYTES = 64 * 1024;

const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const NON_SPACE = /\S/;
const PLAIN_TOKEN = /^[\w.:-]*$/;
const STASHED = Symbol("polarity.fastPath.body");

type StashedRequest = IncomingMessage & { [STASHED]?: Buffer };

/** The body the fast path read before handing the request to fastify, as a stream (once), else null. */
export function stashedBody(raw: IncomingMessage): Readable | null {
  const r = raw as StashedRequest;
  const body = r[STASHED];
  if (body === undefined) return null;
  r[STASHED] = undefined;
  return Readable.from([body], { objectMode: false });
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export class FastPredictPath {
  private ctx: ServingContext | null = null;
  private auth: { token?: string; basic?: string } | null = null;
  private maxBytes = 0;
  private maxTextLength = 0;
  private series: RequestSeries | null = null;
  /** Requests answered here, and requests read here but handed to fastify (tests, diagnostics). */
  readonly counts = { answered: 0, handedOver: 0 };
  private readonly prefixes = new WeakMap<LoadedModel, { prefix: string; keys: string[]; quotedKeys: string[] }>();
  /** fastify's request handler, for the requests this path gives back (set by fastPathServerFactory). */
  private fallback: Handler = (_req, res) => {
    res.writeHead(503).end();
  };

  constructor(private readonly requestId: (req: IncomingMessage) => string) {}

  /** Starts taking requests for the server of `ctx` (until then every request goes to fastify). */
  attach(ctx: ServingContext): void {
    const { config } = ctx;
    this.auth =
      config.authToken === undefined && config.authBasic === undefined
        ? null
        : {
            ...(config.authToken !== undefined ? { token: config.authToken } : {}),
            ...(config.authBasic !== undefined ? { basic: config.authBasic } : {}),
          };
    this.maxBytes = Math.min(FAST_MAX_BODY_BYTES, config.bodyLimitBytes);
    this.maxTextLength = config.maxTextLength;
    this.series = ctx.metrics.requestSeries("POST", "/predict");
    this.ctx = ctx;
    ctx.fastPath = this;
  }

  /** fastify's handler: what the requests this path does not answer go to. */
  handOver(handler: Handler): void {
    this.fallback = handler;
  }

  /** The server's request listener: the fast path when it applies, else fastify. */
  readonly listener: Handler = (req, res) => {
    if (!this.take(req)) {
      this.fallback(req, res);
      return;
    }
    const start = performance.now();
    const chunks: Buffer[] = [];
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    req.once("end", () => this.answer(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length), start));
  };

  /** Whether the headers show a request this path may answer (the body decides the rest). */
  private take(req: IncomingMessage): boolean {
    if (req.method !== "POST" || req.url !== "/predict") return false;
    const h = req.headers;
    const type = h["content-type"];
    if (type === undefined || (type !== "application/json" && !JSON_CONTENT_TYPE.test(type))) return false;
    const declared = h["content-length"];
    if (declared === undefined || h["transfer-encoding"] !== undefined) return false;
    const bytes = Number(declared);
    if (!(bytes > 0 && bytes <= this.maxBytes)) return false;
    const { ctx } = this;
    if (ctx === null || ctx.draining || ctx.config.accessLog || ctx.holder.current === null) return false;
    if (this.auth !== null && !isAuthorized(h.authorization, this.auth)) return false;
    return true;
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: Buffer, start: number): void {
    const ctx = this.ctx!;
    const text = this.singleText(req, body);
    const loaded = ctx.holder.current;
    if (text === null || loaded === null || ctx.draining) return this.giveBack(req, res, body);
    let view: PredictionView;
    try {
      view = ctx.predictor.predict(loaded, [text])[0];
    } catch {
      // The full path runs it again and answers with its error mapping.
      return this.giveBack(req, res, body);
    }
    const json = this.serialise(view, loaded);
    res.writeHead(200, {
      "x-request-id": this.requestId(req),
      "x-content-type-options": "nosniff",
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(json),
    });
    res.end(json);
    this.counts.answered++;
    this.series!.observe((performance.now() - start) / 1000);
  }

  private giveBack(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    (req as StashedRequest)[STASHED] = body;
    this.counts.handedOver++;
    this.fallback(req, res);
  }

  /** The text of a body that is exactly `{"text": "<valid, non-blank, within the limit>"}`, else null. */
  private singleText(req: IncomingMessage, body: Buffer): string | null {
    if (body.length !== Number(req.headers["content-length"]) || !isUtf8(body) || jsonNestingExceeds(body, DEFAULT_MAX_JSON_DEPTH) >= 0) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return null;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
    // Own keys only (JSON.parse makes "__proto__" an own key, which is refused here like any other).
    for (const key in parsed) if (key !== "text") return null;
    const text = (parsed as { text?: unknown }).text;
    if (typeof text !== "string" || text.length > this.maxTextLength || !NON_SPACE.test(text)) return null;
    return text;
  }

  /** fast-json-stringify's bytes for the route's response schema: `model` (required) first, then id, label, class_name, score, probabilities. */
  private serialise(view: PredictionView, loaded: LoadedModel): string {
    let cached = this.prefixes.get(loaded);
    if (cached === undefined) {
      const keys = loaded.model.classes.map(String);
      cached = { prefix: `{"model":${JSON.stringify(this.ctx!.modelRef(loaded))}`, keys, quotedKeys: keys.map((k) => JSON.stringify(k)) };
      this.prefixes.set(loaded, cached);
    }
    let s = cached.prefix;
    if (view.id !== undefined) s += `,"id":${quote(view.id)}`;
    s += `,"label":${label(view.label)},"class_name":${quote(view.class_name)},"score":${num(view.score)},"probabilities":{`;
    const p = view.probabilities;
    const { keys, quotedKeys } = cached;
    let first = true;
    for (const key in p) {
      const i = keys.indexOf(key);
      s += `${first ? "" : ","}${i >= 0 ? quotedKeys[i] : JSON.stringify(key)}:${num(p[key])}`;
      first = false;
    }
    return `${s}}}`;
  }
}

function quote(s: string): string {
  return PLAIN_TOKEN.test(s) ? `"${s}"` : JSON.stringify(s);
}

function label(l: Label): string {
  return typeof l === "string" ? quote(l) : num(l);
}

/** fast-json-stringify's asNumber for finite numbers and ±Infinity (null); NaN cannot reach here (the canary refuses such models). */
function num(v: number): string {
  return Number.isFinite(v) ? `${v}` : "null";
}

/**
 * fastify's `serverFactory`: the same node:http server fastify would build (its http options,
 * keep-alive, request and idle timeouts) with `path.listener` in front of fastify's handler.
 */
export function fastPathServerFactory(path: FastPredictPath): NonNullable<FastifyServerOptions["serverFactory"]> {
  return (handler, opts) => {
    path.handOver(handler as Handler);
    const o = opts as FastifyServerOptions & { http?: ServerOptions };
    const server: Server = createServer(o.http ?? {}, path.listener);
    if (o.keepAliveTimeout !== undefined) server.keepAliveTimeout = o.keepAliveTimeout;
    if (o.requestTimeout !== undefined) server.requestTimeout = o.requestTimeout;
    if (o.connectionTimeout !== undefined) server.setTimeout(o.connectionTimeout);
    if (o.maxRequestsPerSocket !== undefined && o.maxRequestsPerSocket !== null && o.maxRequestsPerSocket > 0)
      server.maxRequestsPerSocket = o.maxRequestsPerSocket;
    return server;
  };
}
