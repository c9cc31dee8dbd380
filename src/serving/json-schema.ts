import type { Type as TypeBox } from "@sinclair/typebox";

/**
 * The eleven TypeBox builders the model server's route schemas use, building the very objects
 * @sinclair/typebox 0.34 builds (same keys in the same order, the same TypeBox.Kind and
 * TypeBox.Optional symbols) with TypeBox's own signatures, so Static<> and the type provider
 * infer as before. Only the types come from TypeBox: its ESM build is ~200 files, ~0.15 s of
 * CPU to load at every `polarity serve` start (issue 12, start → ready), for a dozen
 * one-line functions. test/serving/json-schema.test.ts compares every builder, with the
 * arguments the routes pass, against TypeBox's own output.
 */
type Builders = Pick<typeof TypeBox, "Array" | "Boolean" | "Integer" | "Number" | "Object" | "Optional" | "Record" | "String" | "Union" | "Unknown" | "Unsafe">;

type Schema = Record<string | symbol, unknown>;

const Kind = Symbol.for("TypeBox.Kind");
const OptionalKind = Symbol.for("TypeBox.Optional");
/** TypeBox's PatternStringExact: the key pattern of a Record with string keys. */
const STRING_KEYS = "^(.*)$";

/** TypeBox's CreateType in its default instance mode: options first, the schema's own keys over them. */
function create(schema: Schema, options?: object): Schema {
  return options !== undefined ? { ...options, ...schema } : schema;
}

const builders = {
  Array: (items: Schema, options?: object) => create({ [Kind]: "Array", type: "array", items }, options),
  Boolean: (options?: object) => create({ [Kind]: "Boolean", type: "boolean" }, options),
  Integer: (options?: object) => create({ [Kind]: "Integer", type: "integer" }, options),
  Number: (options?: object) => create({ [Kind]: "Number", type: "number" }, options),
  Object: (properties: Record<string, Schema>, options?: object) => {
    const required = Object.keys(properties).filter((key) => properties[key][OptionalKind] !== "Optional");
    return create(required.length > 0 ? { [Kind]: "Object", type: "object", required, properties } : { [Kind]: "Object", type: "object", properties }, options);
  },
  Optional: (schema: Schema, enable?: boolean) => {
    if (enable !== false) return { ...schema, [OptionalKind]: "Optional" };
    const { [OptionalKind]: _dropped, ...rest } = schema;
    return rest;
  },
  Record: (key: Schema, value: Schema, options: object = {}) => {
    // TypeBox also takes literal, union, number and template keys; the routes use string keys only.
    if (key[Kind] !== "String") throw new Error("src/serving/json-schema.ts: Record supports Type.String() keys only");
    const pattern = typeof key.pattern === "string" ? key.pattern : STRING_KEYS;
    return create({ [Kind]: "Record", type: "object", patternProperties: { [pattern]: value } }, options);
  },
  String: (options?: object) => create({ [Kind]: "String", type: "string" }, options),
  Union: (types: Schema[], options?: object) =>
    types.length === 0
      ? create({ [Kind]: "Never", not: {} }, options)
      : types.length === 1
        ? create(types[0], options)
        : create({ [Kind]: "Union", anyOf: types }, options),
  Unknown: (options?: object) => create({ [Kind]: "Unknown" }, options),
  Unsafe: (options: Schema = {}) => create({ [Kind]: options[Kind] ?? "Unsafe" }, options),
};

export const Type: Builders = builders as unknown as Builders;
