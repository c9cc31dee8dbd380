import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { Type as T, type TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { authChallenge, isAuthorized, resolveServerAuth, type ServerAuth } from "../http/auth.js";
import { installErrorHandler, quoteClientString } from "../http/errors.js";
import { DEFAULT_HTTP_TIMEOUTS, fastifyTimeoutOptions, installJsonParser, type HttpTimeouts } from "../http/limits.js";
import { PolarityError, errorMessage } from "../util/errors.js";
import { ArtifactTooLargeError, LocalArtifactStore, assertArtifactFilePath, assertSafeArtifactPath, type ArtifactStore } from "./artifact-store.js";
import { S3ArtifactStore, s3OptionsFromEnv } from "./s3-artifact-store.js";
import { registerMetricHistoryBulkInterval } from "./history-bulk.js";
import { API_PREFIX, ARTIFACTS_PREFIX, ENDPOINTS, EXTRA_METHODS, validateRequest, type EndpointName } from "./endpoints.js";
import { TrackingService, wireReplacer } from "./service.js";
import { openStores } from "./store/open.js";
import { DEFAULT_TRACKING_URI, parseTrackingUri, redactUri } from "./uri.js";
import { LIMITS } from "./validation.js";

export { resolveServerAuth, type ServerAuth };

/** Body limits per route (bytes). MLflow caps log-batch at 1 MB; dataset profiles may reach 16 MB. */
export const BODY_LIMITS = {
  default: 1024 * 1024,
  logBatch: LIMITS.MAX_BATCH_LOG_REQUEST_SIZE,
  logInputs: LIMITS.MAX_DATASET_PROFILE_SIZE + LIMITS.MAX_DATASET_SCHEMA_SIZE + 1024 * 1024,
} as const;

/** Default cap on one proxied artifact upload. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 5 * 1024 ** 3;

export interface TrackingServerOptions {
  /** Store URI (see parseTrackingUri): `sqlite:///path.db`, a path, `postgresql://…`. Default `sqlite:///mlruns.db`. */
  backendStoreUri?: string;
  /** Where `mlflow-artifacts:/` lives: a directory (default `./mlartifacts`) or `s3://bucket/prefix` (AWS_* and MLFLOW_S3_ENDPOINT_URL from the environment). */
  artifactsDestination?: string;
  auth?: ServerAuth;
  /** Largest artifact one PUT may upload (bytes). Default 5 GiB. */
  maxArtifactBytes?: number;
  timeouts?: Partial<HttpTimeouts>;
  /** Plugins mounted on the app (the CLI passes the tracking UI). */
  plugins?: readonly TrackingAppPlugin[];
}

/**
 * A fastify plugin mounted on the tracking app with its service. The tracking UI is one
 * (src/ui/plugin.ts); the CLI registers it, so this layer knows nothing of the UI.
 */
export type TrackingAppPlugin = (app: FastifyInstance, opts: { service: TrackingService }) => Promise<void>;

export interface TrackingAppOptions {
  auth?: ServerAuth;
  timeouts?: Partial<HttpTimeouts>;
  plugins?: readonly TrackingAppPlugin[];
}

function sendJson(reply: FastifyReply, status: number, body: object): FastifyReply {
  return reply.code(status).type("application/json").send(JSON.stringify(body, wireReplacer));
}

/** mlflow.exceptions._UnsupportedMultipartUploadException.MESSAGE, byte for byte. */
export const MULTIPART_UNSUPPORTED_MESSAGE = "Multipart upload is not supported for the current artifact repository";

/** The version `GET /version` reports (MLflow returns its package version as plain text). */
export const SERVER_VERSION = "2.12.0";

/** Builds the fastify app around a service (the caller owns the stores' lifetime). */
export function buildTrackingApp(service: TrackingService, options: TrackingAppOptions = {}): FastifyInstance {
  const auth = options.auth;
  const app = Fastify({
    logger: false,
    // `//model-versions/get-artifact` (MLflow's own tests call it so) is `/model-versions/get-artifact`;
    // no other path is rewritten (`…/artifacts//etc/passwd` must still be refused, not normalised).
    rewriteUrl: (req) => (req.url?.startsWith("//model-versions/get-artifact") ? req.url.slice(1) : (req.url ?? "/")),
    bodyLimit: BODY_LIMITS.default,
    ...fastifyTimeoutOptions({ ...DEFAULT_HTTP_TIMEOUTS, ...options.timeouts }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  installJsonParser(app);
  // Our TypeBox validator (shared with the in-process transport) instead of ajv, so both
  // transports reject bad requests with the same message.
  app.setValidatorCompiler(({ schema, httpPart }) => (data: unknown) => {
    try {
      return { value: validateRequest(schema as Parameters<typeof validateRequest>[0], data, { fromQuery: httpPart !== "body" }) };
    } catch (err) {
      return { error: err as Error };
    }
  });

  installErrorHandler(app, {
    bodyLimitHint: undefined,
    send: sendJson,
    classify: (err, request) => {
      if ((err as { code?: string }).code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        if (request.url.includes("runs/log-batch")) {
          return new PolarityError("INVALID_PARAMETER_VALUE", `Batched logging API requests must be at most ${LIMITS.MAX_BATCH_LOG_REQUEST_SIZE} bytes.`);
        }
        return new PolarityError(
          "PAYLOAD_TOO_LARGE",
          `Request body is larger than this endpoint's limit (${request.routeOptions.bodyLimit ?? BODY_LIMITS.default} bytes).`,
        );
      }
      return undefined;
    },
    notFoundMessage: (request) => `No API endpoint for ${request.method} ${quoteClientString(request.url.split("?")[0], 200)}`,
  });

  if (auth) {
    const challenge = authChallenge(auth);
    app.addHook("onRequest", async (request, reply) => {
      if ((request.routeOptions.config as { public?: boolean }).public || isAuthorized(request.headers.authorization, auth)) return;
      reply.header("WWW-Authenticate", challenge);
      return sendJson(reply, 401, {
        error_code: "UNAUTHENTICATED",
        message: "You are not authenticated. Please provide valid credentials (Authorization: Bearer <token> or Basic).",
      });
    });
  }

  // Probes, as MLflow serves them (plain text).
  app.get("/health", async (_request, reply) => reply.type("text/plain").send("OK"));
  app.get("/version", async (_request, reply) => reply.type("text/plain").send(SERVER_VERSION));

  const recentCreates = new RecentCreates();
  for (const [name, def] of Object.entries(ENDPOINTS) as Array<[EndpointName, (typeof ENDPOINTS)[EndpointName]]>) {
    const methods = [def.method, ...(EXTRA_METHODS[name] ?? [])];
    const bodyLimit = name === "logBatch" ? BODY_LIMITS.logBatch : name === "logInputs" ? BODY_LIMITS.logInputs : BODY_LIMITS.default;
    // MLflow 3's logged-model routes carry ids in the path (`logged-models/:model_id`): the path
    // parameters are merged into the request message, which is validated as a whole.
    const hasPathParams = def.path.includes(":");
    for (const method of methods) {
      for (const prefix of [API_PREFIX, "/ajax-api/2.0/mlflow/"]) {
        app.route({
          method,
          url: prefix + def.path,
          bodyLimit,
          schema: hasPathParams ? undefined : method === "GET" ? { querystring: def.schema } : { body: def.schema },
          handler: async (request, reply) => {
            if (hasPathParams) {
              const message = method === "GET" ? request.query : request.body;
              const fields = message && typeof message === "object" && !Array.isArray(message) ? message : {};
              return sendJson(reply, 200, await service.handle(name, { ...fields, ...(request.params as Record<string, string>) }));
            }
            const req = (method === "GET" ? request.query : request.body) as Record<string, unknown>;
            if (name !== "createRun") return sendJson(reply, 200, await service.handleValidated(name, req));
            const key = recentCreates.keyOf(request.headers["idempotency-key"], req);
            return sendJson(reply, 200, await recentCreates.once(key, () => service.handleValidated(name, req)));
          },
        });
      }
    }
  }

  registerMetricHistoryBulkInterval(app, service);

  // mlflow-artifacts proxy: raw bodies, so its own content-type parsing scope.
  app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    const artifacts = () => {
      if (!service.artifacts) throw new PolarityError("INVALID_PARAMETER_VALUE", "This server was started without an artifacts destination");
      return service.artifacts;
    };
    const PathParam = { params: T.Object({ "*": T.String() }) };
    scope.get(ARTIFACTS_PREFIX, { schema: { querystring: T.Object({ path: T.Optional(T.String()) }) } }, async (request, reply) => {
      const path = assertSafeArtifactPath(request.query.path ?? "");
      const files = (await artifacts().list(path, "")).map((f) => ({ ...f, path: f.path.split("/").pop()! }));
      return sendJson(reply, 200, { files });
    });
    scope.get(`${ARTIFACTS_PREFIX}/*`, { schema: PathParam }, async (request, reply) => {
      const { stream, size } = await artifacts().openRead(assertSafeArtifactPath(request.params["*"]));
      return reply.code(200).type("application/octet-stream").header("content-length", size).send(stream);
    });
    scope.put(`${ARTIFACTS_PREFIX}/*`, { schema: PathParam }, async (request, reply) => {
      const path = assertArtifactFilePath(request.params["*"], "write to");
      const store = artifacts();
      const declared = Number(request.headers["content-length"]);
      if (store.maxFileBytes !== undefined && Number.isFinite(declared) && declared > store.maxFileBytes) throw new ArtifactTooLargeError(store.maxFileBytes);
      await store.write(path, (request.body as Readable | undefined) ?? request.raw);
      return sendJson(reply, 200, {});
    });
    scope.delete(`${ARTIFACTS_PREFIX}/*`, { schema: PathParam }, async (request, reply) => {
      await artifacts().delete(assertArtifactFilePath(request.params["*"], "delete"));
      return sendJson(reply, 200, {});
    });
  });
  // A logged model's artifact file, as MLflow 3's get_logged_model_artifact_handler serves it
  // (the UI's artifact viewer): always an attachment, never rendered on this origin.
  for (const prefix of [API_PREFIX, "/ajax-api/2.0/mlflow/"]) {
    app.get(
      `${prefix}logged-models/:model_id/artifacts/files`,
      { schema: { params: T.Object({ model_id: T.String() }), querystring: T.Object({ artifact_file_path: T.Optional(T.String()) }) } },
      async (request, reply) => {
        const path = request.query.artifact_file_path;
        if (!path) throw new PolarityError("BAD_REQUEST", 'Request must include the "artifact_file_path" query parameter.');
        const { stream, size } = await service.openLoggedModelArtifact(request.params.model_id, path);
        const filename = path
          .split("/")
          .pop()!
          .replace(/["\\\r\n]/g, "_");
        return reply
          .code(200)
          .type("application/octet-stream")
          .header("content-length", size)
          .header("content-disposition", `attachment; filename="${filename}"`)
          .header("x-content-type-options", "nosniff")
          .send(stream);
      },
    );
  }
  // Proxied multipart upload: answered the way an MLflow server whose artifact repository has
  // no multipart support answers, so MLflow's client falls back to one streamed PUT
  // (http_artifact_repo._try_multipart_upload matches the message prefix).
  app.post("/api/2.0/mlflow-artifacts/mpu/:action/*", async (_request, reply) =>
    sendJson(reply, 501, { error_code: "NOT_IMPLEMENTED", message: MULTIPART_UNSUPPORTED_MESSAGE }),
  );
  for (const plugin of options.plugins ?? []) app.register(plugin, { service });
  return app;
}

/**
 * Retried `runs/create` calls (the first response lost on the way back) get the run the first
 * attempt made instead of a second run. The key is the client's `Idempotency-Key` header
 * (Polarity's client sends one per create) or, for clients that send none (MLflow's), the
 * request body when it carries a `start_time` taken within the last 10 minutes (a retry
 * resends it unchanged). Kept in
 * memory for 10 minutes, at most 10,000 entries: one server's retries, not a shared log.
 */
class RecentCreates {
  private readonly entries = new Map<string, { at: number; result: Promise<object> }>();
  private static readonly TTL_MS = 10 * 60_000;
  private static readonly MAX = 10_000;

  keyOf(header: string | string[] | undefined, body: Record<string, unknown>): string | undefined {
    if (typeof header === "string" && header.length > 0 && header.length <= 200) return `k:${header}`;
    // Only a start_time the client just took (a retry resends it unchanged) marks a retry: an
    // explicit, fixed start_time (MLflow's own tests create ten runs with start_time=1) is a
    // deliberate series of identical creates, each of which must make a run.
    const start = body.start_time;
    if (typeof start !== "number" || Math.abs(Date.now() - start) > RecentCreates.TTL_MS) return undefined;
    return `b:${createHash("sha256").update(JSON.stringify(body)).digest("hex")}`;
  }

  async once(key: string | undefined, create: () => Promise<object>): Promise<object> {
    if (key === undefined) return create();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < RecentCreates.TTL_MS) return hit.result;
    const result = create();
    this.entries.set(key, { at: now, result });
    result.catch(() => this.entries.delete(key));
    while (this.entries.size > RecentCreates.MAX) this.entries.delete(this.entries.keys().next().value!);
    return result;
  }
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
  if (target.kind === "http")
    throw new PolarityError(
      "INVALID_PARAMETER_VALUE",
      `--backend-store-uri '${redactUri(uri)}' is a server URL; a tracking server needs a database (sqlite:///path.db, postgresql://…)`,
    );
  const stores = openStores(target);
  try {
    await stores.ready;
  } catch (err) {
    await stores.close();
    throw err;
  }
  const destination = opts.artifactsDestination ?? "mlartifacts";
  const maxFileBytes = opts.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
  const artifacts: ArtifactStore = /^s3:\/\//i.test(destination)
    ? new S3ArtifactStore(destination, { ...s3OptionsFromEnv(), maxFileBytes })
    : new LocalArtifactStore(resolve(destination), maxFileBytes);
  const service = new TrackingService(stores, artifacts, { confineArtifactLocations: true });
  const app = buildTrackingApp(service, { auth: opts.auth, timeouts: opts.timeouts, plugins: opts.plugins });
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
