import type { Static } from "@sinclair/typebox";
import { Type } from "../json-schema.js";
import type { FastifyInstance } from "fastify";
import type { ServingContext } from "../context.js";
import { quoteClientString } from "../../http/errors.js";
import { badRequest, installCsvParser } from "../http.js";
import { errorResponses, invocationsSchemas } from "../schemas.js";
import { checkTexts } from "../work.js";

/**
 * MLflow's scoring protocol (`mlflow models serve`): /ping, /health, /version,
 * /invocations. The model's input is one column of texts: named "text" (or "review", the
 * seed's column), or the only column. Predictions are the labels, as MLflow's sklearn
 * flavour returns them. With monitoring on, `prediction_ids` beside `predictions` gives each
 * prediction's id for POST /feedback: MLflow's own scoring server puts metadata keys beside
 * `predictions` (scoring_server.predictions_to_json) and its client (PredictionsResponse) is
 * a dict that reads `predictions` and keeps the rest.
 */
export async function mlflowRoutes(app: FastifyInstance, ctx: ServingContext): Promise<void> {
  const { config, predictor } = ctx;
  const schemas = invocationsSchemas(config);
  const response = Type.Object({
    ...schemas.response.properties,
    prediction_ids: Type.Optional(Type.Array(Type.String(), { description: "With monitoring on: the id of each prediction, in order, for POST /feedback" })),
  });
  installCsvParser(app);

  // MLflow answers 200 with a newline when the model is loaded, 404 otherwise.
  const ping = {
    schema: { summary: "MLflow health check: 200 when a model is loaded", tags: ["mlflow"], response: { 200: Type.String(), 404: Type.String() } },
  };
  const pingHandler = async (_request: unknown, reply: import("fastify").FastifyReply) =>
    reply
      .code(ctx.holder.ready ? 200 : 404)
      .type("application/json")
      .send("\n");
  app.get("/ping", ping, pingHandler);
  app.get("/health", ping, pingHandler);

  app.get("/version", { schema: { summary: "Server version (text)", tags: ["mlflow"], response: { 200: Type.String() } } }, async (_request, reply) =>
    reply.type("text/plain; charset=utf-8").send(ctx.serverVersion),
  );

  app.post(
    "/invocations",
    {
      schema: {
        summary: "MLflow scoring: dataframe_split, dataframe_records, instances or inputs (JSON), or text/csv",
        tags: ["mlflow"],
        body: { content: { "application/json": { schema: schemas.body }, "text/csv": { schema: Type.String() } } },
        response: { 200: response, ...errorResponses(400, 413, 415, 503) },
      },
    },
    async (request) => {
      const loaded = ctx.requireModel();
      const texts = typeof request.body === "string" ? await textsFromCsv(request.body) : textsFromScoringJson(request.body as Static<typeof schemas.body>);
      const chars = checkTexts(texts, config);
      const { predictions, ids } = await predictor.predictBatch(loaded, texts, chars);
      const labels = new Array(predictions.length);
      for (let i = 0; i < predictions.length; i++) labels[i] = predictions[i].label;
      return ids === undefined ? { predictions: labels } : { predictions: labels, prediction_ids: ids };
    },
  );
}

const FORMATS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;
const TEXT_COLUMNS = ["text", "review"];

function pickColumn(columns: readonly string[], where: string): number {
  for (const name of TEXT_COLUMNS) {
    const i = columns.indexOf(name);
    if (i >= 0) return i;
  }
  if (columns.length === 1) return 0;
  throw badRequest(
    `${where}: no text column: expected a column named ${TEXT_COLUMNS.map((c) => `"${c}"`).join(" or ")}, or exactly one column; got columns ${columns
      .slice(0, 10)
      .map((c) => quoteClientString(c, 40))
      .join(", ")}${columns.length > 10 ? ", …" : ""}`,
  );
}

function asText(value: unknown, where: string): string {
  if (typeof value !== "string")
    throw badRequest(`${where} must be a string, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
  return value;
}

/** Texts from an MLflow JSON scoring payload: exactly one of the four formats. */
export function textsFromScoringJson(body: Record<string, unknown>): string[] {
  const present = FORMATS.filter((f) => body[f] !== undefined);
  if (present.length !== 1) {
    throw badRequest(`the body must contain exactly one of ${FORMATS.join(", ")}${present.length > 1 ? `; got ${present.join(" and ")}` : ""}`);
  }
  const format = present[0];
  const value = body[format];
  if (format === "dataframe_split") {
    const split = value as { columns?: string[]; data: unknown[] };
    const col = split.columns ? pickColumn(split.columns, "dataframe_split") : 0;
    return split.data.map((row, i) => {
      if (Array.isArray(row)) {
        if (!split.columns && row.length !== 1)
          throw badRequest(`dataframe_split.data[${i}] has ${row.length} values; give "columns" to say which one is the text`);
        return asText(row[col], `dataframe_split.data[${i}][${col}]`);
      }
      return asText(row, `dataframe_split.data[${i}]`);
    });
  }
  if (format === "dataframe_records") return recordsToTexts(value as unknown[], "dataframe_records");
  // instances / inputs: a list (of strings, one-element lists or records) or a columnar object.
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === "object" && value[0] !== null && !Array.isArray(value[0])) return recordsToTexts(value, format);
    return value.map((v, i) => (Array.isArray(v) && v.length === 1 ? asText(v[0], `${format}[${i}][0]`) : asText(v, `${format}[${i}]`)));
  }
  const columns = Object.keys(value as object);
  const name = columns[pickColumn(columns, format)];
  const column = (value as Record<string, unknown>)[name];
  if (typeof column === "string") return [column];
  if (!Array.isArray(column)) throw badRequest(`${format}.${fieldName(name)} must be a string or an array of strings`);
  return column.map((v, i) => asText(v, `${format}.${fieldName(name)}[${i}]`));
}

/** A column name for a message: as is when it is a plain identifier, else quoted and clipped. */
function fieldName(name: string): string {
  return /^[A-Za-z_][\w]{0,63}$/.test(name) ? name : quoteClientString(name, 40);
}

function recordsToTexts(records: unknown[], where: string): string[] {
  if (records.length === 0) return [];
  const first = records[0];
  if (typeof first !== "object" || first === null || Array.isArray(first)) throw badRequest(`${where}[0] must be an object like {"text": "..."}`);
  const key = Object.keys(first)[pickColumn(Object.keys(first), where)];
  return records.map((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw badRequest(`${where}[${i}] must be an object like {"text": "..."}`);
    return asText((r as Record<string, unknown>)[key], `${where}[${i}].${fieldName(key)}`);
  });
}

/** Texts from CSV with a header row (MLflow's text/csv input). papaparse is loaded on first use (server start-up time). */
export async function textsFromCsv(csv: string): Promise<string[]> {
  const { default: Papa } = await import("papaparse");
  const parsed = Papa.parse<string[]>(csv, { skipEmptyLines: true, delimiter: "," });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    throw badRequest(`malformed CSV${e.row !== undefined ? ` at row ${e.row}` : ""}: ${e.message}`);
  }
  const rows = parsed.data;
  if (rows.length === 0) throw badRequest("CSV body is empty; expected a header row and one text per row");
  const col = pickColumn(rows[0], "CSV header");
  const out = new Array<string>(rows.length - 1);
  for (let i = 1; i < rows.length; i++) out[i - 1] = rows[i][col] ?? "";
  return out;
}
