import { isUtf8 } from "node:buffer";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { PolarityError } from "../util/errors.js";

/**
 * Error mapping and body parsers: every failure leaves as JSON `{error_code, message}`
 * with the right status (never a stack trace, never a 500 for a client's mistake).
 */

export type ServingErrorCode =
  | "BAD_REQUEST"
  | "INVALID_PARAMETER_VALUE"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "ENDPOINT_NOT_FOUND"
  | "RESOURCE_DOES_NOT_EXIST"
  | "TEMPORARILY_UNAVAILABLE"
  | "INTERNAL_ERROR";

/** An error a route throws on purpose; the error handler turns it into its status and body. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorCode: ServingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, "BAD_REQUEST", message);

function isV2Route(request: FastifyRequest): boolean {
  return request.url.startsWith("/v2/");
}

export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  // Open Inference Protocol clients read `error`; everyone else reads error_code/message.
  const body = isV2Route(request) ? { error_code: code, message, error: message } : { error_code: code, message };
  return reply.code(status).type("application/json; charset=utf-8").send(body);
}

/** Maps fastify's own errors (body parsing, validation) and ours to a status and a stable code. */
export function classifyError(err: FastifyError | Error): { status: number; code: string; message: string } {
  if (err instanceof HttpError) return { status: err.statusCode, code: err.errorCode, message: err.message };
  if (err instanceof PolarityError) return { status: err.httpStatus, code: err.code, message: err.message };
  const fe = err as FastifyError;
  if (fe.validation) {
    // A text or batch over the configured limits is "too large", like an oversized body.
    if (fe.validation.some((v) => v.keyword === "maxLength" || v.keyword === "maxItems")) {
      return { status: 413, code: "PAYLOAD_TOO_LARGE", message: `request exceeds a size limit: ${fe.message}` };
    }
    return { status: 400, code: "BAD_REQUEST", message: `invalid request: ${fe.message}` };
  }
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { status: 413, code: "PAYLOAD_TOO_LARGE", message: "request body is larger than the server's limit (see bodyLimitBytes / BODY_LIMIT_BYTES)" };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "unsupported content type for this route" };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { status: 400, code: "BAD_REQUEST", message: "request body is empty; send a JSON document" };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return { status: 400, code: "BAD_REQUEST", message: "request body is not valid JSON" };
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return { status: 400, code: "BAD_REQUEST", message: "request body size did not match Content-Length" };
  }
  const status = fe.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { status, code: status === 404 ? "ENDPOINT_NOT_FOUND" : status === 413 ? "PAYLOAD_TOO_LARGE" : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "BAD_REQUEST", message: fe.message };
  }
  return { status: 500, code: "INTERNAL_ERROR", message: "internal server error (logged with the request id)" };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, code, message } = classifyError(err);
    if (status >= 500) request.log.error({ err }, "request failed");
    else request.log.info({ status, code, msg: message }, "request refused");
    return sendError(request, reply, status, code, message);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(request, reply, 404, "ENDPOINT_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}; see /docs for the API`);
  });
}

// ---- body parsers -------------------------------------------------------------------------

const invalidUtf8 = (): HttpError => badRequest("request body is not valid UTF-8");

/** JSON, checking the bytes are valid UTF-8 first (Node would otherwise substitute U+FFFD silently). */
export function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  // fastify also accepts text/plain by default; no route here takes it (415 instead).
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) return done(invalidUtf8(), undefined);
    parseJson(request, bytes.toString("utf8"), done);
  });
}

/** HTML form posts (`text=...`), as the seed's page sent them. */
export function installFormParser(app: FastifyInstance): void {
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, (_request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) return done(invalidUtf8(), undefined);
    const params = new URLSearchParams(bytes.toString("utf8"));
    const out: Record<string, string> = {};
    for (const [k, v] of params) out[k] = v;
    done(null, out);
  });
}

/** CSV (MLflow's scoring server accepts text/csv): kept as a string and parsed by the route. */
export function installCsvParser(app: FastifyInstance): void {
  app.addContentTypeParser("text/csv", { parseAs: "buffer" }, (_request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) return done(invalidUtf8(), undefined);
    done(null, bytes.toString("utf8"));
  });
}
