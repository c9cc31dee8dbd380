import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { PolarityError, UnavailableError } from "../util/errors.js";

/**
 * The one error path of Polarity's fastify apps (model server and tracking server): every
 * failure leaves as JSON `{error_code, message}` with the status of its code
 * (src/util/errors.ts). A 500 never carries an internal message (it is logged with the
 * request id instead); validation and parsing errors are specific 400s; client strings
 * echoed in messages are clipped; each log line has exactly one `msg`.
 */

/** Longest message sent or logged; anything a client echoed into it is cut before this. */
export const MAX_ERROR_MESSAGE_LENGTH = 1000;

/**
 * A client-supplied string for an error message or log line: JSON-quoted, and clipped to
 * `max` UTF-16 units with the number of characters left out (a 3 MB `name` is not echoed).
 */
export function quoteClientString(value: string, max = 100): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length - max} more characters)`;
}

/** Clips a message to MAX_ERROR_MESSAGE_LENGTH (a last guard; messages should clip their echoes). */
export function clipMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH)}… (truncated)`;
}

export interface ErrorHandlerOptions {
  /** Say which option raises the body limit, e.g. "--body-limit / BODY_LIMIT_BYTES". */
  bodyLimitHint?: string;
  /**
   * App-specific mapping tried first (e.g. MLflow's log-batch size message); return
   * undefined to use the shared mapping.
   */
  classify?(err: FastifyError | Error, request: FastifyRequest): PolarityError | undefined;
  /** Extra body fields for some requests (Open Inference Protocol V2 routes add `error`). */
  decorateBody?(request: FastifyRequest, body: { error_code: string; message: string }): object;
  /** Writes the body; by default `reply.code(status).type(json).send(body)`. */
  send?(reply: FastifyReply, status: number, body: object): FastifyReply;
  /** Message for an unknown route. */
  notFoundMessage?(request: FastifyRequest): string;
}

/** Maps fastify's own errors (body parsing, validation, limits) and ours to one PolarityError. */
export function toPolarityError(err: FastifyError | Error, options: Pick<ErrorHandlerOptions, "bodyLimitHint"> = {}): PolarityError {
  if (err instanceof PolarityError) return err;
  const fe = err as FastifyError;
  if (fe.validation) return new PolarityError("BAD_REQUEST", `invalid request: ${fe.message}`);
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new PolarityError(
        "PAYLOAD_TOO_LARGE",
        `request body is larger than the server's limit${options.bodyLimitHint ? ` (raise it with ${options.bodyLimitHint})` : ""}`,
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new PolarityError("UNSUPPORTED_MEDIA_TYPE", "unsupported content type for this route");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new PolarityError("BAD_REQUEST", "request body is empty; send a JSON document");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new PolarityError("BAD_REQUEST", "request body is not valid JSON");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new PolarityError("BAD_REQUEST", "request body size did not match Content-Length");
  }
  const status = fe.statusCode;
  if (err instanceof SyntaxError || (typeof status === "number" && status === 400 && /JSON/.test(fe.message))) {
    return new PolarityError("BAD_REQUEST", `request body is not valid JSON: ${clipMessage(fe.message).slice(0, 200)}`);
  }
  if (typeof status === "number" && status >= 400 && status < 500) {
    const code = status === 404 ? "ENDPOINT_NOT_FOUND" : status === 413 ? "PAYLOAD_TOO_LARGE" : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "BAD_REQUEST";
    return new PolarityError(code, fe.message);
  }
  return new PolarityError("INTERNAL_ERROR", "internal server error (logged with the request id)", { cause: err });
}

const defaultSend = (reply: FastifyReply, status: number, body: object): FastifyReply => reply.code(status).type("application/json; charset=utf-8").send(body);

/** Installs the error and not-found handlers on `app` (call once, on the root instance). */
export function installErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions = {}): void {
  const send = options.send ?? defaultSend;
  const reply = (request: FastifyRequest, res: FastifyReply, err: PolarityError): FastifyReply => {
    const base = {
      error_code: err.code,
      message: err.code === "INTERNAL_ERROR" ? "internal server error (logged with the request id)" : clipMessage(err.message),
    };
    if (err instanceof UnavailableError && err.retryAfterSeconds !== undefined)
      res.header("retry-after", String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
    return send(res, err.httpStatus, options.decorateBody ? options.decorateBody(request, base) : base);
  };
  app.setErrorHandler((err: FastifyError | Error, request, res) => {
    const mapped = options.classify?.(err, request) ?? toPolarityError(err, options);
    const status = mapped.httpStatus;
    if (status >= 500 && mapped.code !== "TEMPORARILY_UNAVAILABLE") {
      request.log.error({ err, status, error_code: mapped.code }, `request failed: ${clipMessage(err.message)}`);
    } else {
      request.log.info({ status, error_code: mapped.code }, `request refused: ${clipMessage(mapped.message)}`);
    }
    return reply(request, res, mapped);
  });
  app.setNotFoundHandler((request, res) => {
    const message = options.notFoundMessage?.(request) ?? `no route ${request.method} ${quoteClientString(request.url.split("?")[0], 200)}`;
    return reply(request, res, new PolarityError("ENDPOINT_NOT_FOUND", message));
  });
}
