import { Type } from "../json-schema.js";
import type { FastifyInstance } from "fastify";
import type { ServingContext } from "../context.js";
import { contentSecurityPolicy } from "../page.js";
import { HealthBody, ReadyBody } from "../schemas.js";

/**
 * The probes' answers are written by JSON.stringify, not by a fast-json-stringify serializer
 * compiled from their response schemas: orchestrators (and bench:serve) poll /readyz from the
 * first instant, and its first answer would otherwise load and run the serializer compiler
 * (~80 ms of start → ready, lazy-schemas.ts). The handlers build exactly the schema's
 * properties in the order fast-json-stringify writes them (required ones first, in schema
 * order, then the optional ones), so the bytes are the same
 * (test/serving/start-path.test.ts compares them with fast-json-stringify's).
 */
const PROBE_SERIALIZER = { serializerCompiler: () => (data: unknown) => JSON.stringify(data) };

/** Kubernetes-style health, Prometheus metrics and the API docs. */
export async function opsRoutes(app: FastifyInstance, ctx: ServingContext): Promise<void> {
  const tags = ["operations"];

  // `pid` tells cluster workers apart (useful behind one port).
  app.get("/healthz", { ...PROBE_SERIALIZER, schema: { summary: "Liveness: the process is up", tags, response: { 200: HealthBody } } }, async () => ({
    status: "ok",
    pid: process.pid,
  }));

  app.get(
    "/readyz",
    {
      ...PROBE_SERIALIZER,
      schema: { summary: "Readiness: a model is loaded and the server is not shutting down", tags, response: { 200: ReadyBody, 503: ReadyBody } },
    },
    async (_request, reply) => {
      const loaded = ctx.holder.current;
      if (ctx.draining) return reply.code(503).send({ status: "draining" });
      if (!loaded) return reply.code(503).send({ status: "loading" });
      return {
        status: "ready",
        model: {
          name: loaded.name,
          version: loaded.version,
          // Not the source (a path or tracking URI): /readyz is unauthenticated.
          loaded_at: loaded.loadedAt.toISOString(),
          // Last, as fast-json-stringify writes an optional property after the required ones.
          ...(loaded.alias !== undefined ? { alias: loaded.alias } : {}),
        },
      };
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics (text exposition format); in cluster mode, summed over all workers",
        tags,
        produces: ["text/plain"],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      const text = await ctx.metrics.text();
      return reply.type(ctx.metrics.contentType).send(text);
    },
  );

  app.get("/docs/json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/docs", { schema: { hide: true } }, async (_request, reply) =>
    reply.header("content-security-policy", DOCS_CSP).header("x-frame-options", "DENY").type("text/html; charset=utf-8").send(DOCS_PAGE),
  );
  // Browsers ask for it on every page load; an empty 204 instead of a 404 in the logs.
  app.get("/favicon.ico", { schema: { hide: true } }, async (_request, reply) => reply.code(204).header("cache-control", "public, max-age=86400").send());
}

/** A small self-contained reader for the OpenAPI document (no CDN: the page must work offline). */
const DOCS_PAGE: string = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Polarity model server — API</title>
<style>
body{font-family:system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem;color:#1d2430}
.op{border:1px solid #e1e4e8;border-radius:8px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}.get{color:#1a7f37}.post{color:#2f6fed}
code{background:#f3f4f6;padding:0 .25rem;border-radius:4px}pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:.8rem}
details summary{cursor:pointer;color:#5b6472}
</style></head>
<body><h1>Polarity model server — API</h1>
<p>Generated from the route schemas. Raw OpenAPI 3 document: <a href="/docs/json"><code>/docs/json</code></a>.</p>
<div id="ops">Loading…</div>
<script>
// Descriptions are Markdown: \`code\` and **bold**, built with textContent (no innerHTML).
function md(el,s){s.split(/(\`[^\`]*\`|\\*\\*[^*]+\\*\\*)/).forEach(function(part){
  if(part.charAt(0)==='\`'&&part.length>1){var c=document.createElement('code');c.textContent=part.slice(1,-1);el.appendChild(c);}
  else if(part.indexOf('**')===0&&part.length>4){var b=document.createElement('b');b.textContent=part.slice(2,-2);el.appendChild(b);}
  else el.appendChild(document.createTextNode(part));});}
fetch('/docs/json').then(function(r){return r.json();}).then(function(doc){
  var root=document.getElementById('ops');root.textContent='';
  Object.keys(doc.paths).forEach(function(path){var item=doc.paths[path];Object.keys(item).forEach(function(method){
    var op=item[method],d=document.createElement('div');d.className='op';
    var m=document.createElement('span');m.className='m '+method;m.textContent=method.toUpperCase();d.appendChild(m);
    var c=document.createElement('code');c.textContent=path;d.appendChild(c);
    var p=document.createElement('p');md(p,(op.summary||'')+(op.description?' — '+op.description:''));d.appendChild(p);
    var det=document.createElement('details'),s=document.createElement('summary');s.textContent='schemas';det.appendChild(s);
    var pre=document.createElement('pre');pre.textContent=JSON.stringify({requestBody:op.requestBody,parameters:op.parameters,responses:op.responses},null,2);det.appendChild(pre);d.appendChild(det);
    root.appendChild(d);});});
}).catch(function(e){document.getElementById('ops').textContent='Could not load /docs/json: '+e;});
</script></body></html>`;

/** The docs page runs only its own inline script (by hash) and fetches /docs/json. */
const DOCS_CSP = contentSecurityPolicy(DOCS_PAGE);
