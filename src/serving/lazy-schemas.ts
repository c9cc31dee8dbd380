import { createRequire } from "node:module";
import type { FastifyInstance } from "fastify";
import type {} from "@fastify/swagger";

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

type Hook = (arg: unknown) => unknown;
/** The part of a fastify instance @fastify/swagger's dynamic mode touches (lib/mode/dynamic.js, lib/util/add-hook.js). */
interface SwaggerHost {
  addHook(name: string, hook: Hook): void;
  decorate(name: string, value: unknown): void;
  getSchemas(): Record<string, unknown>;
}
type SwaggerSetup = (host: SwaggerHost, options: Record<string, unknown>, done: (err?: Error) => void) => void;

/**
 * @fastify/swagger (dynamic mode), set up at the first `app.swagger()` call — GET /docs/json —
 * instead of at start-up: registering it loads its OpenAPI generator with `yaml` and
 * `json-schema-resolver` (~90 files, ~0.1 s of CPU: measured with --cpu-prof), for a document
 * that most servers never serve (issue 12, start → ready).
 *
 * The plugin itself collects what its document needs through three root hooks (its
 * lib/util/add-hook.js): every route (onRoute), every encapsulated instance (onRegister) and,
 * at onReady, the shared schemas of those instances. This records the same events, in the same
 * order, from the same point of registration; the first call runs the plugin's own setup on a
 * stand-in host and replays them to it, so the document is built by the same code from the
 * same route objects and schemas. test/serving/start-path.test.ts compares GET /docs/json
 * byte for byte against the plugin registered as usual (buildServer({ lazySchemas: false })).
 */
export function registerLazySwagger(app: FastifyInstance, options: Record<string, unknown>): void {
  const events: Array<[name: "onRoute" | "onRegister", arg: unknown]> = [];
  app.addHook("onRoute", (route) => void events.push(["onRoute", route]));
  app.addHook("onRegister", (instance) => void events.push(["onRegister", instance]));
  let ready = false;
  app.addHook("onReady", (done) => {
    ready = true;
    done();
  });
  let swagger: ((opts?: unknown) => unknown) | undefined;
  const build = (): ((opts?: unknown) => unknown) => {
    const setup = createRequire(createRequire(import.meta.url).resolve("@fastify/swagger"))("./lib/mode/dynamic.js") as SwaggerSetup;
    const hooks = new Map<string, Hook>();
    let decorated: ((opts?: unknown) => unknown) | undefined;
    const host: SwaggerHost = {
      addHook: (name, hook) => void hooks.set(name, hook),
      decorate: (_name, value) => void (decorated = value as (opts?: unknown) => unknown),
      getSchemas: () => app.getSchemas(),
    };
    // The plugin's index.js sets the mode before handing over to lib/mode/dynamic.js.
    setup(host, { ...options, mode: "dynamic" }, (err) => {
      if (err) throw err;
    });
    for (const [name, arg] of events) hooks.get(name)!(arg);
    hooks.get("onReady")!(() => undefined);
    return decorated!;
  };
  app.decorate("swagger", ((opts?: unknown) => {
    // The plugin's own message for a call before ready().
    if (!ready) throw new Error(".swagger() must be called after .ready()");
    swagger ??= build();
    return swagger(opts);
  }) as FastifyInstance["swagger"]);
}
