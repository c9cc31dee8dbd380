import type { ServeConfig } from "./config.js";
import { UnavailableError } from "../util/errors.js";
import type { ServingMetrics } from "./metrics.js";
import type { ModelHolder } from "./model-holder.js";
import type { LoadedModel } from "./model-types.js";
import type { Predictor } from "./predictor.js";

export interface ModelRefBody {
  name: string;
  version: string;
  alias?: string;
}

/** What every route needs; built once per server by buildServer. */
export class ServingContext {
  /** True once shutdown has begun: /readyz answers 503 so load balancers stop sending traffic. */
  draining = false;
  /** The hot route's path in front of fastify (fast-path.ts), once the server is built. */
  fastPath: import("./fast-path.js").FastPredictPath | null = null;
  /** The route schemas' lazy compilers (lazy-schemas.ts), once the server is built. */
  schemas: import("./lazy-schemas.js").LazySchemaCompilers | null = null;
  private readonly refs = new WeakMap<LoadedModel, ModelRefBody>();

  constructor(
    readonly config: ServeConfig,
    readonly holder: ModelHolder,
    readonly metrics: ServingMetrics,
    readonly predictor: Predictor,
    readonly serverVersion: string,
  ) {}

  /** The model to use for this whole request (read once: a swap mid-request cannot mix models). */
  requireModel(): LoadedModel {
    const loaded = this.holder.current;
    if (!loaded) throw new UnavailableError("no model is loaded yet; retry when /readyz answers 200", { retryAfterSeconds: 1 });
    return loaded;
  }

  /** `{name, version, alias?}` for responses, built once per loaded model. */
  modelRef(loaded: LoadedModel): ModelRefBody {
    let ref = this.refs.get(loaded);
    if (!ref) {
      ref = loaded.alias !== undefined ? { name: loaded.name, version: loaded.version, alias: loaded.alias } : { name: loaded.name, version: loaded.version };
      this.refs.set(loaded, ref);
    }
    return ref;
  }
}
