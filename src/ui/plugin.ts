import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type as T } from "@sinclair/typebox";
import type { TrackingService } from "../tracking/service.js";
import { assertSafeArtifactPath } from "../tracking/artifact-store.js";
import { InvalidParameterError, NotFoundError } from "../util/errors.js";
import { ASSET_NAME, loadUiAssets, type UiAsset } from "./assets.js";
import { findProjectRoot, metricsDiffView, pipelineView } from "./pipeline-view.js";

export interface TrackingUiOptions {
  service: TrackingService;
  /** Directory whose DVC project the pipeline page shows. Default: the working directory at start. */
  projectDir?: string;
}

/**
 * The static shell holds no data, so it is served without credentials even when the server
 * requires them (the tracking server's auth hook lets routes with this config through); every
 * data request the page makes carries the credentials the user signs in with.
 */
export const PUBLIC_ROUTE = { public: true } as const;

declare module "fastify" {
  interface FastifyContextConfig {
    /** Served without credentials (see PUBLIC_ROUTE). */
    public?: boolean;
  }
}

/** Security headers of the page: no inline or remote script, no framing, no sniffing. */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/**
 * The page. `preload` names the chunks app.js imports statically: listed as modulepreload
 * links, the browser fetches them alongside app.js instead of after parsing it.
 */
function indexHtml(preload: readonly string[] = []): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Polarity tracking</title>
<link rel="stylesheet" href="/ui/app.css">
<script type="module" src="/ui/app.js"></script>
${preload.map((f) => `<link rel="modulepreload" href="/ui/${f}">\n`).join("")}</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<noscript>The Polarity tracking UI needs JavaScript. The same data is available from the REST API (/api/2.0/mlflow/…) and the CLI (polarity runs list).</noscript>
</body>
</html>
`;
}

/** The chunks an esbuild ES module imports statically (`import … from "./chunk-X.js"`, `import "./chunk-X.js"`; not `import("…")`). */
export function staticChunkImports(js: string): string[] {
  const out = new Set<string>();
  for (const m of js.matchAll(/(?:\bfrom\s*|\bimport\s*)"\.\/(chunk-[A-Za-z0-9_-]+\.js)"/g)) out.add(m[1]);
  return [...out];
}

/** Chunk names carry a content hash: a browser may keep them; app.js and app.css are revalidated. */
const HASHED_CHUNK = /^chunk-[A-Za-z0-9_-]+\.js$/;

/** Content types an artifact preview may be served with; anything else is plain text or bytes (never HTML/SVG from this origin). */
const PREVIEW_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  json: "application/json; charset=utf-8",
};
const TEXT_EXTENSIONS = new Set([
  "txt",
  "log",
  "csv",
  "tsv",
  "md",
  "yaml",
  "yml",
  "py",
  "ts",
  "js",
  "toml",
  "ini",
  "cfg",
  "html",
  "htm",
  "svg",
  "xml",
  "jsonl",
  "mlmodel",
  "sh",
]);

function artifactContentType(path: string): string {
  const ext = (/\.([A-Za-z0-9]+)$/.exec(path)?.[1] ?? "").toLowerCase();
  if (PREVIEW_TYPES[ext]) return PREVIEW_TYPES[ext];
  const base = path.split("/").pop() ?? "";
  if (TEXT_EXTENSIONS.has(ext) || base === "MLmodel" || base === "requirements.txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, name: string, a: UiAsset): FastifyReply {
  reply
    .header("etag", a.etag)
    .header("cache-control", HASHED_CHUNK.test(name) ? "public, max-age=31536000, immutable" : "no-cache")
    .header("x-content-type-options", "nosniff")
    .type(a.contentType);
  if (request.headers["if-none-match"] === a.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(request.headers["accept-encoding"] ?? "")))
    return reply.header("content-encoding", "gzip").header("vary", "accept-encoding").send(a.gzip);
  return reply.header("vary", "accept-encoding").send(a.body);
}

/**
 * The tracking UI as a fastify plugin of the tracking server: the page at `/`, its bundle under
 * `/ui/`, MLflow's `/get-artifact` (a run's artifact by run id and path, as MLflow's UI reads
 * them) and the pipeline endpoints under `/ui-api/` (DAG + status, metrics diff). All other
 * data comes from the MLflow REST API the page calls like any client.
 */
export async function trackingUi(app: FastifyInstance, opts: TrackingUiOptions): Promise<void> {
  const projectRoot = findProjectRoot(opts.projectDir ?? process.cwd());
  let html: Promise<string> | undefined;
  const page = async (_request: FastifyRequest, reply: FastifyReply) => {
    html ??= loadUiAssets().then(
      (assets) => indexHtml(staticChunkImports(assets.get("app.js")?.body.toString("utf8") ?? "")),
      () => indexHtml(),
    );
    return reply
      .headers(PAGE_HEADERS)
      .type("text/html; charset=utf-8")
      .send(await html);
  };
  app.get("/", { config: PUBLIC_ROUTE }, page);
  app.get("/index.html", { config: PUBLIC_ROUTE }, page);
  app.get("/favicon.ico", { config: PUBLIC_ROUTE }, async (_request, reply) => reply.code(204).header("cache-control", "max-age=86400").send());
  app.get("/ui/:file", { config: PUBLIC_ROUTE, schema: { params: T.Object({ file: T.String({ maxLength: 100 }) }) } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const asset = ASSET_NAME.test(file) ? (await loadUiAssets()).get(file) : undefined;
    if (!asset) throw new NotFoundError(`No UI file '${file}'`);
    return sendAsset(request, reply, file, asset);
  });

  // Served for previews only: a sandboxed, never-sniffed type, so an uploaded HTML/SVG file cannot run script on this origin.
  const sendArtifact = async (reply: FastifyReply, artifactUri: string, path: string) => {
    const { store, base } = opts.service.artifactLocation(artifactUri);
    const { stream, size } = await store.openRead(base ? `${base}/${path}` : path);
    return reply
      .code(200)
      .type(artifactContentType(path))
      .header("content-length", size)
      .header("content-security-policy", "sandbox; default-src 'none'")
      .header("x-content-type-options", "nosniff")
      .header("content-disposition", `inline; filename="${encodeURIComponent(path.split("/").pop() ?? "artifact")}"`)
      .send(stream);
  };
  const runArtifactUri = async (runId: string) =>
    ((await opts.service.handle("getRun", { run_id: runId })) as { run: { info: { artifact_uri: string } } }).run.info.artifact_uri;
  const artifactPath = (raw: string) => {
    const path = assertSafeArtifactPath(raw);
    if (!path) throw new InvalidParameterError("Missing value for required parameter 'path'.");
    return path;
  };

  app.get(
    "/get-artifact",
    { schema: { querystring: T.Object({ run_id: T.Optional(T.String()), run_uuid: T.Optional(T.String()), path: T.String() }) } },
    async (request, reply) => {
      const q = request.query as { run_id?: string; run_uuid?: string; path: string };
      const runId = q.run_id || q.run_uuid;
      if (!runId) throw new InvalidParameterError("Missing value for required parameter 'run_id'.");
      const path = artifactPath(q.path);
      return sendArtifact(reply, await runArtifactUri(runId), path);
    },
  );

  // MLflow's UI route for a registered model version's files, by name, version and path.
  app.get(
    "/model-versions/get-artifact",
    { schema: { querystring: T.Object({ name: T.String({ maxLength: 500 }), version: T.String({ maxLength: 20 }), path: T.String() }) } },
    async (request, reply) => {
      const q = request.query as { name: string; version: string; path: string };
      const path = artifactPath(q.path);
      const { model_version: mv } = (await opts.service.handle("getModelVersion", { name: q.name, version: q.version })) as {
        model_version: { source: string };
      };
      return sendArtifact(reply, await opts.service.modelVersionStorageUri(mv.source), path);
    },
  );

  app.get("/ui-api/pipeline", async () => pipelineView(projectRoot));
  app.get("/ui-api/pipeline/metrics-diff", { schema: { querystring: T.Object({ rev: T.String() }) } }, async (request) =>
    metricsDiffView(projectRoot, (request.query as { rev: string }).rev),
  );
}
