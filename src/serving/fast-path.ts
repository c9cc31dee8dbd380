import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { FastifyServerOptions } from "fastify";
import { isAuthorized } from "./auth.js";
import type { ServingContext } from "./context.js";
import type { RequestSeries } from "./metrics.js";
import type { Label, LoadedModel } from "./model-types.js";
import { OFF_LOOP_MIN_CHARS, OFF_LOOP_MIN_TEXTS, type TypedScores } from "./predictor.js";
import { scanPredictBody } from "./predict-body.js";

/**
 * The hot route's own path (issue 12): `POST /predict {"text": "..."}` and `{"texts": [...]}`
 * answered straight from node:http, without fastify's routing, hooks, content-type parser,
 * JSON.parse + Ajv walk, fast-json-stringify and reply pipeline, which cost more per request
 * than scoring one short text, and several times the scoring of a 1,000-text batch's own
 * overhead.
 *
 * It takes a request only when the headers already show the common case (exact URL, JSON
 * content type, a Content-Length within FAST_MAX_BODY_BYTES, credentials accepted, a model
 * loaded, not draining, no access log); everything else goes to fastify untouched. Once the
 * body is read, predict-body.ts recognises exactly `{"text": <string>}` or
 * `{"texts": [<string>, ...]}`; the texts must pass the route's checks (length, blank,
 * batch size and characters) and be a batch the full path scores on the event loop (below
 * OFF_LOOP_MIN_* when the server has a prediction pool: larger ones go to the pool and its work
 * budget there; a cluster worker has no pool and answers every batch here). Any other
 * body (explain, bad JSON, invalid UTF-8, a blank or too long text, an extra key, a huge
 * batch) is handed to fastify with the bytes already read (the route's preParsing hook replays
 * them, see stashedBody), so every error and every other shape keeps the one code path and
 * its exact answers.
 *
 * What the full path does per request is done here too: the same request id series and
 * headers (x-request-id, x-content-type-options), the same scoring, metrics and monitoring
 * ids (Predictor.scoreTyped), the same body bytes as fastify's serialiser from the response
 * schema (required `model` first, then the optional fields in schema order; batch items with
 * `id` last), and the request counted in app_request_count_total / app_request_latency_seconds.
 * test/serving/fast-path.test.ts compares both paths byte for byte.
 *
 * A hook added to the app later (app.addHook) does not run here: add its effect to this path
 * too, or make `take` refuse the requests it concerns.
 */

/** Bodies above this go to fastify (and so does any batch the full path would send to the prediction pool). */
export const FAST_MAX_BODY_BYTES = 1024 * 1024;

const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const NON_SPACE = /\S/;
const NON_ASCII = /[\u0080-\uffff]/;
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
  private maxBatchSize = 0;
  private maxBatchChars = 0;
  private series: RequestSeries | null = null;
  /** Requests answered here, and requests read here but handed to fastify (tests, diagnostics). */
  readonly counts = { answered: 0, handedOver: 0 };
  private readonly fragments = new WeakMap<LoadedModel, Fragments>();
  private readonly buffers = new ResponseBuffers();
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
    this.maxBatchSize = config.maxBatchSize;
    this.maxBatchChars = config.maxBatchChars;
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
    const declared = this.take(req);
    if (declared === 0) {
      this.fallback(req, res);
      return;
    }
    const start = performance.now();
    let first: Buffer | null = null;
    let chunks: Buffer[] | null = null;
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      if (first === null) first = chunk;
      else (chunks ??= [first]).push(chunk);
      length += chunk.length;
    });
    req.on("end", () => {
      const body = chunks === null ? (first ?? Buffer.alloc(0)) : Buffer.concat(chunks, length);
      this.answer(req, res, body, length === declared, start);
    });
  };

  /** The declared body length when the headers show a request this path may answer (the body decides the rest), else 0. */
  private take(req: IncomingMessage): number {
    if (req.method !== "POST" || req.url !== "/predict") return 0;
    const h = req.headers;
    const type = h["content-type"];
    if (type === undefined || (type !== "application/json" && !JSON_CONTENT_TYPE.test(type))) return 0;
    const declared = h["content-length"];
    if (declared === undefined || h["transfer-encoding"] !== undefined) return 0;
    const bytes = Number(declared);
    if (!(bytes > 0 && bytes <= this.maxBytes)) return 0;
    const { ctx } = this;
    if (ctx === null || ctx.draining || ctx.config.accessLog || ctx.holder.current === null) return 0;
    if (this.auth !== null && !isAuthorized(h.authorization, this.auth)) return 0;
    return bytes;
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: Buffer, complete: boolean, start: number): void {
    const ctx = this.ctx!;
    const scanned = complete ? scanPredictBody(body, this.maxBatchSize) : null;
    const loaded = ctx.holder.current;
    if (scanned === null || loaded === null || ctx.draining || !this.withinLimits(scanned.texts)) return this.giveBack(req, res, body);
    let scores: TypedScores;
    try {
      scores = ctx.predictor.scoreTyped(loaded, scanned.texts);
    } catch {
      // The full path runs it again and answers with its error mapping.
      return this.giveBack(req, res, body);
    }
    const f = this.fragmentsOf(loaded);
    // ASCII (the usual case: ASCII model fragments, numbers; monitoring ids always are): one byte per character.
    const ascii = f.ascii;
    if (!scanned.single && ascii) {
      // A batch answer (~145 bytes per prediction) is written into a reused buffer, chunk by chunk.
      const out = this.buffers.take();
      this.serialiseBatch(scores, f, out.sink);
      this.writeHeadOk(req, res, out.length);
      res.end(out.bytes());
      res.once("finish", () => this.buffers.give(out));
    } else {
      let json = "";
      if (scanned.single) json = this.serialiseOne(scores, f);
      else this.serialiseBatch(scores, f, (chunk) => (json += chunk));
      this.writeHeadOk(req, res, ascii ? json.length : Buffer.byteLength(json));
      res.end(json, ascii ? "latin1" : "utf8");
    }
    this.counts.answered++;
    this.series!.observe((performance.now() - start) / 1000);
  }

  private writeHeadOk(req: IncomingMessage, res: ServerResponse, length: number): void {
    res.writeHead(200, [
      "x-request-id",
      this.requestId(req),
      "x-content-type-options",
      "nosniff",
      "content-type",
      "application/json; charset=utf-8",
      "content-length",
      String(length),
    ]);
  }

  private giveBack(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    (req as StashedRequest)[STASHED] = body;
    this.counts.handedOver++;
    this.fallback(req, res);
  }

  /**
   * The route's checks (work.ts checkTexts; the body schema's maxLength and maxItems) for the
   * texts of a scanned body, and the batch size the full path would score on the event loop:
   * anything they would refuse, and batches for the prediction pool, go to the full path.
   */
  private withinLimits(texts: readonly string[]): boolean {
    const offLoop = this.ctx!.predictor.offLoop;
    if (offLoop && texts.length >= OFF_LOOP_MIN_TEXTS) return false;
    let chars = 0;
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i];
      if (t.length > this.maxTextLength) return false;
      // Not blank: a printable ASCII first character settles it without the regex.
      const c = t.charCodeAt(0);
      if (!(c > 0x20 && c < 0x7f) && !NON_SPACE.test(t)) return false;
      chars += t.length;
    }
    return chars <= this.maxBatchChars && !(offLoop && chars >= OFF_LOOP_MIN_CHARS);
  }

  /** JSON fragments of one served model, built once: the response's model prefix and each class's fields. */
  private fragmentsOf(loaded: LoadedModel): Fragments {
    let f = this.fragments.get(loaded);
    if (f === undefined) {
      const { classes, classNames } = loaded.model;
      const keys = classes.map(String);
      // The order fast-json-stringify (and JSON.stringify) writes an object's keys in: integer-like
      // keys ascending, then the others as inserted (predictions insert them in class order).
      const probe: Record<string, number> = {};
      keys.forEach((key, c) => (probe[key] = c));
      const order = Object.keys(probe).map((key) => probe[key]);
      const model = JSON.stringify(this.ctx!.modelRef(loaded));
      const head = classes.map((label, c) => `"label":${labelJson(label)},"class_name":${quote(classNames?.[c] ?? keys[c])},"score":`);
      const probKeys = order.map((c, j) => `${j === 0 ? "" : ","}${JSON.stringify(keys[c])}:`);
      f = {
        ascii: [model, ...head, ...probKeys].every((x) => NON_ASCII.test(x) === false),
        single: `{"model":${model}`,
        batch: `{"model":${model},"predictions":[`,
        head,
        order,
        probKeys,
      };
      this.fragments.set(loaded, f);
    }
    return f;
  }

  /** fast-json-stringify's bytes for one prediction under the route's response schema: `model` (required) first, then id, label, class_name, score, probabilities. */
  private serialiseOne(scores: TypedScores, f: Fragments): string {
    const id = scores.ids?.[0];
    return `${f.single}${id === undefined ? "" : `,"id":"${id}"`},${f.head[scores.best[0]]}${this.probabilities(scores, 0, f)}}`;
  }

  /**
   * The same for a batch: `model`, then `predictions`, each with its required fields first and
   * `id` last (PredictionOut), handed to `emit` in chunks of BATCH_CHUNK predictions (~9 KB):
   * one string for the whole answer (~145 KB for 1,000) would be flattened into V8's large-object
   * space on every request, and that allocation (fresh pages) cost more than writing the answer.
   */
  private serialiseBatch(scores: TypedScores, f: Fragments, emit: (chunk: string) => void): void {
    const { best, ids, k } = scores;
    let s = f.batch;
    if (k === 2) {
      // Two classes (the usual case): one template per prediction, no intermediate strings.
      const { proba } = scores;
      const [k0, k1] = f.probKeys;
      const firstIsZero = f.order[0] === 0;
      for (let i = 0, o = 0; i < best.length; i++, o += 2) {
        const b = best[i];
        const p0 = num(proba[o]);
        const p1 = num(proba[o + 1]);
        s +=
          ids === undefined
            ? `${i === 0 ? "{" : ",{"}${f.head[b]}${b === 0 ? p0 : p1},"probabilities":{${k0}${firstIsZero ? p0 : p1}${k1}${firstIsZero ? p1 : p0}}}`
            : `${i === 0 ? "{" : ",{"}${f.head[b]}${b === 0 ? p0 : p1},"probabilities":{${k0}${firstIsZero ? p0 : p1}${k1}${firstIsZero ? p1 : p0}},"id":"${ids[i]}"}`;
        if (i % BATCH_CHUNK === BATCH_CHUNK - 1) {
          emit(s);
          s = "";
        }
      }
      emit(`${s}]}`);
      return;
    }
    for (let i = 0; i < best.length; i++) {
      s += `${i === 0 ? "{" : ",{"}${f.head[best[i]]}${this.probabilities(scores, i, f)}`;
      if (ids !== undefined) s += `,"id":"${ids[i]}"`;
      s += "}";
      if (i % BATCH_CHUNK === BATCH_CHUNK - 1) {
        emit(s);
        s = "";
      }
    }
    emit(`${s}]}`);
  }

  /** `<score>,"probabilities":{…}` of text i. */
  private probabilities(scores: TypedScores, i: number, f: Fragments): string {
    const { proba, k, best } = scores;
    const o = i * k;
    const b = best[i];
    // Each number is formatted once: the score is the predicted class's probability.
    let score = "";
    let s = "";
    for (let j = 0; j < k; j++) {
      const c = f.order[j];
      const v = num(proba[o + c]);
      if (c === b) score = v;
      s += f.probKeys[j] + v;
    }
    return `${score},"probabilities":{${s}}`;
  }
}

/** Predictions per chunk of a batch answer (~145 bytes each: chunks stay far below V8's 128 KB large-object threshold). */
const BATCH_CHUNK = 64;
/** A response buffer's first size, and the largest one kept for reuse. */
const RESPONSE_BUFFER_BYTES = 256 * 1024;
const RESPONSE_BUFFER_MAX_KEPT_BYTES = 2 * 1024 * 1024;
const RESPONSE_BUFFERS_KEPT = 8;

/**
 * Buffers for ASCII batch answers, reused: a fresh 145 KB buffer (or string) per answer is
 * fresh memory from the system each time. A buffer comes back only once its response has
 * finished (the socket took every byte); one whose response did not finish (a closed
 * connection) is left to the garbage collector, so a buffer is never rewritten while a write
 * may still read it.
 */
class ResponseBuffers {
  private readonly free: ResponseBuffer[] = [];

  take(): ResponseBuffer {
    const b = this.free.pop() ?? new ResponseBuffer();
    b.length = 0;
    return b;
  }

  give(b: ResponseBuffer): void {
    if (this.free.length < RESPONSE_BUFFERS_KEPT && b.capacity <= RESPONSE_BUFFER_MAX_KEPT_BYTES) this.free.push(b);
  }
}

class ResponseBuffer {
  private buf: Buffer = Buffer.allocUnsafeSlow(RESPONSE_BUFFER_BYTES);
  length = 0;

  get capacity(): number {
    return this.buf.length;
  }

  /** Appends an ASCII chunk (one byte per character), growing the buffer when it must. */
  readonly sink = (chunk: string): void => {
    const end = this.length + chunk.length;
    if (end > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(end, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += this.buf.write(chunk, this.length, "latin1");
  };

  /** The bytes written so far (a view, valid until the buffer is taken again). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

interface Fragments {
  /** True when every fragment is ASCII. */
  ascii: boolean;
  /** `{"model":{…}` and `{"model":{…},"predictions":[`. */
  single: string;
  batch: string;
  /** Per class: `"label":…,"class_name":…,"score":`. */
  head: string[];
  /** Class indices in the order the probabilities object lists them, and each key's `"key":` (with its comma). */
  order: number[];
  probKeys: string[];
}

function quote(s: string): string {
  return isPlainToken(s) ? `"${s}"` : JSON.stringify(s);
}

/** `[A-Za-z0-9_.:-]*`: written between quotes as is, by fast-json-stringify as by JSON.stringify. */
function isPlainToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // a-z, A-Z, 0-9 and - . : (0x2d..0x3a without /), _
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x2d && c <= 0x3a && c !== 0x2f) || c === 0x5f)) return false;
  }
  return true;
}

function labelJson(l: Label): string {
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
