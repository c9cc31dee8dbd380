import type { Static } from "@sinclair/typebox";
import { Type } from "../json-schema.js";
import type { FastifyInstance } from "fastify";
import type { ServingContext } from "../context.js";
import { badRequest, installFormParser } from "../http.js";
import { PAGE_SECURITY_HEADERS, PAGE_TOP_K, renderPage } from "../page.js";
import { errorResponses, predictSchemas } from "../schemas.js";
import { checkExplain, checkTexts } from "../work.js";
import { DEFAULT_TOP_K, type PredictionView } from "../predictor.js";
import { stashedBody } from "../fast-path.js";

/** `GET /` (the page) and `POST /predict` (JSON API, and the page's no-JavaScript form post). */
export async function predictRoutes(app: FastifyInstance, ctx: ServingContext): Promise<void> {
  const { config, holder, predictor } = ctx;
  const schemas = predictSchemas(config);
  const formBody = Type.Object({ text: Type.String({ maxLength: config.maxTextLength }) }, { additionalProperties: true });
  // The JSON answer is either one prediction (for `text`) or `predictions` (for `texts`); one
  // schema with optional fields serialises both without a slow anyOf.
  const responseSchema = Type.Object({
    id: schemas.single.properties.id,
    label: Type.Optional(schemas.single.properties.label),
    class_name: Type.Optional(schemas.single.properties.class_name),
    score: Type.Optional(Type.Number()),
    probabilities: Type.Optional(schemas.single.properties.probabilities),
    towards: Type.Optional(schemas.single.properties.label),
    towards_class_name: schemas.single.properties.towards_class_name,
    contributions: schemas.single.properties.contributions,
    terms: schemas.single.properties.terms,
    predictions: Type.Optional(schemas.batch.properties.predictions),
    model: schemas.single.properties.model,
  });

  // Form posts only on this route (content-type parsers are scoped to this plugin).
  installFormParser(app);

  app.get(
    "/",
    {
      schema: {
        summary: "The web page: a form that predicts and highlights the words that pushed the decision",
        tags: ["page"],
        produces: ["text/html"],
        response: { 200: Type.String({ description: "text/html page" }) },
      },
    },
    async (_request, reply) => {
      return reply
        .headers(PAGE_SECURITY_HEADERS)
        .type("text/html; charset=utf-8")
        .send(renderPage({ model: holder.current, maxTextLength: config.maxTextLength }));
    },
  );

  app.post(
    "/predict",
    {
      schema: {
        summary: "Predict the sentiment of one text or a batch",
        description:
          "JSON `{text}` → one prediction; `{texts: [...]}` → `predictions`. `explain: true` adds per-token contributions. A form post (`text=...`) answers with the HTML page.",
        tags: ["predict"],
        body: {
          content: {
            "application/json": { schema: schemas.body },
            "application/x-www-form-urlencoded": { schema: formBody },
          },
        },
        response: { 200: responseSchema, ...errorResponses(400, 413, 415, 503) },
      },
      // A body the fast path (fast-path.ts) read and handed over is replayed to the parser.
      preParsing: (request, _reply, payload, done) => done(null, stashedBody(request.raw) ?? payload),
    },
    async (request, reply) => {
      const loaded = ctx.requireModel();
      const model = ctx.modelRef(loaded);

      // Two content types, two body schemas (the type provider types a single `body` schema only).
      if (request.headers["content-type"]?.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
        // The seed's path: an HTML form without JavaScript.
        const text = (request.body as Static<typeof formBody>).text;
        const page =
          text.trim() === ""
            ? renderPage({ model: loaded, text, error: "Please enter some text.", maxTextLength: config.maxTextLength })
            : renderPage({ model: loaded, text, result: predictor.explain(loaded, text, PAGE_TOP_K), maxTextLength: config.maxTextLength });
        return reply.headers(PAGE_SECURITY_HEADERS).type("text/html; charset=utf-8").send(page);
      }

      const body = request.body as Static<typeof schemas.body>;
      const hasText = body.text !== undefined;
      const hasTexts = body.texts !== undefined;
      if (hasText === hasTexts) throw badRequest('send exactly one of "text" (a string) or "texts" (an array of strings)');
      const topK = body.top_k ?? DEFAULT_TOP_K;

      if (hasText) {
        const text = body.text!;
        checkTexts([text], config);
        const view = body.explain ? predictor.explain(loaded, text, topK) : predictor.predict(loaded, [text])[0];
        return withModel(view, model);
      }
      const texts = body.texts!;
      const chars = checkTexts(texts, config);
      if (body.explain) {
        checkExplain(texts.length, chars, config);
        return { predictions: texts.map((t) => predictor.explain(loaded, t, topK)), model };
      }
      return { predictions: await predictor.predictViews(loaded, texts, chars), model };
    },
  );
}

function withModel(view: PredictionView, model: { name: string; version: string; alias?: string }): PredictionView & { model: typeof model } {
  (view as PredictionView & { model: typeof model }).model = model;
  return view as PredictionView & { model: typeof model };
}
