import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Type as TypeBox } from "@sinclair/typebox";
import { Type } from "../../src/serving/json-schema.js";

/**
 * src/serving/json-schema.ts builds the route schemas without loading TypeBox at start-up: each
 * builder must give TypeBox's own object — the same keys in the same order (fast-json-stringify,
 * Ajv and the OpenAPI document read them) and the same Kind/Optional symbols.
 */
function same(ours: unknown, theirs: unknown, what: string): void {
  assert.deepStrictEqual(ours, theirs, what);
  assert.equal(JSON.stringify(ours), JSON.stringify(theirs), `${what}: key order`);
  // deepStrictEqual compares symbol keys too; say so explicitly for the two TypeBox sets.
  const symbols = (x: unknown) =>
    typeof x === "object" && x !== null ? Object.getOwnPropertySymbols(x).map((s) => [String(s), (x as Record<symbol, unknown>)[s]]) : [];
  assert.deepEqual(symbols(ours), symbols(theirs), `${what}: symbols`);
}

describe("json-schema.ts builds TypeBox's objects", () => {
  const description = { description: "a field" };
  test("scalars, with and without options", () => {
    for (const options of [undefined, description, { maxLength: 256 }, { minimum: 0, description: "n" }, { $id: "X", examples: ["a"] }]) {
      same(Type.String(options), TypeBox.String(options), `String ${JSON.stringify(options)}`);
      same(Type.Number(options), TypeBox.Number(options), `Number ${JSON.stringify(options)}`);
      same(Type.Integer(options), TypeBox.Integer(options), `Integer ${JSON.stringify(options)}`);
      same(Type.Boolean(options), TypeBox.Boolean(options), `Boolean ${JSON.stringify(options)}`);
      same(Type.Unknown(options), TypeBox.Unknown(options), `Unknown ${JSON.stringify(options)}`);
    }
  });

  test("objects: required from the non-optional keys (none: no `required`), options and $id, nesting", () => {
    const build = (T: typeof Type | typeof TypeBox) =>
      T.Object(
        {
          name: T.String(),
          alias: T.Optional(T.String({ maxLength: 64 })),
          score: T.Number(description),
          inner: T.Object({ a: T.Optional(T.Integer()), b: T.Array(T.Unknown(), { minItems: 1, maxItems: 10 }) }, { additionalProperties: false }),
        },
        { $id: "Thing", description: "every field" },
      );
    same(build(Type), build(TypeBox), "nested object");
    same(Type.Object({}), TypeBox.Object({}), "empty object");
    same(
      Type.Object({}, { additionalProperties: Type.Number(), description: "map" }),
      TypeBox.Object({}, { additionalProperties: TypeBox.Number(), description: "map" }),
      "additionalProperties schema",
    );
    same(Type.Object({ a: Type.Optional(Type.String()) }), TypeBox.Object({ a: TypeBox.Optional(TypeBox.String()) }), "all optional");
    same(Type.Optional(Type.String(), false), TypeBox.Optional(TypeBox.String(), false), "Optional(false)");
    same(Type.Optional(Type.Optional(Type.Number()), false), TypeBox.Optional(TypeBox.Optional(TypeBox.Number()), false), "Optional removed");
  });

  test("arrays, unions (0, 1, 2 members), records with string keys, Unsafe refs", () => {
    same(Type.Array(Type.String()), TypeBox.Array(TypeBox.String()), "Array");
    same(Type.Array(Type.String(), { description: "ids" }), TypeBox.Array(TypeBox.String(), { description: "ids" }), "Array options");
    same(Type.Union([]), TypeBox.Union([]), "Union of none");
    same(Type.Union([Type.String()], description), TypeBox.Union([TypeBox.String()], description), "Union of one");
    same(
      Type.Union([Type.String({ maxLength: 256 }), Type.Number()], description),
      TypeBox.Union([TypeBox.String({ maxLength: 256 }), TypeBox.Number()], description),
      "Union",
    );
    same(Type.Record(Type.String(), Type.Unknown()), TypeBox.Record(TypeBox.String(), TypeBox.Unknown()), "Record");
    same(Type.Record(Type.String(), Type.Number(), description), TypeBox.Record(TypeBox.String(), TypeBox.Number(), description), "Record options");
    same(
      Type.Record(Type.String({ pattern: "^[a-z]+$" }), Type.Number()),
      TypeBox.Record(TypeBox.String({ pattern: "^[a-z]+$" }), TypeBox.Number()),
      "Record with a key pattern",
    );
    same(Type.Unsafe({ $ref: "ErrorBody#" }), TypeBox.Unsafe({ $ref: "ErrorBody#" }), "Unsafe $ref");
    same(Type.Unsafe(), TypeBox.Unsafe(), "Unsafe");
    assert.throws(() => Type.Record(Type.Number() as never, Type.Unknown()), /string keys only|Type\.String\(\) keys only/);
  });
});
