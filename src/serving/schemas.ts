import type { Static, TSchema } from "@sinclair/typebox";
import { Type } from "./json-schema.js";

/**
 * Route schemas, one declaration each for validation, OpenAPI (/docs) and response
 * serialisation (fast-json-stringify). Limits are part of the schemas, so they are built
 * per server from its configuration.
 */

export const ErrorBody = Type.Object(
  {
    error_code: Type.String({
      description: "Stable code, MLflow-style: BAD_REQUEST, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, ENDPOINT_NOT_FOUND, TEMPORARILY_UNAVAILABLE, ...",
    }),
    message: Type.String(),
    error: Type.Optional(Type.String({ description: "Open Inference Protocol V2 routes also carry the message here." })),
  },
  { $id: "ErrorBody", description: "Every error response" },
);

export const LabelSchema = Type.Union([Type.String(), Type.Number()], { description: "A class of the model, as it was trained (string or number)" });

export const ModelRef = Type.Object({
  name: Type.String(),
  version: Type.String(),
  alias: Type.Optional(Type.String()),
});

export const Contribution = Type.Object({
  token: Type.String({ description: "A word of the original text (text.slice(start, end))" }),
  start: Type.Integer({ description: "Offset in the original text (UTF-16 code units)" }),
  end: Type.Integer(),
  weight: Type.Number({ description: "Contribution to the decision; > 0 pushes towards `towards`" }),
});

export const Term = Type.Object({
  term: Type.String({ description: "A feature (word or n-gram) after preprocessing" }),
  weight: Type.Number({ description: "value × coefficient; > 0 pushes towards `towards`" }),
});

const ClassName = Type.String({ description: 'What the label means, e.g. "positive" (the bundle\'s class names; String(label) for bundles without them)' });

export const PredictionOut = Type.Object({
  id: Type.Optional(Type.String({ description: "Prediction id (when monitoring is on): POST it to /feedback with the true label" })),
  label: LabelSchema,
  class_name: ClassName,
  score: Type.Number({ description: "Probability of the predicted label" }),
  // additionalProperties (not a pattern Record) serialises faster and reads the same in OpenAPI.
  probabilities: Type.Object({}, { additionalProperties: Type.Number(), description: "Probability per class, keyed by String(class)" }),
  towards: Type.Optional(LabelSchema),
  towards_class_name: Type.Optional(ClassName),
  contributions: Type.Optional(Type.Array(Contribution, { description: "explain: the words of the text that pushed the decision, in order" })),
  terms: Type.Optional(Type.Array(Term, { description: "explain: the strongest features, at most top_k" })),
});
export type PredictionOutT = Static<typeof PredictionOut>;

export function predictSchemas(limits: { maxTextLength: number; maxBatchSize: number }) {
  const text = Type.String({ maxLength: limits.maxTextLength, description: `One text, at most ${limits.maxTextLength} UTF-16 code units` });
  const body = Type.Object(
    {
      text: Type.Optional(text),
      texts: Type.Optional(Type.Array(text, { minItems: 1, maxItems: limits.maxBatchSize, description: `At most ${limits.maxBatchSize} texts` })),
      explain: Type.Optional(Type.Boolean({ description: "Add per-token contributions (the words that pushed the decision)" })),
      top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "How many strongest terms to return per text (default 20)" })),
    },
    {
      additionalProperties: false,
      description: "Exactly one of `text` or `texts`. The same route takes an HTML form (`text=...`) and answers with the page, as the seed did.",
    },
  );
  const single = Type.Object({
    id: PredictionOut.properties.id,
    label: LabelSchema,
    class_name: ClassName,
    score: Type.Number(),
    probabilities: PredictionOut.properties.probabilities,
    towards: Type.Optional(LabelSchema),
    towards_class_name: Type.Optional(ClassName),
    contributions: PredictionOut.properties.contributions,
    terms: PredictionOut.properties.terms,
    model: ModelRef,
  });
  const batch = Type.Object({ predictions: Type.Array(PredictionOut), model: ModelRef });
  return { body, single, batch };
}

// ---- MLflow scoring protocol --------------------------------------------------------------

export function invocationsSchemas(limits: { maxBatchSize: number }) {
  const rows = { maxItems: limits.maxBatchSize };
  const body = Type.Object(
    {
      dataframe_split: Type.Optional(
        Type.Object({
          columns: Type.Optional(Type.Array(Type.String())),
          index: Type.Optional(Type.Array(Type.Unknown())),
          data: Type.Array(Type.Unknown(), rows),
        }),
      ),
      dataframe_records: Type.Optional(Type.Array(Type.Unknown(), rows)),
      instances: Type.Optional(Type.Union([Type.Array(Type.Unknown(), rows), Type.Record(Type.String(), Type.Unknown())])),
      inputs: Type.Optional(Type.Union([Type.Array(Type.Unknown(), rows), Type.Record(Type.String(), Type.Unknown())])),
      params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    },
    {
      description:
        'MLflow scoring protocol: exactly one of dataframe_split, dataframe_records, instances, inputs. The text column is "text" (or "review", or the only column). Also accepts text/csv with a header row.',
    },
  );
  const response = Type.Object({ predictions: Type.Array(LabelSchema) });
  return { body, response };
}

// ---- Open Inference Protocol V2 (KServe) ---------------------------------------------------

export const V2Tensor = Type.Object({
  name: Type.String(),
  shape: Type.Array(Type.Integer({ minimum: 0 })),
  datatype: Type.String(),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  data: Type.Array(Type.Unknown()),
});

export function v2Schemas(limits: { maxBatchSize: number }) {
  const inferBody = Type.Object({
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    inputs: Type.Array(
      Type.Object({
        name: Type.String(),
        shape: Type.Array(Type.Integer({ minimum: 0 })),
        datatype: Type.String(),
        parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        data: Type.Array(Type.Unknown(), { maxItems: limits.maxBatchSize }),
      }),
      { minItems: 1 },
    ),
    outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }))),
  });
  const outTensor = Type.Object({
    name: Type.String(),
    shape: Type.Array(Type.Integer()),
    datatype: Type.String(),
    data: Type.Array(Type.Union([Type.String(), Type.Number()])),
  });
  const inferResponse = Type.Object({
    model_name: Type.String(),
    model_version: Type.String(),
    id: Type.Optional(Type.String()),
    outputs: Type.Array(outTensor),
  });
  const tensorMeta = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
  const modelMetadata = Type.Object({
    name: Type.String(),
    versions: Type.Array(Type.String()),
    platform: Type.String(),
    inputs: Type.Array(tensorMeta),
    outputs: Type.Array(tensorMeta),
  });
  const serverMetadata = Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) });
  return { inferBody, inferResponse, modelMetadata, serverMetadata };
}

export const ModelNameParams = Type.Object({ name: Type.String({ maxLength: 256 }) });
export const ModelVersionParams = Type.Object({ name: Type.String({ maxLength: 256 }), version: Type.String({ maxLength: 256 }) });

// ---- health -------------------------------------------------------------------------------

export const HealthBody = Type.Object({ status: Type.String(), pid: Type.Integer({ description: "Process id (tells cluster workers apart)" }) });
export const ReadyBody = Type.Object({
  status: Type.String({ description: "ready, loading or draining" }),
  model: Type.Optional(Type.Object({ name: Type.String(), version: Type.String(), alias: Type.Optional(Type.String()), loaded_at: Type.String() })),
});

/** `response` entries for the error statuses a route can answer with. */
export function errorResponses(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const c of codes) out[c] = Type.Unsafe({ $ref: "ErrorBody#" });
  return out;
}
