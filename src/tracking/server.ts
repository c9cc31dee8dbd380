import { timingSafeEqual } from "node:crypto";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Type as T } from "@sinclair/typebox";
import { PolarityError, errorMessage } from "../util/errors.js";
import { LocalArtifactStore, assertSafeArtifactPath } from "./artifact-store.js";
import { API_PREFIX, ARTIFACTS_PREFIX, ENDPOINTS, EXTRA_METHODS, validateRequest, type EndpointName } from "./endpoints.js";
import { TrackingService, wireReplacer } from "./service.js";
import { openStores } from "./store/open.js";
import { DEFAULT_TRACKING_URI, parseTrackingUri, redactUri } from "./uri.js";
import { LIMITS } from "./validation.js";
import { trackingUi } from "../ui/plugin.js";

export interface ServerAuth {
  username?: string;
  password?: string;
  token?: string;
}

export interface TrackingServerOptions {
  /** `sqlite:///path.db` or a path. Default `sqlite:///mlruns.db` (relative to the working directory). */
  backendStoreUri?: string;
  /** Directory behind `mlflow-artifacts:/`. Default `./mlartifacts`. */
  artifactsDestination?: string;
  auth?: ServerAuth;
}

/**
 * Credentials from flags, falling back to POLARITY_SERVER_USERNAME / POLARITY_SERVER_PASSWORD /
 * POLARITY_SERVER_TOKEN. With none set the server is open.
 */
export function resolveServerAuth(flags: { auth?: string; authToken?: string }, env: NodeJS.ProcessEnv = process.env): ServerAuth | undefined {
  const auth: ServerAuth = {};
  if (flags.auth !== undefined) {
    const i = flags.auth.indexOf(":");
    if (i <= 0 || i === flags.auth.length - 1) throw new PolarityError("INVALID_PARAMETER_VALUE", "--auth must be user:password");
    auth.username = flags.auth.slice(0, i);
    auth.password = flags.auth.slice(i + 1);
  } else if (env.POLARITY_SERVER_USERNAME || env.POLARITY_SERVER_PASSWORD) {
    if (!env.POLARITY_SERVER_USERNAME || !env.POLARITY_SERVER_PASSWORD) {
      throw new PolarityError("INVALID_PARAMETER_VALUE", "set both POLARITY_SERVER_USERNAME and POLARITY_SERVER_PASSWORD, or neither");
    }
    auth.username = env.POLARITY_SERVER_USERNAME;
    auth.password = env.POLARITY_SERVER_PASSWORD;
  }
  const token = flags.authToken ?? env.POLARITY_SERVER_TOKEN;
  if (token) auth.token = token;
  return auth.username || auth.token ? auth : undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isAuthorized(header: string | undefined, auth: ServerAuth): boolean {
  if (!header) return false;
  const [scheme, value = ""] = header.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return auth.token !== undefined && sameSecret(value, auth.token);
  if (/^basic$/i.test(scheme) && auth.username !== undefined) {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    return i >= 0 && sameSecret(decoded.slice(0, i), auth.username) && sameSecret(decoded.slice(i + 1), auth.password ?? "");
  }
  return false;
}

function sendJson(reply: FastifyReply, status: number, body: object): FastifyReply {
  return reply.code(status).type("application/json").send(JSON.stringify(body, wireReplacer));
}

/** Builds the fastify app around a service (the caller owns the store's lifetime). */
export function buildTrackingApp(service: TrackingService, auth?: ServerAuth): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  // Our TypeBox validator (shared with the in-process transport) instead of ajv, so both
  // transports reject bad requests with the same message.
  app.setValidatorCompiler(({ schema }) => (data: unknown) => {
    try {
      return { value: validateRequest(schema as Parameters<typeof validateRequest>[0], data) };
    } catch (err) {
      return { error: err as Error };
    }
  });

  if (auth) {
    const challenge = [auth.username ? 'Basic realm="polarity"' : "", auth.token ? 'Bearer realm="polarity"' : ""].filter(Boolean).join(", ");
    app.addHook("onRequest", async (request, reply) => {
      if ((request.routeOptions.config as { public?: boolean }).public || isAuthorized(request.headers.authorization, auth)) return;
      reply.header("WWW-Authenticate", challenge);
      return sendJson(reply, 401, { error_code: "UNAUTHENTICATED", message: "You are not authenticated. Please provide valid credentials (Authorization: Bearer <token> or Basic)." });
    });
  }

  app.setErrorHandler((err: FastifyError | PolarityError, request, reply) => {
    if (err instanceof PolarityError) return sendJson(reply, err.httpStatus, err.toJSON());
    const fe = err as FastifyError;
    if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      if (request.url.includes("runs/log-batch")) {
        return sendJson(reply, 400, { error_code: "INVALID_PARAMETER_VALUE", message: `Batched logging API requests must be at most ${LIMITS.MAX_BATCH_LOG_REQUEST_SIZE} bytes.` });
      }
      return sendJson(reply, 413, { error_code: "PAYLOAD_TOO_LARGE", message: fe.message });
    }
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : status === 404 ? "ENDPOINT_NOT_FOUND" : "BAD_REQUEST";
      return sendJson(reply, status, { error_code: code, message: fe.message });
    }
    return sendJson(reply, 500, { error_code: "INTERNAL_ERROR", message: errorMessage(err) });
  });

  app.setNotFoundHandler((request, reply) => sendJson(reply, 404, { error_code: "ENDPOINT_NOT_FOUND", message: `No API endpoint for ${request.method} ${request.url.split("?")[0]}` }));

  for (const [name, def] of Object.entries(ENDPOINTS) as Array<[EndpointName, (typeof ENDPOINTS)[EndpointName]]>) {
    const methods = [def.method, ...(EXTRA_METHODS[name] ?? [])];
    for (const method of methods) {
      for (const prefix of [API_PREFIX, "/ajax-api/2.0/mlflow/"]) {
        app.route({
          method,
          url: prefix + def.path,
          bodyLimit: name === "logBatch" ? LIMITS.MAX_BATCH_LOG_REQUEST_SIZE : undefined,
          schema: method === "GET" ? { querystring: def.schema } : { body: def.schema },
          handler: async (request, reply) => {
            const req = (method === "GET" ? request.query : request.body) as Record<string, unknown>;
            return sendJson(reply, 200, await service.handleValidated(name, req));
          },
        });
      }
    }
  }

  // mlflow-artifacts proxy: raw bodies, so its own content-type parsing scope.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    const artifacts = () => {
      if (!service.artifacts) throw new PolarityError("INVALID_PARAMETER_VALUE", "This server was started without an artifacts destination");
      return service.artifacts;
    };
    const pathParam = (request: FastifyRequest) => assertSafeArtifactPath((request.params as { "*": string })["*"] ?? "");
    scope.get(ARTIFACTS_PREFIX, { schema: { querystring: T.Object({ path: T.Optional(T.String()) }) } }, async (request, reply) => {
      const path = assertSafeArtifactPath((request.query as { path?: string }).path ?? "");
      const files = (await artifacts().list(path, "")).map((f) => ({ ...f, path: f.path.split("/").pop()! }));
      return sendJson(reply, 200, { files });
    });
    scope.get(`${ARTIFACTS_PREFIX}/*`, { schema: { params: T.Object({ "*": T.String() }) } }, async (request, reply) => {
      const { stream, size } = await artifacts().openRead(pathParam(request));
      return reply.code(200).type("application/octet-stream").header("content-length", size).send(stream);
    });
    scope.put(`${ARTIFACTS_PREFIX}/*`, { schema: { params: T.Object({ "*": T.String() }) } }, async (request, reply) => {
      const body = (request.body as Readable | undefined) ?? request.raw;
      await artifacts().write(pathParam(request), body);
      return sendJson(reply, 200, {});
    });
    scope.delete(`${ARTIFACTS_PREFIX}/*`, { schema: { params: T.Object({ "*": T.String() }) } }, async (request, reply) => {
      await artifacts().delete(pathParam(request));
      return sendJson(reply, 200, {});
    });
  });
  app.register(trackingUi, { service });
  return app;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  service: TrackingService;
  close(): Promise<void>;
}

/** Opens the store, builds the app and listens. Port 0 picks a free port (see `url`). */
export async function startTrackingServer(opts: TrackingServerOptions & { host?: string; port?: number }): Promise<RunningServer> {
  const uri = opts.backendStoreUri ?? DEFAULT_TRACKING_URI;
  const target = parseTrackingUri(uri);
  if (target.kind === "http") throw new PolarityError("INVALID_PARAMETER_VALUE", `--backend-store-uri '${redactUri(uri)}' is a server URL; a tracking server needs a database (sqlite:///path.db, postgresql://…)`);
  const stores = openStores(target);
  try {
    await stores.ready;
  } catch (err) {
    await stores.close();
    throw err;
  }
  const service = new TrackingService(stores, new LocalArtifactStore(resolve(opts.artifactsDestination ?? "mlartifacts")));
  const app = buildTrackingApp(service, opts.auth);
  try {
    await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 5000 });
  } catch (err) {
    await stores.close();
    throw new PolarityError("IO_ERROR", `cannot listen on ${opts.host ?? "127.0.0.1"}:${opts.port ?? 5000}: ${errorMessage(err)}`);
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  const host = opts.host ?? "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    app,
    service,
    close: async () => {
      await app.close();
      await stores.close();
    },
  };
}
