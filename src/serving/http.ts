import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { installErrorHandler } from "../http/errors.js";
import { decodeUtf8Body } from "../http/limits.js";
import { PayloadTooLargeError, PolarityError } from "../util/errors.js";

/**
 * The model server's use of the shared error path (src/http/errors.ts) and its extra body
 * parsers. Every failure leaves as JSON `{error_code, message}`; V2 routes add `error`.
 */

export const badRequest = (message: string): PolarityError => new PolarityError("BAD_REQUEST", message);

function isV2Route(request: FastifyRequest): boolean {
  return request.url.startsWith("/v2/");
}

/** A text or batch over the configured limits is "too large", like an oversized body. */
function classifyServingError(err: FastifyError | Error): PolarityError | undefined {
  const fe = err as FastifyError;
  if (fe.validation?.some((v) => v.keyword === "maxLength" || v.keyword === "maxItems")) {
    return new PayloadTooLargeError(`request exceeds a size limit: ${fe.message} (see --max-text-length / --max-batch-size)`);
  }
  return undefined;
}

export function installErrorHandling(app: FastifyInstance): void {
  installErrorHandler(app, {
    bodyLimitHint: "--body-limit / BODY_LIMIT_BYTES",
    classify: classifyServingError,
    // Open Inference Protocol clients read `error`; everyone else reads error_code/message.
    decorateBody: (request, body) => (isV2Route(request) ? { ...body, error: body.message } : body),
    notFoundMessage: (request) => `no route ${request.method} ${request.url.split("?")[0].slice(0, 200)}; see /docs for the API`,
  });
}

// ---- body parsers -------------------------------------------------------------------------

/** HTML form posts (`text=...`), as the seed's page sent them. */
export function installFormParser(app: FastifyInstance): void {
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, (_request, body, done) => {
    let text: string;
    try {
      text = decodeUtf8Body(body as Buffer);
    } catch (err) {
      return done(err as Error, undefined);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    done(null, out);
  });
}

/** CSV (MLflow's scoring server accepts text/csv): kept as a string and parsed by the route. */
export function installCsvParser(app: FastifyInstance): void {
  app.addContentTypeParser("text/csv", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, decodeUtf8Body(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
