import { Type } from "../json-schema.js";
import type { Static } from "@sinclair/typebox";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { ServingContext } from "../context.js";
import { NotFoundError } from "../../util/errors.js";
import { quoteClientString } from "../../http/errors.js";
import { badRequest } from "../http.js";
import { checkTexts } from "../work.js";
import type { LoadedModel } from "../model-types.js";
import { ModelNameParams, ModelVersionParams, errorResponses, v2Schemas } from "../schemas.js";

/**
 * Open Inference Protocol V2 (KServe): server/model metadata, health, and infer with one
 * BYTES input tensor of texts. Outputs: `label` (BYTES, [n]), `class_name` (BYTES, [n]),
 * `probabilities` (FP64, [n, k], columns in the model's class order) and, with monitoring on,
 * `prediction_id` (BYTES, [n]: each prediction's id for POST /feedback), all listed in the
 * model metadata. As the protocol says, a request without `outputs` gets every output and one
 * with `outputs` only those it names.
 */
export async function v2Routes(scope: FastifyInstance, ctx: ServingContext): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { config, predictor } = ctx;
  const schemas = v2Schemas(config);
  const tags = ["kserve-v2"];

  app.get("/v2", { schema: { summary: "Server metadata", tags, response: { 200: schemas.serverMetadata } } }, async () => ({
    name: "polarity",
    version: ctx.serverVersion,
    extensions: [],
  }));
  app.get("/v2/health/live", { schema: { summary: "Liveness", tags, response: { 200: Type.Object({ live: Type.Boolean() }) } } }, async () => ({ live: true }));
  app.get(
    "/v2/health/ready",
    {
      schema: {
        summary: "Readiness: 200 when a model is loaded",
        tags,
        response: { 200: Type.Object({ ready: Type.Boolean() }), 503: Type.Object({ ready: Type.Boolean() }) },
      },
    },
    async (_request, reply) => {
      const ready = ctx.holder.ready && !ctx.draining;
      return reply.code(ready ? 200 : 503).send({ ready });
    },
  );

  const modelFor = (name: string) => {
    const loaded = ctx.requireModel();
    if (name !== loaded.name) throw new NotFoundError(`model ${quoteClientString(name)} is not served here; this server serves "${loaded.name}"`);
    return loaded;
  };

  app.get(
    "/v2/models/:name",
    { schema: { summary: "Model metadata", tags, params: ModelNameParams, response: { 200: schemas.modelMetadata, ...errorResponses(404, 503) } } },
    async (request) => {
      const loaded = modelFor(request.params.name);
      const k = loaded.model.classes.length;
      const ids = predictor.monitored ? [{ name: PREDICTION_ID, datatype: "BYTES", shape: [-1] }] : [];
      return {
        name: loaded.name,
        versions: [loaded.version],
        platform: "polarity",
        inputs: [{ name: "text", datatype: "BYTES", shape: [-1] }],
        outputs: [
          { name: "label", datatype: "BYTES", shape: [-1] },
          { name: "class_name", datatype: "BYTES", shape: [-1] },
          { name: "probabilities", datatype: "FP64", shape: [-1, k] },
          ...ids,
        ],
      };
    },
  );

  app.get(
    "/v2/models/:name/ready",
    {
      schema: {
        summary: "Model readiness",
        tags,
        params: ModelNameParams,
        response: { 200: Type.Object({ name: Type.String(), ready: Type.Boolean() }), ...errorResponses(404, 503) },
      },
    },
    async (request) => ({ name: modelFor(request.params.name).name, ready: true }),
  );

  const inferResponses = { 200: schemas.inferResponse, ...errorResponses(400, 404, 413, 415, 503) };
  app.post(
    "/v2/models/:name/infer",
    { schema: { summary: "Inference: one BYTES input tensor of texts", tags, params: ModelNameParams, body: schemas.inferBody, response: inferResponses } },
    async (request) => infer(modelFor(request.params.name), request.body),
  );
  app.post(
    "/v2/models/:name/versions/:version/infer",
    {
      schema: {
        summary: "Inference on a named version (only the version being served)",
        tags,
        params: ModelVersionParams,
        body: schemas.inferBody,
        response: inferResponses,
      },
    },
    async (request) => {
      const { name, version } = request.params;
      const loaded = modelFor(name);
      if (version !== loaded.version)
        throw new NotFoundError(
          `model ${quoteClientString(name)} version ${quoteClientString(version)} is not served here; the served version is "${loaded.version}"`,
        );
      return infer(loaded, request.body);
    },
  );

  async function infer(loaded: LoadedModel, body: Static<typeof schemas.inferBody>) {
    const input = body.inputs.length === 1 ? body.inputs[0] : body.inputs.find((t) => t.name === "text");
    if (!input)
      throw badRequest(
        `expected one input tensor, or one named "text"; got ${body.inputs
          .slice(0, 5)
          .map((t) => quoteClientString(t.name, 40))
          .join(", ")}${body.inputs.length > 5 ? ", …" : ""}`,
      );
    if (input.datatype !== "BYTES")
      throw badRequest(`input ${quoteClientString(input.name)} has datatype ${quoteClientString(input.datatype, 20)}; texts are sent as BYTES`);
    const texts = flattenTexts(input.data, input.name, input.shape.length);
    const expected = input.shape.reduce((a, b) => a * b, 1);
    if (expected !== texts.length)
      throw badRequest(
        `input ${quoteClientString(input.name)} has shape [${input.shape.slice(0, 8).join(", ")}${input.shape.length > 8 ? ", …" : ""}] (${expected} elements) but ${texts.length} data values`,
      );
    const chars = checkTexts(texts, config);

    const available = predictor.monitored ? OUTPUTS_MONITORED : OUTPUTS;
    const wanted = body.outputs?.map((o) => o.name) ?? available;
    for (const w of wanted) {
      if (!available.includes(w))
        throw badRequest(
          `unknown output ${quoteClientString(w, 40)}; this model has outputs ${available.map((o) => `"${o}"`).join(", ")}` +
            (w === PREDICTION_ID ? " (prediction ids come with monitoring on)" : ""),
        );
    }

    const { predictions, ids } = await predictor.predictBatch(loaded, texts, chars);
    const keys = loaded.model.classes.map(String);
    const k = keys.length;
    const outputs = [];
    for (const name of wanted) {
      if (name === "class_name") {
        const data = new Array<string>(predictions.length);
        for (let i = 0; i < predictions.length; i++) data[i] = predictions[i].className ?? String(predictions[i].label);
        outputs.push({ name: "class_name", shape: [predictions.length], datatype: "BYTES", data });
      } else if (name === PREDICTION_ID) {
        outputs.push({ name: PREDICTION_ID, shape: [predictions.length], datatype: "BYTES", data: ids ?? [] });
      } else if (name === "label") {
        const data = new Array<string>(predictions.length);
        for (let i = 0; i < predictions.length; i++) data[i] = String(predictions[i].label);
        outputs.push({ name: "label", shape: [predictions.length], datatype: "BYTES", data });
      } else {
        const data = new Array<number>(predictions.length * k);
        for (let i = 0; i < predictions.length; i++) {
          const probs = predictions[i].probabilities;
          for (let j = 0; j < k; j++) data[i * k + j] = probs[keys[j]];
        }
        outputs.push({ name: "probabilities", shape: [predictions.length, k], datatype: "FP64", data });
      }
    }
    return { model_name: loaded.name, model_version: loaded.version, ...(body.id !== undefined ? { id: body.id } : {}), outputs };
  }
}

const PREDICTION_ID = "prediction_id";
const OUTPUTS: readonly string[] = ["label", "class_name", "probabilities"];
const OUTPUTS_MONITORED: readonly string[] = [...OUTPUTS, PREDICTION_ID];

/**
 * V2 sends tensors flattened row-major or nested per shape; both give the texts in order.
 * Iterative, and nesting deeper than the tensor's rank is refused: a hostile body of a
 * million nested arrays must be a 400, not a stack overflow.
 */
function flattenTexts(data: unknown[], name: string, rank: number): string[] {
  const out: string[] = [];
  const maxDepth = Math.max(1, rank);
  const stack: Array<{ items: unknown[]; next: number; path: string }> = [{ items: data, next: 0, path: "" }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next === top.items.length) {
      stack.pop();
      continue;
    }
    const i = top.next++;
    const v = top.items[i];
    const path = `${top.path}[${i}]`;
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) {
      if (stack.length >= maxDepth) throw badRequest(`input ${quoteClientString(name)} is nested deeper than its shape allows (rank ${rank}) at ${path}`);
      stack.push({ items: v, next: 0, path });
    } else throw badRequest(`input ${quoteClientString(name)} element ${path} must be a string, got ${v === null ? "null" : typeof v}`);
  }
  return out;
}
