import { createRequire } from "node:module";

/**
 * fastify's own schema compilers (Ajv for request validation, fast-json-stringify for
 * responses), made lazy: each route's validator or serializer is compiled the first time it
 * is used, not while fastify gets ready (issue 12, start → ready).
 *
 * fastify compiles every route's schemas during `ready()`. For this server that is ~60
 * schemas over five protocols, plus loading Ajv (~85 files) and fast-json-stringify: a third
 * of the start-up CPU of `polarity serve` (measured with --cpu-prof: module loading of Ajv and
 * the codegen of both compilers), for routes most servers answer rarely or never. The hot
 * route, POST /predict, is answered by the fast path (fast-path.ts) without them.
 *
 * The compilers are the very ones fastify would build: @fastify/ajv-compiler and
 * @fastify/fast-json-stringify-compiler, resolved from fastify's own location (so the version
 * fastify depends on), called with the same external schemas and options fastify passes. Each
 * compiled function is the same as fastify's eager one; only the moment differs. A compile
 * error (a bad schema) would surface at the route's first use instead of at start-up, so
 * compileAll() compiles every pending schema (test/serving/start-path.test.ts runs it on the
 * whole server).
 */

type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type Serialize = (data: unknown) => string;
/** fastify's compiler builder shape: (external schemas, options) → (route schema) → compiled function. */
type Builder<F> = (externalSchemas: unknown, options: unknown) => (routeSchema: unknown) => F;

const fastifyRequire = createRequire(createRequire(import.meta.url).resolve("fastify"));
let validatorSelector: Builder<Validate> | undefined;
let serializerSelector: Builder<Serialize> | undefined;
/** One selector each per process, as fastify keeps one per root instance (they pool compilers by schemas + options). */
const validators = (): Builder<Validate> => (validatorSelector ??= (fastifyRequire("@fastify/ajv-compiler") as () => Builder<Validate>)());
const serializers = (): Builder<Serialize> =>
  (serializerSelector ??= (fastifyRequire("@fastify/fast-json-stringify-compiler") as { SerializerSelector: () => Builder<Serialize> }).SerializerSelector());

export class LazySchemaCompilers {
  /** Compiles still pending (a function that compiles one and drops it from the set). */
  private readonly pending = new Set<() => void>();
  /** How many schemas were compiled (tests, diagnostics). */
  compiled = 0;

  /** fastify's `schemaController.compilersFactory`. */
  readonly compilersFactory = {
    buildValidator: this.lazyBuilder(validators, (compile) => {
      const lazy: Validate = (data) => {
        const f = compile();
        const ok = f(data);
        // fastify reads the failing validator's `errors` after a false result.
        lazy.errors = f.errors;
        return ok;
      };
      return lazy;
    }),
    buildSerializer: this.lazyBuilder(
      serializers,
      (compile): Serialize =>
        (data) =>
          compile()(data),
    ),
  };

  /**
   * A builder of fastify's shape whose route functions are `wrap(compile)`: `compile()` compiles
   * the route schema with `selector`'s compiler at its first call (and drops it from `pending`).
   */
  private lazyBuilder<F>(selector: () => Builder<F>, wrap: (compile: () => F) => F): Builder<F> {
    return (externalSchemas, options) => {
      let compiler: ((routeSchema: unknown) => F) | undefined;
      return (routeSchema) => {
        let fn: F | undefined;
        const compile = (): F => {
          if (fn === undefined) {
            fn = (compiler ??= selector()(externalSchemas, options))(routeSchema);
            this.compiled++;
            this.pending.delete(compile);
          }
          return fn;
        };
        this.pending.add(compile);
        return wrap(compile);
      };
    };
  }

  /** Schemas registered but not compiled yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Compiles every pending schema now (throws the first compile error). */
  compileAll(): void {
    for (const compile of [...this.pending]) compile();
  }
}
