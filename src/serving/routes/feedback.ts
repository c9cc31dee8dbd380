import { Type } from "../json-schema.js";
import type { FastifyInstance } from "fastify";
import type { ModelMonitor } from "../../monitoring/monitor.js";
import { DataError } from "../../util/errors.js";
import type { ServingContext } from "../context.js";
import { badRequest } from "../http.js";
import { errorResponses } from "../schemas.js";

export const MAX_FEEDBACK_BATCH = 1000;

const Item = Type.Object(
  {
    id: Type.String({ maxLength: 64, description: "The `id` of a prediction from POST /predict" }),
    label: Type.Union([Type.String({ maxLength: 256 }), Type.Number()], { description: "The true label (one of the model's classes)" }),
    text: Type.Optional(
      Type.String({ maxLength: 100_000, description: "The text, kept in the feedback log only when text logging is on (for export-feedback)" }),
    ),
  },
  { additionalProperties: false },
);

const Body = Type.Union([Item, Type.Object({ feedback: Type.Array(Item, { minItems: 1, maxItems: MAX_FEEDBACK_BATCH }) }, { additionalProperties: false })]);

const Result = Type.Object({ recorded: Type.Integer(), duplicates: Type.Integer() });

/** `POST /feedback`: true labels for earlier predictions → live accuracy (src/monitoring). */
export async function feedbackRoutes(app: FastifyInstance, ctx: ServingContext, monitor: ModelMonitor): Promise<void> {
  app.post(
    "/feedback",
    {
      schema: {
        summary: "Record the true label of earlier predictions",
        description: `\`{id, label}\` or \`{feedback: [{id, label}, …]}\` (at most ${MAX_FEEDBACK_BATCH}). Ids come with each prediction of POST /predict. A whole batch is refused if one item is invalid; an id labelled before counts as a duplicate.`,
        tags: ["predict"],
        body: Body,
        response: { 200: Result, ...errorResponses(400, 413, 415, 503) },
      },
    },
    async (request) => {
      const loaded = ctx.requireModel();
      const body = request.body as
        { id: string; label: string | number; text?: string } | { feedback: { id: string; label: string | number; text?: string }[] };
      const items = "feedback" in body ? body.feedback : [body];
      try {
        return monitor.feedback(loaded, items);
      } catch (err) {
        if (err instanceof DataError) throw badRequest(err.message);
        throw err;
      }
    },
  );
}
